// A failover as lanebot's Redis connections meet it: the connection was opened to a node that is
// now a replica (here a redis-server started as a replica, whose primary is unreachable, so it
// refuses writes with READONLY), while the name now leads to the new primary (here the tests'
// Redis). The connection options of src/lanebot.ts reconnect on READONLY; without them the client
// stays on the replica and every write fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { reconnectOnReadOnly } from '../../src/state/redis-failover';
import { waitFor } from '../support/harness';
import { freePort } from '../support/free-port';

const PRIMARY = { host: '127.0.0.1', port: Number(new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379').port || 6379) };

/** A TCP front whose new connections go wherever `target` says: the DNS name of a Redis endpoint. */
async function startSwitchableFront(target: { host: string; port: number }): Promise<{ port: number; target: typeof target; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const front = { port: 0, target, close: async () => undefined };
  const server: Server = createServer((client) => {
    const upstream = connect(front.target.port, front.target.host);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  front.port = (server.address() as { port: number }).port;
  front.close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return front;
}


describe('lanebot’s Redis connections after a failover', () => {
  let replica: ChildProcess;
  let replicaPort: number;
  const key = `test-${randomUUID()}:failover`;

  beforeAll(async () => {
    replicaPort = await freePort();
    // A replica of a primary that is not there (port 1): it answers reads and refuses writes.
    replica = spawn('redis-server', ['--port', String(replicaPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--replicaof', '127.0.0.1', '1'], {
      stdio: 'ignore',
    });
    await waitFor('the replica to answer', async () => {
      const probe = new Redis(replicaPort, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } finally {
        probe.disconnect();
      }
    });
  });

  afterAll(async () => {
    replica?.kill('SIGTERM');
    const cleanup = new Redis(PRIMARY.port, PRIMARY.host);
    await cleanup.del(key);
    cleanup.disconnect();
  });

  async function afterFailover(options: { reconnectOnError?: (error: Error) => boolean }): Promise<{ first: unknown; second: unknown }> {
    const front = await startSwitchableFront({ host: '127.0.0.1', port: replicaPort });
    const client = new Redis(front.port, '127.0.0.1', { maxRetriesPerRequest: null, ...options });
    try {
      const first = await client.set(key, 'one').catch((error: Error) => error.message);
      front.target = PRIMARY; // the endpoint's name now leads to the new primary
      const second = await client.set(key, 'two').catch((error: Error) => error.message);
      return { first, second };
    } finally {
      client.disconnect();
      await front.close();
    }
  }

  it('with reconnectOnReadOnly: the write refused by the old node fails once, the next one reaches the new primary', async () => {
    const outcome = await afterFailover({ reconnectOnError: reconnectOnReadOnly });
    expect(outcome).toEqual({ first: expect.stringMatching(/^READONLY/), second: 'OK' });
    const check = new Redis(PRIMARY.port, PRIMARY.host);
    expect(await check.get(key)).toBe('two');
    check.disconnect();
  });

  it('without it, the client stays on the old node and every write keeps failing', async () => {
    const outcome = await afterFailover({});
    expect(outcome).toEqual({ first: expect.stringMatching(/^READONLY/), second: expect.stringMatching(/^READONLY/) });
  });

  it('reconnects on READONLY only', () => {
    expect(reconnectOnReadOnly(new Error("READONLY You can't write against a read only replica."))).toBe(true);
    expect(reconnectOnReadOnly(new Error('OOM command not allowed when used memory > maxmemory'))).toBe(false);
    expect(reconnectOnReadOnly(new Error('ERR unknown command'))).toBe(false);
  });
});
