// With TEST_REDIS_CLUSTER=1 the whole suite runs against a local Redis Cluster: this starts one
// before the test files (each worker inherits TEST_REDIS_CLUSTER_NODES, which the harness reads)
// and cluster-global-teardown.ts stops it. Without the variable, nothing happens.
import { startRedisCluster, type LocalRedisCluster } from './redis-cluster';

declare global {
  var lanebotTestCluster: LocalRedisCluster | undefined;
}

export default async function startTestCluster(): Promise<void> {
  if (process.env.TEST_REDIS_CLUSTER !== '1' || process.env.TEST_REDIS_CLUSTER_NODES) return;
  const cluster = await startRedisCluster(3);
  globalThis.lanebotTestCluster = cluster;
  process.env.TEST_REDIS_CLUSTER_NODES = cluster.nodes;
  process.stderr.write(`\nTEST_REDIS_CLUSTER=1: the suite runs against a local Redis Cluster at ${cluster.nodes}\n`);
}
