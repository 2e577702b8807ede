// An operation: one mutation lanebot makes on behalf of someone — a deploy, an admin pipeline run
// (infra, boot), a pipeline setup, a lane delete, and later promote, rollback, canary, expiry. Every
// kind has the same record, goes through the same runner (runner.ts) and is narrated in its own
// thread. Pure types and rules here; no Redis, no SDK.
import { randomUUID } from 'node:crypto';
import type { StageView } from '../cloud/pipelines.port';
import type { CanaryControl, CanaryPause, CanaryState } from './canary';
import type { LaneRef } from './names';

/**
 *  queued ──gate (approval)──▶ awaiting_approval ──approved──▶ queued ─ … (admission as below)
 *                                     └──rejected | expired | superseded (a newer request)
 *  queued ──admit──▶ starting ──first step──▶ running ──last step──▶ succeeded | failed | stopped | cancelled
 *    │  │               ▲
 *    │  └─slot busy──▶ waiting ──slot freed──┘
 *    │                    └──a newer request of a newest-wins kind arrived──▶ superseded
 *    └──the slot refuses it (the lane is being deleted)──▶ refused
 *  Any step that cannot go on (pipeline missing, access denied, a fault that outlived its retries)
 *  ends in `error`.
 */
export type OperationStatus =
  | 'queued'
  | 'awaiting_approval'
  | 'waiting'
  | 'starting'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'stopped'
  | 'superseded'
  | 'cancelled'
  | 'refused'
  | 'rejected'
  | 'expired'
  | 'error';

export const UNFINISHED_STATUSES: readonly OperationStatus[] = ['queued', 'awaiting_approval', 'waiting', 'starting', 'running'];

export const FINISHED_STATUSES: ReadonlySet<OperationStatus> = new Set<OperationStatus>([
  'succeeded',
  'failed',
  'stopped',
  'superseded',
  'cancelled',
  'refused',
  'rejected',
  'expired',
  'error',
]);

export function isFinished(status: OperationStatus): boolean {
  return FINISHED_STATUSES.has(status);
}

/** The kinds the registry knows (src/operations/kinds/). */
/** `lane-thread` changes nothing: it holds a thread for a lane that has none (kinds/lane-thread.kind.ts). */
/** `canary` promotes a lane's release to lane default in traffic steps (kinds/canary.kind.ts). */
export type OperationKind = 'deploy' | 'infra' | 'boot' | 'setup' | 'delete' | 'promote' | 'rollback' | 'canary' | 'lane-thread';

/** Kind-specific parameters, fixed when the operation is requested (e.g. a deploy's branch). */
export type OperationParams = Readonly<Record<string, string>>;

/**
 * What someone asked for; the job data of a new request. `lane` is the operation's slot: a lane, or
 * an admin slot starting with `@` (see operationRef in domain/names.ts).
 */
export interface OperationRequest<P extends object = OperationParams> extends LaneRef {
  id: string;
  kind: OperationKind;
  params: P;
  /** Slack user id of whoever asked (typed the command, clicked the button). */
  requester: string;
  channel: string;
  requestedAt: number;
}

export interface OperationRecord<P extends object = OperationParams> extends OperationRequest<P> {
  status: OperationStatus;
  startedAt?: number;
  finishedAt?: number;
  /** What the thread shows as the operation's stages (pipeline stages, stacks). */
  stages: StageView[];
  /** Index of the kind's step being run (runner.ts). */
  step?: number;
  /** The running step's own state (cursors, execution ids, retry counts): in Redis, not in job data. */
  progress?: Record<string, unknown>;
  /** The pipeline execution a pipeline step started, once started. */
  executionId?: string;
  executionUrl?: string;
  statusSummary?: string;
  /** The operation this one waits behind while its slot is busy. */
  aheadId?: string;
  /** The newer operation that replaced this one before it started. */
  supersededBy?: string;
  /** The older waiting operation this one replaced. */
  supersededId?: string;
  /** A manual-approval action its pipeline waits at, and what Slack decided (steps/pipeline-execution.step.ts). */
  pipelineApproval?: PipelineApprovalState;
  /** The approval gate's state, when the operation needs one (operations/gates/approval.gate.ts). */
  approval?: ApprovalState;
  /** What the health verification after the change found (steps/verify-health.step.ts). */
  health?: HealthVerdict;
  /** A canary's progress (kinds/canary.kind.ts), written by its steps only. */
  canary?: CanaryState;
  /** The canary's Pause/Resume buttons: the last click wins. */
  canaryPause?: CanaryPause;
  /** The canary's Abort button (the first click counts). */
  canaryAbort?: CanaryControl;
  /** The canary's Promote now button (the first click counts). */
  canaryPromoteNow?: CanaryControl;
  /** The delete that made the lane refuse this operation. */
  refusedBy?: string;
  /** Why the operation ended in `error` or `refused`. */
  error?: string;
  /** How many times the recovery pass brought back this operation's lost job. */
  recoveries?: number;
  /** Matches a log line when the operation ended on an unexpected fault. */
  correlationId?: string;
  /** The Slack root message of this operation's thread, once posted. */
  rootTs?: string;
}

/**
 * Operation ids are time-ordered and also serve as AWS idempotency tokens (CodePipeline's
 * clientRequestToken, CloudFormation's), so they match `[a-zA-Z0-9-]+` and stay short.
 */
export function newOperationId(now: number): string {
  // 48 random bits: a v4 UUID's last 12 hex digits are all random, and randomUUID draws from a
  // pooled entropy cache (randomBytes(6) asks the system each time, on the ack path of every deploy).
  return `${now.toString(36)}-${randomUUID().slice(-12)}`;
}

/** The requester of what lanebot does on its own (an idle lane's delete), and the audit's actor for it. */
export const LANEBOT_ACTOR = 'lanebot';

/** Who asked, as Slack shows it: a mention, or "lanebot (lane expiry)" for what the bot asked itself. */
export function requesterMention(requester: string): string {
  return requester === LANEBOT_ACTOR ? 'lanebot (the lane expired)' : `<@${requester}>`;
}

/** Operation ids as newOperationId makes them, and as button values may carry them. */
export const OPERATION_ID = /^[A-Za-z0-9-]{1,128}$/;

/**
 * The verdict of a health verification: `healthy` (rollout complete, targets healthy, alarms quiet
 * through the soak), `unhealthy` (with the reasons), or `unchecked` when it could not be judged (the
 * lane stack publishes no service, a newer deploy cut the check short). The operation itself still
 * succeeded: the change is in place; the verdict says whether it works.
 */
export interface HealthVerdict {
  verdict: 'healthy' | 'unhealthy' | 'unchecked';
  /** One line: "3/3 targets healthy, ECS deployment complete, alarms OK for 5 min". */
  summary: string;
  /** Why it is not healthy (or not checked), one sentence each. */
  reasons: string[];
  /** Console pages of what was checked (target group, ECS service, alarms). */
  links: { label: string; url: string }[];
  checkedAt: number;
  /**
   * ECS failed the new deployment (its circuit breaker): the lane template rolls the service back,
   * so the lane does not run the new version although the pipeline deployed it.
   */
  rolloutFailed?: boolean;
  /**
   * The image the verdict is about: the lane stack's ImageUri output when the check read the stack
   * (the release record takes it from here rather than reading the stack again).
   */
  image?: string;
}

/**
 * An approval request: who must decide, who did, and how it ended. Decisions change it atomically in
 * Redis (one Lua script), so two approvers clicking at once make one decision.
 */
export interface ApprovalState {
  state: 'pending' | 'approved' | 'rejected' | 'expired' | 'superseded';
  /** Approvals needed (requiredApprovals). */
  required: number;
  allowSelfApproval: boolean;
  /** The approvers as configured (user ids and user group ids), for mentions. */
  approvers: string[];
  approvedBy: { user: string; at: number }[];
  rejectedBy?: string;
  reason?: string;
  requestedAt: number;
  expiresAt: number;
  decidedAt?: number;
  /** The newer request that superseded this one. */
  supersededBy?: string;
}

/**
 * A pipeline's manual-approval action as lanebot follows it: `pending` while it waits, `deciding`
 * once an approver clicked in Slack (the pipeline step sends the decision to CodePipeline on its next
 * poll, so no AWS call is made from a click), then how it ended.
 */
export interface PipelineApprovalState {
  stageName: string;
  actionName: string;
  /** CodePipeline's approval token (PARALLEL mode: the action execution's externalExecutionId). */
  token: string;
  customMessage?: string;
  reviewUrl?: string;
  expiresAt?: number;
  state: 'pending' | 'deciding' | 'approved' | 'rejected' | 'decided-elsewhere';
  decision?: { approved: boolean; by: string; reason?: string; at: number };
  /** How it ended when decided outside Slack (the AWS console): "approved" or "rejected". */
  elsewhere?: string;
}
