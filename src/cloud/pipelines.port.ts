// What lanebot needs from a delivery pipeline service. Implemented by the CodePipeline adapter
// (aws/codepipeline.adapter.ts) and the simulator (sim/sim-pipelines.ts).

/** CodePipeline's execution states; the last five end an execution. */
export type ExecutionStatus =
  | 'InProgress'
  | 'Stopping'
  | 'Stopped'
  | 'Succeeded'
  | 'Superseded'
  | 'Failed'
  | 'Cancelled';

export const TERMINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set(['Stopped', 'Succeeded', 'Superseded', 'Failed', 'Cancelled']);

export function isTerminal(status: ExecutionStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

export type StageStatus = 'NotStarted' | 'InProgress' | 'Succeeded' | 'Failed' | 'Stopped' | 'Cancelled';

export interface StageFailure {
  actionName: string;
  /** The failed action's error summary, as the pipeline reports it. */
  summary: string;
  /** Where the failed action's logs are (e.g. the CodeBuild build page). */
  logUrl?: string;
}

export interface StageView {
  name: string;
  status: StageStatus;
  startedAt?: number;
  endedAt?: number;
  failure?: StageFailure;
  /** A short note on the stage's state (e.g. "no changes", "waiting for the stack"), shown after it. */
  detail?: string;
}

export interface ExecutionView {
  pipelineName: string;
  executionId: string;
  status: ExecutionStatus;
  statusSummary?: string;
  /** Stages in pipeline order, including those not started yet. */
  stages: StageView[];
  /** A link to the execution in the console. */
  url?: string;
}

export interface StartExecutionInput {
  pipelineName: string;
  variables: Record<string, string>;
  /**
   * Idempotency token: starting again with the same token returns the first execution instead of
   * starting a second one. Derived from the deploy, so a retried job never deploys twice.
   */
  clientRequestToken: string;
}

export interface PipelinesPort {
  startExecution(input: StartExecutionInput): Promise<{ executionId: string }>;
  getExecution(pipelineName: string, executionId: string): Promise<ExecutionView>;
}
