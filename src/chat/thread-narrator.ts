// The thread narrator: everything lanebot says about an operation (a deploy, a delete, …) goes through a per-operation outbox in
// Redis and is sent by `narrate` jobs, so that
//  - replies of one thread arrive in order (one flush job per thread, plus a Redis send lock);
//  - none is lost when Slack fails transiently (an entry leaves the outbox only once Slack took it);
//  - root-message edits are coalesced (the root is re-rendered from the deploy record, once per
//    batch of changes, never once per change);
//  - Slack's limits hold across every bot process (send slots are reserved in Redis; 429s push
//    them out by Retry-After). Posts and edits have limits of their own, and so slots of their own:
//    posts one per `postIntervalMs` per channel, chat.update one per `updateIntervalMs` for the
//    whole bot. A job keeps a slot it reserved until it uses it (for the same kind of call);
//  - replies a person must see go ahead of cosmetic root edits: a thread's replies never wait for
//    an edit slot (a job asleep for one is woken by a new reply), and when edits are saturated a
//    root edit of an operation still under way takes no slot at all: it is tried again later,
//    re-rendered from the newest state, so intermediate states are dropped. The edit that shows an
//    operation's final state (or an approval request) always takes a slot: it always happens;
//  - two processes never send the same reply (entries are de-duplicated by id when added).
//
// What is guaranteed when an answer from Slack is lost (exactly-once without history):
//  - Before every post the sender records the attempt in Redis (`thread:<id>:sending`), and every
//    post carries a metadata marker (operation id + entry id). A call that surely did nothing (a 429,
//    a refusal, a connection that never opened) clears the record and is simply retried.
//  - After an ambiguous outcome (a 500, a timeout, a reset, a sender that died mid-call) the next
//    sender looks for the marker with conversations.history/replies. Found: recorded, not re-posted.
//    Not found: posted again (it never arrived).
//  - When history cannot be read (no channels:history scope, a private channel, an error), nothing
//    can tell whether Slack has the message. Then:
//      · a thread reply is NOT posted again: replies are at-most-once in this case, exactly-once
//        otherwise. What a lost reply said is never lost state: the root message is re-rendered from
//        the operation record on every flush and shows the outcome.
//      · the root message IS posted again (a thread must exist), so a copy may be left behind. That
//        is why a root is first posted without a status (`rootPlaceholder`: who asked for what) and
//        its status is only ever written by chat.update on the ts lanebot recorded: a left-behind
//        copy never shows "queued" for ever, and later updates never wait for the lost ts.
//
// Never silent: when Slack refuses posts in the channel for good (not_in_channel, channel_not_found,
// is_archived), the requester gets one direct message saying so and how to fix it, and the channel
// is marked as not postable (channel-membership.ts). The operation itself goes on (it was queued
// and may already run: cancelling a deploy because its narration failed would surprise more than
// it helps); its outcome is sent as a second direct message when it ends. At most two DMs per
// operation, each claimed in Redis before it is sent.
//
// Floods: an operation superseded before it started gets no thread at all (its requester had the
// ack; nothing ran), and the root of an operation that waits for its lane is posted only once it
// has waited `rootSettleMs` (a loop of requests supersedes each one long before): a loop costs a
// bounded number of posts, not one thread per request. Send slots are reserved per channel, so one
// channel's backlog never delays another channel's messages.
//
// A thread with something to send is listed in a "pending" sorted set, changed atomically with the
// outbox. The flush job (job id `flush-<operation>`, so one per thread) removes the thread from that
// set only when it finds nothing left to send. A periodic sweep re-schedules threads that stayed
// pending, which covers the one gap a de-duplicated job id leaves: an entry added while the flush
// job is completing.
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../redis/redis-connection';
import type { Logger } from 'pino';
import type { Clock } from '../clock';
import { isFinished, LANEBOT_ACTOR, type OperationRecord } from '../domain/operation';
import { backoff, DONE, later, type NarrateJobData, type Queues, type StepOutcome } from '../queue/queues';
import type { RedisKeys } from '../state/keys';
import { OPERATION_RETENTION_SECONDS, toFields, type OperationPatch, type OperationStore } from '../state/operation-store';
import { ChannelMembership } from './channel-membership';
import { CHANNEL_REFUSALS, ChatRateLimitedError, ChatRejectedError, surelyNotPosted, type ChatMessage, type ChatPort, type PostMarker } from './chat.port';
import { cannotPostNotice, outcomeNotice, rootMessage, rootPlaceholder, threadReply, type RenderContext, type ThreadEvent, type ViewOf } from './messages';
import { LuaScript } from '../redis/lua-script';

interface OutboxEntry {
  id: string;
  event: ThreadEvent;
}

export interface SlackPacing {
  /** Minimum gap between messages posted to one channel (Slack: about one per second). */
  postIntervalMs: number;
  /** Minimum gap between chat.update calls of this bot, workspace-wide (Tier 3: about 50 a minute). */
  updateIntervalMs: number;
  /**
   * Edits are saturated when the next free chat.update slot is further away than this: then a
   * cosmetic root edit (of an operation neither finished nor awaiting approval) takes no slot and
   * is tried again later, re-rendered from the newest state, so its intermediate states are dropped
   * and the slots go to the edits a person must see. Default: 5 update intervals.
   */
  editBacklogMs?: number;
  /**
   * How long a thread's send lock lives without renewal: how soon another process takes over a
   * thread whose sender died. Renewed before every Slack call (whose timeout is 10 s).
   */
  threadLockMs: number;
  /**
   * The root of an operation waiting for its lane is posted once it has waited this long (0: at
   * once), so a loop of requests, each superseding the previous one, posts nothing per request.
   * A request not yet admitted waits at most QUEUED_SETTLE_MS of it (admission is a moment away).
   */
  rootSettleMs?: number;
}

export const SLACK_PACING: SlackPacing = { postIntervalMs: 1000, updateIntervalMs: 1200, threadLockMs: 15_000, rootSettleMs: 2_000 };

const QUEUED_SETTLE_MS = 200;

/** Threads pending longer than this without a change are re-scheduled by the sweep. */
export const SWEEP_AFTER_MS = 10_000;

// KEYS: seen set, outbox, pending set. ARGV: entry id, entry JSON, ttl seconds, now, deploy id.
// Adds an entry unless one with the same id was ever added to this thread.
const APPEND_SCRIPT = new LuaScript(`
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
return 1`);

/** Lua that marks a thread's root stale: KEYS[root] its version hash, KEYS[pending] the pending set; ARGV 1–3: now, operation id, ttl seconds. */
const touchRootLua = (root: number, pending: number) => `
redis.call('HINCRBY', KEYS[${root}], 'wanted', 1)
redis.call('EXPIRE', KEYS[${root}], ARGV[3])
redis.call('ZADD', KEYS[${pending}], ARGV[1], ARGV[2])`;

// KEYS: root version hash, pending set. ARGV: now, operation id, ttl seconds.
const TOUCH_ROOT_SCRIPT = new LuaScript(`${touchRootLua(1, 2)}
return 1`);

// KEYS: operation record, root version hash, pending set. ARGV: now, operation id, ttl seconds,
// then the record's fields to set. A change the root shows: saved, and the root marked stale, in
// one command (a stage that moved does both on every poll that sees it). A record that expired or
// was never created is not brought back.
const SHOW_CHANGE_SCRIPT = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))${touchRootLua(2, 3)}
return 1`);

// KEYS: outbox, root version hash, pending set. ARGV: deploy id.
// The thread leaves the pending set only if it has nothing left to send, atomically with the check.
const SETTLE_SCRIPT = new LuaScript(`
if redis.call('LLEN', KEYS[1]) > 0 then return 0 end
local wanted = tonumber(redis.call('HGET', KEYS[2], 'wanted') or '0')
local sent = tonumber(redis.call('HGET', KEYS[2], 'sent') or '0')
if wanted > sent then return 0 end
redis.call('ZREM', KEYS[3], ARGV[1])
return 1`);

// Reserves the next send slot in every bucket and returns how long until it (0: now). Each caller
// gets its own slot, so waiting senders do not all wake at once to compete for the same one.
// The last ARGV, when above 0, is a backlog limit: a slot further away than it is not reserved and
// the answer is minus the backlog (the caller is a cosmetic edit, dropped while edits are saturated).
const RESERVE_SCRIPT = new LuaScript(`
local now = tonumber(ARGV[1])
local slot = now
for i, key in ipairs(KEYS) do
  local nextAt = tonumber(redis.call('GET', key) or '0')
  if nextAt > slot then slot = nextAt end
end
local limit = tonumber(ARGV[#KEYS + 2] or '0')
if limit > 0 and slot - now > limit then return now - slot end
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[i + 1])
  redis.call('SET', key, slot + interval, 'PX', slot - now + interval + 60000)
end
return slot - now`);

// Pushes a bucket's next slot out to `until` (after a 429), never pulling it in.
const BLOCK_SCRIPT = new LuaScript(`
local nextAt = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > nextAt then redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[1]) - tonumber(ARGV[2]) + 60000) end
return 1`);

const RELEASE_LOCK_SCRIPT = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

const RENEW_LOCK_SCRIPT = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`);

// The hot paths below are scripts rather than MULTIs: an ioredis MULTI builds a Pipeline, which
// copies every script defined on the connection (BullMQ's, dozens) each time.

// KEYS: root version hash. ARGV: now, ttl seconds. When the thread was first flushed (stamped now
// if never), for the root's settle wait.
const SETTLE_SINCE_SCRIPT = new LuaScript(`
redis.call('HSETNX', KEYS[1], 'since', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return redis.call('HGET', KEYS[1], 'since')`);

// KEYS: outbox, thread-sending marker, entry timestamps hash. ARGV: entry id ('' when its timestamp
// is not kept), the reply's ts, ttl seconds. A reply was posted: off the outbox head, marker cleared.
const REPLY_POSTED_SCRIPT = new LuaScript(`
redis.call('LPOP', KEYS[1])
redis.call('DEL', KEYS[2])
if ARGV[1] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
  redis.call('EXPIRE', KEYS[3], ARGV[3])
end
return 1`);

/** Stored as `rootTs` when Slack refused the root message for good: the deploy has no thread. */
const ROOT_UNAVAILABLE = 'unavailable';
/** Stored as `rootTs` of an operation superseded before it started: it gets no thread. */
export const ROOT_SKIPPED = 'skipped';
const LOCK_BUSY_RETRY_MS = 250;

class LostThreadLockError extends Error {
  constructor(operationId: string) {
    super(`lost the Slack send lock of deploy ${operationId}`);
    this.name = 'LostThreadLockError';
  }
}

/** Looking for an interrupted post failed transiently: the attempt stays recorded and is checked again. */
class HistoryLookupError extends Error {
  constructor(readonly original: unknown) {
    super(`could not read the channel history: ${(original as Error)?.message ?? String(original)}`);
    this.name = 'HistoryLookupError';
  }
}

/** The producer side: what jobs call to have something said in a deploy's thread. */
export class ThreadNarrator {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly queues: Pick<Queues, 'narrate'>,
  ) {}

  /**
   * Queues a reply in the deploy's thread. `entryId` names the event within the thread, so a
   * retried job saying the same thing again adds nothing.
   */
  async say(operationId: string, entryId: string, event: ThreadEvent): Promise<void> {
    const entry: OutboxEntry = { id: entryId, event };
    await APPEND_SCRIPT.run(
      this.redis,
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
    // Added every time, not only when the thread becomes pending: a flush job that settled the
    // thread may still be completing (an add then is a no-op), and the next change must add it.
    await scheduleFlush(this.queues, operationId);
    await wakeForReply(this.queues, operationId);
  }

  /**
   * Saves a change of the operation's record that its root message shows (stages, a status line)
   * and marks the root stale, as `operations.update` then `refreshRoot` would, in one command.
   */
  async showChange(operationId: string, patch: OperationPatch): Promise<void> {
    const fields = toFields(patch);
    if (fields.length === 0) return this.refreshRoot(operationId);
    const saved = await SHOW_CHANGE_SCRIPT.run(
      this.redis,
      3,
      this.keys.operation(operationId),
      this.keys.rootVersion(operationId),
      this.keys.narratePending,
      Date.now(),
      operationId,
      OPERATION_RETENTION_SECONDS,
      ...fields,
    );
    if (saved === 1) await scheduleFlush(this.queues, operationId);
  }

  /** Marks the root message stale: it will be re-rendered from the deploy record. */
  async refreshRoot(operationId: string): Promise<void> {
    await TOUCH_ROOT_SCRIPT.run(this.redis, 2, this.keys.rootVersion(operationId), this.keys.narratePending, Date.now(), operationId, OPERATION_RETENTION_SECONDS);
    await scheduleFlush(this.queues, operationId);
  }
}

/** One flush job per thread: adding it again while it waits or runs is a no-op. */
async function scheduleFlush(queues: Pick<Queues, 'narrate'>, operationId: string): Promise<void> {
  // removeOnFail: a failed flush job must not keep its id (and block the thread) for a week.
  await queues.narrate.add('flush', { operationId }, { jobId: `flush-${operationId}`, removeOnFail: true });
}

/**
 * A reply goes ahead of cosmetic edits: a flush job asleep with no reply to send (waiting for a
 * chat.update slot, or for saturated edits to drain) is woken now; it keeps the slot it holds.
 */
async function wakeForReply(queues: Pick<Queues, 'narrate'>, operationId: string): Promise<void> {
  const job = await queues.narrate.getJob(`flush-${operationId}`);
  if (job?.data.sleepingFor !== 'update') return;
  // Fails only when the job is no longer delayed: then it is running or about to, and sees the reply.
  await job.promote().catch(() => undefined);
}

/** The `sweep` job: re-schedules threads left pending (see the top of this file). */
export async function sweepPendingThreads(redis: RedisClient, keys: RedisKeys, queues: Pick<Queues, 'narrate'>): Promise<number> {
  const stale = await redis.zrangebyscore(keys.narratePending, '-inf', Date.now() - SWEEP_AFTER_MS, 'LIMIT', 0, 1000);
  for (const operationId of stale) await scheduleFlush(queues, operationId);
  return stale.length;
}

type SlotKind = 'post' | 'update';

/** The send slots a flush job holds: when each may be used (ms since the epoch). */
interface Slots {
  post?: number;
  update?: number;
  /** Consecutive times the root's cosmetic edit found edits saturated (0 once an edit is sent). */
  editDeferrals: number;
}

/** The Slack call in flight: a 429 blocks the bucket it used; a refusal drops what it sent. */
interface Attempt {
  kind?: SlotKind;
  /** The root message (its post or an edit), or the outbox entry at the head (a reply or a note's edit). */
  target?: 'root' | 'entry';
}

/** The job data that keeps a job's unused slots across its sleep (0: none). */
const NO_SLOTS = { postSlotAt: 0, updateSlotAt: 0, slotAt: 0, sleepingFor: '' } as const;

function keptSlots(slots: Slots): Pick<NarrateJobData, 'postSlotAt' | 'updateSlotAt' | 'slotAt' | 'slotKind' | 'editDeferrals'> {
  return { postSlotAt: slots.post ?? 0, updateSlotAt: slots.update ?? 0, slotAt: 0, slotKind: undefined, editDeferrals: slots.editDeferrals };
}

/** The longest a cosmetic root edit waits for saturated edits before it looks again. */
const MAX_EDIT_DEFERRAL_MS = 60_000;

/** The consumer side: the `narrate` job that drains one deploy's outbox. */
export class ThreadFlusher {
  private readonly membership: ChannelMembership;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly operations: OperationStore,
    private readonly viewOf: ViewOf,
    private readonly chat: ChatPort,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly pacing: SlackPacing = SLACK_PACING,
  ) {
    this.membership = new ChannelMembership(redis, keys);
  }

  async flush(data: NarrateJobData): Promise<StepOutcome> {
    const { operationId } = data;
    const failures = data.failures ?? 0;
    // Send slots this job reserved before it went to sleep: kept until used, each for its own kind
    // of call (a post slot is never spent on an edit, nor thrown away because an edit came first).
    const slots: Slots = {
      post: data.postSlotAt || (data.slotKind === 'post' ? data.slotAt : undefined) || undefined,
      update: data.updateSlotAt || (data.slotKind === 'update' ? data.slotAt : undefined) || undefined,
      editDeferrals: data.editDeferrals ?? 0,
    };
    const attempt: Attempt = {};
    const lockKey = this.keys.threadLock(operationId);
    const token = randomUUID();
    const locked = await this.redis.set(lockKey, token, 'PX', this.pacing.threadLockMs, 'NX');
    // Another process is sending this thread's messages; come back in case it stops before ours.
    if (locked !== 'OK') return later(LOCK_BUSY_RETRY_MS, { failures, ...keptSlots(slots) });
    try {
      return await this.drain(operationId, slots, attempt, async () => {
        const renewed = await RENEW_LOCK_SCRIPT.run(this.redis, 1, lockKey, token, this.pacing.threadLockMs);
        if (renewed !== 1) throw new LostThreadLockError(operationId);
      });
    } catch (error) {
      return this.onSlackError(operationId, error, failures, attempt);
    } finally {
      await RELEASE_LOCK_SCRIPT.run(this.redis, 1, lockKey, token);
    }
  }

  /**
   * Sends what the thread has pending; `renewLock` runs before every Slack call. Replies go out in
   * order; root edits are re-rendered from the record when sent (coalesced). Posts take the
   * channel's slots and edits the workspace's chat.update slots, so neither waits for the other:
   * whichever has its slot first goes, and a slot not due yet is kept for when it is.
   */
  private async drain(operationId: string, slots: Slots, attempt: Attempt, renewLock: () => Promise<void>): Promise<StepOutcome> {
    const log = this.logger.child({ operationId });
    /** Whether a slot of this kind is free now (consumed), how long until the one kept (ms), or that a cosmetic edit must wait for saturated edits. */
    const take = async (kind: SlotKind, channel: string, cosmetic: boolean): Promise<{ wait: number } | { saturatedMs: number }> => {
      let slotAt = slots[kind];
      if (slotAt === undefined) {
        const wait = await this.reserve(kind, channel, cosmetic ? this.editBacklogMs : 0);
        if (wait < 0) return { saturatedMs: -wait };
        slotAt = Date.now() + wait;
      }
      const wait = slotAt - Date.now();
      slots[kind] = wait > 0 ? slotAt : undefined;
      return { wait };
    };
    /** Sleeps until the first kept slot; a reply added meanwhile wakes a job that has none to send. */
    const sleep = (ms: number, replyPending: boolean): StepOutcome =>
      later(ms, { failures: 0, ...keptSlots(slots), sleepingFor: replyPending ? '' : 'update' });
    // A cosmetic root edit found edits saturated in this run: replies go without it; it is tried again later.
    let editSaturatedMs = 0;

    await this.recoverInterruptedPost(operationId);
    for (;;) {
      await renewLock();
      const deploy = await this.operations.get(operationId);
      if (!deploy || deploy.rootTs === ROOT_SKIPPED) {
        if (!deploy) log.warn('deploy record is gone; dropping its thread messages');
        await this.dropThread(operationId);
        return DONE;
      }
      if (deploy.rootTs === ROOT_UNAVAILABLE || (await this.redis.hget(this.keys.rootVersion(operationId), 'blocked'))) {
        return this.drainWithoutThread(deploy);
      }

      if (!deploy.rootTs) {
        // Superseded before it started: nothing ran, the requester had the ack; no thread at all.
        if (deploy.status === 'superseded' && deploy.startedAt === undefined) {
          await this.operations.update(operationId, { rootTs: ROOT_SKIPPED });
          log.debug('superseded before it started; its thread is not posted');
          continue;
        }
        const settle = await this.settleWait(deploy);
        if (settle > 0) return later(settle, { failures: 0, ...keptSlots(slots), sleepingFor: '' });
        const slot = await take('post', deploy.channel, false);
        if ('wait' in slot && slot.wait > 0) return sleep(slot.wait, true);
        const marker = { operationId, entry: 'root' };
        const placeholder = rootPlaceholder(deploy, this.viewOf(deploy));
        await this.noteSending(marker);
        Object.assign(attempt, { kind: 'post', target: 'root' });
        const { ts } = await this.chat.post(deploy.channel, placeholder, { marker });
        await this.operations.update(operationId, { rootTs: ts });
        // Its status comes with the first edit, which goes before any reply unless edits are saturated.
        await this.redis.multi().hdel(this.keys.rootVersion(operationId), 'sent').del(this.keys.threadSending(operationId)).exec();
        log.info({ channel: deploy.channel, ts }, 'posted deploy root message');
        continue;
      }

      const [wanted, sent, rendered] = await this.rootVersions(operationId);
      // Cosmetic: what a person need not see at once (the final state and an approval request they must).
      const cosmetic = !isFinished(deploy.status) && deploy.status !== 'awaiting_approval';
      const editWanted = (!rendered || wanted > sent) && (editSaturatedMs === 0 || !cosmetic);
      const head = await this.redis.lindex(this.keys.outbox(operationId), 0);
      const entry = head ? (JSON.parse(head) as OutboxEntry) : undefined;
      const waits: number[] = [];
      const rootTs = deploy.rootTs;

      const editRoot = async (): Promise<'sent' | 'waiting' | 'saturated'> => {
        const slot = await take('update', deploy.channel, cosmetic);
        if ('saturatedMs' in slot) {
          editSaturatedMs = slot.saturatedMs;
          log.debug({ backlogMs: slot.saturatedMs }, 'edits are saturated; the root edit waits and will show the newest state');
          return 'saturated';
        }
        if (slot.wait > 0) {
          waits.push(slot.wait);
          return 'waiting';
        }
        await renewLock();
        // Read after `wanted`, so the edit shows every change counted in it.
        const fresh = (await this.operations.get(operationId)) ?? deploy;
        Object.assign(attempt, { kind: 'update', target: 'root' });
        await this.chat.update(deploy.channel, rootTs, rootMessage(fresh, this.viewOf(fresh), this.clock.now()));
        await this.redis.hset(this.keys.rootVersion(operationId), 'sent', wanted);
        slots.editDeferrals = 0;
        return 'sent';
      };

      // The root's first status goes before the thread's replies (unless edits are saturated).
      if (editWanted && !rendered) {
        const outcome = await editRoot();
        if (outcome !== 'waiting') continue;
      }

      if (entry) {
        const marker = { operationId, entry: entry.id };
        // Rendered before the attempt is recorded: a render that fails must not look like a lost post.
        const reply = threadReply(deploy, entry.event, this.viewOf(deploy), await this.context(deploy, entry.event));
        if (entry.event.kind === 'edit') {
          // An edit of an earlier note: by its recorded ts (a note whose ts was never learned, e.g.
          // one found again after a crash, stays as it was; the edit is dropped).
          const ts = await this.redis.hget(this.keys.threadEntryTs(operationId), entry.event.entryId);
          let sentNow = !ts;
          if (ts) {
            const slot = await take('update', deploy.channel, false);
            const wait = 'wait' in slot ? slot.wait : 0;
            if (wait > 0) waits.push(wait);
            else {
              await renewLock();
              Object.assign(attempt, { kind: 'update', target: 'entry' });
              await this.chat.update(deploy.channel, ts, reply);
              sentNow = true;
            }
          }
          if (sentNow) {
            await this.redis.lpop(this.keys.outbox(operationId));
            log.debug({ entry: entry.id, edited: entry.event.entryId, found: Boolean(ts) }, 'edited thread reply');
            continue;
          }
        } else {
          const slot = await take('post', deploy.channel, false);
          const wait = 'wait' in slot ? slot.wait : 0;
          if (wait > 0) waits.push(wait);
          else {
            await renewLock();
            await this.noteSending(marker);
            Object.assign(attempt, { kind: 'post', target: 'entry' });
            const { ts } = await this.chat.post(deploy.channel, reply, { threadTs: deploy.rootTs, marker });
            // Only this flusher (it holds the thread lock) pops, so the head is still `entry`.
            await REPLY_POSTED_SCRIPT.run(
              this.redis,
              3,
              this.keys.outbox(operationId),
              this.keys.threadSending(operationId),
              this.keys.threadEntryTs(operationId),
              entry.event.kind === 'note' ? entry.id : '',
              ts,
              OPERATION_RETENTION_SECONDS,
            );
            log.debug({ entry: entry.id }, 'posted thread reply');
            continue;
          }
        }
      }

      // Later edits of the root: after the replies, or while they wait for the channel's slot.
      if (editWanted && rendered) {
        const outcome = await editRoot();
        if (outcome !== 'waiting') continue;
      }

      if (waits.length > 0) return sleep(Math.min(...waits), entry !== undefined);
      if (editSaturatedMs > 0) {
        // Nothing else to send: look again once the backlog has had time to drain. Many threads may
        // be deferred at once, so each backs off (with jitter) instead of all asking every backlog.
        const base = Math.max(editSaturatedMs, this.editBacklogMs);
        const deferMs = Math.min(MAX_EDIT_DEFERRAL_MS, base * 2 ** Math.min(slots.editDeferrals, 10) * (1 + Math.random()));
        slots.editDeferrals += 1;
        return sleep(deferMs, false);
      }
      const settled = await SETTLE_SCRIPT.run(this.redis, 3, this.keys.outbox(operationId), this.keys.rootVersion(operationId), this.keys.narratePending, operationId);
      if (settled === 1) return DONE;
    }
  }

  private get editBacklogMs(): number {
    return this.pacing.editBacklogMs ?? 5 * this.pacing.updateIntervalMs;
  }

  /**
   * How long the root of an operation not yet admitted, or waiting for its lane, should still wait
   * before it is posted (see `rootSettleMs`); measured from the first time its thread was flushed.
   */
  private async settleWait(op: OperationRecord): Promise<number> {
    const settleMs = this.pacing.rootSettleMs ?? 0;
    if (settleMs <= 0 || (op.status !== 'queued' && op.status !== 'waiting')) return 0;
    const since = await SETTLE_SINCE_SCRIPT.run(this.redis, 1, this.keys.rootVersion(op.id), Date.now(), OPERATION_RETENTION_SECONDS);
    const waited = Date.now() - Number(since ?? Date.now());
    const limit = op.status === 'queued' ? Math.min(settleMs, QUEUED_SETTLE_MS) : settleMs;
    return Math.max(0, limit - waited);
  }

  /**
   * The thread cannot be posted in the channel: its replies are dropped, but the requester gets the
   * operation's outcome as a direct message when it ends (the `finished` entry).
   */
  private async drainWithoutThread(op: OperationRecord): Promise<StepOutcome> {
    const entries = (await this.redis.lrange(this.keys.outbox(op.id), 0, -1)).map((raw) => JSON.parse(raw) as OutboxEntry);
    if (entries.some((e) => e.event.kind === 'finished') && isFinished(op.status)) {
      const view = this.viewOf(op);
      const finished = threadReply(op, { kind: 'finished' }, view, await this.context(op, { kind: 'finished' }));
      await this.notify(op, 'outcome', outcomeNotice(op, view, finished));
    }
    await this.redis.multi().del(this.keys.outbox(op.id)).hset(this.keys.rootVersion(op.id), 'sent', Number.MAX_SAFE_INTEGER).exec();
    await this.redis.zrem(this.keys.narratePending, op.id);
    return DONE;
  }

  /** Removes every key of a thread that will never be posted. */
  private async dropThread(operationId: string): Promise<void> {
    await this.redis.del(
      this.keys.outbox(operationId),
      this.keys.outboxSeen(operationId),
      this.keys.threadEntryTs(operationId),
      this.keys.rootVersion(operationId),
      this.keys.threadSending(operationId),
    );
    await this.redis.zrem(this.keys.narratePending, operationId);
  }

  /**
   * Sends the requester a direct message about the operation, at most once per `kind`: the claim is
   * taken before the call. A call that surely did nothing (a 429) gives the claim back and is retried;
   * after an ambiguous outcome the message is not sent again.
   */
  private async notify(op: OperationRecord, kind: 'refused' | 'outcome', message: ChatMessage): Promise<void> {
    // A lane thread lanebot opened itself, or an operation lanebot asked for (an expired lane's
    // delete), has nobody to tell.
    if (!op.requester || op.requester === LANEBOT_ACTOR) return;
    const key = this.keys.operationNotice(op.id, kind);
    const claimed = await this.redis.set(key, String(Date.now()), 'EX', OPERATION_RETENTION_SECONDS, 'NX');
    if (claimed !== 'OK') return;
    const log = this.logger.child({ operationId: op.id, notice: kind, user: op.requester });
    try {
      await this.chat.dm(op.requester, message);
      log.info('told the requester by direct message');
    } catch (error) {
      if (error instanceof ChatRateLimitedError) {
        await this.redis.del(key);
        throw error;
      }
      if (surelyNotPosted(error)) {
        await this.redis.del(key);
        if (error instanceof ChatRejectedError) log.error({ slackError: error.slackError }, `cannot send the requester a direct message: ${error.message}`);
        else throw error;
        return;
      }
      log.warn({ err: error }, 'a direct message to the requester may not have arrived; not sending it twice');
    }
  }

  private async noteSending(marker: PostMarker): Promise<void> {
    await this.redis.set(this.keys.threadSending(marker.operationId), JSON.stringify({ entry: marker.entry, at: Date.now() }), 'EX', 24 * 3600);
  }

  /**
   * The previous attempt of this thread's sender ended without an answer (the sender died, or Slack
   * answered 500 or timed out): Slack may have the message although lanebot never recorded it. Look
   * for it (by its metadata marker) before posting it again; see the top of this file for what
   * happens when history cannot be read.
   */
  private async recoverInterruptedPost(operationId: string): Promise<void> {
    const raw = await this.redis.get(this.keys.threadSending(operationId));
    if (!raw) return;
    const { entry, at } = JSON.parse(raw) as { entry: string; at: number };
    const deploy = await this.operations.get(operationId);
    const log = this.logger.child({ operationId, entry });
    if (deploy && (entry === 'root' ? !deploy.rootTs : hasThread(deploy))) {
      const lookup = await this.chat
        .findPosted(deploy.channel, { operationId, entry }, { threadTs: entry === 'root' ? undefined : deploy.rootTs, since: at - 5_000 })
        .then(
          (ts) => ({ ts, readable: true }),
          (error: unknown) => {
            // A transient failure of the lookup is retried (the attempt stays recorded); only a refusal means "unreadable".
            if (!(error instanceof ChatRejectedError)) throw new HistoryLookupError(error);
            log.warn({ err: error }, 'cannot read the channel history (needs channels:history or groups:history) to check whether an interrupted post reached Slack');
            return { ts: undefined, readable: false };
          },
        );
      if (lookup.ts && entry === 'root') {
        await this.operations.update(operationId, { rootTs: lookup.ts });
        await this.redis.hdel(this.keys.rootVersion(operationId), 'sent');
        log.info({ ts: lookup.ts }, 'an interrupted post had reached Slack; not posting it again');
      } else if (entry !== 'root' && (lookup.ts || !lookup.readable)) {
        // Found, or cannot be known: at most once (the root still shows the operation's state).
        const head = await this.redis.lindex(this.keys.outbox(operationId), 0);
        if (head && (JSON.parse(head) as OutboxEntry).id === entry) await this.redis.lpop(this.keys.outbox(operationId));
        if (lookup.ts) log.info({ ts: lookup.ts }, 'an interrupted post had reached Slack; not posting it again');
        else log.warn('an interrupted thread reply may or may not have reached Slack; not posting it again (at most once without history)');
      } else if (entry === 'root' && !lookup.readable) {
        log.warn('an interrupted root post may have reached Slack; posting it again (a copy left behind shows no status)');
      }
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

  private async onSlackError(operationId: string, error: unknown, failures: number, attempt: Attempt): Promise<StepOutcome> {
    const log = this.logger.child({ operationId });
    if (error instanceof LostThreadLockError) {
      // This process stalled past its lock; whoever holds it now sends the thread.
      log.warn('lost the thread lock while sending; leaving the thread to its new sender');
      return later(LOCK_BUSY_RETRY_MS, { failures, ...NO_SLOTS });
    }
    if (error instanceof HistoryLookupError) {
      const retryIn = error.original instanceof ChatRateLimitedError ? error.original.retryAfterMs : backoff(failures + 1, 1000, 60_000);
      log.warn({ err: error.original, retryInMs: Math.round(retryIn) }, 'could not check whether an interrupted post reached Slack; trying again');
      return later(retryIn, { failures: failures + 1, ...NO_SLOTS });
    }
    // Slack surely did nothing: the attempt needs no checking, the message is simply sent again.
    if (surelyNotPosted(error)) await this.redis.del(this.keys.threadSending(operationId));
    if (error instanceof ChatRateLimitedError) {
      const deploy = await this.operations.get(operationId);
      const until = Date.now() + error.retryAfterMs;
      // The bucket of the call Slack refused (both when it was not a thread's post or edit, e.g. a DM).
      const channelBucket = deploy ? [`channel:${deploy.channel}`] : [];
      const buckets = attempt.kind === 'post' ? channelBucket : attempt.kind === 'update' ? ['chat.update'] : ['chat.update', ...channelBucket];
      for (const bucket of buckets) await BLOCK_SCRIPT.run(this.redis, 1, this.keys.pace(bucket), until, Date.now());
      log.warn({ retryAfterMs: error.retryAfterMs }, 'Slack rate limited lanebot; waiting as told by Retry-After');
      return later(error.retryAfterMs, { failures: 0, ...NO_SLOTS });
    }
    if (error instanceof ChatRejectedError) {
      await this.dropStuckMessage(operationId, error, attempt);
      return later(0, { failures: 0, ...NO_SLOTS });
    }
    const retryIn = backoff(failures + 1, 1000, 60_000);
    log.warn({ err: error, retryInMs: Math.round(retryIn) }, 'Slack call failed; the message stays queued and will be retried');
    return later(retryIn, { failures: failures + 1, ...NO_SLOTS });
  }

  /**
   * A message Slack refuses for good would block the thread forever. When the refusal is about the
   * channel (the bot is not in it, it is gone or archived) the thread is given up, the requester is
   * told by direct message, and the channel is recorded as not postable; any other refusal drops
   * the one message and lets the rest of the thread through.
   */
  private async dropStuckMessage(operationId: string, error: ChatRejectedError, attempt: Attempt): Promise<void> {
    const log = this.logger.child({ operationId });
    const deploy = await this.operations.get(operationId);
    const channelRefused = CHANNEL_REFUSALS.has(error.slackError);
    if (deploy && channelRefused) {
      await this.membership.record(deploy.channel, { canPost: false, at: Date.now(), source: 'refusal' });
      const view = this.viewOf(deploy);
      await this.notify(deploy, 'refused', cannotPostNotice(deploy, view, error.slackError, error.hint));
    }
    if (!deploy?.rootTs) {
      // Without a root message there is no thread: nothing of this deploy can be shown.
      log.error({ slackError: error.slackError }, `cannot post the deploy's root message: ${error.message}`);
      await this.redis.del(this.keys.outbox(operationId), this.keys.rootVersion(operationId));
      if (deploy) await this.operations.update(operationId, { rootTs: ROOT_UNAVAILABLE });
      return;
    }
    if (channelRefused) {
      log.error({ slackError: error.slackError }, `cannot post in the deploy's thread any more: ${error.message}`);
      await this.redis.hset(this.keys.rootVersion(operationId), 'blocked', error.slackError);
      return;
    }
    const head = await this.redis.lindex(this.keys.outbox(operationId), 0);
    const [, , rendered] = await this.rootVersions(operationId);
    // Root edits and replies may go in either order: the refused call says which it was (without one, as before).
    if (head && (attempt.target ? attempt.target === 'entry' : rendered)) {
      log.error({ slackError: error.slackError, entry: head }, `dropping a thread reply Slack refuses: ${error.message}`);
      await this.redis.lpop(this.keys.outbox(operationId));
    } else {
      log.error({ slackError: error.slackError }, `cannot update the root message: ${error.message}`);
      const [wanted] = await this.rootVersions(operationId);
      await this.redis.hset(this.keys.rootVersion(operationId), 'sent', wanted);
    }
  }

  /**
   * Posts take the channel's slots (Slack: a post per second per channel), edits the bot-wide
   * chat.update slots (Tier 3, per workspace); neither waits in the other's line. With a
   * `backlogLimitMs` (cosmetic edits), no slot is taken beyond it and the answer is minus the backlog.
   */
  private async reserve(kind: SlotKind, channel: string, backlogLimitMs = 0): Promise<number> {
    const buckets = kind === 'post' ? [`channel:${channel}`] : ['chat.update'];
    const intervals = kind === 'post' ? [this.pacing.postIntervalMs] : [this.pacing.updateIntervalMs];
    const keys = buckets.map((b) => this.keys.pace(b));
    return Number(await RESERVE_SCRIPT.run(this.redis, keys.length, ...keys, Date.now(), ...intervals, backlogLimitMs));
  }

  /** wanted, sent, and whether the root was ever rendered with its status (`sent` exists). */
  private async rootVersions(operationId: string): Promise<[number, number, boolean]> {
    const [wanted, sent] = await this.redis.hmget(this.keys.rootVersion(operationId), 'wanted', 'sent');
    return [Number(wanted ?? 0), Number(sent ?? 0), sent !== null];
  }
}

/** A deploy whose root message Slack refused for good, or that was never posted, has no thread to link to. */
export function hasThread(deploy: OperationRecord): deploy is OperationRecord & { rootTs: string } {
  return !!deploy.rootTs && deploy.rootTs !== ROOT_UNAVAILABLE && deploy.rootTs !== ROOT_SKIPPED;
}
