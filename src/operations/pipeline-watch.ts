// Tracking per pipeline, not per deploy. A running pipeline step does not poll its execution on a
// timer: it reads it once, notes the read here, and its job waits in the delayed set. Each poll
// interval the watch lists every pipeline with followed executions (ListPipelineExecutions: one call
// for up to 100 executions) and wakes only the operations whose execution moved since their step last
// read it; those steps then do the action-level reads (their getExecution) and nothing else does.
//
//   step: follow (seen = the fingerprint listed so far) ──▶ reads execution
//   watch poll: list pipeline ──▶ fingerprint ≠ seen ──▶ store it as listed ──▶ wake the operation
//
// `seen` is what was listed before the step's AWS read, so what it read is at least that new; a wake
// that finds the job busy is simply repeated on the next poll until the step's `seen` catches up.
// Everything is in Redis, so any process may poll (one at a time: a BullMQ job scheduler) and a
// crash loses nothing; the step still re-reads on its own now and then (recheckMs) as a safety net
// for a watch that cannot list (throttled, down) or a pipeline whose list misses an execution.
//
// With PIPELINE_EVENTS_QUEUE_URL, CodePipeline's state-change events (EventBridge → SQS) wake the
// followed executions' operations as they move (consume*), and the list poll runs less often as the
// safety net for an event lost, late, or that found its job busy.
import type { RedisClient } from '../redis/redis-connection';
import type { Logger } from 'pino';
import type { PipelineEventsPort } from '../cloud/pipeline-events.port';
import type { ExecutionSummary, PipelinesPort } from '../cloud/pipelines.port';
import { describeCause } from '../errors';
import type { RedisKeys } from '../state/keys';
import { LuaScript } from '../redis/lua-script';

/** What a pipeline step needs of the watch (StepDeps.pipelineWatch). */
export interface PipelineTracking {
  /** How long a step waits between reads of its own when nothing wakes it. */
  readonly recheckMs: number;
  /**
   * Follows the execution (or keeps following it), as read by its operation as of what the watch
   * listed so far: call it right before reading the execution. `since`: about when it started.
   */
  follow(read: { pipeline: string; executionId: string; operationId: string; since: number }): Promise<void>;
  /** Stops following an execution that ended. */
  forget(pipeline: string, executionId: string): Promise<void>;
}

interface WatchEntry {
  /** The operation following the execution. */
  op: string;
  /** The fingerprint its last read accounts for. */
  seen: string;
  /** About when the execution started (epoch ms): how far back the list must reach. */
  since: number;
}

export interface PipelineWatchDeps {
  redis: RedisClient;
  keys: RedisKeys;
  pipelines: Pick<PipelinesPort, 'listExecutions'>;
  /**
   * Brings the operation's delayed job back now (a no-op when it is not delayed). false: the
   * operation has no job at all (it ended without its step seeing the end, e.g. a lane deleted
   * under it): the watch stops following its execution. Its step, if it ever runs again (a
   * recovered job), follows it again on its next read.
   */
  wake(operationId: string): Promise<boolean | void>;
  logger: Logger;
  recheckMs: number;
  /**
   * Turns the poll's schedule on and off (a BullMQ job scheduler): on while any pipeline has
   * followed executions, off when none has, so an idle bot runs no poll at all. Absent: the
   * caller polls (tests call pollOnce).
   */
  schedule?: { start(): Promise<void>; stop(): Promise<void> };
  /** Pipelines listed at once in a poll. */
  concurrency?: number;
}

/**
 * A step following its execution, in one command (it runs on every wake): its entry's `seen` is the
 * fingerprint listed so far. KEYS: the pipeline's listed fingerprints, its followed executions, the
 * watched pipelines; ARGV: execution id, operation id JSON-quoted, since (an integer), pipeline.
 * Returns 1 when the pipeline was not watched before.
 */
const FOLLOW_SCRIPT = new LuaScript(`
local seen = redis.call('HGET', KEYS[1], ARGV[1]) or ''
redis.call('HSET', KEYS[2], ARGV[1], '{"op":' .. ARGV[2] .. ',"seen":' .. cjson.encode(seen) .. ',"since":' .. ARGV[3] .. '}')
return redis.call('SADD', KEYS[3], ARGV[4])`);

/** Reach this much further back than the oldest followed start: clocks of lanebot and AWS differ a little. */
const START_MARGIN_MS = 5 * 60_000;

export interface WatchPass {
  pipelines: number;
  executions: number;
  woken: number;
  /** Pipelines whose list failed this time (the steps' own rechecks cover them). */
  failed: number;
}

export function executionFingerprint(summary: Pick<ExecutionSummary, 'status' | 'lastUpdatedAt'>): string {
  return `${summary.status}@${summary.lastUpdatedAt ?? ''}`;
}

export class PipelineWatch implements PipelineTracking {
  readonly recheckMs: number;

  constructor(private readonly deps: PipelineWatchDeps) {
    this.recheckMs = deps.recheckMs;
  }

  async follow({ pipeline, executionId, operationId, since }: { pipeline: string; executionId: string; operationId: string; since: number }): Promise<void> {
    const { redis, keys } = this.deps;
    // SADD every time: a poll that found the pipeline without entries may have just removed it.
    const added = await FOLLOW_SCRIPT.run(redis, 3, keys.pipelineListed(pipeline), keys.pipelineWatch(pipeline), keys.pipelinesWatched, executionId, JSON.stringify(operationId), Math.floor(since), pipeline);
    // A pipeline new to the set may be the first one: the poll's schedule may be off. (SADD comes
    // first: a poll that turns the schedule off checks the set again afterwards, see pollOnce.)
    if (added === 1) await this.deps.schedule?.start();
  }

  /** Turns the poll's schedule on when some pipeline has followed executions (at start, and by the recovery pass). */
  async ensureScheduled(): Promise<void> {
    if ((await this.deps.redis.scard(this.deps.keys.pipelinesWatched)) > 0) await this.deps.schedule?.start();
  }

  async forget(pipeline: string, executionId: string): Promise<void> {
    const { redis, keys } = this.deps;
    await redis.multi().hdel(keys.pipelineWatch(pipeline), executionId).hdel(keys.pipelineListed(pipeline), executionId).exec();
  }

  private consuming?: Promise<void>;
  private abort?: AbortController;

  /**
   * One receive of the event feed: wakes the operations of the followed executions that moved (once
   * each per batch) and acknowledges the messages handled. An event of an execution nobody follows
   * (yet) is dropped: the step reads it first anyway, and the list poll covers the rest. A message
   * whose handling failed comes back after its visibility timeout; the first failure is thrown once
   * the batch is done, so the loop backs off.
   */
  async consumeOnce(events: PipelineEventsPort, waitSeconds: number, signal?: AbortSignal): Promise<number> {
    const { redis, keys } = this.deps;
    const changes = await events.receive(10, waitSeconds, signal);
    const handled: string[] = [];
    const woken = new Set<string>();
    let failure: { error: unknown } | undefined;
    for (const change of changes) {
      try {
        const raw = await redis.hget(keys.pipelineWatch(change.pipeline), change.executionId);
        const op = raw ? (JSON.parse(raw) as WatchEntry).op : undefined;
        if (op && !woken.has(op)) {
          await this.deps.wake(op);
          woken.add(op);
        }
        handled.push(change.receipt);
      } catch (error) {
        this.deps.logger.warn({ err: error, pipeline: change.pipeline, executionId: change.executionId }, 'handling a pipeline event failed; it comes back after its visibility timeout');
        failure ??= { error };
      }
    }
    await events.acknowledge(handled);
    if (failure) throw failure.error;
    return woken.size;
  }

  /** Reads the event feed until stop(), backing off after failures (the list poll goes on meanwhile). */
  startConsuming(events: PipelineEventsPort, waitSeconds = 20): void {
    if (this.consuming) return;
    const abort = new AbortController();
    this.abort = abort;
    this.consuming = (async () => {
      let failures = 0;
      while (!abort.signal.aborted) {
        try {
          await this.consumeOnce(events, waitSeconds, abort.signal);
          failures = 0;
        } catch (error) {
          if (abort.signal.aborted) break;
          failures++;
          this.deps.logger.warn({ err: describeCause(error), failures }, 'reading pipeline events failed; the list poll still sees every change');
          await sleepUnlessAborted(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), abort.signal);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.consuming;
    this.consuming = undefined;
  }

  /** One poll: every watched pipeline listed once, the operations whose execution moved woken. */
  async pollOnce(): Promise<WatchPass> {
    const pipelines = await this.deps.redis.smembers(this.deps.keys.pipelinesWatched);
    const pass: WatchPass = { pipelines: pipelines.length, executions: 0, woken: 0, failed: 0 };
    const queue = [...pipelines];
    const worker = async () => {
      for (let pipeline = queue.shift(); pipeline !== undefined; pipeline = queue.shift()) await this.pollPipeline(pipeline, pass);
    };
    await Promise.all(Array.from({ length: Math.min(queue.length, this.deps.concurrency ?? 4) }, worker));
    const { schedule } = this.deps;
    if (schedule && pass.executions === 0) {
      // Nothing left to follow: the schedule goes off, then the set is read again, so a step that
      // added a pipeline meanwhile (and found the schedule on) is not left without a poll.
      await schedule.stop();
      await this.ensureScheduled();
    }
    return pass;
  }

  private async pollPipeline(pipeline: string, pass: WatchPass): Promise<void> {
    const { redis, keys, logger } = this.deps;
    const raw = await redis.hgetall(keys.pipelineWatch(pipeline));
    const entries = new Map<string, WatchEntry>();
    for (const [executionId, json] of Object.entries(raw)) {
      try {
        entries.set(executionId, JSON.parse(json) as WatchEntry);
      } catch {
        await redis.hdel(keys.pipelineWatch(pipeline), executionId); // unreadable: its step writes it again
      }
    }
    if (entries.size === 0) {
      await redis.srem(keys.pipelinesWatched, pipeline);
      // A step that followed an execution meanwhile: if its entry came before this look, put the
      // pipeline back; if after, its own SADD (after its entry) comes after the SREM and does.
      if ((await redis.hlen(keys.pipelineWatch(pipeline))) > 0) await redis.sadd(keys.pipelinesWatched, pipeline);
      return;
    }
    pass.executions += entries.size;
    let listed: ExecutionSummary[];
    try {
      const since = Math.min(...[...entries.values()].map((e) => e.since)) - START_MARGIN_MS;
      listed = await this.deps.pipelines.listExecutions(pipeline, { startedSince: since });
    } catch (error) {
      pass.failed++;
      logger.warn({ pipeline, err: describeCause(error) }, 'could not list the pipeline executions; the operations re-read on their own meanwhile');
      return;
    }
    const moved: { executionId: string; op: string; fingerprint: string }[] = [];
    for (const summary of listed) {
      const entry = entries.get(summary.executionId);
      if (!entry) continue;
      const fingerprint = executionFingerprint(summary);
      if (fingerprint !== entry.seen) moved.push({ executionId: summary.executionId, op: entry.op, fingerprint });
    }
    if (moved.length === 0) return;
    // One HSET for all of them (no MULTI: it is one command, and an ioredis Pipeline copies every
    // script defined on the connection, BullMQ's dozens, each time one is built).
    await redis.hset(keys.pipelineListed(pipeline), Object.fromEntries(moved.map((m) => [m.executionId, m.fingerprint])));
    for (const m of moved) {
      try {
        if ((await this.deps.wake(m.op)) === false) await this.forget(pipeline, m.executionId);
        else pass.woken++;
      } catch (error) {
        logger.warn({ pipeline, operationId: m.op, err: describeCause(error) }, 'could not wake the operation; the next poll tries again');
      }
    }
  }
}

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
