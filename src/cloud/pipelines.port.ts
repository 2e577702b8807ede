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
  /**
   * The stage's manual-approval actions waiting for an answer; set only while the stage waits (then
   * `detail` is `waiting for approval`). The same entries `pendingApprovals` answers with.
   */
  approvals?: PendingApproval[];
}

/**
 * A manual-approval action of a running execution, waiting for an answer.
 *
 * `token` is what PutApprovalResult needs. The pipelines run in PARALLEL mode, where the token
 * GetPipelineState would give is not available: the CodePipeline API reference (PutApprovalResult,
 * `token`) says to use the `externalExecutionId` of the approval action's execution instead, from
 * ListActionExecutions filtered by the pipeline execution id (ActionExecutionDetail
 * `output.executionResult.externalExecutionId`). It is a UUID; a retried or re-run action gets a new
 * one, so a token always names one request of one execution.
 */
export interface PendingApproval {
  stageName: string;
  actionName: string;
  token: string;
  /** The action's CustomData (pipeline variables resolved), e.g. "Deploy release/1.2.3 to lane gray". */
  customMessage?: string;
  /** The action's ExternalEntityLink: what the approver should look at. */
  reviewUrl?: string;
  /** When the request began (epoch ms). */
  requestedAt?: number;
  /**
   * When CodePipeline fails the action unanswered (epoch ms): its start plus the action's
   * TimeoutInMinutes, or the account default of 7 days.
   */
  expiresAt?: number;
}

export interface ApprovalDecision {
  pipelineName: string;
  stageName: string;
  actionName: string;
  token: string;
  approved: boolean;
  /** Who decided and why; cut to MAX_APPROVAL_SUMMARY characters (the API's limit). */
  summary: string;
}

/**
 * What became of a decision. Someone deciding first (in the console, another bot replica) or the
 * request being gone (expired, the execution stopped or superseded, a token of another execution)
 * are answers, not faults: re-read the execution to say what happened. Throttling, access denied
 * and the like still throw LanebotErrors.
 *
 * `already-decided` can also follow our own decision when the SDK retried a call whose first
 * attempt got through but whose answer was lost; the execution tells which answer counted.
 */
export type ApprovalOutcome = { kind: 'recorded' } | { kind: 'already-decided' } | { kind: 'invalid-token' };

/** PutApprovalResult takes a summary of at most 512 characters. */
export const MAX_APPROVAL_SUMMARY = 512;

/** The summary as PutApprovalResult accepts it: cut to 512 characters (by code point, never inside a surrogate pair). */
export function fitApprovalSummary(summary: string): string {
  const chars = Array.from(summary.trim());
  return chars.length <= MAX_APPROVAL_SUMMARY ? chars.join('') : `${chars.slice(0, MAX_APPROVAL_SUMMARY - 1).join('')}…`;
}

/** CodePipeline's account-level default for a manual approval action without TimeoutInMinutes. */
export const DEFAULT_APPROVAL_TIMEOUT_MINUTES = 7 * 24 * 60;

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

/**
 * One line of a pipeline's execution list (ListPipelineExecutions): enough to tell whether an
 * execution moved since it was last read, not what it did. `lastUpdatedAt` moves when the
 * execution's stages or actions change, so (status, lastUpdatedAt) is the execution's fingerprint.
 */
export interface ExecutionSummary {
  executionId: string;
  status: ExecutionStatus;
  statusSummary?: string;
  /** Epoch ms. */
  startedAt?: number;
  /** Epoch ms. */
  lastUpdatedAt?: number;
}

export interface ListExecutionsOptions {
  /**
   * Read back to the executions started at this moment (epoch ms): further pages are read while the
   * oldest execution on the last page started after it. Without it, one page (the newest 100).
   */
  startedSince?: number;
}

export interface PipelinesPort {
  startExecution(input: StartExecutionInput): Promise<{ executionId: string }>;
  /**
   * The pipeline's executions, newest first (ListPipelineExecutions: one call per 100 executions).
   * What lets one poll per pipeline stand for a poll per running execution.
   */
  listExecutions(pipelineName: string, options?: ListExecutionsOptions): Promise<ExecutionSummary[]>;
  getExecution(pipelineName: string, executionId: string): Promise<ExecutionView>;
  /** The execution's manual-approval actions waiting for an answer (none once it has ended). */
  pendingApprovals(pipelineName: string, executionId: string): Promise<PendingApproval[]>;
  /** Answers a manual-approval action (PutApprovalResult). */
  putApprovalResult(decision: ApprovalDecision): Promise<ApprovalOutcome>;
}
