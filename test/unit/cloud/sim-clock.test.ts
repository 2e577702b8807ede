import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { MAX_ADVANCE_MS, SimClock } from '../../../src/cloud/sim/sim-clock';
import { deletePrefix, REDIS_URL } from '../../support/harness';

const prefix = `test-${randomUUID()}`;
const key = `${prefix}:sim:clock-offset`;
const redis = new Redis(REDIS_URL);

afterAll(async () => {
  await deletePrefix(prefix);
  redis.disconnect();
});

describe('SimClock', () => {
  it('starts at real time and shares an advance with every clock on the same key', async () => {
    const a = new SimClock(redis, key);
    const b = new SimClock(redis, key);
    await a.start();
    await b.start();
    expect(a.offset).toBe(0);

    await expect(a.advance(6 * 86_400_000)).resolves.toBe(6 * 86_400_000);
    expect(a.offset).toBe(6 * 86_400_000);
    const before = Date.now();
    expect(a.now()).toBeGreaterThanOrEqual(before + 6 * 86_400_000);

    await b.refresh();
    expect(b.offset).toBe(6 * 86_400_000);
    await b.advance(3_600_000);
    await a.refresh();
    expect(a.offset).toBe(6 * 86_400_000 + 3_600_000);
    a.stop();
    b.stop();
  });

  it.each([0, -1, Number.NaN, MAX_ADVANCE_MS + 1])('refuses to move by %p', async (ms) => {
    const clock = new SimClock(redis, `${key}-refuse`);
    await expect(clock.advance(ms)).rejects.toThrow(RangeError);
    expect(await redis.get(`${key}-refuse`)).toBeNull();
  });

  it('starts even when Redis cannot be reached', async () => {
    const down = new Redis('redis://127.0.0.1:1', { lazyConnect: false, maxRetriesPerRequest: null });
    down.on('error', () => undefined);
    const clock = new SimClock(down, key);
    await clock.start();
    expect(clock.offset).toBe(0);
    clock.stop();
    down.disconnect();
  });
});
