// Finds a Redis for the sandbox: REDIS_URL if set; else 127.0.0.1:6379 if it answers; else a
// redis-server from PATH on a free port, without persistence, stopped when the sandbox stops.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export interface FoundRedis {
  url: string;
  /** How it was found, for the start-up banner. */
  origin: 'REDIS_URL' | 'local' | 'spawned';
  stop(): Promise<void>;
}

export class NoRedisError extends Error {
  constructor() {
    super(
      [
        'The sandbox needs Redis and found none: REDIS_URL is not set, nothing answers on 127.0.0.1:6379,',
        'and there is no redis-server on PATH. Any one of these fixes it:',
        '  sudo apt-get install redis-server      (Debian/Ubuntu)',
        '  brew install redis                     (macOS)',
        '  docker compose up -d redis             (then REDIS_URL=redis://127.0.0.1:6379 if you publish its port)',
        'or set REDIS_URL to a Redis you have.',
      ].join('\n'),
    );
    this.name = 'NoRedisError';
  }
}

export async function findRedis(env: NodeJS.ProcessEnv): Promise<FoundRedis> {
  const nothingToStop = async () => undefined;
  if (env.REDIS_URL) return { url: env.REDIS_URL, origin: 'REDIS_URL', stop: nothingToStop };
  const local = 'redis://127.0.0.1:6379';
  if (await answers(local)) return { url: local, origin: 'local', stop: nothingToStop };
  return spawnRedis();
}

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function spawnRedis(): Promise<FoundRedis> {
  const port = await freePort();
  let child: ChildProcess;
  try {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', resolve);
    });
  } catch {
    throw new NoRedisError();
  }
  const url = `redis://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 50 && !(await answers(url)); attempt++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!(await answers(url))) {
    child.kill('SIGKILL');
    throw new Error(`redis-server started on port ${port} but does not answer`);
  }
  return {
    url,
    origin: 'spawned',
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
