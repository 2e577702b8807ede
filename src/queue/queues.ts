// The BullMQ queues, their job data, and the one helper every long-running job uses to wait
// without holding a worker: move itself to the delayed set and come back later.
import { createHash } from 'node:crypto';
import { DelayedError, Queue, type ConnectionOptions, type Job, type JobsOptions } from 'bullmq';
import type { OperationRequest } from '../domain/operation';

export const QUEUE_NAMES = {
  /** Runs operations: records and admits requests, then runs each operation's steps. */
  operations: 'operations',
  /** Sends an operation thread's pending Slack messages, in order, within Slack's rate limits. */
  narrate: 'narrate',
  /** Scheduled upkeep: the recovery pass, user-group refreshes. */
  maintenance: 'maintenance',
  /**
   * Later answers to commands that need the cloud (`/lane status`'s health), posted to the command's
   * response_url. Not on `maintenance`: a person waits for these, and upkeep must not delay them.
   */
  followUps: 'follow-ups',
  /** Per-lane expiry work the sweep queues: warn a lane, or delete one that was not renewed (expiry/lane-expiry.ts). */
  expiry: 'expiry',
} as const;

export type OperationJobData =
  /** A new request: it travels in the job, so one Redis write queues it. */
  | { kind: 'request'; request: OperationRequest }
  /** Run an admitted operation's steps (its progress is in its record, not here). */
  | { kind: 'run'; operationId: string };

export interface NarrateJobData {
  /** The operation whose thread to send. */
  operationId: string;
  /** Consecutive failed Slack calls, for backoff. */
  failures?: number;
  /** A post slot (the channel's) the job reserved and has not used yet (0: none). */
  postSlotAt?: number;
  /** A chat.update slot (the workspace's) the job reserved and has not used yet (0: none). */
  updateSlotAt?: number;
  /**
   * 'update' while the job sleeps with no thread reply to send (waiting for an edit slot, or for
   * saturated edits to drain): a reply added meanwhile wakes it (ThreadNarrator.say).
   */
  sleepingFor?: '' | 'update';
  /** How many times in a row the thread's cosmetic root edit found edits saturated (its retries back off). */
  editDeferrals?: number;
  /** Before issue 15: one reserved slot of either kind (read once, for jobs queued before an upgrade). */
  slotAt?: number;
  slotKind?: 'post' | 'update';
}

export type MaintenanceJobData =
  | { kind: 'recover' }
  /** The pipeline watch: every pipeline with followed executions listed once (operations/pipeline-watch.ts). */
  | { kind: 'watch-pipelines' }
  | { kind: 'refresh-user-groups'; groupId?: string }
  /** Whether the bot may post in each bound channel (conversations.info): what the command path reads. */
  | { kind: 'refresh-channel-membership' }
  /** The alarm watch's safety net: every lane alarm's state, once a minute (alarms/alarm-watch.ts). */
  | { kind: 'poll-alarms' }
  /** The expiry sweep (once a minute) and the daily digest of lanes pending deletion (expiry/lane-expiry.ts). */
  | { kind: 'expiry-sweep' }
  | { kind: 'expiry-digest' };

/** Per-lane expiry work: `member` is `service/env/lane`, `base` the lane's expiry base it was queued for. */
export interface ExpiryJobData {
  kind: 'warn' | 'expire';
  member: string;
  base: number;
}

/** `/lane status`'s follow-up: the health of the lanes its first answer showed, read through the ports. */
export interface LaneHealthReportJobData {
  kind: 'lane-health';
  /** The command's response_url, where the report goes (Slack takes 5 posts within 30 minutes). */
  responseUrl: string;
  /** Who typed the command (for the logs; the report is ephemeral to them anyway). */
  userId: string;
  service: string;
  env: string;
  /** The lanes the first answer showed, in its order. */
  lanes: string[];
}

export type FollowUpJobData = LaneHealthReportJobData;

/**
 * One follow-up job per command: its id comes from the response_url (unique per command), so a
 * command seen twice queues it once. A hash, as BullMQ ids may not hold every character a URL has.
 */
export function followUpJobId(data: Pick<FollowUpJobData, 'kind' | 'responseUrl'>): string {
  return `${data.kind}-${createHash('sha256').update(data.responseUrl).digest('hex').slice(0, 32)}`;
}

export interface Queues {
  operations: Queue<OperationJobData>;
  narrate: Queue<NarrateJobData>;
  maintenance: Queue<MaintenanceJobData>;
  followUps: Queue<FollowUpJobData>;
  expiry: Queue<ExpiryJobData>;
  close(): Promise<void>;
}

/**
 * Completed jobs are dropped at once (their outcome lives in the operation record); failed ones are
 * kept a week for inspection. Job ids are deterministic per operation so re-adding is a no-op.
 */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
};

export function requestJobId(operationId: string): string {
  return `request-${operationId}`;
}

export function runJobId(operationId: string): string {
  return `run-${operationId}`;
}

/** How often a failing job is tried and how long it waits between tries (tests shorten these). */
export interface JobRetryOptions {
  attempts?: number;
  /** The first backoff; it doubles on every further try. */
  backoffMs?: number;
}

export function createQueues(connection: ConnectionOptions, prefix: string, retry: JobRetryOptions = {}): Queues {
  const defaultJobOptions: JobsOptions = {
    ...DEFAULT_JOB_OPTIONS,
    ...(retry.attempts !== undefined && { attempts: retry.attempts }),
    ...(retry.backoffMs !== undefined && { backoff: { type: 'exponential', delay: retry.backoffMs } }),
  };
  const opts = { connection, prefix, defaultJobOptions };
  const operations = new Queue<OperationJobData>(QUEUE_NAMES.operations, opts);
  const narrate = new Queue<NarrateJobData>(QUEUE_NAMES.narrate, opts);
  const maintenance = new Queue<MaintenanceJobData>(QUEUE_NAMES.maintenance, opts);
  const followUps = new Queue<FollowUpJobData>(QUEUE_NAMES.followUps, opts);
  // Done work is kept a day, so a sweep a minute later does not queue it again (its id is the lane and base).
  const expiry = new Queue<ExpiryJobData>(QUEUE_NAMES.expiry, { ...opts, defaultJobOptions: { ...defaultJobOptions, removeOnComplete: { age: 24 * 3600 } } });
  return {
    operations,
    narrate,
    maintenance,
    followUps,
    expiry,
    async close() {
      await Promise.all([operations.close(), narrate.close(), maintenance.close(), followUps.close(), expiry.close()]);
    },
  };
}

/** What a step job decides: it is done, or it wants to run again after a delay. */
export type StepOutcome = { done: true } | { done: false; retryInMs: number; data?: Record<string, unknown> };

export const DONE: StepOutcome = { done: true };

export function later(retryInMs: number, data?: Record<string, unknown>): StepOutcome {
  return { done: false, retryInMs: Math.max(0, Math.round(retryInMs)), data };
}

/**
 * Runs one step of a job. When the step wants to run again, the job moves itself to the delayed set
 * (BullMQ's "step job" pattern) so no worker is held while a pipeline runs for minutes.
 */
export async function runStep<T>(job: Job<T>, token: string | undefined, step: () => Promise<StepOutcome>): Promise<void> {
  const outcome = await step();
  if (outcome.done) return;
  if (outcome.data) await job.updateData({ ...job.data, ...outcome.data });
  await job.moveToDelayed(Date.now() + outcome.retryInMs, token);
  throw new DelayedError();
}

/** Exponential backoff with jitter, for retrying after transient failures. */
export function backoff(failures: number, baseMs: number, capMs: number): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, failures - 1));
  return exp / 2 + Math.random() * (exp / 2);
}
