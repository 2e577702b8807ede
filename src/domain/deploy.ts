// A deploy: one `/lane deploy` request, from queued to its end. Pure domain, no SDK imports.
import { randomBytes } from 'node:crypto';
import type { ExecutionStatus, StageView } from '../cloud/pipelines.port';
import type { LaneRef } from './names';

/**
 *  queued ──admit──▶ starting ──pipeline started──▶ running ──▶ succeeded | failed | stopped | cancelled
 *    │                  ▲                              (superseded by CodePipeline ends it too)
 *    └──lane busy──▶ waiting ──lane freed──┘
 *                       └──a newer deploy of the lane arrived──▶ superseded
 *  Any step that cannot go on (pipeline missing, access denied) ends in `error`.
 */
export type DeployStatus =
  | 'queued'
  | 'waiting'
  | 'starting'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'stopped'
  | 'superseded'
  | 'cancelled'
  | 'error';

export const FINISHED_STATUSES: ReadonlySet<DeployStatus> = new Set([
  'succeeded',
  'failed',
  'stopped',
  'superseded',
  'cancelled',
  'error',
]);

export function isFinished(status: DeployStatus): boolean {
  return FINISHED_STATUSES.has(status);
}

/**
 * What a record is about. Besides lane deploys, the admin operations (`/lane infra`, `/lane boot`,
 * `/lane setup`) are records of the same shape, queued, serialized and narrated the same way; their
 * `lane` is a slot name starting with `@` (never a valid lane), see operationRef in names.ts.
 */
export type OperationKind = 'deploy' | 'infra' | 'boot' | 'setup';

/** What the user asked for; the job data of a deploy request. */
export interface DeployRequest extends LaneRef {
  id: string;
  /** Absent on lane deploys (and on records written before admin operations existed). */
  kind?: Exclude<OperationKind, 'deploy'>;
  branch: string;
  pipeline: string;
  /** Slack user id of whoever typed the command. */
  requester: string;
  channel: string;
  requestedAt: number;
}

export interface DeployRecord extends DeployRequest {
  status: DeployStatus;
  startedAt?: number;
  finishedAt?: number;
  executionId?: string;
  executionUrl?: string;
  statusSummary?: string;
  stages: StageView[];
  /** The deploy this one waits behind while the lane is busy. */
  aheadDeployId?: string;
  /** The newer deploy that replaced this one before it started. */
  supersededBy?: string;
  /** The older waiting deploy this one replaced. */
  supersededDeployId?: string;
  /** Why the deploy ended in `error`. */
  error?: string;
  /** The Slack root message of this deploy's thread, once posted. */
  rootTs?: string;
}

/**
 * Deploy ids are time-ordered and also serve as CodePipeline's clientRequestToken, so they must
 * match its pattern `[a-zA-Z0-9-]+` (at most 128 characters).
 */
export function newDeployId(now: number): string {
  return `${now.toString(36)}-${randomBytes(6).toString('hex')}`;
}

export function kindOf(record: Pick<DeployRequest, 'kind'>): OperationKind {
  return record.kind ?? 'deploy';
}

export function deployStatusFor(execution: ExecutionStatus): DeployStatus {
  switch (execution) {
    case 'Succeeded':
      return 'succeeded';
    case 'Failed':
      return 'failed';
    case 'Stopped':
      return 'stopped';
    case 'Superseded':
      return 'superseded';
    case 'Cancelled':
      return 'cancelled';
    case 'InProgress':
    case 'Stopping':
      return 'running';
  }
}
