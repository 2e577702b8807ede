// The lane registry: per service/env/lane, which deploy holds the lane, which one waits next, and
// the latest deploy (whose record carries branch, execution, status, requester, times and thread).
//
// Per-lane serialization lives here, in two Lua scripts, so that any number of bot processes agree
// on who deploys a lane: `admit` lets a deploy in or parks it (the newest waiting deploy wins) and
// `release` hands the lane to the waiting one. Both are safe to run again after a crash.
import type { Redis } from 'ioredis';
import type { DeployRecord } from '../domain/deploy';
import { isOperationSlot, type LaneRef, type Scope } from '../domain/names';
import { execOrThrow, type DeployStore } from './deploy-store';
import type { RedisKeys } from './keys';

// KEYS: lane hash, lanes set, this deploy's record.
// ARGV: deploy id, its requestedAt, now, deploy key prefix, lane name.
// Returns { decision, aheadDeployId, otherDeployId } where other is the deploy this one superseded
// (decision 'waiting') or the newer deploy that superseded this one (decision 'superseded').
const ADMIT_SCRIPT = `
local me, rec = ARGV[1], KEYS[3]
local decided = redis.call('HGET', rec, 'admission')
if decided then
  local other = redis.call('HGET', rec, decided == 'superseded' and 'supersededBy' or 'supersededDeployId') or ''
  return { decided, redis.call('HGET', rec, 'aheadDeployId') or '', other }
end
if redis.call('HGET', rec, 'status') ~= 'queued' then return { 'skip', '', '' } end
redis.call('SADD', KEYS[2], ARGV[5])
redis.call('HSET', KEYS[1], 'lastActivityAt', ARGV[3])
local active = redis.call('HGET', KEYS[1], 'activeDeployId')
if not active or active == '' then
  redis.call('HSET', KEYS[1], 'activeDeployId', me, 'lastDeployId', me)
  redis.call('HSET', rec, 'admission', 'admitted', 'status', 'starting')
  return { 'admitted', '', '' }
end
local activeAt = tonumber(redis.call('HGET', ARGV[4] .. active, 'requestedAt') or '0')
if activeAt > tonumber(ARGV[2]) then
  -- The deploy running now was requested after this one: this request is already out of date.
  redis.call('HSET', rec, 'admission', 'superseded', 'status', 'superseded', 'supersededBy', active,
    'aheadDeployId', active, 'finishedAt', ARGV[3])
  return { 'superseded', active, active }
end
local pending = redis.call('HGET', KEYS[1], 'pendingDeployId')
local superseded = ''
if pending and pending ~= '' and pending ~= me then
  local pendingAt = tonumber(redis.call('HGET', ARGV[4] .. pending, 'requestedAt') or '0')
  if pendingAt > tonumber(ARGV[2]) then
    -- A newer request was admitted first (jobs can run out of order): the newest still wins.
    redis.call('HSET', rec, 'admission', 'superseded', 'status', 'superseded', 'supersededBy', pending,
      'aheadDeployId', active, 'finishedAt', ARGV[3])
    return { 'superseded', active, pending }
  end
  superseded = pending
  if redis.call('HGET', ARGV[4] .. pending, 'status') == 'waiting' then
    redis.call('HSET', ARGV[4] .. pending, 'status', 'superseded', 'supersededBy', me, 'finishedAt', ARGV[3])
  end
end
redis.call('HSET', KEYS[1], 'pendingDeployId', me)
redis.call('HSET', rec, 'admission', 'waiting', 'status', 'waiting', 'aheadDeployId', active, 'supersededDeployId', superseded)
return { 'waiting', active, superseded }`;

// KEYS: lane hash. ARGV: deploy id, now, deploy key prefix.
// Returns the deploy that holds the lane afterwards ('' when it is free).
const RELEASE_SCRIPT = `
local active = redis.call('HGET', KEYS[1], 'activeDeployId') or ''
if active ~= ARGV[1] then return active end
redis.call('HSET', KEYS[1], 'lastActivityAt', ARGV[2])
local pending = redis.call('HGET', KEYS[1], 'pendingDeployId') or ''
if pending == '' then
  redis.call('HSET', KEYS[1], 'activeDeployId', '')
  return ''
end
redis.call('HSET', KEYS[1], 'activeDeployId', pending, 'lastDeployId', pending, 'pendingDeployId', '')
if redis.call('HGET', ARGV[3] .. pending, 'status') == 'waiting' then
  redis.call('HSET', ARGV[3] .. pending, 'status', 'starting')
end
return pending`;

export type Admission =
  | { decision: 'admitted' }
  | { decision: 'waiting'; aheadDeployId: string; supersededDeployId?: string }
  | { decision: 'superseded'; aheadDeployId: string; supersededBy: string }
  /** The deploy is no longer queued (it was superseded or ended before this ran). */
  | { decision: 'skip' };

export interface LaneView extends LaneRef {
  activeDeployId?: string;
  pendingDeployId?: string;
  lastActivityAt?: number;
  /** The latest deploy that got the lane (running or finished). */
  last?: DeployRecord;
  /** The deploy waiting for the lane, if any. */
  pending?: DeployRecord;
}

export class LaneRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly deploys: DeployStore,
  ) {}

  async admit(deploy: DeployRecord, now: number): Promise<Admission> {
    const reply = (await this.redis.eval(
      ADMIT_SCRIPT,
      3,
      this.keys.lane(deploy),
      this.keys.lanes(deploy),
      this.keys.deploy(deploy.id),
      deploy.id,
      deploy.requestedAt,
      now,
      this.keys.deployPrefix,
      deploy.lane,
    )) as [string, string, string];
    const [decision, ahead, other] = reply;
    switch (decision) {
      case 'admitted':
        return { decision };
      case 'waiting':
        return other ? { decision, aheadDeployId: ahead, supersededDeployId: other } : { decision, aheadDeployId: ahead };
      case 'superseded':
        return { decision, aheadDeployId: ahead, supersededBy: other };
      default:
        return { decision: 'skip' };
    }
  }

  /** Frees the lane from `deployId`; returns the deploy that now holds it, which must be started. */
  async release(ref: LaneRef, deployId: string, now: number): Promise<string | undefined> {
    const next = (await this.redis.eval(RELEASE_SCRIPT, 1, this.keys.lane(ref), deployId, now, this.keys.deployPrefix)) as string;
    return next === '' ? undefined : next;
  }

  async touch(ref: LaneRef, now: number): Promise<void> {
    await this.redis.hset(this.keys.lane(ref), 'lastActivityAt', now);
  }

  async get(ref: LaneRef): Promise<LaneView | undefined> {
    const [view] = await this.getMany(ref, [ref.lane]);
    return view;
  }

  async list(scope: Scope): Promise<LaneView[]> {
    const lanes = (await this.redis.smembers(this.keys.lanes(scope))).filter((lane) => !isOperationSlot(lane)).sort();
    return this.getMany(scope, lanes);
  }

  private async getMany(scope: Scope, lanes: string[]): Promise<LaneView[]> {
    const pipeline = this.redis.pipeline();
    for (const lane of lanes) pipeline.hgetall(this.keys.lane({ ...scope, lane }));
    const hashes = execOrThrow(await pipeline.exec()).map((hash) => (hash ?? {}) as Record<string, string>);
    const ids = hashes.flatMap((h) => [h.lastDeployId, h.pendingDeployId].filter((id): id is string => !!id));
    const records = await this.deploys.getMany([...new Set(ids)]);
    const views: LaneView[] = [];
    hashes.forEach((hash, i) => {
      if (Object.keys(hash).length === 0) return;
      views.push({
        service: scope.service,
        env: scope.env,
        lane: lanes[i]!,
        activeDeployId: hash.activeDeployId || undefined,
        pendingDeployId: hash.pendingDeployId || undefined,
        lastActivityAt: hash.lastActivityAt ? Number(hash.lastActivityAt) : undefined,
        last: hash.lastDeployId ? records.get(hash.lastDeployId) : undefined,
        pending: hash.pendingDeployId ? records.get(hash.pendingDeployId) : undefined,
      });
    });
    return views;
  }
}
