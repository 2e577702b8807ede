// Which Redis lanebot talks to (one server, or a Redis Cluster such as ElastiCache in cluster mode
// or ElastiCache Serverless), and the one function that opens a connection to it. Every module
// that holds a connection types it as `RedisClient`, so either kind can be handed in.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: Array<{ host: string; port: number }>; tls: boolean; username?: string; password?: string };

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)\/?$/;

/**
 * Reads the target from REDIS_URL and REDIS_CLUSTER_NODES: a node list (`host:port,host:port`), or
 * a `redis+cluster://` / `rediss+cluster://[user:password@]host:port[,host:port…]` URL, means a
 * cluster (any reachable node is enough: the client learns the rest); anything else one server.
 * Returns a message naming the bad value instead of throwing, for the config check.
 */
export function parseRedisTarget(url: string, clusterNodes?: string): RedisTarget | { error: string } {
  if (clusterNodes) {
    const nodes = parseNodes(clusterNodes);
    return nodes ?? { error: 'REDIS_CLUSTER_NODES: must be host:port pairs separated by commas' };
  }
  const cluster = CLUSTER_URL.exec(url);
  if (!cluster) return { kind: 'single', url };
  const [, scheme, username, password, hosts] = cluster;
  const nodes = parseNodes(hosts ?? '');
  if (!nodes) return { error: 'REDIS_URL: a cluster URL lists host:port pairs separated by commas' };
  return {
    ...nodes,
    tls: scheme === 'rediss',
    ...(username ? { username: decodeURIComponent(username) } : {}),
    ...(password ? { password: decodeURIComponent(password) } : {}),
  };
}

function parseNodes(list: string): Extract<RedisTarget, { kind: 'cluster' }> | undefined {
  const nodes: Array<{ host: string; port: number }> = [];
  for (const entry of list.split(',').map((s) => s.trim())) {
    const match = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(entry);
    if (!match) return undefined;
    nodes.push({ host: match[1]!.replace(/^\[|\]$/g, ''), port: Number(match[2]) });
  }
  return nodes.length > 0 ? { kind: 'cluster', nodes, tls: false } : undefined;
}

/**
 * Opens a connection. `options` are one server's options; for a cluster they apply to each node
 * connection, except those a cluster client takes at its own level (offline queue, auto-pipelining).
 */
export function connectRedis(target: RedisTarget, options: RedisOptions = {}): RedisClient {
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
