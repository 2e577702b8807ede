// What lanebot needs from a pipeline event feed: CodePipeline's execution, stage and action state
// changes, as an EventBridge rule puts them on an SQS queue (templates/lanebot-pipeline-events.yaml),
// so an execution that moved wakes its operation within seconds and the list poll of the pipeline
// watch (operations/pipeline-watch.ts) becomes a slower safety net. An event only says which
// execution moved; the operation's step reads what it did. Delivery is at least once and unordered:
// a duplicate or late event costs one read more, nothing else.

/** An execution of a pipeline that moved (its state, a stage's or an action's). */
export interface PipelineExecutionChange {
  pipeline: string;
  executionId: string;
  /** The event's detail-type, for the logs. */
  kind: string;
  /** Hands the message back to acknowledge(); opaque. */
  receipt: string;
}

export interface PipelineEventsPort {
  /**
   * Up to `maxMessages` changes, waiting up to `waitSeconds` for the first (long poll). Messages
   * that are not CodePipeline state changes are acknowledged on the way and never returned.
   */
  receive(maxMessages: number, waitSeconds: number, signal?: AbortSignal): Promise<PipelineExecutionChange[]>;
  /** Removes handled messages; a message not acknowledged comes back after its visibility timeout. */
  acknowledge(receipts: string[]): Promise<void>;
}

/** The detail-types the rule forwards (EventBridge's CodePipeline events). */
export const PIPELINE_EVENT_DETAIL_TYPES: ReadonlySet<string> = new Set([
  'CodePipeline Pipeline Execution State Change',
  'CodePipeline Stage Execution State Change',
  'CodePipeline Action Execution State Change',
]);

interface PipelineEventShape {
  source?: unknown;
  'detail-type'?: unknown;
  detail?: { pipeline?: unknown; 'execution-id'?: unknown };
}

/**
 * Reads an SQS message body holding an EventBridge CodePipeline state change event; undefined for
 * anything else (another event, SQS's test message, broken JSON), which the caller drops.
 */
export function parsePipelineExecutionChange(body: string, receipt: string): PipelineExecutionChange | undefined {
  let event: PipelineEventShape;
  try {
    event = JSON.parse(body) as PipelineEventShape;
  } catch {
    return undefined;
  }
  if (!event || typeof event !== 'object' || event.source !== 'aws.codepipeline') return undefined;
  const kind = event['detail-type'];
  if (typeof kind !== 'string' || !PIPELINE_EVENT_DETAIL_TYPES.has(kind)) return undefined;
  const pipeline = event.detail?.pipeline;
  const executionId = event.detail?.['execution-id'];
  if (typeof pipeline !== 'string' || pipeline === '' || typeof executionId !== 'string' || executionId === '') return undefined;
  return { pipeline, executionId, kind, receipt };
}
