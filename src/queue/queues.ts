// The BullMQ queues, their job data, and the one helper every long-running job uses to wait
// without holding a worker: move itself to the delayed set and come back later.
import { DelayedError, Queue, type ConnectionOptions, type Job, type JobsOptions } from 'bullmq';
import type { DeployRequest } from '../domain/deploy';

export const QUEUE_NAMES = {
  /** Admits a deploy to its lane and starts its pipeline. */
  deploy: 'deploy',
  /** Follows a running pipeline execution until it ends. */
  watch: 'watch',
  /** Sends a deploy thread's pending Slack messages, in order, within Slack's rate limits. */
  narrate: 'narrate',
  /** Deploys stacks (`/lane setup`) and follows them until they end. */
  stacks: 'stacks',
} as const;

export type DeployJobData = (
  /** A new `/lane deploy`: the request travels in the job, so one Redis write queues it. */
  | { kind: 'request'; request: DeployRequest }
  /** Start a deploy that was admitted after waiting for its lane. */
  | { kind: 'start'; deployId: string }
) & {
  /** Consecutive failed attempts to start the pipeline, for backoff. */
  failures?: number;
};

export interface WatchJobData {
  deployId: string;
  /** Consecutive failed polls, for backoff. */
  failures?: number;
}

export interface SetupJobData {
  deployId: string;
  /** Consecutive failed AWS calls, for backoff. */
  failures?: number;
  /** Per stack: where its event stream was last read. */
  cursors?: Record<string, string>;
  /** Per stack: reasons of failed resources seen so far in its operation. */
  reasons?: Record<string, string[]>;
  /** Stacks being deleted after a failed create, to be created again once gone. */
  replacing?: string[];
  /** Per stack: when lanebot first found it busy with another operation. */
  busySince?: Record<string, number>;
}

export interface NarrateJobData {
  deployId: string;
  /** Consecutive failed Slack calls, for backoff. */
  failures?: number;
  /** A Slack send slot the job reserved before sleeping until it (0: none). */
  slotAt?: number;
  slotKind?: 'post' | 'update';
}

export interface Queues {
  deploy: Queue<DeployJobData>;
  watch: Queue<WatchJobData>;
  narrate: Queue<NarrateJobData>;
  stacks: Queue<SetupJobData>;
  close(): Promise<void>;
}

/**
 * Completed jobs are dropped at once (their outcome lives in the deploy record); failed ones are
 * kept a week for inspection. Job ids are deterministic per deploy so re-adding is a no-op.
 */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
};

export function createQueues(connection: ConnectionOptions, prefix: string): Queues {
  const opts = { connection, prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS };
  const deploy = new Queue<DeployJobData>(QUEUE_NAMES.deploy, opts);
  const watch = new Queue<WatchJobData>(QUEUE_NAMES.watch, opts);
  const narrate = new Queue<NarrateJobData>(QUEUE_NAMES.narrate, opts);
  const stacks = new Queue<SetupJobData>(QUEUE_NAMES.stacks, opts);
  return {
    deploy,
    watch,
    narrate,
    stacks,
    async close() {
      await Promise.all([deploy.close(), watch.close(), narrate.close(), stacks.close()]);
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
