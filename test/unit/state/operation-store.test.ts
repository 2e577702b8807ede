import type { StageView } from '../../../src/cloud/pipelines.port';
import type { OperationRequest } from '../../../src/domain/operation';
import { OPERATION_RETENTION_SECONDS, OperationStore } from '../../../src/state/operation-store';
import { RedisKeys } from '../../../src/state/keys';
import { deployRequest, redisPerTest, T0 } from '../../support/fixtures';

const db = redisPerTest();
let keys: RedisKeys;
let store: OperationStore;
const request = deployRequest;

beforeEach(() => {
  keys = new RedisKeys(db.prefix);
  store = new OperationStore(db.redis, keys);
});

describe('OperationStore.create / get', () => {
  it('round-trips a request as a queued record with numbers as numbers and no stages', async () => {
    const req = request();
    await expect(store.create(req)).resolves.toBe(true);

    const record = await store.get(req.id);
    expect(record).toEqual({ ...req, status: 'queued', stages: [] });
    expect(typeof record!.requestedAt).toBe('number');

    // The record expires after the retention period.
    const ttl = await db.redis.ttl(keys.operation(req.id));
    expect(ttl).toBeGreaterThan(OPERATION_RETENTION_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(OPERATION_RETENTION_SECONDS);
  });

  it('round-trips stages as JSON and numeric times as numbers', async () => {
    const req = request();
    await store.create(req);
    const stages: StageView[] = [
      { name: 'Source', status: 'Succeeded', startedAt: T0, endedAt: T0 + 20_000 },
      {
        name: 'Build',
        status: 'Failed',
        startedAt: T0 + 20_000,
        endedAt: T0 + 170_000,
        failure: { actionName: 'BuildAndPush', summary: 'exit status 1', logUrl: 'https://example.test/log' },
      },
      { name: 'Deploy', status: 'NotStarted' },
    ];
    await store.update(req.id, { stages, startedAt: T0 + 5, finishedAt: T0 + 170_000, executionId: 'exec-1', statusSummary: 'Stage Build failed' });

    const record = await store.get(req.id);
    expect(record).toMatchObject({
      id: req.id,
      status: 'queued',
      stages,
      startedAt: T0 + 5,
      finishedAt: T0 + 170_000,
      executionId: 'exec-1',
      statusSummary: 'Stage Build failed',
    });
    expect(typeof record!.startedAt).toBe('number');
    expect(typeof record!.finishedAt).toBe('number');
    // Stored as a JSON string in the hash.
    expect(JSON.parse((await db.redis.hget(keys.operation(req.id), 'stages'))!)).toEqual(stages);
  });

  it('skips undefined fields instead of storing them', async () => {
    const req = request();
    await store.create(req);
    await store.update(req.id, { executionId: undefined, statusSummary: 'hello', error: undefined });

    const hash = await db.redis.hgetall(keys.operation(req.id));
    expect(hash.statusSummary).toBe('hello');
    expect(Object.keys(hash)).not.toContain('executionId');
    expect(Object.keys(hash)).not.toContain('error');
    const record = await store.get(req.id);
    expect(record).not.toHaveProperty('executionId');
    expect(record).not.toHaveProperty('error');

    // A patch of only undefined values writes nothing.
    await store.update(req.id, { executionId: undefined });
    expect(await db.redis.hgetall(keys.operation(req.id))).toEqual(hash);
  });

  it('returns undefined for an unknown deploy', async () => {
    await expect(store.get('no-such-deploy')).resolves.toBeUndefined();
  });

  it('keeps the first record when created twice (returns false)', async () => {
    const first = request();
    await expect(store.create(first)).resolves.toBe(true);
    await store.transition(first.id, ['queued'], 'running', { executionId: 'exec-1' });

    const retry = { ...first, params: { ...first.params, branch: 'other-branch' }, requestedAt: first.requestedAt + 99 };
    await expect(store.create(retry)).resolves.toBe(false);

    const record = await store.get(first.id);
    expect(record).toMatchObject({ params: first.params, requestedAt: first.requestedAt, status: 'running', executionId: 'exec-1' });
  });
});

describe('OperationStore.transition', () => {
  it('moves from an allowed status and applies the patch', async () => {
    const req = request();
    await store.create(req);
    await expect(store.transition(req.id, ['queued', 'waiting'], 'starting', { aheadId: 'x' })).resolves.toBe(true);
    await expect(store.get(req.id)).resolves.toMatchObject({ status: 'starting', aheadId: 'x' });

    await expect(store.transition(req.id, ['starting'], 'running')).resolves.toBe(true);
    await expect(store.get(req.id)).resolves.toMatchObject({ status: 'running' });
  });

  it('refuses to move from a status not in the list and changes nothing', async () => {
    const req = request();
    await store.create(req);
    await store.transition(req.id, ['queued'], 'succeeded', { finishedAt: T0 + 1 });
    const before = await db.redis.hgetall(keys.operation(req.id));

    // "Finish the deploy" run twice: the second one must not overwrite the outcome.
    await expect(store.transition(req.id, ['queued', 'waiting', 'starting', 'running'], 'failed', { finishedAt: T0 + 2, error: 'boom' })).resolves.toBe(false);
    expect(await db.redis.hgetall(keys.operation(req.id))).toEqual(before);
    await expect(store.get(req.id)).resolves.toMatchObject({ status: 'succeeded', finishedAt: T0 + 1 });
  });

  it('refuses an empty list of allowed statuses', async () => {
    const req = request();
    await store.create(req);
    await expect(store.transition(req.id, [], 'running')).resolves.toBe(false);
    await expect(store.get(req.id)).resolves.toMatchObject({ status: 'queued' });
  });

  it('does not create a record for an unknown deploy', async () => {
    await expect(store.transition('ghost', ['queued'], 'running', { executionId: 'e' })).resolves.toBe(false);
    expect(await db.redis.exists(keys.operation('ghost'))).toBe(0);
  });
});

describe('OperationStore.getMany', () => {
  it('returns the existing records by id and leaves out unknown ids', async () => {
    const a = request();
    const b = request({ lane: 'beta' });
    await store.create(a);
    await store.create(b);

    const many = await store.getMany([a.id, 'missing', b.id]);
    expect([...many.keys()].sort()).toEqual([a.id, b.id].sort());
    expect(many.get(a.id)).toEqual({ ...a, status: 'queued', stages: [] });
    expect(many.get(b.id)).toMatchObject({ lane: 'beta', status: 'queued' });
    expect(many.has('missing')).toBe(false);
  });

  it('returns an empty map for no ids', async () => {
    const many = await store.getMany([]);
    expect(many.size).toBe(0);
  });
});

describe('OperationStore.setControl', () => {
  it('writes a control only while the operation is in one of the statuses, and keeps the first click of a once-control', async () => {
    const req = request();
    await store.create(req);
    // Queued: not running yet.
    await expect(store.setControl(req.id, 'canaryAbort', { by: 'U0ONE', at: T0 }, ['running'], true)).resolves.toBe('not-running');
    await store.transition(req.id, ['queued'], 'running');
    await expect(store.setControl(req.id, 'canaryAbort', { by: 'U0ONE', at: T0 }, ['running'], true)).resolves.toBe('set');
    await expect(store.setControl(req.id, 'canaryAbort', { by: 'U0TWO', at: T0 + 1 }, ['running'], true)).resolves.toBe('already');
    await expect(store.setControl(req.id, 'canaryPause', { paused: true, by: 'U0ONE', at: T0 }, ['running'], false)).resolves.toBe('set');
    await expect(store.setControl(req.id, 'canaryPause', { paused: false, by: 'U0TWO', at: T0 + 2 }, ['running'], false)).resolves.toBe('set');
    const record = await store.get(req.id);
    expect(record?.canaryAbort).toEqual({ by: 'U0ONE', at: T0 });
    expect(record?.canaryPause).toEqual({ paused: false, by: 'U0TWO', at: T0 + 2 });
    await store.transition(req.id, ['running'], 'succeeded');
    await expect(store.setControl(req.id, 'canaryPause', { paused: true, by: 'U0ONE', at: T0 }, ['running'], false)).resolves.toBe('not-running');
    await expect(store.setControl('missing', 'canaryPause', { paused: true, by: 'U0ONE', at: T0 }, ['running'], false)).resolves.toBe('not-running');
  });
});
