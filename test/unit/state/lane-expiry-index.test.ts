// The lane registry's side of lane expiry, on the real Redis: the expiry index (score = the lane's
// expiry base) that admissions and releases move forward, the warning a sweep claims once,
// renewals, and the withdrawal of a warning that a deploy or a delete made moot. The rules that use
// them are in src/expiry/lane-expiry.ts (tested end to end in test/integration/lane-expiry.test.ts).
import type { OperationRecord, OperationRequest } from '../../../src/domain/operation';
import { operationRef, type LaneRef, type Scope } from '../../../src/domain/names';
import { OperationStore } from '../../../src/state/operation-store';
import { RedisKeys } from '../../../src/state/keys';
import { LaneRegistry } from '../../../src/state/lane-registry';
import { deployRequest, redisPerTest, T0 } from '../../support/fixtures';

const DAY = 86_400_000;
const SCOPE: Scope = { service: 'api', env: 'staging' };
const LANE: LaneRef = { ...SCOPE, lane: 'alpha' };
const MEMBER = 'api/staging/alpha';
const THREAD = 'op-home-thread';

const db = redisPerTest();
let keys: RedisKeys;
let operations: OperationStore;
let lanes: LaneRegistry;

beforeEach(() => {
  keys = new RedisKeys(db.prefix);
  operations = new OperationStore(db.redis, keys);
  lanes = new LaneRegistry(db.redis, keys, operations);
});

async function queued(overrides: Partial<OperationRequest> = {}): Promise<OperationRecord> {
  const request = deployRequest({ ...LANE, ...overrides });
  expect(await operations.create(request)).toBe(true);
  return (await operations.get(request.id))!;
}

/** A deploy of the lane admitted and finished at `at` (its expiry base is then `at`). */
async function deployedAt(at: number, lane = LANE): Promise<OperationRecord> {
  const deploy = await queued({ ...lane, requester: 'U0ALICE' });
  await lanes.admit(deploy, 'newest-wins', at);
  await lanes.release(lane, deploy.id, at);
  return deploy;
}

async function expiryIndex(): Promise<Array<[string, number]>> {
  const flat = await db.redis.zrangebyscore(keys.lanesExpiry, '-inf', '+inf', 'WITHSCORES');
  const pairs: Array<[string, number]> = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, Number(flat[i + 1])]);
  return pairs;
}

async function warned(): Promise<string[]> {
  return (await lanes.warnedLanes()).sort();
}

describe('the expiry index', () => {
  it('takes every real lane at its admission and release, never admin slots', async () => {
    await deployedAt(T0);
    const infra = await queued({ kind: 'infra', params: {}, ...operationRef('infra', SCOPE) });
    await lanes.admit(infra, 'newest-wins', T0 + 10);
    await lanes.release(operationRef('infra', SCOPE), infra.id, T0 + 20);
    expect(await expiryIndex()).toEqual([[MEMBER, T0]]);
    expect(await lanes.expiryBase(LANE)).toBe(T0);
    expect(await lanes.expiryBase({ ...SCOPE, lane: 'ghost' })).toBeUndefined();
  });

  it('moves forward with activity (admission, release), never back', async () => {
    await deployedAt(T0);
    await deployedAt(T0 + DAY);
    expect(await lanes.expiryBase(LANE)).toBe(T0 + DAY);
    // A renewal put the base in the future: activity before it does not pull it back.
    await lanes.renew(LANE, T0 + 10 * DAY, T0 + 17 * DAY, 'U0BOB', T0 + DAY);
    await deployedAt(T0 + 2 * DAY);
    await deployedAt(T0 + 3 * DAY);
    expect(await lanes.expiryBase(LANE)).toBe(T0 + 10 * DAY);
    // The activity index still says when the lane was last used.
    expect(await db.redis.zscore(keys.lanesByActivity, MEMBER)).toBe(String(T0 + 3 * DAY));
  });

  it('gives its candidates up to a cutoff, oldest first, a page at a time', async () => {
    for (const [i, lane] of ['a', 'b', 'c', 'd'].entries()) await deployedAt(T0 + i * DAY, { ...SCOPE, lane });
    const page1 = await lanes.expiryCandidates(T0 + 2 * DAY, 0, 2);
    expect(page1).toEqual([
      { member: 'api/staging/a', ref: { ...SCOPE, lane: 'a' }, base: T0 },
      { member: 'api/staging/b', ref: { ...SCOPE, lane: 'b' }, base: T0 + DAY },
    ]);
    expect((await lanes.expiryCandidates(T0 + 2 * DAY, 2, 2)).map((c) => c.ref.lane)).toEqual(['c']);
    // A lane that never expires is dropped from it, and the next page shifts down.
    await lanes.dropFromExpiry({ ...SCOPE, lane: 'a' });
    expect((await lanes.expiryCandidates(T0 + 2 * DAY, 0, 10)).map((c) => c.ref.lane)).toEqual(['b', 'c']);
  });

  it('loses a retired lane, and its warning', async () => {
    await deployedAt(T0);
    await lanes.claimWarning(LANE, T0, T0 + 7 * DAY, THREAD, T0 + 6 * DAY);
    const del = await queued({ kind: 'delete', params: {} });
    await lanes.admit(del, 'exclusive', T0 + 7 * DAY);
    await lanes.release(LANE, del.id, T0 + 7 * DAY + 60_000, 'retire');
    expect(await expiryIndex()).toEqual([]);
    expect(await warned()).toEqual([]);
    expect(await lanes.get(LANE)).toBeUndefined();
  });

  it('keeps a lane whose delete failed (restore), at the time the delete ended', async () => {
    await deployedAt(T0);
    const del = await queued({ kind: 'delete', params: {} });
    await lanes.admit(del, 'exclusive', T0 + DAY);
    await lanes.release(LANE, del.id, T0 + DAY + 60_000, 'restore');
    expect(await expiryIndex()).toEqual([[MEMBER, T0 + DAY + 60_000]]);
  });
});

describe('claimWarning', () => {
  it('is claimed once for a base; later claims get the same deletion time and thread', async () => {
    await deployedAt(T0);
    await expect(lanes.claimWarning(LANE, T0, T0 + 7 * DAY, THREAD, T0 + 6 * DAY)).resolves.toEqual({ outcome: 'claimed', deleteAt: T0 + 7 * DAY, threadId: THREAD });
    // A second process, a minute later, with its own idea of the thread and the deletion time.
    await expect(lanes.claimWarning(LANE, T0, T0 + 7 * DAY + 60_000, 'other-thread', T0 + 6 * DAY + 60_000)).resolves.toEqual({
      outcome: 'warned',
      deleteAt: T0 + 7 * DAY,
      threadId: THREAD,
    });
    expect(await warned()).toEqual([MEMBER]);
    expect(await lanes.get(LANE)).toMatchObject({ deleteAt: T0 + 7 * DAY, expiryBase: T0 });
  });

  it('is stale when the lane moved on: used since, being deleted, or gone', async () => {
    await deployedAt(T0);
    await deployedAt(T0 + DAY);
    // Work queued for the old base comes late.
    await expect(lanes.claimWarning(LANE, T0, T0 + 7 * DAY, THREAD, T0 + 6 * DAY)).resolves.toMatchObject({ outcome: 'stale' });

    const del = await queued({ kind: 'delete', params: {} });
    await lanes.admit(del, 'exclusive', T0 + 2 * DAY);
    await expect(lanes.claimWarning(LANE, T0 + 2 * DAY, T0 + 9 * DAY, THREAD, T0 + 8 * DAY)).resolves.toMatchObject({ outcome: 'stale' });

    await expect(lanes.claimWarning({ ...SCOPE, lane: 'ghost' }, T0, T0 + 7 * DAY, THREAD, T0 + 6 * DAY)).resolves.toMatchObject({ outcome: 'stale' });
    expect(await warned()).toEqual([]);
  });
});

describe('renew', () => {
  it('moves the base forward, records who renewed until when, and withdraws the warning it returns', async () => {
    await deployedAt(T0);
    await lanes.claimWarning(LANE, T0, T0 + 7 * DAY, THREAD, T0 + 6 * DAY);
    const now = T0 + 6 * DAY + 3_600_000;
    await expect(lanes.renew(LANE, now + 7 * DAY, now + 14 * DAY, 'U0BOB', now)).resolves.toEqual({ outcome: 'renewed', warning: { base: T0, threadId: THREAD } });
    expect(await lanes.get(LANE)).toMatchObject({ expiryBase: now + 7 * DAY, renewedUntil: now + 14 * DAY, renewedBy: 'U0BOB', lastActivityAt: now });
    expect((await lanes.get(LANE))?.deleteAt).toBeUndefined();
    expect(await warned()).toEqual([]);
    // A warning for the old base can no longer be claimed.
    await expect(lanes.claimWarning(LANE, T0, T0 + 7 * DAY, THREAD, now)).resolves.toMatchObject({ outcome: 'stale' });
  });

  it('never moves the base back: a renewal that would not keep the lane longer changes nothing (longer)', async () => {
    await deployedAt(T0);
    await expect(lanes.renew(LANE, T0 + 23 * DAY, T0 + 30 * DAY, 'U0ALICE', T0)).resolves.toEqual({ outcome: 'renewed' });
    await expect(lanes.renew(LANE, T0 + DAY, T0 + 8 * DAY, 'U0BOB', T0 + DAY)).resolves.toEqual({ outcome: 'longer', base: T0 + 23 * DAY });
    expect(await lanes.get(LANE)).toMatchObject({ expiryBase: T0 + 23 * DAY, renewedBy: 'U0ALICE', renewedUntil: T0 + 30 * DAY, lastActivityAt: T0 });
  });

  it('leaves a warning standing when the renewal would not move its base (renewing for less than is left)', async () => {
    await deployedAt(T0);
    await lanes.claimWarning(LANE, T0, T0 + 7 * DAY, THREAD, T0 + 6 * DAY);
    // At the warning, a renewal for 1 day puts the base where it is (deleted on day 7 either way).
    await expect(lanes.renew(LANE, T0, T0 + 7 * DAY, 'U0BOB', T0 + 6 * DAY)).resolves.toEqual({ outcome: 'longer', base: T0 });
    expect(await warned()).toEqual([MEMBER]);
    expect(await lanes.get(LANE)).toMatchObject({ deleteAt: T0 + 7 * DAY });
    expect((await lanes.get(LANE))?.renewedBy).toBeUndefined();
  });

  it('refuses a lane being deleted, and one that does not exist, changing nothing', async () => {
    await deployedAt(T0);
    const del = await queued({ kind: 'delete', params: {} });
    await lanes.admit(del, 'exclusive', T0 + DAY);
    await expect(lanes.renew(LANE, T0 + 9 * DAY, T0 + 16 * DAY, 'U0BOB', T0 + 2 * DAY)).resolves.toEqual({ outcome: 'deleting' });
    expect(await lanes.expiryBase(LANE)).toBe(T0 + DAY);
    expect((await lanes.get(LANE))?.renewedBy).toBeUndefined();

    const ghost = { ...SCOPE, lane: 'ghost' };
    await expect(lanes.renew(ghost, T0 + 9 * DAY, T0 + 16 * DAY, 'U0BOB', T0 + 2 * DAY)).resolves.toEqual({ outcome: 'gone' });
    expect(await db.redis.exists(keys.lane(ghost))).toBe(0);
    expect(await lanes.expiryBase(ghost)).toBeUndefined();
  });
});

describe('settleWarning', () => {
  it('leaves a warning that still holds', async () => {
    await deployedAt(T0);
    await lanes.claimWarning(LANE, T0, T0 + 7 * DAY, THREAD, T0 + 6 * DAY);
    await expect(lanes.settleWarning(MEMBER)).resolves.toBeUndefined();
    expect(await warned()).toEqual([MEMBER]);
    expect((await lanes.get(LANE))?.deleteAt).toBe(T0 + 7 * DAY);
  });

  it('withdraws a warning once the lane is used again, and says so (activity)', async () => {
    await deployedAt(T0);
    await lanes.claimWarning(LANE, T0, T0 + 7 * DAY, THREAD, T0 + 6 * DAY);
    const deploy = await queued();
    await lanes.admit(deploy, 'newest-wins', T0 + 6 * DAY + 60_000);
    // Until the sweep withdraws it, the view no longer shows the moot warning as standing.
    expect((await lanes.get(LANE))?.deleteAt).toBeUndefined();

    await expect(lanes.settleWarning(MEMBER)).resolves.toEqual({ base: T0, threadId: THREAD, why: 'activity' });
    expect(await warned()).toEqual([]);
    expect(await db.redis.hmget(keys.lane(LANE), 'warnedBase', 'deleteAt', 'warnThread', 'warnedAt')).toEqual([null, null, null, null]);
    // Once: a second sweep finds nothing to withdraw.
    await expect(lanes.settleWarning(MEMBER)).resolves.toBeUndefined();
  });

  it('withdraws a warning when the lane is being deleted (deleting)', async () => {
    await deployedAt(T0);
    await lanes.claimWarning(LANE, T0, T0 + 7 * DAY, THREAD, T0 + 6 * DAY);
    const del = await queued({ kind: 'delete', params: {}, requester: 'lanebot' });
    await lanes.admit(del, 'exclusive', T0 + 7 * DAY);
    await expect(lanes.settleWarning(MEMBER)).resolves.toEqual({ base: T0, threadId: THREAD, why: 'deleting' });
    expect(await warned()).toEqual([]);
  });

  it('forgets members of lanes that are gone, and malformed ones', async () => {
    await db.redis.sadd(keys.lanesWarned, 'api/staging/ghost', 'not-a-member');
    await expect(lanes.settleWarning('api/staging/ghost')).resolves.toBeUndefined();
    await expect(lanes.settleWarning('not-a-member')).resolves.toBeUndefined();
    expect(await warned()).toEqual([]);
  });
});
