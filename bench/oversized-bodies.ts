// What 200 concurrent unsigned 4 MB bodies cost the receiving process: lanebot's edge
// (SlackHttpReceiver: 413 by content-length, body unread) against Bolt's HTTPReceiver with its
// defaults (reads up to 4 MB, then checks the signature). `npm run bench:bodies`.
//
// Each receiver runs in its own child process, so that the RSS figure is the server's alone (the
// load generator here holds one shared 4 MB buffer). The figures are printed, not asserted:
// RSS depends on the machine and the allocator. lanebot closes the connection after its 413 without
// reading the rest, so a client still pushing its 4 MB may see a reset instead of the 413 ("no answer").
import { fork } from 'node:child_process';
import { connect } from 'node:net';
import { App, HTTPReceiver } from '@slack/bolt';
import pino from 'pino';
import { MemoryRequestLedger } from '../src/slack/receiver/request-ledger';
import { SlackHttpReceiver } from '../src/slack/receiver/slack-http-receiver';

const CONCURRENT = 200;
const BODY = Buffer.alloc(4 * 1024 * 1024, 'a');
const SECRET = 'bench-signing-secret';

type Kind = 'lanebot' | 'bolt';

async function serve(kind: Kind): Promise<void> {
  const logger = pino({ level: 'silent' });
  const boltLogger = { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel: () => 'error', setName() {} } as never;
  let port: number;
  if (kind === 'lanebot') {
    const receiver = new SlackHttpReceiver({ signingSecret: SECRET, ledger: new MemoryRequestLedger(), logger, boltLogger });
    new App({ receiver, authorize: async () => ({ botToken: 'xoxb-bench' }), logger: boltLogger });
    await receiver.start(0);
    port = receiver.port!;
  } else {
    const receiver = new HTTPReceiver({ signingSecret: SECRET, logger: boltLogger });
    new App({ receiver, authorize: async () => ({ botToken: 'xoxb-bench' }), logger: boltLogger });
    const server = await receiver.start(0);
    port = (server.address() as { port: number }).port;
  }
  global.gc?.();
  process.send!({ port, rss: process.memoryUsage().rss });
  process.on('message', () => process.send!({ rss: process.memoryUsage().rss, peak: peakRss }));
  let peakRss = process.memoryUsage().rss;
  setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 5).unref();
}

/** One request: headers plus the whole body, as fast as the server takes it; resolves with the status line and bytes sent. */
function send(port: number): Promise<{ status: string; sent: number }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let sent = 0;
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ status: answer.split('\r\n')[0] ?? '(no answer)', sent }));
    socket.write(`POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${BODY.length}\r\nConnection: close\r\n\r\n`);
    socket.write(BODY, () => (sent = BODY.length));
    socket.end();
  });
}

async function measure(kind: Kind): Promise<void> {
  const child = fork(__filename, ['--serve', kind], { execArgv: ['--expose-gc'] });
  const ready = await new Promise<{ port: number; rss: number }>((resolve) => child.once('message', (m) => resolve(m as { port: number; rss: number })));
  const results = await Promise.all(Array.from({ length: CONCURRENT }, () => send(ready.port)));
  child.send('report');
  const after = await new Promise<{ rss: number; peak: number }>((resolve) => child.once('message', (m) => resolve(m as { rss: number; peak: number })));
  child.kill();
  const statuses = new Map<string, number>();
  for (const r of results) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  process.stdout.write(
    `${kind.padEnd(8)} ${CONCURRENT} × 4 MB unsigned: RSS before ${mb(ready.rss)}, peak ${mb(after.peak)} (+${mb(after.peak - ready.rss)}), after ${mb(after.rss)}; answers ${[...statuses].map(([s, n]) => `${n}× ${s}`).join(', ')}\n`,
  );
}

async function main(): Promise<void> {
  const serveIndex = process.argv.indexOf('--serve');
  if (serveIndex >= 0) return serve(process.argv[serveIndex + 1] as Kind);
  await measure('lanebot');
  await measure('bolt');
}

void main();
