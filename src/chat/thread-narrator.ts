// The thread narrator: everything lanebot says about an operation (a deploy, a delete, …) goes through a per-operation outbox in
// Redis and is sent by `narrate` jobs, so that
//  - replies of one thread arrive in order (one flush job per thread, plus a Redis send lock);
//  - none is lost when Slack fails transiently (an entry leaves the outbox only once Slack took it);
//  - root-message edits are coalesced (the root is re-rendered from the deploy record, once per
//    batch of changes, never once per change);
//  - Slack's limits hold across every bot process (send slots are reserved in Redis; 429s push
//    them out by Retry-After);
//  - two processes never send the same reply (entries are de-duplicated by id when added).
//
// A thread with something to send is listed in a "pending" sorted set, changed atomically with the
// outbox. The flush job (job id `flush-<operation>`, so one per thread) removes the thread from that
// set only when it finds nothing left to send. A periodic sweep re-schedules threads that stayed
// pending, which covers the one gap a de-duplicated job id leaves: an entry added while the flush
// job is completing.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Clock } from '../clock';
import type { OperationRecord } from '../domain/operation';
import { backoff, DONE, later, type NarrateJobData, type Queues, type StepOutcome } from '../queue/queues';
import type { RedisKeys } from '../state/keys';
import { OPERATION_RETENTION_SECONDS, type OperationStore } from '../state/operation-store';
import { ChatRateLimitedError, ChatRejectedError, type ChatPort, type PostMarker } from './chat.port';
import { rootMessage, threadReply, type RenderContext, type ThreadEvent, type ViewOf } from './messages';

interface OutboxEntry {
  id: string;
  event: ThreadEvent;
}

export interface SlackPacing {
  /** Minimum gap between messages posted to one channel (Slack: about one per second). */
  postIntervalMs: number;
  /** Minimum gap between chat.update calls of this bot (Tier 3: about 50 a minute). */
  updateIntervalMs: number;
  /**
   * How long a thread's send lock lives without renewal: how soon another process takes over a
   * thread whose sender died. Renewed before every Slack call (whose timeout is 10 s).
   */
  threadLockMs: number;
}

export const SLACK_PACING: SlackPacing = { postIntervalMs: 1000, updateIntervalMs: 1200, threadLockMs: 15_000 };

/** Threads pending longer than this without a change are re-scheduled by the sweep. */
export const SWEEP_AFTER_MS = 10_000;

// KEYS: seen set, outbox, pending set. ARGV: entry id, entry JSON, ttl seconds, now, deploy id.
// Adds an entry unless one with the same id was ever added to this thread.
const APPEND_SCRIPT = `
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
return 1`;

// KEYS: root version hash, pending set. ARGV: now, deploy id.
const TOUCH_ROOT_SCRIPT = `
redis.call('HINCRBY', KEYS[1], 'wanted', 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
return 1`;

// KEYS: outbox, root version hash, pending set. ARGV: deploy id.
// The thread leaves the pending set only if it has nothing left to send, atomically with the check.
const SETTLE_SCRIPT = `
if redis.call('LLEN', KEYS[1]) > 0 then return 0 end
local wanted = tonumber(redis.call('HGET', KEYS[2], 'wanted') or '0')
local sent = tonumber(redis.call('HGET', KEYS[2], 'sent') or '0')
if wanted > sent then return 0 end
redis.call('ZREM', KEYS[3], ARGV[1])
return 1`;

// Reserves the next send slot in every bucket and returns how long until it (0: now). Each caller
// gets its own slot, so waiting senders do not all wake at once to compete for the same one.
const RESERVE_SCRIPT = `
local now = tonumber(ARGV[1])
local slot = now
for i, key in ipairs(KEYS) do
  local nextAt = tonumber(redis.call('GET', key) or '0')
  if nextAt > slot then slot = nextAt end
end
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[i + 1])
  redis.call('SET', key, slot + interval, 'PX', slot - now + interval + 60000)
end
return slot - now`;

// Pushes a bucket's next slot out to `until` (after a 429), never pulling it in.
const BLOCK_SCRIPT = `
local nextAt = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > nextAt then redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[1]) - tonumber(ARGV[2]) + 60000) end
return 1`;

const RELEASE_LOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const RENEW_LOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

/** Stored as `rootTs` when Slack refused the root message for good: the deploy has no thread. */
const ROOT_UNAVAILABLE = 'unavailable';
const LOCK_BUSY_RETRY_MS = 250;

class LostThreadLockError extends Error {
  constructor(operationId: string) {
    super(`lost the Slack send lock of deploy ${operationId}`);
    this.name = 'LostThreadLockError';
  }
}

/** The producer side: what jobs call to have something said in a deploy's thread. */
export class ThreadNarrator {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly queues: Pick<Queues, 'narrate'>,
  ) {}

  /**
   * Queues a reply in the deploy's thread. `entryId` names the event within the thread, so a
   * retried job saying the same thing again adds nothing.
   */
  async say(operationId: string, entryId: string, event: ThreadEvent): Promise<void> {
    const entry: OutboxEntry = { id: entryId, event };
    await this.redis.eval(
      APPEND_SCRIPT,
      3,
      this.keys.outboxSeen(operationId),
      this.keys.outbox(operationId),
      this.keys.narratePending,
      entryId,
      JSON.stringify(entry),
      OPERATION_RETENTION_SECONDS,
      Date.now(),
      operationId,
    );
    await scheduleFlush(this.queues, operationId);
  }

  /** Marks the root message stale: it will be re-rendered from the deploy record. */
  async refreshRoot(operationId: string): Promise<void> {
    await this.redis.eval(TOUCH_ROOT_SCRIPT, 2, this.keys.rootVersion(operationId), this.keys.narratePending, Date.now(), operationId, OPERATION_RETENTION_SECONDS);
    await scheduleFlush(this.queues, operationId);
  }
}

/** One flush job per thread: adding it again while it waits or runs is a no-op. */
async function scheduleFlush(queues: Pick<Queues, 'narrate'>, operationId: string): Promise<void> {
  // removeOnFail: a failed flush job must not keep its id (and block the thread) for a week.
  await queues.narrate.add('flush', { operationId }, { jobId: `flush-${operationId}`, removeOnFail: true });
}

/** The `sweep` job: re-schedules threads left pending (see the top of this file). */
export async function sweepPendingThreads(redis: Redis, keys: RedisKeys, queues: Pick<Queues, 'narrate'>): Promise<number> {
  const stale = await redis.zrangebyscore(keys.narratePending, '-inf', Date.now() - SWEEP_AFTER_MS, 'LIMIT', 0, 1000);
  for (const operationId of stale) await scheduleFlush(queues, operationId);
  return stale.length;
}

type SlotKind = 'post' | 'update';

/** The consumer side: the `narrate` job that drains one deploy's outbox. */
export class ThreadFlusher {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly operations: OperationStore,
    private readonly viewOf: ViewOf,
    private readonly chat: ChatPort,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly pacing: SlackPacing = SLACK_PACING,
  ) {}

  async flush(data: NarrateJobData): Promise<StepOutcome> {
    const { operationId } = data;
    const failures = data.failures ?? 0;
    // A send slot this job reserved before it went to sleep; used once, for the same kind of call.
    const slot = { at: data.slotAt || undefined, kind: data.slotKind };
    const lockKey = this.keys.threadLock(operationId);
    const token = randomUUID();
    const locked = await this.redis.set(lockKey, token, 'PX', this.pacing.threadLockMs, 'NX');
    // Another process is sending this thread's messages; come back in case it stops before ours.
    if (locked !== 'OK') return later(LOCK_BUSY_RETRY_MS, { failures, slotAt: slot.at ?? 0, slotKind: slot.kind });
    try {
      return await this.drain(operationId, slot, async () => {
        const renewed = await this.redis.eval(RENEW_LOCK_SCRIPT, 1, lockKey, token, this.pacing.threadLockMs);
        if (renewed !== 1) throw new LostThreadLockError(operationId);
      });
    } catch (error) {
      return this.onSlackError(operationId, error, failures);
    } finally {
      await this.redis.eval(RELEASE_LOCK_SCRIPT, 1, lockKey, token);
    }
  }

  /** Sends what the thread has pending, in order; `renewLock` runs before every Slack call. */
  private async drain(operationId: string, slot: { at?: number; kind?: SlotKind }, renewLock: () => Promise<void>): Promise<StepOutcome> {
    const log = this.logger.child({ operationId });
    const waitForSlot = async (kind: SlotKind, channel: string): Promise<StepOutcome | undefined> => {
      let wait: number;
      if (slot.at !== undefined && slot.kind === kind) {
        wait = slot.at - Date.now();
        slot.at = undefined;
      } else {
        wait = await this.reserve(kind, channel);
      }
      if (wait <= 0) return undefined;
      return later(wait, { failures: 0, slotAt: Date.now() + wait, slotKind: kind });
    };

    await this.recoverInterruptedPost(operationId);
    for (;;) {
      await renewLock();
      const deploy = await this.operations.get(operationId);
      if (!deploy || deploy.rootTs === ROOT_UNAVAILABLE) {
        if (!deploy) log.warn('deploy record is gone; dropping its thread messages');
        await this.redis.del(this.keys.outbox(operationId), this.keys.rootVersion(operationId));
        await this.redis.zrem(this.keys.narratePending, operationId);
        return DONE;
      }

      if (!deploy.rootTs) {
        const sleep = await waitForSlot('post', deploy.channel);
        if (sleep) return sleep;
        const version = await this.wantedRootVersion(operationId);
        const marker = { operationId, entry: 'root' };
        await this.noteSending(marker);
        const { ts } = await this.chat.post(deploy.channel, rootMessage(deploy, this.viewOf(deploy), this.clock.now()), { marker });
        await this.operations.update(operationId, { rootTs: ts });
        await this.redis.multi().hset(this.keys.rootVersion(operationId), 'sent', version).del(this.keys.threadSending(operationId)).exec();
        log.info({ channel: deploy.channel, ts }, 'posted deploy root message');
        continue;
      }

      const head = await this.redis.lindex(this.keys.outbox(operationId), 0);
      if (head) {
        const sleep = await waitForSlot('post', deploy.channel);
        if (sleep) return sleep;
        const entry = JSON.parse(head) as OutboxEntry;
        const marker = { operationId, entry: entry.id };
        await this.noteSending(marker);
        const reply = threadReply(deploy, entry.event, this.viewOf(deploy), await this.context(deploy, entry.event));
        await this.chat.post(deploy.channel, reply, { threadTs: deploy.rootTs, marker });
        // Only this flusher (it holds the thread lock) pops, so the head is still `entry`.
        await this.redis.multi().lpop(this.keys.outbox(operationId)).del(this.keys.threadSending(operationId)).exec();
        log.debug({ entry: entry.id }, 'posted thread reply');
        continue;
      }

      const [wanted, sent] = await this.rootVersions(operationId);
      if (wanted > sent) {
        const sleep = await waitForSlot('update', deploy.channel);
        if (sleep) return sleep;
        // Re-read after waiting so the edit shows the newest state; every change before `wanted` is in it.
        const fresh = (await this.operations.get(operationId)) ?? deploy;
        await this.chat.update(deploy.channel, deploy.rootTs, rootMessage(fresh, this.viewOf(fresh), this.clock.now()));
        await this.redis.hset(this.keys.rootVersion(operationId), 'sent', wanted);
        continue;
      }

      const settled = await this.redis.eval(SETTLE_SCRIPT, 3, this.keys.outbox(operationId), this.keys.rootVersion(operationId), this.keys.narratePending, operationId);
      if (settled === 1) return DONE;
    }
  }

  private async noteSending(marker: PostMarker): Promise<void> {
    await this.redis.set(this.keys.threadSending(marker.operationId), JSON.stringify({ entry: marker.entry, at: Date.now() }), 'EX', 24 * 3600);
  }

  /**
   * The previous sender of this thread died during a post: Slack may have the message although
   * lanebot never recorded it. Look for it (by its metadata marker) before posting it again.
   */
  private async recoverInterruptedPost(operationId: string): Promise<void> {
    const raw = await this.redis.get(this.keys.threadSending(operationId));
    if (!raw) return;
    const { entry, at } = JSON.parse(raw) as { entry: string; at: number };
    const deploy = await this.operations.get(operationId);
    const log = this.logger.child({ operationId, entry });
    if (deploy && (entry === 'root' ? !deploy.rootTs : hasThread(deploy))) {
      const found = await this.chat
        .findPosted(deploy.channel, { operationId, entry }, { threadTs: entry === 'root' ? undefined : deploy.rootTs, since: at - 5_000 })
        .catch((error: unknown) => {
          log.warn({ err: error }, 'cannot check whether an interrupted post reached Slack (needs channels:history); it may appear twice');
          return undefined;
        });
      if (found && entry === 'root') {
        await this.operations.update(operationId, { rootTs: found });
      } else if (found) {
        const head = await this.redis.lindex(this.keys.outbox(operationId), 0);
        if (head && (JSON.parse(head) as OutboxEntry).id === entry) await this.redis.lpop(this.keys.outbox(operationId));
      }
      if (found) log.info({ ts: found }, 'an interrupted post had reached Slack; not posting it again');
    }
    await this.redis.del(this.keys.threadSending(operationId));
  }

  private async context(op: OperationRecord, event: ThreadEvent): Promise<RenderContext> {
    const now = this.clock.now();
    const otherId =
      event.kind === 'queued_behind' ? event.aheadId : event.kind === 'superseded' ? event.byId : event.kind === 'finished' ? op.refusedBy : undefined;
    if (!otherId) return { now };
    const other = await this.operations.get(otherId);
    let otherLink: string | undefined;
    if (other && hasThread(other)) {
      otherLink = await this.chat.permalink(other.channel, other.rootTs).catch(() => undefined);
    }
    return { now, other, otherLink };
  }

  private async onSlackError(operationId: string, error: unknown, failures: number): Promise<StepOutcome> {
    const log = this.logger.child({ operationId });
    if (error instanceof LostThreadLockError) {
      // This process stalled past its lock; whoever holds it now sends the thread.
      log.warn('lost the thread lock while sending; leaving the thread to its new sender');
      return later(LOCK_BUSY_RETRY_MS, { failures, slotAt: 0 });
    }
    if (error instanceof ChatRateLimitedError) {
      const deploy = await this.operations.get(operationId);
      const until = Date.now() + error.retryAfterMs;
      const buckets = ['chat.update', ...(deploy ? [`channel:${deploy.channel}`] : [])];
      for (const bucket of buckets) await this.redis.eval(BLOCK_SCRIPT, 1, this.keys.pace(bucket), until, Date.now());
      log.warn({ retryAfterMs: error.retryAfterMs }, 'Slack rate limited lanebot; waiting as told by Retry-After');
      return later(error.retryAfterMs, { failures: 0, slotAt: 0 });
    }
    if (error instanceof ChatRejectedError) {
      await this.dropStuckMessage(operationId, error);
      return later(0, { failures: 0, slotAt: 0 });
    }
    const retryIn = backoff(failures + 1, 1000, 60_000);
    log.warn({ err: error, retryInMs: Math.round(retryIn) }, 'Slack call failed; the message stays queued and will be retried');
    return later(retryIn, { failures: failures + 1, slotAt: 0 });
  }

  /**
   * A message Slack refuses for good (e.g. the bot is not in the channel) would block the thread
   * forever; log the fix and let the rest of the thread through.
   */
  private async dropStuckMessage(operationId: string, error: ChatRejectedError): Promise<void> {
    const log = this.logger.child({ operationId });
    const deploy = await this.operations.get(operationId);
    if (!deploy?.rootTs) {
      // Without a root message there is no thread: nothing of this deploy can be shown.
      log.error({ slackError: error.slackError }, `cannot post the deploy's root message: ${error.message}`);
      await this.redis.del(this.keys.outbox(operationId), this.keys.rootVersion(operationId));
      await this.operations.update(operationId, { rootTs: ROOT_UNAVAILABLE });
      return;
    }
    const head = await this.redis.lindex(this.keys.outbox(operationId), 0);
    if (head) {
      log.error({ slackError: error.slackError, entry: head }, `dropping a thread reply Slack refuses: ${error.message}`);
      await this.redis.lpop(this.keys.outbox(operationId));
    } else {
      log.error({ slackError: error.slackError }, `cannot update the root message: ${error.message}`);
      const [wanted] = await this.rootVersions(operationId);
      await this.redis.hset(this.keys.rootVersion(operationId), 'sent', wanted);
    }
  }

  /** Posts share the channel's slot; edits also share the bot-wide chat.update slot. */
  private async reserve(kind: SlotKind, channel: string): Promise<number> {
    const buckets = kind === 'post' ? [`channel:${channel}`] : [`channel:${channel}`, 'chat.update'];
    const intervals = kind === 'post' ? [this.pacing.postIntervalMs] : [this.pacing.postIntervalMs, this.pacing.updateIntervalMs];
    const keys = buckets.map((b) => this.keys.pace(b));
    return Number(await this.redis.eval(RESERVE_SCRIPT, keys.length, ...keys, Date.now(), ...intervals));
  }

  private async wantedRootVersion(operationId: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.rootVersion(operationId), 'wanted')) ?? 0);
  }

  private async rootVersions(operationId: string): Promise<[number, number]> {
    const [wanted, sent] = await this.redis.hmget(this.keys.rootVersion(operationId), 'wanted', 'sent');
    return [Number(wanted ?? 0), Number(sent ?? 0)];
  }
}

/** A deploy whose root message Slack refused for good has no thread to link to. */
export function hasThread(deploy: OperationRecord): deploy is OperationRecord & { rootTs: string } {
  return !!deploy.rootTs && deploy.rootTs !== ROOT_UNAVAILABLE;
}
