// PipelinesPort on AWS CodePipeline: starts executions and turns an execution's action history into
// the per-stage view lanebot shows in Slack, mapping SDK errors onto lanebot's error codes.

import {
  GetPipelineCommand,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
  ListPipelineExecutionsCommand,
  PutApprovalResultCommand,
  StartPipelineExecutionCommand,
  type ActionDeclaration,
  type ActionExecutionDetail,
  type CodePipelineClient,
  type PipelineDeclaration,
  type StageDeclaration,
} from '@aws-sdk/client-codepipeline';
import { AwsThrottledError, LanebotError, PipelineNotFoundError } from '../../errors';
import { mapAwsError, realSleep, retryThrottled, sdkErrorName } from './aws-call';
import {
  DEFAULT_APPROVAL_TIMEOUT_MINUTES,
  fitApprovalSummary,
  type ApprovalDecision,
  type ApprovalOutcome,
  type ExecutionStatus,
  type ExecutionSummary,
  type ExecutionView,
  type ListExecutionsOptions,
  type PendingApproval,
  type PipelinesPort,
  type StageStatus,
  type StageView,
  type StartExecutionInput,
} from '../pipelines.port';

export interface CodePipelineAdapterOptions {
  client: CodePipelineClient;
  region: string;
  sleep?: (ms: number) => Promise<void>;
  maxThrottleRetries?: number;
}

/** ListPipelineExecutions' largest page. */
const LIST_PAGE_SIZE = 100;

const TERMINAL_STAGE_STATUSES: ReadonlySet<StageStatus> = new Set(['Succeeded', 'Failed', 'Stopped', 'Cancelled']);

interface CallContext {
  operation: string;
  pipelineName: string;
  executionId?: string;
}

export class CodePipelineAdapter implements PipelinesPort {
  private readonly client: CodePipelineClient;
  private readonly region: string;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly maxThrottleRetries: number;
  /** Declarations keyed by `name@version`; a version never changes once published, so no expiry. */
  private readonly declarations = new Map<string, PipelineDeclaration>();

  constructor(options: CodePipelineAdapterOptions) {
    this.client = options.client;
    this.region = options.region;
    this.sleep = options.sleep ?? realSleep;
    this.maxThrottleRetries = options.maxThrottleRetries ?? 3;
  }

  async startExecution({ pipelineName, variables, clientRequestToken }: StartExecutionInput): Promise<{ executionId: string }> {
    const output = await this.call({ operation: 'StartPipelineExecution', pipelineName }, () =>
      this.client.send(
        new StartPipelineExecutionCommand({
          name: pipelineName,
          // The API takes 1 to 50 variables or none at all (infra-{env} has none): never an empty list.
          variables: Object.keys(variables).length > 0 ? Object.entries(variables).map(([name, value]) => ({ name, value })) : undefined,
          clientRequestToken,
        }),
      ),
    );
    if (!output.pipelineExecutionId) {
      throw new LanebotError('AWS_ERROR', `CodePipeline StartPipelineExecution for \`${pipelineName}\` returned no execution id.`);
    }
    return { executionId: output.pipelineExecutionId };
  }

  async getExecution(pipelineName: string, executionId: string): Promise<ExecutionView> {
    const ctx = { pipelineName, executionId };
    const { pipelineExecution: execution } = await this.call({ ...ctx, operation: 'GetPipelineExecution' }, () =>
      this.client.send(new GetPipelineExecutionCommand({ pipelineName, pipelineExecutionId: executionId })),
    );
    if (!execution?.status) {
      throw new LanebotError('AWS_ERROR', `CodePipeline GetPipelineExecution returned no status for execution ${executionId} of \`${pipelineName}\`.`);
    }
    const [declaration, actions] = await Promise.all([
      this.getDeclaration(pipelineName, execution.pipelineVersion),
      this.listActions(pipelineName, executionId),
    ]);
    const status: ExecutionStatus = execution.status;
    return {
      pipelineName,
      executionId,
      status,
      statusSummary: execution.statusSummary,
      stages: (declaration.stages ?? []).map((stage) => buildStage(stage, actions, status)),
      url:
        `https://${this.region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/` +
        `${encodeURIComponent(pipelineName)}/executions/${executionId}/timeline?region=${this.region}`,
    };
  }

  async listExecutions(pipelineName: string, { startedSince }: ListExecutionsOptions = {}): Promise<ExecutionSummary[]> {
    const all: ExecutionSummary[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call({ operation: 'ListPipelineExecutions', pipelineName }, () =>
        this.client.send(new ListPipelineExecutionsCommand({ pipelineName, maxResults: LIST_PAGE_SIZE, nextToken })),
      );
      const summaries = page.pipelineExecutionSummaries ?? [];
      for (const summary of summaries) {
        if (!summary.pipelineExecutionId || !summary.status) continue;
        const line: ExecutionSummary = { executionId: summary.pipelineExecutionId, status: summary.status };
        if (summary.statusSummary) line.statusSummary = summary.statusSummary;
        if (summary.startTime) line.startedAt = summary.startTime.getTime();
        if (summary.lastUpdateTime) line.lastUpdatedAt = summary.lastUpdateTime.getTime();
        all.push(line);
      }
      // Newest first: once a page reaches back past `startedSince`, older pages hold nothing wanted.
      const oldest = summaries.at(-1)?.startTime?.getTime();
      const reachedBack = startedSince === undefined || (oldest !== undefined && oldest < startedSince);
      nextToken = reachedBack ? undefined : page.nextToken;
    } while (nextToken);
    return all;
  }

  async pendingApprovals(pipelineName: string, executionId: string): Promise<PendingApproval[]> {
    // The view already holds them: one read of the execution, its declaration (cached) and its actions.
    const view = await this.getExecution(pipelineName, executionId);
    return view.stages.flatMap((stage) => stage.approvals ?? []);
  }

  async putApprovalResult({ pipelineName, stageName, actionName, token, approved, summary }: ApprovalDecision): Promise<ApprovalOutcome> {
    return this.call(
      { operation: 'PutApprovalResult', pipelineName },
      async (): Promise<ApprovalOutcome> => {
        await this.client.send(
          new PutApprovalResultCommand({
            pipelineName,
            stageName,
            actionName,
            token,
            result: { status: approved ? 'Approved' : 'Rejected', summary: fitApprovalSummary(summary) },
          }),
        );
        return { kind: 'recorded' };
      },
      approvalAnswer,
    );
  }

  /** The declaration the execution ran against, so stages match even after the pipeline changed. */
  private async getDeclaration(pipelineName: string, version: number | undefined): Promise<PipelineDeclaration> {
    const key = `${pipelineName}@${version}`;
    const cached = version === undefined ? undefined : this.declarations.get(key);
    if (cached) return cached;
    const { pipeline } = await this.call({ operation: 'GetPipeline', pipelineName }, () =>
      this.client.send(new GetPipelineCommand({ name: pipelineName, version })),
    );
    if (!pipeline) throw new LanebotError('AWS_ERROR', `CodePipeline GetPipeline returned no declaration for \`${pipelineName}\`.`);
    // Without a version the answer is "latest", which can change, so only versioned answers are cached.
    if (version !== undefined) this.declarations.set(key, pipeline);
    return pipeline;
  }

  private async listActions(pipelineName: string, executionId: string): Promise<ActionExecutionDetail[]> {
    const all: ActionExecutionDetail[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call({ operation: 'ListActionExecutions', pipelineName, executionId }, () =>
        this.client.send(new ListActionExecutionsCommand({ pipelineName, filter: { pipelineExecutionId: executionId }, nextToken })),
      );
      all.push(...(page.actionExecutionDetails ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    return all;
  }

  // The SDK's own retry runs first; this bounded extra retry rides out bursts, and after it the
  // job layer re-delays the job (AWS_THROTTLED is retryable) instead of holding a worker.
  // `answer` turns the call's own refusals that are answers (not faults) into values.
  private async call<T>(ctx: CallContext, send: () => Promise<T>, answer?: (error: unknown) => T | undefined): Promise<T> {
    try {
      return await retryThrottled(ctx.operation, send, { sleep: this.sleep, maxThrottleRetries: this.maxThrottleRetries });
    } catch (error) {
      if (error instanceof AwsThrottledError) throw error;
      const value = answer?.(error);
      if (value !== undefined) return value;
      throw mapError(error, ctx);
    }
  }
}

function buildStage(declared: StageDeclaration, all: ActionExecutionDetail[], execution: ExecutionStatus): StageView {
  const name = declared.name ?? '';
  const declaredActions = declared.actions?.length ?? 0;
  // A retried action has several executions; only the latest says where the stage is now.
  const latest = new Map<string, ActionExecutionDetail>();
  for (const action of all) {
    if (action.stageName !== name) continue;
    const key = action.actionName ?? '';
    const seen = latest.get(key);
    if (!seen || time(action.startTime) >= time(seen.startTime)) latest.set(key, action);
  }
  const actions = [...latest.values()];
  if (actions.length === 0) return { name, status: 'NotStarted' };

  const failed = actions.find((a) => a.status === 'Failed');
  let status: StageStatus;
  if (failed) status = 'Failed';
  else if (actions.some((a) => a.status === 'InProgress')) status = 'InProgress';
  else if (actions.some((a) => a.status === 'Abandoned')) status = 'Stopped';
  // Fewer executions than declared actions: later run orders have not started yet.
  else status = actions.length >= declaredActions ? 'Succeeded' : 'InProgress';

  // An ended execution leaves no stage running; CodePipeline does not always close the actions out.
  if (status === 'InProgress' && execution === 'Stopped') status = 'Stopped';
  if (status === 'InProgress' && (execution === 'Cancelled' || execution === 'Superseded')) status = 'Cancelled';

  const view: StageView = { name, status };
  const starts = times(actions.map((a) => a.startTime));
  if (starts.length > 0) view.startedAt = Math.min(...starts);
  const updates = times(actions.map((a) => a.lastUpdateTime));
  if (TERMINAL_STAGE_STATUSES.has(status) && updates.length > 0) view.endedAt = Math.max(...updates);
  const waiting = status === 'InProgress' && execution === 'InProgress' ? actions.filter(isWaitingApproval) : [];
  if (waiting.length > 0) {
    view.detail = 'waiting for approval';
    // An approval without a token cannot be answered (CodePipeline has not issued it yet); the next read will have it.
    const approvals = waiting.flatMap((a) => pendingApproval(a, declared.actions?.find((d) => d.name === a.actionName)) ?? []);
    if (approvals.length > 0) view.approvals = approvals;
  }
  if (failed) {
    const result = failed.output?.executionResult;
    view.failure = {
      actionName: failed.actionName ?? 'unknown action',
      summary: result?.errorDetails?.message ?? result?.externalExecutionSummary ?? 'no error summary reported',
      logUrl: result?.externalExecutionUrl,
    };
  }
  return view;
}

function isWaitingApproval(action: ActionExecutionDetail): boolean {
  const type = action.input?.actionTypeId;
  return action.status === 'InProgress' && type?.category === 'Approval' && type.owner === 'AWS' && type.provider === 'Manual';
}

function pendingApproval(action: ActionExecutionDetail, declared: ActionDeclaration | undefined): PendingApproval | undefined {
  // PARALLEL mode: the token is the action execution's externalExecutionId (see PendingApproval).
  const token = action.output?.executionResult?.externalExecutionId;
  if (!token) return undefined;
  // resolvedConfiguration has the pipeline variables filled in (#{variables.BRANCH} → release/1.2.3).
  const configuration = action.input?.resolvedConfiguration ?? action.input?.configuration ?? {};
  const approval: PendingApproval = { stageName: action.stageName ?? '', actionName: action.actionName ?? '', token };
  if (configuration.CustomData) approval.customMessage = configuration.CustomData;
  if (configuration.ExternalEntityLink) approval.reviewUrl = configuration.ExternalEntityLink;
  if (action.startTime) {
    approval.requestedAt = action.startTime.getTime();
    approval.expiresAt = approval.requestedAt + (declared?.timeoutInMinutes ?? DEFAULT_APPROVAL_TIMEOUT_MINUTES) * 60_000;
  }
  return approval;
}

/** PutApprovalResult's own refusals that are answers: someone decided first, or the request is gone. */
function approvalAnswer(error: unknown): ApprovalOutcome | undefined {
  switch (sdkErrorName(error)) {
    case 'ApprovalAlreadyCompletedException':
      return { kind: 'already-decided' };
    case 'InvalidApprovalTokenException':
      // "already received a response or has expired": a token of an ended execution, an expired or re-run request.
      return { kind: 'invalid-token' };
    default:
      return undefined;
  }
}

function time(date: Date | undefined): number {
  return date ? date.getTime() : 0;
}

function times(dates: (Date | undefined)[]): number[] {
  return dates.filter((d): d is Date => d !== undefined).map((d) => d.getTime());
}

function mapError(error: unknown, { operation, pipelineName, executionId }: CallContext): LanebotError {
  switch (sdkErrorName(error)) {
    case 'PipelineNotFoundException':
      return new PipelineNotFoundError(pipelineName, error);
    case 'PipelineExecutionNotFoundException':
      return new LanebotError(
        'PIPELINE_EXECUTION_NOT_FOUND',
        `Execution ${executionId ?? '(unknown)'} of pipeline \`${pipelineName}\` was not found; it may be too old or belong to another pipeline.`,
        { cause: error },
      );
    default:
      return mapAwsError(error, 'codepipeline', operation, `on pipeline \`${pipelineName}\``);
  }
}
