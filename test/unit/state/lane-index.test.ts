// Lanes as entities (state, creation, last deployer, home thread, release history) and the
// lanes-by-activity index that expiry sweeps read, on the real Redis. The slot mechanics of
// admission (waiting, superseding) are in lane-registry.test.ts.
import type { OperationRecord, OperationRequest } from '../../../src/domain/operation';
import { operationRef, type LaneRef, type Scope } from '../../../src/domain/names';
import { OperationStore } from '../../../src/state/operation-store';
import { RedisKeys } from '../../../src/state/keys';
import { LaneRegistry, MAX_RELEASES, type LaneRelease } from '../../../src/state/lane-registry';
import { deployRequest, redisPerTest, T0 } from '../../support/fixtures';

const SCOPE: Scope = { service: 'api', env: 'staging' };
const LANE: LaneRef = { ...SCOPE, lane: 'alpha' };
const MEMBER = 'api/staging/alpha';

const db = redisPerTest();
let keys: RedisKeys;
let operations: OperationStore;
let lanes: LaneRegistry;

beforeEach(() => {
  keys = new RedisKeys(db.prefix);
  operations = new OperationStore(db.redis, keys);
  lanes = new LaneRegistry(db.redis, keys, operations);
});

/** Records a request (status 'queued'), as the request job does; a deploy of LANE unless overridden. */
async function queued(overrides: Partial<OperationRequest> = {}): Promise<OperationRecord> {
  const request = deployRequest({ ...LANE, ...overrides });
  expect(await operations.create(request)).toBe(true);
  return (await operations.get(request.id))!;
}

/** The lanes-by-activity index as [member, score] pairs, lowest score first. */
async function index(): Promise<Array<[string, number]>> {
  const flat = await db.redis.zrangebyscore(keys.lanesByActivity, '-inf', '+inf', 'WITHSCORES');
  const pairs: Array<[string, number]> = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, Number(flat[i + 1])]);
  return pairs;
}

function release(operationId: string, at: number, overrides: Partial<LaneRelease> = {}): LaneRelease {
  return { operationId, kind: 'deploy', branch: `release/${at}`, image: `123.dkr.ecr/api@sha256:${at}`, by: 'U123', at, ...overrides };
}

describe('admission makes the lane an entity', () => {
  it('sets createdAt, state, lastDeployer and the home thread, and puts the lane in the activity index', async () => {
    const first = await queued({ requester: 'U0ALICE' });
    await lanes.admit(first, 'newest-wins', T0 + 10);

    const lane = await lanes.get(LANE);
    expect(lane).toMatchObject({ state: 'active', createdAt: T0 + 10, lastActivityAt: T0 + 10, lastDeployer: 'U0ALICE', home: { id: first.id } });
    expect(await index()).toEqual([[MEMBER, T0 + 10]]);

    // A later deploy (waiting) moves activity, deployer and home thread on; creation stays.
    const second = await queued({ requester: 'U0BOB' });
    await lanes.admit(second, 'newest-wins', T0 + 20);
    expect(await lanes.get(LANE)).toMatchObject({ createdAt: T0 + 10, lastActivityAt: T0 + 20, lastDeployer: 'U0BOB', home: { id: second.id } });
    expect(await index()).toEqual([[MEMBER, T0 + 20]]);
  });

  it('keeps the last deployer when someone else deletes the lane (a delete is not a deploy)', async () => {
    const deploy = await queued({ requester: 'U0ALICE' });
    await lanes.admit(deploy, 'newest-wins', T0 + 10);
    await lanes.release(LANE, deploy.id, T0 + 20);

    const del = await queued({ kind: 'delete', params: {}, requester: 'U0APPROVER' });
    await lanes.admit(del, 'exclusive', T0 + 30);
    expect(await lanes.get(LANE)).toMatchObject({ lastDeployer: 'U0ALICE', home: { id: del.id }, state: 'deleting', activeId: del.id });
  });

  it('keeps admin slots (@infra, @boot) out of the activity index and out of list', async () => {
    const infra = await queued({ kind: 'infra', params: {}, ...operationRef('infra', SCOPE) });
    const boot = await queued({ kind: 'boot', params: {}, ...operationRef('boot', SCOPE) });
    const deploy = await queued();
    await lanes.admit(infra, 'newest-wins', T0 + 10);
    await lanes.admit(boot, 'newest-wins', T0 + 20);
    await lanes.admit(deploy, 'newest-wins', T0 + 30);

    expect(await index()).toEqual([[MEMBER, T0 + 30]]);
    expect((await lanes.list(SCOPE)).map((v) => v.lane)).toEqual(['alpha']);
    expect(await lanes.list({ service: '*', env: 'staging' })).toEqual([]);
    // The slots themselves still serialize their operations.
    expect(await lanes.get(operationRef('boot', SCOPE))).toMatchObject({ activeId: boot.id });
    expect(await lanes.get(operationRef('infra', SCOPE))).toMatchObject({ activeId: infra.id });

    await lanes.release(operationRef('boot', SCOPE), boot.id, T0 + 40);
    await lanes.release(operationRef('infra', SCOPE), infra.id, T0 + 50);
    expect(await index()).toEqual([[MEMBER, T0 + 30]]);
    expect(await lanes.idleSince(T0 + 100)).toEqual([{ ref: LANE, lastActivityAt: T0 + 30 }]);
  });
});

describe('release of a delete', () => {
  it("'retire' removes the lane, its release history and its index entry together", async () => {
    const deploy = await queued();
    await lanes.admit(deploy, 'newest-wins', T0 + 10);
    await lanes.recordRelease(LANE, release(deploy.id, T0 + 15));
    await lanes.release(LANE, deploy.id, T0 + 20);
    const other = await queued({ lane: 'beta' });
    await lanes.admit(other, 'newest-wins', T0 + 25);

    const del = await queued({ kind: 'delete', params: {} });
    await lanes.admit(del, 'exclusive', T0 + 30);
    expect(await db.redis.exists(keys.laneReleases(LANE))).toBe(1);
    await expect(lanes.release(LANE, del.id, T0 + 40, 'retire')).resolves.toBeUndefined();

    expect(await db.redis.exists(keys.lane(LANE), keys.laneReleases(LANE))).toBe(0);
    expect(await db.redis.smembers(keys.lanes(SCOPE))).toEqual(['beta']);
    expect(await index()).toEqual([['api/staging/beta', T0 + 25]]);
    expect(await lanes.releases(LANE)).toEqual([]);
    // A release recorded late (a retried step) does not recreate the lane either.
    await lanes.recordRelease(LANE, release(deploy.id, T0 + 50));
    expect(await db.redis.exists(keys.lane(LANE), keys.laneReleases(LANE))).toBe(0);

    // Deploying the name again creates a new lane.
    const again = await queued();
    await expect(lanes.admit(again, 'newest-wins', T0 + 60)).resolves.toEqual({ decision: 'admitted' });
    expect(await lanes.get(LANE)).toMatchObject({ state: 'active', createdAt: T0 + 60 });
  });

  it("'restore' makes a lane whose delete failed active again, and it takes deploys", async () => {
    const del = await queued({ kind: 'delete', params: {} });
    await lanes.admit(del, 'exclusive', T0 + 10);
    expect((await lanes.get(LANE))?.state).toBe('deleting');

    await expect(lanes.release(LANE, del.id, T0 + 20, 'restore')).resolves.toBeUndefined();
    const lane = await lanes.get(LANE);
    expect(lane).toMatchObject({ state: 'active', lastActivityAt: T0 + 20 });
    expect(lane?.activeId).toBeUndefined();
    expect((await db.redis.hgetall(keys.lane(LANE))).deleteId).toBe('');
    expect(await index()).toEqual([[MEMBER, T0 + 20]]);

    const deploy = await queued();
    await expect(lanes.admit(deploy, 'newest-wins', T0 + 30)).resolves.toEqual({ decision: 'admitted' });
  });
});

describe('exclusive admission (a delete)', () => {
  it('makes the lane deleting, supersedes a waiting deploy, and refuses later deploys and deletes', async () => {
    const running = await queued();
    const waitingDeploy = await queued();
    await lanes.admit(running, 'newest-wins', T0 + 10);
    await lanes.admit(waitingDeploy, 'newest-wins', T0 + 20);

    const del = await queued({ kind: 'delete', params: {} });
    await expect(lanes.admit(del, 'exclusive', T0 + 30)).resolves.toEqual({ decision: 'waiting', aheadId: running.id, supersededId: waitingDeploy.id });
    await expect(operations.get(waitingDeploy.id)).resolves.toMatchObject({ status: 'superseded', supersededBy: del.id, finishedAt: T0 + 30 });
    expect(await lanes.get(LANE)).toMatchObject({ state: 'deleting', activeId: running.id, pendingId: del.id });
    expect((await db.redis.hgetall(keys.lane(LANE))).deleteId).toBe(del.id);

    // Even a deploy requested later than the delete does not replace it: the lane refuses it.
    const later = await queued({ requestedAt: del.requestedAt + 60_000 });
    await expect(lanes.admit(later, 'newest-wins', T0 + 40)).resolves.toEqual({ decision: 'refused', refusedBy: del.id });
    await expect(operations.get(later.id)).resolves.toMatchObject({ status: 'refused', refusedBy: del.id, error: 'deleting', finishedAt: T0 + 40 });
    const secondDelete = await queued({ kind: 'delete', params: {} });
    await expect(lanes.admit(secondDelete, 'exclusive', T0 + 50)).resolves.toEqual({ decision: 'refused', refusedBy: del.id });
    await expect(operations.get(secondDelete.id)).resolves.toMatchObject({ status: 'refused', refusedBy: del.id });
    // Asked again (a retried job), the refusal is the same and the lane is unchanged.
    const before = await db.redis.hgetall(keys.lane(LANE));
    await expect(lanes.admit(later, 'newest-wins', T0 + 60)).resolves.toEqual({ decision: 'refused', refusedBy: del.id });
    expect(await db.redis.hgetall(keys.lane(LANE))).toEqual(before);
    expect(await lanes.get(LANE)).toMatchObject({ pendingId: del.id, home: { id: del.id } });

    // The running deploy ends: the delete gets the lane.
    await expect(lanes.release(LANE, running.id, T0 + 70)).resolves.toBe(del.id);
    await expect(operations.get(del.id)).resolves.toMatchObject({ status: 'starting' });
  });

  it('takes a free lane at once', async () => {
    const del = await queued({ kind: 'delete', params: {} });
    await expect(lanes.admit(del, 'exclusive', T0 + 10)).resolves.toEqual({ decision: 'admitted' });
    expect(await lanes.get(LANE)).toMatchObject({ state: 'deleting', activeId: del.id });
  });
});

describe('release history', () => {
  it('keeps the last MAX_RELEASES, newest first, and sets what the lane runs now', async () => {
    const deploy = await queued();
    await lanes.admit(deploy, 'newest-wins', T0);
    const total = MAX_RELEASES + 5;
    for (let i = 1; i <= total; i++) await lanes.recordRelease(LANE, release(`op-${i}`, T0 + i));

    const releases = await lanes.releases(LANE);
    expect(MAX_RELEASES).toBe(20);
    expect(releases).toHaveLength(MAX_RELEASES);
    expect(releases.map((r) => r.operationId)).toEqual(Array.from({ length: MAX_RELEASES }, (_, i) => `op-${total - i}`));
    expect(await db.redis.llen(keys.laneReleases(LANE))).toBe(MAX_RELEASES);
    expect(await lanes.get(LANE)).toMatchObject({ branch: `release/${T0 + total}`, image: `123.dkr.ecr/api@sha256:${T0 + total}` });
  });

  it('adds nothing when the same operation records its release again (a retried step)', async () => {
    const deploy = await queued();
    await lanes.admit(deploy, 'newest-wins', T0);
    await lanes.recordRelease(LANE, release('op-1', T0 + 1));
    await lanes.recordRelease(LANE, release('op-2', T0 + 2));
    await lanes.recordRelease(LANE, release('op-2', T0 + 3, { branch: 'something-else' }));

    expect(await lanes.releases(LANE)).toEqual([release('op-2', T0 + 2), release('op-1', T0 + 1)]);
    expect((await lanes.get(LANE))?.branch).toBe(`release/${T0 + 2}`);
  });

  it('records a release without an image as an unknown image', async () => {
    const deploy = await queued();
    await lanes.admit(deploy, 'newest-wins', T0);
    await lanes.recordRelease(LANE, release('op-1', T0 + 1, { image: undefined }));
    const lane = await lanes.get(LANE);
    expect(lane?.branch).toBe(`release/${T0 + 1}`);
    expect(lane?.image).toBeUndefined();
    expect((await lanes.releases(LANE))[0]).not.toHaveProperty('image');
  });
});

describe('idleSince', () => {
  it('pages through lanes idle before a time, oldest first, across services and environments', async () => {
    const refs: LaneRef[] = [
      { service: 'api', env: 'staging', lane: 'c' },
      { service: 'orders', env: 'prod', lane: 'a' },
      { service: 'api', env: 'staging', lane: 'a' },
      { service: 'api', env: 'dev', lane: 'b' },
      { service: 'api', env: 'staging', lane: 'busy' },
    ];
    const at = [T0 + 300, T0 + 100, T0 + 400, T0 + 200, T0 + 900];
    const ops: OperationRecord[] = [];
    for (const [i, ref] of refs.entries()) {
      ops.push(await queued(ref));
      await lanes.admit(ops[i]!, 'newest-wins', at[i]!);
    }

    const first = await lanes.idleSince(T0 + 900, 0, 2);
    const second = await lanes.idleSince(T0 + 900, 2, 2);
    const third = await lanes.idleSince(T0 + 900, 4, 2);
    expect(first).toEqual([
      { ref: { service: 'orders', env: 'prod', lane: 'a' }, lastActivityAt: T0 + 100 },
      { ref: { service: 'api', env: 'dev', lane: 'b' }, lastActivityAt: T0 + 200 },
    ]);
    expect(second).toEqual([
      { ref: { service: 'api', env: 'staging', lane: 'c' }, lastActivityAt: T0 + 300 },
      { ref: { service: 'api', env: 'staging', lane: 'a' }, lastActivityAt: T0 + 400 },
    ]);
    // `before` is exclusive: the lane active exactly then is not idle.
    expect(third).toEqual([]);

    // Activity takes a lane out of the idle set.
    await lanes.release({ service: 'orders', env: 'prod', lane: 'a' }, ops[1]!.id, T0 + 1000);
    expect((await lanes.idleSince(T0 + 900)).map((e) => e.ref.lane)).toEqual(['b', 'c', 'a']);
  });
});
