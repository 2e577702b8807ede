// A throwaway Redis Cluster of three primaries on free loopback ports, started from the
// redis-server and redis-cli on PATH: what the tests run lanebot against to prove that every
// script and transaction stays in one slot. Its data lives in a temporary directory, removed on stop.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface LocalRedisCluster {
  /** `127.0.0.1:port,…`: what REDIS_CLUSTER_NODES takes. */
  nodes: string;
  ports: number[];
  stop(): Promise<void>;
}

/** Why a cluster cannot be started here (no redis-server or redis-cli), or undefined when it can. */
export function redisClusterUnavailable(): string | undefined {
  for (const tool of ['redis-server', 'redis-cli']) {
    if (spawnSync(tool, ['--version']).status !== 0) return `${tool} is not on PATH`;
  }
  return undefined;
}

export async function startRedisCluster(primaries = 3): Promise<LocalRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'lanebot-cluster-'));
  const servers: ChildProcess[] = [];
  const ports: number[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((server) => stopProcess(server)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < primaries; i += 1) {
      // The cluster bus gets its own free port too (not port + 10000, which may be taken).
      const [port, busPort] = [await freePort(), await freePort()];
      ports.push(port);
      const server = spawn(
        'redis-server',
        [
          '--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1',
          '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir,
          '--save', '', '--appendonly', 'no', '--protected-mode', 'no',
        ],
        { stdio: 'ignore' },
      );
      servers.push(server);
    }
    await Promise.all(ports.map((port) => waitForPing(port)));
    const created = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await Promise.all(ports.map((port) => waitForClusterOk(port)));
    return { nodes: ports.map((p) => `127.0.0.1:${p}`).join(','), ports, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function withNode<T>(port: number, use: (node: Redis) => Promise<T>): Promise<T> {
  const node = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  node.on('error', () => undefined); // refused while it starts: the caller tries again
  try {
    await node.connect();
    return await use(node);
  } finally {
    node.disconnect();
  }
}

async function poll(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`local Redis Cluster: timed out waiting for ${what}`);
}

function waitForPing(port: number): Promise<void> {
  return poll(`redis-server on ${port}`, () => withNode(port, async (node) => (await node.ping()) === 'PONG'));
}

function waitForClusterOk(port: number): Promise<void> {
  return poll(`cluster_state:ok on ${port}`, () => withNode(port, async (node) => String(await node.cluster('INFO')).includes('cluster_state:ok')));
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** `describe` when a local cluster can be started; otherwise a skipped block and a clear message. */
export function describeWithRedisCluster(name: string, body: () => void): void {
  const missing = redisClusterUnavailable();
  if (!missing) {
    describe(name, body);
    return;
  }
  process.stderr.write(`\n*** SKIPPED "${name}": ${missing}, so the Redis Cluster tests did not run. Install Redis 7 (redis-server, redis-cli) to run them.\n\n`);
  describe.skip(`${name} [SKIPPED: ${missing}]`, body);
}
