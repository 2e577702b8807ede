// What lanebot has seen of each lane alarm, and what it still owes the lane's thread about it.
//
// Every observation (an SQS event, or the once-a-minute safety-net poll) goes through `observe`, one
// Lua script, so any number of bot processes, and both sources, agree on each change:
//  - an observation not newer than the last one (by the alarm's own state timestamp) is a duplicate;
//  - a new state on the same side (OK ↔ INSUFFICIENT_DATA, or a reason that changed) is recorded,
//    nothing more: only entering or leaving ALARM is worth a message;
//  - a real change is counted, and the alarm is due for a message: now, or — when a message about
//    it went out less than the fold window ago (a flapping alarm) — when that window ends, as one
//    message that says how many changes it sums up.
//
// Sending is claim → say → ack: `claim` turns what is due into a notice (with a sequence number)
// and keeps it as `sending` until `ack`, so a process that dies in between leaves the notice to the
// next one, which says it again under the same entry id (the narrator drops the copy).
import type { RedisClient } from '../redis/redis-connection';
import type { AlarmState } from '../cloud/alarms.port';
import type { RedisKeys } from './keys';
import { LuaScript } from '../redis/lua-script';

/** What a thread is told about an alarm: its state now, and how it got there. */
export interface AlarmNotice {
  alarmName: string;
  state: AlarmState;
  /** When the alarm entered `state` (the alarm's own timestamp). */
  at: number;
  reason: string;
  value?: number;
  threshold?: number;
  /** When it entered ALARM (for ALARM: this time; for a clear: how long it lasted from here). */
  alarmingSince?: number;
  /** Changes in and out of ALARM this notice sums up (1 unless it flapped). */
  changes: number;
  /** The notice's number for this alarm: with the alarm's name, the thread entry's id. */
  seq: number;
}

export type Observation = 'duplicate' | 'unchanged' | 'folded' | 'due';

/** How long alarm records live without being seen: longer than any lane stays idle unnoticed. */
const ALARM_TTL_SECONDS = 120 * 24 * 3600;

// KEYS: alarm hash, due set, alarming set. ARGV: name, state, at, reason, value, threshold, now,
// fold window ms, ttl.
const OBSERVE_SCRIPT = new LuaScript(`
local cur = redis.call('HMGET', KEYS[1], 'state', 'at', 'postedAt', 'alarmingSince')
local at = tonumber(ARGV[3])
if cur[2] and at <= tonumber(cur[2]) then
  -- Seen again as it was (an alarm that stays in ALARM is listed every minute): keep its record, or
  -- it would expire while the alarm still alarms and its next sighting would be posted as new.
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[9]))
  return 'duplicate'
end
-- An alarm seen for the first time counts as OK: one already in ALARM is worth a message.
local prev = cur[1] or 'OK'
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'at', ARGV[3], 'reason', ARGV[4], 'value', ARGV[5], 'threshold', ARGV[6])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[9]))
if ARGV[2] == 'ALARM' then redis.call('SADD', KEYS[3], ARGV[1]) else redis.call('SREM', KEYS[3], ARGV[1]) end
if (prev == 'ALARM') == (ARGV[2] == 'ALARM') then return 'unchanged' end
if ARGV[2] == 'ALARM' then redis.call('HSET', KEYS[1], 'alarmingSince', ARGV[3]) end
redis.call('HINCRBY', KEYS[1], 'changes', 1)
local now = tonumber(ARGV[7])
local due = math.max(now, tonumber(cur[3] or '0') + tonumber(ARGV[8]))
redis.call('ZADD', KEYS[2], 'NX', due, ARGV[1])
if due > now then return 'folded' end
return 'due'`);

// KEYS: alarm hash, due set. ARGV: name, now.
// Returns the notice to send (JSON), the one being sent already, or nil when nothing is due.
const CLAIM_SCRIPT = new LuaScript(`
local sending = redis.call('HGET', KEYS[1], 'sending')
if sending then return sending end
local due = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not due or tonumber(due) > tonumber(ARGV[2]) then return false end
local h = redis.call('HMGET', KEYS[1], 'state', 'at', 'reason', 'value', 'threshold', 'alarmingSince', 'changes')
local changes = tonumber(h[7] or '0')
if not h[1] or changes == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return false
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local notice = { alarmName = ARGV[1], state = h[1], at = tonumber(h[2]), reason = h[3] or '', changes = changes, seq = seq }
if h[4] and h[4] ~= '' then notice.value = tonumber(h[4]) end
if h[5] and h[5] ~= '' then notice.threshold = tonumber(h[5]) end
if h[6] and h[6] ~= '' then notice.alarmingSince = tonumber(h[6]) end
local json = cjson.encode(notice)
redis.call('HSET', KEYS[1], 'sending', json, 'postedAt', ARGV[2], 'changes', 0)
return json`);

// KEYS: alarm hash, due set. ARGV: name, seq, fold window ms.
// Ends a send; changes that arrived meanwhile are due when the fold window from this send ends.
const ACK_SCRIPT = new LuaScript(`
local sending = redis.call('HGET', KEYS[1], 'sending')
if not sending or cjson.decode(sending).seq ~= tonumber(ARGV[2]) then return 0 end
redis.call('HDEL', KEYS[1], 'sending')
if tonumber(redis.call('HGET', KEYS[1], 'changes') or '0') > 0 then
  redis.call('ZADD', KEYS[2], tonumber(redis.call('HGET', KEYS[1], 'postedAt')) + tonumber(ARGV[3]), ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1`);

export class AlarmStates {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async observe(
    change: { alarmName: string; state: AlarmState; at: number; reason: string; value?: number; threshold?: number },
    now: number,
    foldWindowMs: number,
  ): Promise<Observation> {
    return (await OBSERVE_SCRIPT.run(
      this.redis,
      3,
      this.keys.alarmState(change.alarmName),
      this.keys.alarmFolds,
      this.keys.alarmsAlarming,
      change.alarmName,
      change.state,
      String(change.at),
      change.reason,
      change.value === undefined ? '' : String(change.value),
      change.threshold === undefined ? '' : String(change.threshold),
      String(now),
      String(foldWindowMs),
      String(ALARM_TTL_SECONDS),
    )) as Observation;
  }

  /** The notice due for this alarm now (or the one a dead process was sending), if any. */
  async claim(alarmName: string, now: number): Promise<AlarmNotice | undefined> {
    const json = (await CLAIM_SCRIPT.run(this.redis, 2, this.keys.alarmState(alarmName), this.keys.alarmFolds, alarmName, String(now))) as string | null;
    return json ? (JSON.parse(json) as AlarmNotice) : undefined;
  }

  async ack(notice: Pick<AlarmNotice, 'alarmName' | 'seq'>, foldWindowMs: number): Promise<void> {
    await ACK_SCRIPT.run(this.redis, 2, this.keys.alarmState(notice.alarmName), this.keys.alarmFolds, notice.alarmName, String(notice.seq), String(foldWindowMs));
  }

  /** Alarms with a notice due by `now` (folded changes whose window ended, sends a process left unfinished). */
  async due(now: number, limit = 500): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.alarmFolds, '-inf', String(now), 'LIMIT', 0, limit);
  }

  /** Alarms last seen in ALARM: the safety net reads these by name when they leave ALARM's listing. */
  async alarming(): Promise<string[]> {
    return this.redis.smembers(this.keys.alarmsAlarming);
  }

  /** Forgets an alarm whose lane is gone. */
  async forget(alarmName: string): Promise<void> {
    await this.redis.multi().del(this.keys.alarmState(alarmName)).zrem(this.keys.alarmFolds, alarmName).srem(this.keys.alarmsAlarming, alarmName).exec();
  }
}
