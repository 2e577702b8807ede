import type { OperationRecord, OperationRequest } from '../../../src/domain/operation';
import type { LaneRef, Scope } from '../../../src/domain/names';
import { OperationStore } from '../../../src/state/operation-store';
import { RedisKeys } from '../../../src/state/keys';
import { LaneRegistry, type Admission } from '../../../src/state/lane-registry';
import { Redis } from 'ioredis';
import { deployRequest, redisPerTest, T0 } from '../../support/fixtures';
import { REDIS_URL } from '../../support/harness';

const SCOPE: Scope = { service: 'api', env: 'staging' };
const LANE: LaneRef = { ...SCOPE, lane: 'alpha' };

const db = redisPerTest();
let keys: RedisKeys;
let deploys: OperationStore;
let lanes: LaneRegistry;
const request = (overrides: Partial<OperationRequest> = {}) => deployRequest({ ...LANE, ...overrides });

/** Records a deploy request (status 'queued') and returns its record, as the deploy job does. */
async function queued(overrides: Partial<OperationRequest> = {}): Promise<OperationRecord> {
  const req = request(overrides);
  expect(await deploys.create(req)).toBe(true);
  return (await deploys.get(req.id))!;
}

async function status(deployId: string): Promise<string | undefined> {
  return (await deploys.get(deployId))?.status;
}

async function laneHash(ref: LaneRef = LANE): Promise<Record<string, string>> {
  return db.redis.hgetall(keys.lane(ref));
}

beforeEach(() => {
  keys = new RedisKeys(db.prefix);
  deploys = new OperationStore(db.redis, keys);
  lanes = new LaneRegistry(db.redis, keys, deploys);
});

describe('LaneRegistry.admit', () => {
  it('admits the first deploy of a free lane', async () => {
    const first = await queued();
    await expect(lanes.admit(first, 'newest-wins', T0 + 10)).resolves.toEqual({ decision: 'admitted' });

    const lane = await lanes.get(LANE);
    expect(lane).toMatchObject({ ...LANE, activeId: first.id, lastActivityAt: T0 + 10 });
    expect(lane!.pendingId).toBeUndefined();
    expect(lane!.last).toMatchObject({ id: first.id, status: 'starting' });
    expect(lane!.pending).toBeUndefined();
    expect(await status(first.id)).toBe('starting');
    expect((await laneHash()).lastId).toBe(first.id);
    expect(await db.redis.smembers(keys.lanes(SCOPE))).toEqual(['alpha']);
  });

  it('parks a second deploy behind the active one', async () => {
    const first = await queued();
    const second = await queued();
    await lanes.admit(first, 'newest-wins', T0 + 10);

    await expect(lanes.admit(second, 'newest-wins', T0 + 20)).resolves.toEqual({ decision: 'waiting', aheadId: first.id });

    const record = await deploys.get(second.id);
    expect(record).toMatchObject({ status: 'waiting', aheadId: first.id });
    expect(record).not.toHaveProperty('supersededId');
    const lane = await lanes.get(LANE);
    expect(lane).toMatchObject({ activeId: first.id, pendingId: second.id, lastActivityAt: T0 + 20 });
    expect(lane!.last?.id).toBe(first.id);
    expect(lane!.pending).toMatchObject({ id: second.id, status: 'waiting' });
  });

  it('lets a third deploy supersede the waiting second one', async () => {
    const first = await queued();
    const second = await queued();
    const third = await queued();
    await lanes.admit(first, 'newest-wins', T0 + 10);
    await lanes.admit(second, 'newest-wins', T0 + 20);

    await expect(lanes.admit(third, 'newest-wins', T0 + 30)).resolves.toEqual({
      decision: 'waiting',
      aheadId: first.id,
      supersededId: second.id,
    });

    await expect(deploys.get(second.id)).resolves.toMatchObject({ status: 'superseded', supersededBy: third.id, finishedAt: T0 + 30 });
    await expect(deploys.get(third.id)).resolves.toMatchObject({
      status: 'waiting',
      aheadId: first.id,
      supersededId: second.id,
    });
    await expect(lanes.get(LANE)).resolves.toMatchObject({ activeId: first.id, pendingId: third.id });
    expect(await status(first.id)).toBe('starting');
  });

  it('returns the recorded decision when run again for the same deploy, and changes nothing', async () => {
    const first = await queued();
    const second = await queued();
    const third = await queued();
    const decisions: Admission[] = [await lanes.admit(first, 'newest-wins', T0 + 10), await lanes.admit(second, 'newest-wins', T0 + 20), await lanes.admit(third, 'newest-wins', T0 + 30)];

    const snapshot = async () => ({
      lane: await laneHash(),
      lanes: (await db.redis.smembers(keys.lanes(SCOPE))).sort(),
      records: await Promise.all([first, second, third].map((d) => db.redis.hgetall(keys.operation(d.id)))),
    });
    const before = await snapshot();

    // A retried deploy job re-runs admit (with a later `now`).
    const again = [await lanes.admit(first, 'newest-wins', T0 + 99), await lanes.admit(second, 'newest-wins', T0 + 99), await lanes.admit(third, 'newest-wins', T0 + 99)];
    expect(again).toEqual(decisions);
    expect(again[0]).toEqual({ decision: 'admitted' });
    expect(again[2]).toEqual({ decision: 'waiting', aheadId: first.id, supersededId: second.id });
    expect(await snapshot()).toEqual(before);
  });

  it('returns the recorded superseded decision again for a deploy superseded on arrival', async () => {
    const first = await queued();
    const newer = await queued({ requestedAt: T0 + 50_000 });
    const older = await queued({ requestedAt: T0 + 40_000 });
    await lanes.admit(first, 'newest-wins', T0 + 10);
    await lanes.admit(newer, 'newest-wins', T0 + 20);
    const decision = await lanes.admit(older, 'newest-wins', T0 + 30);
    const before = await laneHash();

    await expect(lanes.admit(older, 'newest-wins', T0 + 40)).resolves.toEqual(decision);
    expect(decision).toEqual({ decision: 'superseded', aheadId: first.id, supersededBy: newer.id });
    expect(await laneHash()).toEqual(before);
  });

  it('skips a deploy that is no longer queued, without touching the lane', async () => {
    const gone = await queued();
    await deploys.transition(gone.id, ['queued'], 'error', { error: 'pipeline missing' });

    await expect(lanes.admit(gone, 'newest-wins', T0 + 10)).resolves.toEqual({ decision: 'skip' });
    expect(await db.redis.exists(keys.lane(LANE))).toBe(0);
    expect(await db.redis.smembers(keys.lanes(SCOPE))).toEqual([]);
    expect(await status(gone.id)).toBe('error');
    await expect(lanes.get(LANE)).resolves.toBeUndefined();
  });

  it('supersedes an older request that arrives after a newer one is already waiting', async () => {
    const first = await queued();
    const newer = await queued({ requestedAt: T0 + 50_000 });
    const older = await queued({ requestedAt: T0 + 40_000 });
    await lanes.admit(first, 'newest-wins', T0 + 10);

    await expect(lanes.admit(newer, 'newest-wins', T0 + 20)).resolves.toEqual({ decision: 'waiting', aheadId: first.id });
    await expect(lanes.admit(older, 'newest-wins', T0 + 30)).resolves.toEqual({ decision: 'superseded', aheadId: first.id, supersededBy: newer.id });

    await expect(deploys.get(older.id)).resolves.toMatchObject({ status: 'superseded', supersededBy: newer.id, finishedAt: T0 + 30 });
    await expect(deploys.get(newer.id)).resolves.toMatchObject({ status: 'waiting', aheadId: first.id });
    const newerRecord = await deploys.get(newer.id);
    expect(newerRecord).not.toHaveProperty('supersededBy');
    await expect(lanes.get(LANE)).resolves.toMatchObject({ activeId: first.id, pendingId: newer.id });
  });

  it('supersedes an older request that arrives after a newer one already holds the lane', async () => {
    const newer = await queued({ requestedAt: T0 + 50_000 });
    const older = await queued({ requestedAt: T0 + 40_000 });
    await lanes.admit(newer, 'newest-wins', T0 + 10);

    await expect(lanes.admit(older, 'newest-wins', T0 + 20)).resolves.toEqual({ decision: 'superseded', aheadId: newer.id, supersededBy: newer.id });
    await expect(deploys.get(older.id)).resolves.toMatchObject({ status: 'superseded', supersededBy: newer.id });
    const lane = await lanes.get(LANE);
    expect(lane).toMatchObject({ activeId: newer.id });
    expect(lane?.pendingId).toBeUndefined();
  });

  it('keeps lanes independent', async () => {
    const a = await queued({ lane: 'alpha' });
    const b = await queued({ lane: 'beta' });
    await expect(lanes.admit(a, 'newest-wins', T0 + 10)).resolves.toEqual({ decision: 'admitted' });
    await expect(lanes.admit(b, 'newest-wins', T0 + 20)).resolves.toEqual({ decision: 'admitted' });
    expect(await status(a.id)).toBe('starting');
    expect(await status(b.id)).toBe('starting');
  });
});

describe('LaneRegistry.release', () => {
  it('hands the lane to the waiting deploy and returns its id', async () => {
    const first = await queued();
    const second = await queued();
    await lanes.admit(first, 'newest-wins', T0 + 10);
    await lanes.admit(second, 'newest-wins', T0 + 20);
    await deploys.transition(first.id, ['starting'], 'succeeded');

    await expect(lanes.release(LANE, first.id, T0 + 100)).resolves.toBe(second.id);

    const hash = await laneHash();
    expect(hash).toMatchObject({ activeId: second.id, lastId: second.id, pendingId: '', lastActivityAt: String(T0 + 100) });
    expect(await status(second.id)).toBe('starting');
    expect(await status(first.id)).toBe('succeeded');
    const lane = await lanes.get(LANE);
    expect(lane).toMatchObject({ activeId: second.id, last: { id: second.id, status: 'starting' } });
    expect(lane!.pendingId).toBeUndefined();
    expect(lane!.pending).toBeUndefined();
  });

  it('frees the lane when nothing waits (returns undefined), and a later deploy is admitted', async () => {
    const first = await queued();
    await lanes.admit(first, 'newest-wins', T0 + 10);

    await expect(lanes.release(LANE, first.id, T0 + 100)).resolves.toBeUndefined();
    const lane = await lanes.get(LANE);
    expect(lane!.activeId).toBeUndefined();
    expect(lane!.last?.id).toBe(first.id);

    const next = await queued();
    await expect(lanes.admit(next, 'newest-wins', T0 + 200)).resolves.toEqual({ decision: 'admitted' });
    expect((await laneHash()).lastId).toBe(next.id);
  });

  it('is idempotent: releasing again by the same deploy returns the current holder and changes nothing', async () => {
    const first = await queued();
    const second = await queued();
    await lanes.admit(first, 'newest-wins', T0 + 10);
    await lanes.admit(second, 'newest-wins', T0 + 20);
    await lanes.release(LANE, first.id, T0 + 100);
    const before = await laneHash();
    const secondBefore = await db.redis.hgetall(keys.operation(second.id));

    await expect(lanes.release(LANE, first.id, T0 + 200)).resolves.toBe(second.id);
    expect(await laneHash()).toEqual(before);
    expect(await db.redis.hgetall(keys.operation(second.id))).toEqual(secondBefore);

    // Once the second one releases too, a repeat by either returns undefined (free lane).
    await expect(lanes.release(LANE, second.id, T0 + 300)).resolves.toBeUndefined();
    const freed = await laneHash();
    await expect(lanes.release(LANE, second.id, T0 + 400)).resolves.toBeUndefined();
    await expect(lanes.release(LANE, first.id, T0 + 400)).resolves.toBeUndefined();
    expect(await laneHash()).toEqual(freed);
  });

  it('does nothing when a deploy that does not hold the lane releases it', async () => {
    const first = await queued();
    const second = await queued();
    await lanes.admit(first, 'newest-wins', T0 + 10);
    await lanes.admit(second, 'newest-wins', T0 + 20);
    const before = await laneHash();

    await expect(lanes.release(LANE, second.id, T0 + 100)).resolves.toBe(first.id);
    expect(await laneHash()).toEqual(before);
    expect(await status(second.id)).toBe('waiting');
  });
});

describe('LaneRegistry.list / get', () => {
  it('lists the lanes of a scope sorted by name with last and pending records joined', async () => {
    const gammaDeploy = await queued({ lane: 'gamma' });
    const alphaActive = await queued({ lane: 'alpha' });
    const alphaWaiting = await queued({ lane: 'alpha' });
    const betaDeploy = await queued({ lane: 'beta' });
    const otherScope = await queued({ env: 'prod', lane: 'alpha' });
    await lanes.admit(gammaDeploy, 'newest-wins', T0 + 10);
    await lanes.admit(alphaActive, 'newest-wins', T0 + 20);
    await lanes.admit(alphaWaiting, 'newest-wins', T0 + 30);
    await lanes.admit(betaDeploy, 'newest-wins', T0 + 40);
    await lanes.admit(otherScope, 'newest-wins', T0 + 50);
    await lanes.release({ ...SCOPE, lane: 'beta' }, betaDeploy.id, T0 + 60);

    const views = await lanes.list(SCOPE);
    expect(views.map((v) => v.lane)).toEqual(['alpha', 'beta', 'gamma']);
    const [alpha, beta, gamma] = views;
    expect(alpha).toMatchObject({
      service: 'api',
      env: 'staging',
      lane: 'alpha',
      activeId: alphaActive.id,
      pendingId: alphaWaiting.id,
      lastActivityAt: T0 + 30,
      last: { id: alphaActive.id, status: 'starting' },
      pending: { id: alphaWaiting.id, status: 'waiting' },
    });
    expect(beta).toMatchObject({ lane: 'beta', lastActivityAt: T0 + 60, last: { id: betaDeploy.id } });
    expect(beta!.activeId).toBeUndefined();
    expect(beta!.pending).toBeUndefined();
    expect(gamma).toMatchObject({ lane: 'gamma', activeId: gammaDeploy.id, last: { id: gammaDeploy.id } });

    const prod = await lanes.list({ service: 'api', env: 'prod' });
    expect(prod).toHaveLength(1);
    expect(prod[0]).toMatchObject({ env: 'prod', lane: 'alpha', activeId: otherScope.id });
  });

  it('lists nothing for a scope without lanes', async () => {
    await expect(lanes.list({ service: 'nobody', env: 'staging' })).resolves.toEqual([]);
  });

  it('returns undefined for an unknown lane', async () => {
    await expect(lanes.get({ ...SCOPE, lane: 'nope' })).resolves.toBeUndefined();
  });
});

describe('LaneRegistry concurrency', () => {
  it('admits exactly one of 20 concurrent deploys and keeps only the newest of the rest waiting', async () => {
    const records: OperationRecord[] = [];
    for (let i = 0; i < 20; i++) records.push(await queued({ requestedAt: T0 + 1000 * (i + 1) }));
    // Arrive in a scrambled order, over several connections so the scripts really interleave.
    const order = records.map((_, i) => (i * 7) % 20).map((i) => records[i]!);
    const connections = Array.from({ length: 5 }, () => new Redis(REDIS_URL));
    try {
      const registries = connections.map((c) => new LaneRegistry(c, keys, new OperationStore(c, keys)));
      const decisions = await Promise.all(order.map((d, i) => registries[i % registries.length]!.admit(d, 'newest-wins', T0 + 100_000)));
      const byId = new Map(order.map((d, i) => [d.id, decisions[i]!]));

      const admitted = [...byId].filter(([, a]) => a.decision === 'admitted').map(([id]) => id);
      expect(admitted).toHaveLength(1);
      expect([...byId.values()].every((a) => a.decision !== 'skip')).toBe(true);

      const after = await deploys.getMany(records.map((r) => r.id));
      const statuses = records.map((r) => after.get(r.id)!.status);
      expect(statuses.filter((s) => s === 'starting')).toHaveLength(1);
      expect(statuses.filter((s) => s === 'waiting')).toHaveLength(1);
      expect(statuses.filter((s) => s === 'superseded')).toHaveLength(18);
      expect(after.get(admitted[0]!)!.status).toBe('starting');

      const newestOfRest = records.filter((r) => r.id !== admitted[0]).reduce((a, b) => (b.requestedAt > a.requestedAt ? b : a));
      const lane = await lanes.get(LANE);
      expect(lane).toMatchObject({ activeId: admitted[0], pendingId: newestOfRest.id });
      expect(after.get(newestOfRest.id)!.status).toBe('waiting');

      // Every superseded deploy was replaced by a newer one.
      for (const r of records) {
        const rec = after.get(r.id)!;
        if (rec.status !== 'superseded') continue;
        const by = after.get(rec.supersededBy!);
        expect(by).toBeDefined();
        expect(by!.requestedAt).toBeGreaterThan(r.requestedAt);
      }
    } finally {
      for (const c of connections) c.disconnect();
    }
  });
});
