// The thread narrator: everything lanebot says about a deploy goes through a per-deploy outbox in
// Redis and is sent by `narrate` jobs, so that
//  - replies of one thread arrive in order (one sender per thread at a time, under a Redis lock);
//  - none is lost when Slack fails transiently (an entry leaves the outbox only once Slack took it);
//  - root-message edits are coalesced (the root is re-rendered from the deploy record, once per
//    batch of changes, never once per change);
//  - Slack's limits hold across every bot process (pacing state is in Redis, 429s set it);
//  - two processes never send the same reply (entries are de-duplicated by id when added).
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Clock } from '../clock';
import type { DeployRecord } from '../domain/deploy';
import { backoff, DONE, later, type NarrateJobData, type Queues, type StepOutcome } from '../queue/queues';
import type { DeployStore } from '../state/deploy-store';
import type { RedisKeys } from '../state/keys';
import { DEPLOY_RETENTION_SECONDS } from '../state/deploy-store';
import { ChatRateLimitedError, ChatRejectedError, type ChatPort } from './chat.port';
import { rootMessage, threadReply, type RenderContext, type ThreadEvent } from './messages';

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

// Adds an entry unless one with the same id was ever added to this thread.
const APPEND_SCRIPT = `
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1`;

// Takes a send slot from every bucket, or says how long to wait for the latest of them.
const PACE_SCRIPT = `
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local nextAt = tonumber(redis.call('GET', key) or '0')
  if nextAt - now > wait then wait = nextAt - now end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[i + 1])
  redis.call('SET', key, now + interval, 'PX', interval + 60000)
end
return 0`;

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
  constructor(deployId: string) {
    super(`lost the Slack send lock of deploy ${deployId}`);
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
  async say(deployId: string, entryId: string, event: ThreadEvent): Promise<void> {
    const entry: OutboxEntry = { id: entryId, event };
    await this.redis.eval(
      APPEND_SCRIPT,
      2,
      this.keys.outboxSeen(deployId),
      this.keys.outbox(deployId),
      entryId,
      JSON.stringify(entry),
      DEPLOY_RETENTION_SECONDS,
    );
    await this.schedule(deployId);
  }

  /** Marks the root message stale: it will be re-rendered from the deploy record. */
  async refreshRoot(deployId: string): Promise<void> {
    await this.redis.hincrby(this.keys.rootVersion(deployId), 'wanted', 1);
    await this.schedule(deployId);
  }

  private async schedule(deployId: string): Promise<void> {
    // A fresh job id every time: a flush already running may have looked at the outbox before this
    // entry arrived, so a job that merely de-duplicates against it could leave the entry unsent.
    await this.queues.narrate.add('flush', { deployId }, { jobId: `flush-${deployId}-${randomUUID()}` });
  }
}

/** The consumer side: the `narrate` job that drains one deploy's outbox. */
export class ThreadFlusher {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly deploys: DeployStore,
    private readonly chat: ChatPort,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly pacing: SlackPacing = SLACK_PACING,
  ) {}

  async flush(data: NarrateJobData): Promise<StepOutcome> {
    const { deployId } = data;
    const lockKey = this.keys.threadLock(deployId);
    const token = randomUUID();
    const locked = await this.redis.set(lockKey, token, 'PX', this.pacing.threadLockMs, 'NX');
    // Another process is sending this thread's messages; come back in case it stops before ours.
    if (locked !== 'OK') return later(LOCK_BUSY_RETRY_MS, { failures: data.failures ?? 0 });
    try {
      const outcome = await this.drain(deployId, async () => {
        const renewed = await this.redis.eval(RENEW_LOCK_SCRIPT, 1, lockKey, token, this.pacing.threadLockMs);
        if (renewed !== 1) throw new LostThreadLockError(deployId);
      });
      return outcome.done ? DONE : outcome;
    } catch (error) {
      return this.onSlackError(deployId, error, data.failures ?? 0);
    } finally {
      await this.redis.eval(RELEASE_LOCK_SCRIPT, 1, lockKey, token);
    }
  }

  /** Sends what the thread has pending, in order; `renewLock` runs before every Slack call. */
  private async drain(deployId: string, renewLock: () => Promise<void>): Promise<StepOutcome> {
    const log = this.logger.child({ deployId });
    for (;;) {
      await renewLock();
      const deploy = await this.deploys.get(deployId);
      if (!deploy) {
        log.warn('deploy record is gone; dropping its thread messages');
        return DONE;
      }

      if (deploy.rootTs === ROOT_UNAVAILABLE) {
        await this.redis.del(this.keys.outbox(deployId));
        return DONE;
      }

      if (!deploy.rootTs) {
        const wait = await this.pace([`channel:${deploy.channel}`], [this.pacing.postIntervalMs]);
        if (wait > 0) return later(wait);
        const version = await this.wantedRootVersion(deployId);
        const { ts } = await this.chat.post(deploy.channel, rootMessage(deploy, this.clock.now()));
        await this.deploys.update(deployId, { rootTs: ts });
        await this.redis.hset(this.keys.rootVersion(deployId), 'sent', version);
        log.info({ channel: deploy.channel, ts }, 'posted deploy root message');
        continue;
      }

      const head = await this.redis.lindex(this.keys.outbox(deployId), 0);
      if (head) {
        const wait = await this.pace([`channel:${deploy.channel}`], [this.pacing.postIntervalMs]);
        if (wait > 0) return later(wait);
        const entry = JSON.parse(head) as OutboxEntry;
        await this.chat.post(deploy.channel, threadReply(deploy, entry.event, await this.context(entry.event)), deploy.rootTs);
        // Only this flusher (it holds the thread lock) pops, so the head is still `entry`.
        await this.redis.lpop(this.keys.outbox(deployId));
        log.debug({ entry: entry.id }, 'posted thread reply');
        continue;
      }

      const [wanted, sent] = await this.rootVersions(deployId);
      if (wanted > sent) {
        const wait = await this.pace(['chat.update', `channel:${deploy.channel}`], [this.pacing.updateIntervalMs, this.pacing.postIntervalMs]);
        if (wait > 0) return later(wait);
        // Re-read after pacing so the edit shows the newest state; every change before `wanted` is in it.
        const fresh = (await this.deploys.get(deployId)) ?? deploy;
        await this.chat.update(deploy.channel, deploy.rootTs, rootMessage(fresh, this.clock.now()));
        await this.redis.hset(this.keys.rootVersion(deployId), 'sent', wanted);
        continue;
      }
      return DONE;
    }
  }

  private async context(event: ThreadEvent): Promise<RenderContext> {
    const now = this.clock.now();
    const otherId = event.kind === 'queued_behind' ? event.aheadDeployId : event.kind === 'superseded' ? event.byDeployId : undefined;
    if (!otherId) return { now };
    const other = await this.deploys.get(otherId);
    let otherLink: string | undefined;
    if (other && hasThread(other)) {
      otherLink = await this.chat.permalink(other.channel, other.rootTs).catch(() => undefined);
    }
    return { now, other, otherLink };
  }

  private async onSlackError(deployId: string, error: unknown, failures: number): Promise<StepOutcome> {
    const log = this.logger.child({ deployId });
    if (error instanceof LostThreadLockError) {
      // This process stalled past its lock; whoever holds it now sends the thread.
      log.warn('lost the thread lock while sending; leaving the thread to its new sender');
      return later(LOCK_BUSY_RETRY_MS, { failures });
    }
    if (error instanceof ChatRateLimitedError) {
      const deploy = await this.deploys.get(deployId);
      const until = Date.now() + error.retryAfterMs;
      const buckets = ['chat.update', ...(deploy ? [`channel:${deploy.channel}`] : [])];
      for (const bucket of buckets) await this.redis.eval(BLOCK_SCRIPT, 1, this.keys.pace(bucket), until, Date.now());
      log.warn({ retryAfterMs: error.retryAfterMs }, 'Slack rate limited lanebot; waiting as told by Retry-After');
      return later(error.retryAfterMs, { failures: 0 });
    }
    if (error instanceof ChatRejectedError) {
      await this.dropStuckMessage(deployId, error);
      return later(0, { failures: 0 });
    }
    const retryIn = backoff(failures + 1, 1000, 60_000);
    log.warn({ err: error, retryInMs: Math.round(retryIn) }, 'Slack call failed; the message stays queued and will be retried');
    return later(retryIn, { failures: failures + 1 });
  }

  /**
   * A message Slack refuses for good (e.g. the bot is not in the channel) would block the thread
   * forever; log the fix and let the rest of the thread through.
   */
  private async dropStuckMessage(deployId: string, error: ChatRejectedError): Promise<void> {
    const log = this.logger.child({ deployId });
    const deploy = await this.deploys.get(deployId);
    if (!deploy?.rootTs) {
      // Without a root message there is no thread: nothing of this deploy can be shown.
      log.error({ slackError: error.slackError }, `cannot post the deploy's root message: ${error.message}`);
      await this.redis.del(this.keys.outbox(deployId), this.keys.rootVersion(deployId));
      await this.deploys.update(deployId, { rootTs: ROOT_UNAVAILABLE });
      return;
    }
    const head = await this.redis.lindex(this.keys.outbox(deployId), 0);
    if (head) {
      log.error({ slackError: error.slackError, entry: head }, `dropping a thread reply Slack refuses: ${error.message}`);
      await this.redis.lpop(this.keys.outbox(deployId));
    } else {
      log.error({ slackError: error.slackError }, `cannot update the root message: ${error.message}`);
      const [wanted] = await this.rootVersions(deployId);
      await this.redis.hset(this.keys.rootVersion(deployId), 'sent', wanted);
    }
  }

  private async pace(buckets: string[], intervals: number[]): Promise<number> {
    const keys = buckets.map((b) => this.keys.pace(b));
    return Number(await this.redis.eval(PACE_SCRIPT, keys.length, ...keys, Date.now(), ...intervals));
  }

  private async wantedRootVersion(deployId: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.rootVersion(deployId), 'wanted')) ?? 0);
  }

  private async rootVersions(deployId: string): Promise<[number, number]> {
    const [wanted, sent] = await this.redis.hmget(this.keys.rootVersion(deployId), 'wanted', 'sent');
    return [Number(wanted ?? 0), Number(sent ?? 0)];
  }
}

/** A deploy whose root message Slack refused for good has no thread to link to. */
export function hasThread(deploy: DeployRecord): deploy is DeployRecord & { rootTs: string } {
  return !!deploy.rootTs && deploy.rootTs !== ROOT_UNAVAILABLE;
}
