// moto_server (the Python package `moto`, preinstalled on the development machines) as a local AWS
// for CloudFormation, CloudWatch, ELBv2, ECS, SQS and EventBridge. Each test file starts its own
// server on a free loopback port, so files never see each other's resources.
//
// Where moto_server is missing, `describeWithMoto` skips its tests and says so on stderr: a skipped
// moto test must never look like a passing one.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export const MOTO_BIN = process.env.MOTO_SERVER_BIN ?? 'moto_server';

/** Region and static credentials every moto-backed client uses (moto accepts any). */
export const MOTO_REGION = 'us-east-1';
export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

let available: boolean | undefined;

/** True when `moto_server` can be run here. */
export function motoAvailable(): boolean {
  if (available === undefined) {
    const probe = spawnSync(MOTO_BIN, ['--help'], { stdio: 'ignore', timeout: 20_000 });
    available = probe.status === 0;
  }
  return available;
}

/** `describe` when moto_server is available; otherwise a skipped block and a clear message. */
export function describeWithMoto(name: string, body: () => void): void {
  if (motoAvailable()) {
    describe(name, body);
    return;
  }
  process.stderr.write(
    `\n*** SKIPPED "${name}": moto_server is not installed, so these AWS tests did not run. ` +
      'Install it with `pip install "moto[server]"` (or set MOTO_SERVER_BIN) to run them.\n\n',
  );
  describe.skip(`${name} [SKIPPED: moto_server not installed]`, body);
}

export interface MotoServer {
  /** e.g. http://127.0.0.1:41234 */
  endpoint: string;
  /** Client options for any @aws-sdk client pointed at this server. */
  clientConfig: { endpoint: string; region: string; credentials: typeof MOTO_CREDENTIALS; maxAttempts: number };
  /** Forgets every resource (moto's reset API). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts moto_server on a free loopback port and waits until it answers (at most 30 s). */
export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(MOTO_BIN, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, AWS_DEFAULT_REGION: MOTO_REGION },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let exited = false;
  child.on('exit', () => (exited = true));

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`moto_server exited before it answered:\n${stderr}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not answer on ${endpoint} within 30 s:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    endpoint,
    clientConfig: { endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS, maxAttempts: 1 },
    async reset() {
      await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
    },
    async stop() {
      if (exited) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
