import { keyPrefixFor, RedisKeys } from '../../../src/state/keys';
import { parseRedisTarget, redisTargetOf } from '../../../src/redis/redis-target';

describe('parseRedisTarget', () => {
  it.each([
    ['one server', 'redis://127.0.0.1:6379', undefined, { kind: 'single', url: 'redis://127.0.0.1:6379' }],
    ['one server over TLS', 'rediss://cache:6380/2', undefined, { kind: 'single', url: 'rediss://cache:6380/2' }],
    [
      'a cluster URL',
      'redis+cluster://10.0.0.1:7000,10.0.0.2:7001',
      undefined,
      { kind: 'cluster', tls: false, nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }] },
    ],
    [
      'a TLS cluster URL with credentials',
      'rediss+cluster://lanebot:s%40cret@clustercfg.cache.amazonaws.com:6379',
      undefined,
      { kind: 'cluster', tls: true, username: 'lanebot', password: 's@cret', nodes: [{ host: 'clustercfg.cache.amazonaws.com', port: 6379 }] },
    ],
    [
      'a node list, which wins over REDIS_URL',
      'redis://127.0.0.1:6379',
      '127.0.0.1:7000, [::1]:7001',
      { kind: 'cluster', tls: false, nodes: [{ host: '127.0.0.1', port: 7000 }, { host: '::1', port: 7001 }] },
    ],
  ])('reads %s', (_what, url, nodes, expected) => {
    expect(parseRedisTarget(url, nodes)).toEqual(expected);
  });

  it.each([
    ['a cluster URL without ports', 'redis+cluster://a,b', undefined, /^REDIS_URL: /],
    ['a node without a port', 'redis://x:1', 'a:7000,b', /^REDIS_CLUSTER_NODES: /],
  ])('names the key for %s', (_what, url, nodes, message) => {
    const target = parseRedisTarget(url, nodes);
    expect('error' in target && target.error).toMatch(message);
    expect(() => redisTargetOf({ REDIS_URL: url, REDIS_CLUSTER_NODES: nodes })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe('keyPrefixFor', () => {
  it('keeps the plain prefix on one server, so an upgrade finds the keys it left', () => {
    const keys = new RedisKeys(keyPrefixFor('lanebot', { kind: 'single' }));
    expect(keys.operation('op1')).toBe('lanebot:op:op1');
    expect(keys.bull).toBe('lanebot:bull');
  });

  it('puts every key of a bot, BullMQ queues included, under one hash tag in a cluster', () => {
    const keys = new RedisKeys(keyPrefixFor('lanebot', { kind: 'cluster' }));
    const all = [keys.operation('op1'), keys.lane({ service: 's', env: 'e', lane: 'l' }), keys.lanesByActivity, keys.narratePending, `${keys.bull}:operations:wait`];
    for (const key of all) expect(key.startsWith('{lanebot}:')).toBe(true);
  });
});
