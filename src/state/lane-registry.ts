// The lane registry: lanes as entities, and the slots operations are serialized on.
//
// A slot (a lane, or an admin slot such as `@infra`) is a Redis hash: which operation holds it
// (`activeId`), which one waits next (`pendingId`), and the latest one that got it (`lastId`). A real
// lane's hash also holds the lane itself: its state (active, deleting), when it was created and last
// active, its last deployer, what it runs now (branch, image) and its home thread (the latest
// operation's), and, once verified, what it runs on (`resources`: its service, target group and
// alarms, indexed by alarm name for the alarm watch). Its release history is a capped list beside it.
// Every lane is in an index by last activity (what the alarm watch pages through), and every lane
// in an index by expiry base (what the expiry sweep reads; domain/expiry.ts).
//
// Serialization lives in two Lua scripts, so any number of bot processes agree on who holds a slot:
// `admit` lets an operation in, parks it, supersedes or refuses it, per its kind's admission policy;
// `release` hands the slot to the waiting one and, for a delete, retires or restores the lane. The
// indexes move in the same scripts. Both are safe to run again after a crash.
import type { RedisClient } from '../redis/redis-connection';
import type { OperationRecord } from '../domain/operation';
import { isOperationSlot, type LaneRef, type Scope } from '../domain/names';
import { execOrThrow, type OperationStore } from './operation-store';
import type { RedisKeys } from './keys';
import { alarmNamesOf, type LaneResources } from '../domain/lane-resources';
import { LuaScript } from '../redis/lua-script';

/**
 * How an operation takes its slot:
 * - `newest-wins` (deploys, admin runs): one runs, one waits; a newer request replaces the waiting
 *   one, and a request older than the running one is out of date at once.
 * - `exclusive` (deletes): waits behind whatever runs and is never superseded; while it is queued or
 *   running the lane is `deleting` and refuses every other operation.
 */
export type AdmissionPolicy = 'newest-wins' | 'exclusive';

/** Lane states. A deleted lane has no record at all: it is retired. */
export type LaneState = 'active' | 'deleting';

// KEYS: slot hash, scope's lanes set, this operation's record, lanes-by-activity index, expiry index.
// ARGV: op id, its requestedAt, now, record key prefix, lane name, policy, is-real-lane ('1'/'0'),
//       index member, requester, kind.
// Returns { decision, aheadId, otherId } where other is the operation this one superseded
// (decision 'waiting'), the one that superseded it ('superseded'), or that refused it ('refused').
const ADMIT_SCRIPT = new LuaScript(`
local me, rec, now, prefix = ARGV[1], KEYS[3], ARGV[3], ARGV[4]
local decided = redis.call('HGET', rec, 'admission')
if decided then
  local other = ''
  if decided == 'superseded' then other = redis.call('HGET', rec, 'supersededBy') or ''
  elseif decided == 'waiting' then other = redis.call('HGET', rec, 'supersededId') or ''
  elseif decided == 'refused' then other = redis.call('HGET', rec, 'refusedBy') or '' end
  return { decided, redis.call('HGET', rec, 'aheadId') or '', other }
end
if redis.call('HGET', rec, 'status') ~= 'queued' then return { 'skip', '', '' } end

local state = redis.call('HGET', KEYS[1], 'state')
if state == 'deleting' then
  -- A delete is queued or running: the lane takes nothing else (and one delete is enough).
  local deleter = redis.call('HGET', KEYS[1], 'deleteId') or ''
  redis.call('HSET', rec, 'admission', 'refused', 'refusedBy', deleter, 'status', 'refused', 'finishedAt', now,
    'error', 'deleting')
  return { 'refused', '', deleter }
end

local realLane = ARGV[7] == '1'
redis.call('SADD', KEYS[2], ARGV[5])
if realLane then
  redis.call('HSETNX', KEYS[1], 'createdAt', now)
  redis.call('HSETNX', KEYS[1], 'state', 'active')
  redis.call('ZADD', KEYS[4], now, ARGV[8])
  -- GT: a renewal that reaches further than now is kept.
  redis.call('ZADD', KEYS[5], 'GT', now, ARGV[8])
end
redis.call('HSET', KEYS[1], 'lastActivityAt', now, 'homeId', me)
if ARGV[10] == 'deploy' then redis.call('HSET', KEYS[1], 'lastDeployer', ARGV[9]) end
if ARGV[6] == 'exclusive' then redis.call('HSET', KEYS[1], 'state', 'deleting', 'deleteId', me) end

local active = redis.call('HGET', KEYS[1], 'activeId')
if not active or active == '' then
  redis.call('HSET', KEYS[1], 'activeId', me, 'lastId', me)
  redis.call('HSET', rec, 'admission', 'admitted', 'status', 'starting')
  return { 'admitted', '', '' }
end

if ARGV[6] == 'newest-wins' then
  local activeAt = tonumber(redis.call('HGET', prefix .. active, 'requestedAt') or '0')
  if activeAt > tonumber(ARGV[2]) then
    -- The operation running now was requested after this one: this request is already out of date.
    redis.call('HSET', rec, 'admission', 'superseded', 'status', 'superseded', 'supersededBy', active,
      'aheadId', active, 'finishedAt', now)
    return { 'superseded', active, active }
  end
end
local pending = redis.call('HGET', KEYS[1], 'pendingId') or ''
local superseded = ''
if pending ~= '' and pending ~= me then
  local pendingAt = tonumber(redis.call('HGET', prefix .. pending, 'requestedAt') or '0')
  if ARGV[6] == 'newest-wins' and pendingAt > tonumber(ARGV[2]) then
    -- A newer request was admitted first (jobs can run out of order): the newest still wins.
    redis.call('HSET', rec, 'admission', 'superseded', 'status', 'superseded', 'supersededBy', pending,
      'aheadId', active, 'finishedAt', now)
    return { 'superseded', active, pending }
  end
  -- The waiting operation is replaced (an exclusive one never waits here: the lane would be deleting).
  superseded = pending
  if redis.call('HGET', prefix .. pending, 'status') == 'waiting' then
    redis.call('HSET', prefix .. pending, 'status', 'superseded', 'supersededBy', me, 'finishedAt', now)
  end
end
redis.call('HSET', KEYS[1], 'pendingId', me)
redis.call('HSET', rec, 'admission', 'waiting', 'status', 'waiting', 'aheadId', active, 'supersededId', superseded)
return { 'waiting', active, superseded }`);

// KEYS: slot hash, scope's lanes set, lanes-by-activity index, release history, expiry index, warned set.
// ARGV: op id, now, record key prefix, outcome ('' | 'retire' | 'restore'), lane name, index member,
//       is-real-lane.
// Returns the operation that holds the slot afterwards ('' when it is free).
const RELEASE_SCRIPT = new LuaScript(`
local active = redis.call('HGET', KEYS[1], 'activeId') or ''
if active ~= ARGV[1] then return active end
if ARGV[4] == 'retire' then
  -- The lane's stack is gone: so is the lane. Nothing waits behind a delete (the lane refused it).
  redis.call('DEL', KEYS[1], KEYS[4])
  redis.call('SREM', KEYS[2], ARGV[5])
  redis.call('ZREM', KEYS[3], ARGV[6])
  redis.call('ZREM', KEYS[5], ARGV[6])
  redis.call('SREM', KEYS[6], ARGV[6])
  return ''
end
if ARGV[4] == 'restore' then redis.call('HSET', KEYS[1], 'state', 'active', 'deleteId', '') end
redis.call('HSET', KEYS[1], 'lastActivityAt', ARGV[2])
if ARGV[7] == '1' then
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[6])
  redis.call('ZADD', KEYS[5], 'GT', ARGV[2], ARGV[6])
end
local pending = redis.call('HGET', KEYS[1], 'pendingId') or ''
if pending == '' then
  redis.call('HSET', KEYS[1], 'activeId', '')
  return ''
end
redis.call('HSET', KEYS[1], 'activeId', pending, 'lastId', pending, 'pendingId', '')
if redis.call('HGET', ARGV[3] .. pending, 'status') == 'waiting' then
  redis.call('HSET', ARGV[3] .. pending, 'status', 'starting')
end
return pending`);

// KEYS: lane hash. ARGV: operation id. Only a lane that exists gets a home thread.
const SET_HOME_SCRIPT = new LuaScript(`if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'homeId', ARGV[1]) end return 1`);

// KEYS: slot hash, release history. ARGV: branch, image ('' unknown), entry JSON, max entries, op id.
const RECORD_RELEASE_SCRIPT = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local head = redis.call('LINDEX', KEYS[2], 0)
if head and cjson.decode(head).operationId == ARGV[5] then return 0 end
redis.call('HSET', KEYS[1], 'branch', ARGV[1], 'image', ARGV[2], 'releaseId', ARGV[5])
redis.call('LPUSH', KEYS[2], ARGV[3])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
return 1`);

// KEYS: slot hash, alarm index. ARGV: resources JSON, index member, then the alarm names.
// Only a lane that still exists takes them: a late write must not bring back a retired lane.
const RECORD_RESOURCES_SCRIPT = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local old = redis.call('HGET', KEYS[1], 'resources')
if old then
  for _, name in ipairs(cjson.decode(old).alarmNames or {}) do
    if redis.call('HGET', KEYS[2], name) == ARGV[2] then redis.call('HDEL', KEYS[2], name) end
  end
end
redis.call('HSET', KEYS[1], 'resources', ARGV[1])
for i = 3, #ARGV do redis.call('HSET', KEYS[2], ARGV[i], ARGV[2]) end
return 1`);

// KEYS: slot hash, expiry index, warned set. ARGV: member, base, deleteAt, thread id, now.
// Records the warning of the lane's idleness at `base` once. Returns { outcome, deleteAt, thread }:
// 'claimed' (this caller posts it), 'warned' (someone did: post again under the same entry id, the
// narrator drops the copy), or 'stale' (the lane moved on: deployed, renewed, being deleted, gone).
const CLAIM_WARNING_SCRIPT = new LuaScript(`
if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return { 'stale', '', '' } end
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return { 'stale', '', '' } end
local warned = redis.call('HMGET', KEYS[1], 'warnedBase', 'deleteAt', 'warnThread')
if warned[1] == ARGV[2] then return { 'warned', warned[2] or '', warned[3] or '' } end
redis.call('HSET', KEYS[1], 'warnedBase', ARGV[2], 'deleteAt', ARGV[3], 'warnThread', ARGV[4], 'warnedAt', ARGV[5])
redis.call('SADD', KEYS[3], ARGV[1])
return { 'claimed', ARGV[3], ARGV[4] }`);

// KEYS: slot hash, expiry index, warned set, lanes-by-activity. ARGV: member, new base, until, by, now.
// A renewal: the base moves forward, the warning (if any) is withdrawn and returned so its prompt can
// say so. Returns { outcome, warnedBase, warnThread }; outcome 'renewed' or the state. A renewal that
// would not move the base forward (the lane is already kept longer: a longer renewal, a deploy since)
// changes nothing, the warning included: 'longer', with the base that stays.
const RENEW_SCRIPT = new LuaScript(`
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'active' then return { state or 'gone', '', '' } end
local current = redis.call('ZSCORE', KEYS[2], ARGV[1])
if current and tonumber(current) >= tonumber(ARGV[2]) then return { 'longer', current, '' } end
redis.call('ZADD', KEYS[2], 'GT', ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
local warned = redis.call('HMGET', KEYS[1], 'warnedBase', 'warnThread')
redis.call('HSET', KEYS[1], 'renewedUntil', ARGV[3], 'renewedBy', ARGV[4], 'lastActivityAt', ARGV[5])
redis.call('HDEL', KEYS[1], 'warnedBase', 'deleteAt', 'warnThread', 'warnedAt')
redis.call('SREM', KEYS[3], ARGV[1])
return { 'renewed', warned[1] or '', warned[2] or '' }`);

// KEYS: slot hash, expiry index, warned set. ARGV: member.
// Withdraws a warning the lane outgrew (a deploy since moved its base, or it is gone or being
// deleted). Returns { warnedBase, warnThread, why } when withdrawn, else an empty list.
const SETTLE_WARNING_SCRIPT = new LuaScript(`
local warned = redis.call('HMGET', KEYS[1], 'warnedBase', 'warnThread', 'state')
if not warned[1] then
  redis.call('SREM', KEYS[3], ARGV[1])
  return {}
end
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
local why = ''
if warned[3] ~= 'active' then why = 'deleting'
elseif score and tonumber(score) > tonumber(warned[1]) then why = 'activity' end
if why == '' then return {} end
redis.call('HDEL', KEYS[1], 'warnedBase', 'deleteAt', 'warnThread', 'warnedAt')
redis.call('SREM', KEYS[3], ARGV[1])
return { warned[1], warned[2] or '', why }`);

export type Admission =
  | { decision: 'admitted' }
  | { decision: 'waiting'; aheadId: string; supersededId?: string }
  | { decision: 'superseded'; aheadId: string; supersededBy: string }
  /** The lane is being deleted by `refusedBy`: it takes no other operation. */
  | { decision: 'refused'; refusedBy: string }
  /** The operation is no longer queued (it was superseded or ended before this ran). */
  | { decision: 'skip' };

/** One release of a lane: what an operation left running on it. */
export interface LaneRelease {
  operationId: string;
  kind: string;
  branch: string;
  /** The digest-pinned image URI, when the lane stack reports it. */
  image?: string;
  by: string;
  at: number;
  /** The health verdict after the release, when it was verified. */
  health?: 'healthy' | 'unhealthy' | 'unchecked';
  /** The image the lane ran before this release (what a rollback returns to). */
  replaced?: string;
}

/** The release history keeps this many entries per lane. */
export const MAX_RELEASES = 20;

export interface LaneView extends LaneRef {
  state: LaneState;
  createdAt?: number;
  lastActivityAt?: number;
  /** Who deployed the lane last (may delete it). */
  lastDeployer?: string;
  /** What the lane runs now: set when a deploy succeeds. */
  branch?: string;
  image?: string;
  activeId?: string;
  pendingId?: string;
  /** The latest operation that got the lane (running or finished). */
  last?: OperationRecord;
  /** The operation waiting for the lane, if any. */
  pending?: OperationRecord;
  /** The latest operation requested on the lane: its thread is the lane's home thread. */
  home?: OperationRecord;
  /** Expiry (domain/expiry.ts): the base the sweep counts from; absent for a lane that never expires. */
  expiryBase?: number;
  /** Set while the lane is warned: when it will be deleted unless renewed. */
  deleteAt?: number;
  /** The last renewal: until when, by whom. */
  renewedUntil?: number;
  renewedBy?: string;
}

export class LaneRegistry {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly operations: OperationStore,
  ) {}

  async admit(op: OperationRecord, policy: AdmissionPolicy, now: number): Promise<Admission> {
    const reply = (await ADMIT_SCRIPT.run(
      this.redis,
      5,
      this.keys.lane(op),
      this.keys.lanes(op),
      this.keys.operation(op.id),
      this.keys.lanesByActivity,
      this.keys.lanesExpiry,
      op.id,
      op.requestedAt,
      now,
      this.keys.operationPrefix,
      op.lane,
      policy,
      isOperationSlot(op.lane) ? '0' : '1',
      indexMember(op),
      op.requester,
      op.kind,
    )) as [string, string, string];
    const [decision, ahead, other] = reply;
    switch (decision) {
      case 'admitted':
        return { decision };
      case 'waiting':
        return other ? { decision, aheadId: ahead, supersededId: other } : { decision, aheadId: ahead };
      case 'superseded':
        return { decision, aheadId: ahead, supersededBy: other };
      case 'refused':
        return { decision, refusedBy: other };
      default:
        return { decision: 'skip' };
    }
  }

  /**
   * Frees the slot from `operationId`; returns the operation that now holds it, which must be
   * started. `retire` removes the lane altogether (its stack is gone); `restore` ends a failed
   * delete (the lane is active again).
   */
  async release(ref: LaneRef, operationId: string, now: number, outcome: '' | 'retire' | 'restore' = ''): Promise<string | undefined> {
    const next = (await RELEASE_SCRIPT.run(
      this.redis,
      6,
      this.keys.lane(ref),
      this.keys.lanes(ref),
      this.keys.lanesByActivity,
      this.keys.laneReleases(ref),
      this.keys.lanesExpiry,
      this.keys.lanesWarned,
      operationId,
      now,
      this.keys.operationPrefix,
      outcome,
      ref.lane,
      indexMember(ref),
      isOperationSlot(ref.lane) ? '0' : '1',
    )) as string;
    return next === '' ? undefined : next;
  }

  /**
   * Records what the lane runs on (read from its stack's outputs) and indexes its alarms, so an
   * alarm event finds its lane. A lane retired meanwhile is left alone.
   */
  async recordResources(ref: LaneRef, resources: LaneResources): Promise<void> {
    const names = alarmNamesOf(resources);
    const json = JSON.stringify({ ...resources, alarmNames: names });
    await RECORD_RESOURCES_SCRIPT.run(this.redis, 2, this.keys.lane(ref), this.keys.alarmLanes, json, indexMember(ref), ...names);
  }

  /** What the lane runs on, as last recorded; undefined for a lane never verified (or gone). */
  async resources(ref: LaneRef): Promise<LaneResources | undefined> {
    return parseResources(await this.redis.hget(this.keys.lane(ref), 'resources'));
  }

  /** The resources of many lanes at once (members as in the lanes-by-activity index). */
  async resourcesOfMany(members: string[]): Promise<Map<string, LaneResources | undefined>> {
    const result = new Map<string, LaneResources | undefined>();
    if (members.length === 0) return result;
    const pipeline = this.redis.pipeline();
    for (const member of members) {
      const ref = parseIndexMember(member);
      if (ref) pipeline.hget(this.keys.lane(ref), 'resources');
      else pipeline.echo('');
    }
    const values = execOrThrow(await pipeline.exec()) as (string | null)[];
    members.forEach((member, i) => result.set(member, parseResources(values[i] ?? null)));
    return result;
  }

  /** The lane an alarm belongs to, by the index recordResources keeps. */
  async laneOfAlarm(alarmName: string): Promise<LaneRef | undefined> {
    const member = await this.redis.hget(this.keys.alarmLanes, alarmName);
    return member ? parseIndexMember(member) : undefined;
  }

  /** Forgets an alarm whose lane is gone. */
  async forgetAlarm(alarmName: string): Promise<void> {
    await this.redis.hdel(this.keys.alarmLanes, alarmName);
  }

  /** Every lane (index members `service/env/lane`), a page at a time, oldest activity first. */
  async lanePage(cursor: number, count: number): Promise<string[]> {
    return this.redis.zrange(this.keys.lanesByActivity, String(cursor), String(cursor + count - 1));
  }

  /** The operation waiting for the lane, if any (a newer deploy). */
  async pendingId(ref: LaneRef): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.lane(ref), 'pendingId')) || undefined;
  }

  /** Makes `operationId` the lane's home thread (when the lane still exists). */
  async setHome(ref: LaneRef, operationId: string): Promise<void> {
    await SET_HOME_SCRIPT.run(this.redis, 1, this.keys.lane(ref), operationId);
  }

  /** Records what an operation left running on the lane; a second call for the same operation adds nothing. */
  async recordRelease(ref: LaneRef, release: LaneRelease): Promise<void> {
    await RECORD_RELEASE_SCRIPT.run(
      this.redis,
      2,
      this.keys.lane(ref),
      this.keys.laneReleases(ref),
      release.branch,
      release.image ?? '',
      JSON.stringify(release),
      MAX_RELEASES,
      release.operationId,
    );
  }

  /** The image the lane runs now, as its last release recorded it. */
  async currentImage(ref: LaneRef): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.lane(ref), 'image')) || undefined;
  }

  /** The lane's releases, newest first. */
  async releases(ref: LaneRef): Promise<LaneRelease[]> {
    const entries = await this.redis.lrange(this.keys.laneReleases(ref), 0, MAX_RELEASES - 1);
    return entries.map((entry) => JSON.parse(entry) as LaneRelease);
  }

  // ---------------------------------------------------------------------------------------------
  // Expiry (domain/expiry.ts, expiry/lane-expiry.ts)

  /** Lanes whose expiry base is at or before `cutoff`, oldest first, a page at a time. */
  async expiryCandidates(cutoff: number, offset: number, count: number): Promise<{ member: string; ref: LaneRef; base: number }[]> {
    const flat = await this.redis.zrangebyscore(this.keys.lanesExpiry, '-inf', String(cutoff), 'WITHSCORES', 'LIMIT', offset, count);
    const result: { member: string; ref: LaneRef; base: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const ref = parseIndexMember(flat[i]!);
      if (ref) result.push({ member: flat[i]!, ref, base: Number(flat[i + 1]) });
    }
    return result;
  }

  /** The lane's expiry base (undefined: it does not expire, or is gone). */
  async expiryBase(ref: LaneRef): Promise<number | undefined> {
    const score = await this.redis.zscore(this.keys.lanesExpiry, indexMember(ref));
    return score === null ? undefined : Number(score);
  }

  /** Takes a lane that never expires (default, an environment with `expiry: never`) out of the sweep's index. */
  async dropFromExpiry(ref: LaneRef): Promise<void> {
    await this.redis.zrem(this.keys.lanesExpiry, indexMember(ref));
  }

  async claimWarning(ref: LaneRef, base: number, deleteAt: number, threadId: string, now: number): Promise<{ outcome: 'claimed' | 'warned' | 'stale'; deleteAt: number; threadId: string }> {
    const [outcome, at, thread] = (await CLAIM_WARNING_SCRIPT.run(
      this.redis,
      3,
      this.keys.lane(ref),
      this.keys.lanesExpiry,
      this.keys.lanesWarned,
      indexMember(ref),
      String(base),
      String(deleteAt),
      threadId,
      String(now),
    )) as [string, string, string];
    return { outcome: outcome as 'claimed' | 'warned' | 'stale', deleteAt: Number(at), threadId: thread };
  }

  /**
   * Renews the lane: its base moves to `newBase`; a warning is withdrawn and returned. `longer`: the
   * base is already at or past `newBase` (returned), and nothing changed.
   */
  async renew(
    ref: LaneRef,
    newBase: number,
    until: number,
    by: string,
    now: number,
  ): Promise<{ outcome: 'renewed'; warning?: { base: number; threadId: string } } | { outcome: 'longer'; base: number } | { outcome: 'deleting' } | { outcome: 'gone' }> {
    const [outcome, warnedBase, warnThread] = (await RENEW_SCRIPT.run(
      this.redis,
      4,
      this.keys.lane(ref),
      this.keys.lanesExpiry,
      this.keys.lanesWarned,
      this.keys.lanesByActivity,
      indexMember(ref),
      String(newBase),
      String(until),
      by,
      String(now),
    )) as [string, string, string];
    if (outcome === 'longer') return { outcome, base: Number(warnedBase) };
    if (outcome !== 'renewed') return { outcome: outcome === 'deleting' ? 'deleting' : 'gone' };
    return warnedBase ? { outcome: 'renewed', warning: { base: Number(warnedBase), threadId: warnThread } } : { outcome: 'renewed' };
  }

  /** Lanes with a warning standing (members `service/env/lane`). */
  async warnedLanes(): Promise<string[]> {
    return this.redis.smembers(this.keys.lanesWarned);
  }

  /** Withdraws the lane's warning when it no longer holds; returns what it was, and why it went. */
  async settleWarning(member: string): Promise<{ base: number; threadId: string; why: 'activity' | 'deleting' } | undefined> {
    const ref = parseIndexMember(member);
    if (!ref) {
      await this.redis.srem(this.keys.lanesWarned, member);
      return undefined;
    }
    const reply = (await SETTLE_WARNING_SCRIPT.run(this.redis, 3, this.keys.lane(ref), this.keys.lanesExpiry, this.keys.lanesWarned, member)) as string[];
    if (reply.length === 0) return undefined;
    return { base: Number(reply[0]), threadId: reply[1] ?? '', why: reply[2] === 'deleting' ? 'deleting' : 'activity' };
  }

  /** Lanes (of every service/env) idle since before `before`, oldest first, a page at a time. */
  async idleSince(before: number, offset = 0, count = 100): Promise<{ ref: LaneRef; lastActivityAt: number }[]> {
    const flat = await this.redis.zrangebyscore(this.keys.lanesByActivity, '-inf', `(${before}`, 'WITHSCORES', 'LIMIT', offset, count);
    const result: { ref: LaneRef; lastActivityAt: number }[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const [service, env, lane] = flat[i]!.split('/') as [string, string, string];
      result.push({ ref: { service, env, lane }, lastActivityAt: Number(flat[i + 1]) });
    }
    return result;
  }

  /** The lane's state alone (one HGET: what a command checks before it queues); undefined when there is no lane. */
  async state(ref: LaneRef): Promise<LaneState | undefined> {
    const state = await this.redis.hget(this.keys.lane(ref), 'state');
    return state === 'deleting' || state === 'active' ? state : undefined;
  }

  async get(ref: LaneRef): Promise<LaneView | undefined> {
    const [view] = await this.getMany(ref, [ref.lane]);
    return view;
  }

  /** The lanes of a service/env (admin slots left out), by name. */
  async list(scope: Scope): Promise<LaneView[]> {
    return this.getMany(scope, await this.names(scope));
  }

  /**
   * At most `limit` lanes of a service/env, by name, whose name contains `contains`, and how many
   * match in all: only the page is read, however many lanes there are.
   */
  async page(scope: Scope, options: { contains?: string; limit: number }): Promise<{ views: LaneView[]; total: number }> {
    const names = (await this.names(scope)).filter((lane) => !options.contains || lane.includes(options.contains));
    return { views: await this.getMany(scope, names.slice(0, options.limit)), total: names.length };
  }

  private async names(scope: Scope): Promise<string[]> {
    return (await this.redis.smembers(this.keys.lanes(scope))).filter((lane) => !isOperationSlot(lane)).sort();
  }

  private async getMany(scope: Scope, lanes: string[]): Promise<LaneView[]> {
    if (lanes.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const lane of lanes) pipeline.hgetall(this.keys.lane({ ...scope, lane })).zscore(this.keys.lanesExpiry, indexMember({ ...scope, lane }));
    const replies = execOrThrow(await pipeline.exec());
    const hashes = lanes.map((_, i) => (replies[2 * i] ?? {}) as Record<string, string>);
    const bases = lanes.map((_, i) => replies[2 * i + 1] as string | null);
    const ids = hashes.flatMap((h) => [h.lastId, h.pendingId, h.homeId].filter((id): id is string => !!id));
    const records = await this.operations.getMany([...new Set(ids)]);
    const views: LaneView[] = [];
    hashes.forEach((hash, i) => {
      if (Object.keys(hash).length === 0) return;
      const num = (value: string | undefined) => (value ? Number(value) : undefined);
      const base = bases[i] !== null && bases[i] !== undefined ? Number(bases[i]) : undefined;
      views.push({
        service: scope.service,
        env: scope.env,
        lane: lanes[i]!,
        state: hash.state === 'deleting' ? 'deleting' : 'active',
        createdAt: num(hash.createdAt),
        lastActivityAt: num(hash.lastActivityAt),
        lastDeployer: hash.lastDeployer || undefined,
        branch: hash.branch || undefined,
        image: hash.image || undefined,
        activeId: hash.activeId || undefined,
        pendingId: hash.pendingId || undefined,
        last: hash.lastId ? records.get(hash.lastId) : undefined,
        pending: hash.pendingId ? records.get(hash.pendingId) : undefined,
        home: hash.homeId ? records.get(hash.homeId) : undefined,
        expiryBase: base,
        // A warning stands until the next sweep withdraws it; one that a deploy since made moot
        // (the base moved past it, as SETTLE_WARNING_SCRIPT reads it) is not shown as standing.
        deleteAt: hash.warnedBase && !(base !== undefined && base > Number(hash.warnedBase)) ? num(hash.deleteAt) : undefined,
        renewedUntil: num(hash.renewedUntil),
        renewedBy: hash.renewedBy || undefined,
      });
    });
    return views;
  }
}

function parseResources(json: string | null | undefined): LaneResources | undefined {
  if (!json) return undefined;
  try {
    const { alarmNames: _names, ...resources } = JSON.parse(json) as LaneResources & { alarmNames?: string[] };
    return resources;
  } catch {
    return undefined;
  }
}

/** The lane of an index member; undefined for anything malformed. */
export function parseIndexMember(member: string): LaneRef | undefined {
  const [service, env, lane, extra] = member.split('/');
  return service && env && lane && extra === undefined ? { service, env, lane } : undefined;
}

/** A lane's member in the lanes-by-activity index. Names are [a-z0-9-], so `/` cannot clash. */
export function indexMember({ service, env, lane }: LaneRef): string {
  return `${service}/${env}/${lane}`;
}
