// Writes coalesced per event-loop turn, against the real Redis: the commands of one turn leave in one
// socket write and are answered in order, commands sent from a setImmediate callback still leave
// (the next turn), and a reconnect's new socket is coalesced too.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { connectRedis } from '../../../src/redis/redis-connection';
import { parseRedisTarget, type RedisTarget } from '../../../src/redis/redis-target';
import { REDIS_URL } from '../../support/harness';
import { countSocketWrites, socketOf } from '../../support/socket-writes';

const prefix = `test-${randomUUID()}`;
let redis: Redis;

beforeAll(() => {
  redis = connectRedis(parseRedisTarget(REDIS_URL) as RedisTarget) as Redis;
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

/** Counts the writes of the connection's current socket. */
function countWrites(): { writes: () => number; restore: () => void } {
  return countSocketWrites([socketOf(redis)!]);
}

describe('coalesced Redis writes', () => {
  it('sends the commands of one turn in one write, each answered in order', async () => {
    await redis.ping();
    const counted = countWrites();
    try {
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => redis.incrby(`${prefix}:counter`, i + 1)));
      expect(replies).toEqual(Array.from({ length: 20 }, (_, i) => ((i + 1) * (i + 2)) / 2));
      expect(counted.writes()).toBe(1);
    } finally {
      counted.restore();
    }
  });

  it('still sends a command issued after the turn flushed (from a setImmediate callback)', async () => {
    await redis.ping();
    const answer = await new Promise<string | null>((resolve, reject) => {
      setImmediate(() => {
        setImmediate(() => redis.get(`${prefix}:late`).then(resolve, reject));
      });
    });
    expect(answer).toBeNull();
    await redis.set(`${prefix}:late`, 'here');
    expect(await redis.get(`${prefix}:late`)).toBe('here');
  });

  it('coalesces the new socket after a reconnect', async () => {
    await redis.ping();
    const before = socketOf(redis)!;
    const ready = new Promise((resolve) => redis.once('ready', resolve));
    before.destroy();
    await ready;
    expect(socketOf(redis)).not.toBe(before);
    const counted = countWrites();
    try {
      await Promise.all([redis.set(`${prefix}:a`, '1'), redis.set(`${prefix}:b`, '2'), redis.get(`${prefix}:a`)]);
      expect(counted.writes()).toBe(1);
    } finally {
      counted.restore();
    }
  });
});
