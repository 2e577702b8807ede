// Which Redis lanebot talks to (one server, or a Redis Cluster such as ElastiCache in cluster mode
// or ElastiCache Serverless), and the one function that opens a connection to it. Every module
// that holds a connection types it as `RedisClient`, so either kind can be handed in.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { coalesceRedisWrites } from './coalesce-writes';
import type { RedisTarget } from './redis-target';

export type RedisClient = Redis | Cluster;

/**
 * Opens a connection, its writes coalesced per event-loop turn (./coalesce-writes.ts). `options`
 * are one server's options; for a cluster they apply to each node connection, except those a
 * cluster client takes at its own level (offline queue, auto-pipelining).
 */
export function connectRedis(target: RedisTarget, options: RedisOptions = {}): RedisClient {
  const redis = openRedis(target, options);
  coalesceRedisWrites(redis);
  return redis;
}

function openRedis(target: RedisTarget, options: RedisOptions): RedisClient {
  if (target.kind === 'single') return new Redis(target.url, options);
  const { enableOfflineQueue, enableAutoPipelining, retryStrategy, ...nodeOptions } = options;
  const clusterOptions: ClusterOptions = {
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(enableAutoPipelining === undefined ? {} : { enableAutoPipelining }),
    ...(retryStrategy ? { clusterRetryStrategy: (times: number) => retryStrategy(times) } : {}),
    // TLS certificates name the configuration endpoint, not the node IPs CLUSTER SLOTS returns:
    // keep the names (ioredis' advice for ElastiCache with TLS).
    ...(target.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
    redisOptions: {
      ...nodeOptions,
      ...(target.tls ? { tls: {} } : {}),
      ...(target.username ? { username: target.username } : {}),
      ...(target.password ? { password: target.password } : {}),
    },
  };
  return new Cluster(target.nodes, clusterOptions);
}

/** Whether a connection is a cluster client (its commands are routed by key slot). */
export function isCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}
