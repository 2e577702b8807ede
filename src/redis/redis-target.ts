// Which Redis lanebot talks to, read from the environment: one server, or a Redis Cluster (such as
// ElastiCache in cluster mode or ElastiCache Serverless). Pure: the config check uses it too.
import { ConfigError } from '../errors';

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

/** The target the (already checked) environment names. */
export function redisTargetOf(env: { REDIS_URL: string; REDIS_CLUSTER_NODES?: string | undefined }): RedisTarget {
  const target = parseRedisTarget(env.REDIS_URL, env.REDIS_CLUSTER_NODES);
  if ('error' in target) throw new ConfigError(target.error);
  return target;
}
