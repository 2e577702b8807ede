// Ack latency of `/lane deploy`: the real lanebot (HTTP receiver + its workers, CLOUD=sim, real
// Redis) against a bare Bolt app that only acks the same signed request. `npm run bench`.
//
// Layout: two threads in one process.
//  - The "Slack side" runs in a worker thread: the Slack Web API / response_url stub and the load
//    generator (20 async loops posting signed slash commands and timing them). In production
//    Slack is remote; keeping the client and the stub off the apps' event loop means a request's
//    time is not inflated by the load generator's own work, nor the client's clock stopped late
//    because the loop was busy running the bot's jobs.
//  - The "app side" runs on the main thread: the lanebot exactly as deployed (default role `all`,
//    so its BullMQ workers share the event loop with the receiver) and the bare Bolt app.
//
// Order (why not alternate rounds): the bot's requests leave work behind that outlives the round
// by minutes: every deploy runs a simulated pipeline (~1 s at SIM_TIME_SCALE=300) and narrates its
// thread, paced at one Slack post per second per channel, and all deploys share one channel. A bare
// round run after a bot round would share the event loop with that backlog and measure it too. So
// the baseline is measured first, while the bot is started but idle: warm bare (3,000), measure bare
// (500), then the bot's first 500 requests after its start (reported as "cold": V8 is still
// compiling its paths), 2,500 more to warm it as long as the bare app, measure bot (500), with the
// warm-up's deploys still running. A last
// informational round measures the bare app again while the bot's workers are still busy: it
// separates "what the bot's request path costs" from "what sharing the event loop with the workers
// costs", and is not used for the ratio.
//
// The bot as deployed pauses its workers during bursts of Slack requests (src/queue/ack-priority.ts:
// at most 1 s at a time, then at least 250 ms of work), and the bench's rounds are one long burst.
// The "bot workers paused" column says for how much of each round they were: a measured round that
// falls on a stretch of work measures acks beside the workers, one that does not, acks alone.
//
// Warm-ups: both sides must be past V8's compiling, the load generator as much as the apps. With 50
// requests each (this bench's first version), the Slack side was still cold when the bare round
// ran (the same bare app measured later answered 2,200 requests a second instead of 1,300), which
// flattered the ratio; and the bot's first hundreds of requests ran while V8's compiler threads
// took a third of the process's CPU. The bare warm-up is long because it warms the load generator
// too (measured: bare p50 14 ms after 50, 4 ms after 3,000). The bot gets as many: after 500, V8
// still optimized 46–55 functions during its measured round, and its helper threads took 0.44 ms
// per request against 0.33 after 3,000. The deploys its warm-up queues do not weigh more on the
// measured round for being more: the workers (2 at once) are busy through it either way.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { Redis } from 'ioredis';
import type { RedisClient } from '../src/redis/redis-connection';
import { parseConfig, readEnvOptions } from '../src/config';
import { createLanebot, type Lanebot } from '../src/lanebot';
import { deleteKeysWithPrefix } from '../src/state/keys';
import { Metrics } from '../src/metrics';
import { startConsoleServer, type ConsoleServer } from '../src/sandbox/console-server';
import { signSlackRequest, slashCommandBody } from '../src/sandbox/slack-signing';
import { SlackWorkspace } from '../src/sandbox/slack-workspace';

/** The sandbox's Slack stand-in, as Slack's side of the benchmark. */
interface SlackStandIn {
  workspace: SlackWorkspace;
  server: ConsoleServer;
}

async function startSlack(): Promise<SlackStandIn> {
  const workspace = new SlackWorkspace({
    users: [{ id: 'U0ALICE', name: 'alice' }],
    channels: [{ id: CHANNEL, name: 'user-api-dev' }],
  });
  const server = await startConsoleServer({ workspace, signingSecret: SIGNING_SECRET, port: 0 });
  workspace.consoleUrl = server.url;
  return { workspace, server };
}

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SIGNING_SECRET = 'bench-signing-secret';
const CHANNEL = 'C0USERAPIDEV';
const LANES = Array.from({ length: 25 }, (_, i) => `lane-${String(i + 1).padStart(2, '0')}`);
/** Requests before the bare round: warms the bare app and the load generator (see "Warm-ups" above). */
const BARE_WARMUP = 3_000;
/** The bot's first requests after its start, measured and reported as its cold round. */
const BOT_COLD = 500;
/**
 * The bot's warm-up in all: as many requests as the bare app's, the cold round included. After only
 * its cold round, V8 was still optimizing 46–55 functions during the measured round (--trace-opt),
 * on threads that share the two cores.
 */
const BOT_WARMUP = BARE_WARMUP;
const REQUESTS = 500;
const CONCURRENCY = 20;
const SLACK_ACK_DEADLINE_MS = 3_000;
const MAX_RATIO = 1.5;
const HARD_TIMEOUT_MS = 5 * 60_000;

const BENCH_CONFIG = `
services:
  user-api: {}
environments:
  dev: {}
channels:
  ${CHANNEL}: { service: user-api, env: dev }
# One user sends all 550 deploys in seconds: the rate limits (20 a minute by default) would refuse
# nearly all of them, and the bench would measure refusals instead of deploys.
limits: { perUser: 100000/1m, perChannel: 100000/1m }
`;

// ---------------------------------------------------------------------------------------------
// Messages between the app side (main thread) and the Slack side (worker thread).

interface RunRequest {
  type: 'run';
  id: number;
  /** Base URL of the app under test. */
  target: string;
  /** Tag used in response_url ids, so the stub's records say which round sent what. */
  label: string;
  n: number;
  concurrency: number;
  /** First request number; branches are release/1.2.<seq>, lanes cycle over LANES. */
  firstSeq: number;
}

interface RunResult {
  type: 'result';
  id: number;
  /** Per-request wall time, ms, in completion order. */
  latenciesMs: number[];
  wallMs: number;
  /** Requests that did not answer 200 (or threw), at most a few. */
  failures: string[];
  failureCount: number;
}

type ToSlackSide = RunRequest | { type: 'stop'; id: number };
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type FromSlackSide =
  | { type: 'ready'; apiUrl: string }
  | RunResult
  | { type: 'stopped'; id: number; responses: number; apiCalls: Record<string, number> }
  | { type: 'error'; message: string };

// ---------------------------------------------------------------------------------------------
// Slack side: the stub and the load generator.

async function slackSide(): Promise<void> {
  const port = parentPort!;
  const slack = await startSlack();
  port.postMessage({ type: 'ready', apiUrl: slack.server.apiUrl } satisfies FromSlackSide);

  port.on('message', (message: ToSlackSide) => {
    if (message.type === 'run') {
      runLoad(slack, message).then(
        (result) => port.postMessage(result),
        (error: unknown) => port.postMessage({ type: 'error', message: String((error as Error)?.stack ?? error) } satisfies FromSlackSide),
      );
    } else {
      // The stub keeps every message it received; report how much Slack traffic the bot produced.
      const apiCalls: Record<string, number> = {};
      for (const call of slack.workspace.calls) apiCalls[call.method] = (apiCalls[call.method] ?? 0) + 1;
      void slack.server.close().then(() => {
        port.postMessage({ type: 'stopped', id: message.id, responses: slack.workspace.responses.length, apiCalls } satisfies FromSlackSide);
        port.close();
      });
    }
  });
}

async function runLoad(slack: SlackStandIn, run: RunRequest): Promise<RunResult> {
  const url = `${run.target}/slack/events`;
  const latenciesMs: number[] = [];
  const failures: string[] = [];
  let failureCount = 0;
  let next = 0;

  // A worker pool: `concurrency` loops, each taking the next request number until none are left,
  // so exactly `concurrency` requests are in flight until the tail.
  async function loop(): Promise<void> {
    while (next < run.n) {
      const seq = run.firstSeq + next++;
      const body = slashCommandBody({
        text: `deploy ${LANES[seq % LANES.length]} release/1.2.${seq}`,
        userId: 'U0ALICE',
        userName: 'alice',
        channelId: CHANNEL,
        channelName: 'user-api-dev',
        responseUrl: slack.workspace.responseUrl(slack.workspace.registerResponseUrl(undefined, `${run.label}-${seq}`)),
      });
      const headers = signSlackRequest(body, SIGNING_SECRET);
      const started = process.hrtime.bigint();
      try {
        const response = await fetch(url, { method: 'POST', headers, body });
        const text = await response.text();
        latenciesMs.push(Number(process.hrtime.bigint() - started) / 1e6);
        if (response.status !== 200) {
          failureCount++;
          if (failures.length < 5) failures.push(`#${seq}: HTTP ${response.status} ${text.slice(0, 200)}`);
        }
      } catch (error) {
        failureCount++;
        if (failures.length < 5) failures.push(`#${seq}: ${String(error)}${(error as Error).cause ? ` (${String((error as Error).cause)})` : ''}`);
      }
    }
  }

  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: run.concurrency }, loop));
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  return { type: 'result', id: run.id, latenciesMs, wallMs, failures, failureCount };
}

// ---------------------------------------------------------------------------------------------
// App side: the bot, the bare app, the rounds, the report.

class SlackSide {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: FromSlackSide) => void; reject: (e: Error) => void }>();
  private failed?: Error;

  private constructor(
    readonly worker: Worker,
    readonly apiUrl: string,
  ) {
    worker.on('message', (message: FromSlackSide) => {
      if (message.type === 'error') return this.fail(new Error(`Slack side failed: ${message.message}`));
      if (message.type === 'ready') return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      waiter?.resolve(message);
    });
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => {
      if (this.pending.size > 0) this.fail(new Error(`Slack side exited (code ${code}) with requests pending`));
    });
  }

  static async start(): Promise<SlackSide> {
    const worker = new Worker(__filename);
    const apiUrl = await new Promise<string>((resolve, reject) => {
      worker.once('message', (m: FromSlackSide) => (m.type === 'ready' ? resolve(m.apiUrl) : reject(new Error(JSON.stringify(m)))));
      worker.once('error', reject);
    });
    return new SlackSide(worker, apiUrl);
  }

  private fail(error: Error): void {
    this.failed = error;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  private ask<T extends FromSlackSide>(message: WithoutId<ToSlackSide>): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (m: FromSlackSide) => void, reject });
      this.worker.postMessage({ ...message, id });
    });
  }

  run(request: Omit<RunRequest, 'type' | 'id'>): Promise<RunResult> {
    return this.ask<RunResult>({ type: 'run', ...request });
  }

  async stop(): Promise<Extract<FromSlackSide, { type: 'stopped' }>> {
    const stopped = await this.ask<Extract<FromSlackSide, { type: 'stopped' }>>({ type: 'stop' });
    await this.worker.terminate();
    return stopped;
  }
}

interface Row {
  target: string;
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  rps: number;
  /** Main-thread (app side) event loop: utilization and p99 delay during the round. */
  elu: number;
  /** Main-thread busy time per request, ms: the round's cost on the app's event loop (wall time, preemption included). */
  loopMsPerRequest: number;
  /** Main-thread CPU time per request, ms (Linux: /proc/thread-self/stat; NaN elsewhere): the round's CPU cost, preemption excluded. */
  cpuMsPerRequest: number;
  /** The Redis server's CPU time per request, ms (INFO cpu): the commands the round sent, the bot's workers' included. */
  redisCpuMsPerRequest: number;
  /** The whole process's CPU time per request, ms: the app side, the Slack side (stub and load generator) and Node's own threads. */
  processCpuMsPerRequest: number;
  loopDelayP99: number;
  /** Share of the round's wall time the bot's workers were paused for a burst (queue/ack-priority.ts); undefined for the bare app. */
  workersPaused?: number;
}

/**
 * CPU time (user + system) of the calling thread so far, ms: Linux's per-thread counters, in clock
 * ticks (10 ms). NaN where /proc/thread-self is missing.
 */
function threadCpuMs(): number {
  try {
    // Fields after the command name (which is in parentheses and may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

let seq = 0;
/** Reads the Redis server's CPU counters between rounds (a connection of the bench's own). */
const infoRedis = new Redis(REDIS_URL, { lazyConnect: true });

/** The Redis server's CPU time so far (user + system), ms, from INFO: what the round asked of Redis. */
async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

/** `pausedMs`: the bot's time paused so far (its AckPriority), to report the round's share. */
async function measure(slack: SlackSide, target: string, url: string, n: number, label: string, pausedMs?: () => number): Promise<Row> {
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const eluStart: EventLoopUtilization = performance.eventLoopUtilization();
  const cpuStart = threadCpuMs();
  const processCpuStart = process.cpuUsage();
  const redisCpuStart = await redisCpuMs(infoRedis);
  const pausedStart = pausedMs?.();
  const result = await slack.run({ target: url, label, n, concurrency: CONCURRENCY, firstSeq: seq });
  const elu = performance.eventLoopUtilization(eluStart);
  const cpuMs = threadCpuMs() - cpuStart;
  const processCpu = process.cpuUsage(processCpuStart);
  const redisCpu = (await redisCpuMs(infoRedis)) - redisCpuStart;
  loopDelay.disable();
  seq += n;
  if (result.failureCount > 0) {
    throw new Error(`${target}: ${result.failureCount} of ${n} requests did not get HTTP 200:\n  ${result.failures.join('\n  ')}`);
  }
  if (result.latenciesMs.length !== n) throw new Error(`${target}: ${result.latenciesMs.length} timings for ${n} requests`);
  const sorted = [...result.latenciesMs].sort((a, b) => a - b);
  return {
    target,
    n,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1]!,
    rps: n / (result.wallMs / 1000),
    elu: elu.utilization,
    loopMsPerRequest: elu.active / n,
    cpuMsPerRequest: cpuMs / n,
    redisCpuMsPerRequest: redisCpu / n,
    processCpuMsPerRequest: (processCpu.user + processCpu.system) / 1000 / n,
    loopDelayP99: loopDelay.percentile(99) / 1e6,
    workersPaused: pausedMs && pausedStart !== undefined ? (pausedMs() - pausedStart) / result.wallMs : undefined,
  };
}

/**
 * BENCH_CPU_PROFILE=<file>: a CPU profile of the app side (main thread) during the measured lanebot
 * round only, for Chrome DevTools or any .cpuprofile reader. Off by default: the profiler's own cost
 * would inflate the figures.
 */
async function startProfiler(): Promise<{ stopInto(file: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return {
    async stopInto(file) {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      await writeFile(file, JSON.stringify(profile));
      console.log(`CPU profile of the lanebot round written to ${file}`);
    },
  };
}

async function startBareApp(): Promise<{ url: string; stop: () => Promise<void> }> {
  const receiver = new HTTPReceiver({ signingSecret: SIGNING_SECRET, endpoints: '/slack/events' });
  const app = new App({
    signingSecret: SIGNING_SECRET,
    receiver,
    authorize: async () => ({ botToken: 'xoxb-bench' }),
    logLevel: LogLevel.ERROR,
  });
  app.command('/lane', async ({ ack }) => {
    await ack();
  });
  const server = await receiver.start(0);
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('bare app did not bind a port');
  return { url: `http://127.0.0.1:${address.port}`, stop: () => receiver.stop() };
}

async function deletePrefix(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL);
  try {
    return await deleteKeysWithPrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

async function countKeys(redis: Pick<RedisClient, 'scan'>, pattern: string): Promise<number> {
  let count = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}

async function deployCommandCounts(metrics: Metrics): Promise<{ run: number; failed: number }> {
  const counts = { run: 0, failed: 0 };
  for (const value of (await metrics.commands.get()).values) {
    if (value.labels.command !== 'deploy') continue;
    if (value.labels.outcome === 'run') counts.run += value.value;
    if (value.labels.outcome === 'failed') counts.failed += value.value;
  }
  return counts;
}

function printTable(rows: Row[]): void {
  const header = ['target', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'req/s', 'app loop util', 'loop ms/req', 'cpu ms/req', 'process cpu ms/req', 'redis cpu ms/req', 'app loop delay p99 ms', 'bot workers paused'];
  const lines = rows.map((r) => [
    r.target,
    String(r.n),
    r.p50.toFixed(2),
    r.p90.toFixed(2),
    r.p99.toFixed(2),
    r.max.toFixed(2),
    r.rps.toFixed(0),
    `${(r.elu * 100).toFixed(0)}%`,
    r.loopMsPerRequest.toFixed(2),
    r.cpuMsPerRequest.toFixed(2),
    r.processCpuMsPerRequest.toFixed(2),
    r.redisCpuMsPerRequest.toFixed(3),
    r.loopDelayP99.toFixed(1),
    r.workersPaused === undefined ? '-' : `${(r.workersPaused * 100).toFixed(0)}%`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(format(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const line of lines) console.log(format(line));
}

async function main(): Promise<void> {
  setTimeout(() => {
    console.error(`bench: still running after ${HARD_TIMEOUT_MS / 1000} s; giving up`);
    process.exit(1);
  }, HARD_TIMEOUT_MS).unref();

  const prefix = `bench-${randomUUID()}`;
  let slack: SlackSide | undefined;
  let bot: Lanebot | undefined;
  let bare: { url: string; stop: () => Promise<void> } | undefined;
  let failed = false;
  try {
    slack = await SlackSide.start();

    const env = readEnvOptions({
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      REDIS_URL,
      CLOUD: 'sim',
      SIM_TIME_SCALE: '300',
      LANEBOT_REDIS_PREFIX: prefix,
      LOG_LEVEL: 'silent',
      // `all` (the default, as deployed: receiver and workers in one process). BENCH_LANEBOT_ROLE=web
      // measures the receiver alone, as when the workers run in a separate LANEBOT_ROLE=worker
      // process (here nobody then processes the queued deploys; they are deleted at the end).
      LANEBOT_ROLE: process.env.BENCH_LANEBOT_ROLE ?? 'all',
    });
    // The product's own defaults (logger from LOG_LEVEL, system clock, Slack pacing, worker
    // settings); only the metrics registry is handed in, to read the command counters afterwards.
    const metrics = new Metrics();
    bot = createLanebot(env, parseConfig(BENCH_CONFIG, 'bench config'), { metrics });
    const botUrl = `http://127.0.0.1:${await bot.start()}`;
    bare = await startBareApp();

    console.log(`lanebot ack-latency bench: ${REQUESTS} signed "/lane deploy <lane> <branch>" per target, ${CONCURRENCY} in flight, ` +
      `${LANES.length} lanes, warm-up ${BARE_WARMUP} each (the bot's first ${BOT_COLD} reported as its cold round); Redis prefix ${prefix}`);

    await measure(slack, 'bare (warm-up)', bare.url, BARE_WARMUP, 'warm-bare');
    const bareRow = await measure(slack, 'bare bolt', bare.url, REQUESTS, 'bare');
    const pausedMs = bot.ackPriority ? () => bot!.ackPriority!.pausedMs() : undefined;
    const coldRow = await measure(slack, 'lanebot, cold (info)', botUrl, BOT_COLD, 'cold-bot', pausedMs);
    await measure(slack, 'lanebot (warm-up)', botUrl, BOT_WARMUP - BOT_COLD, 'warm-bot');
    const profiler = process.env.BENCH_CPU_PROFILE ? await startProfiler() : undefined;
    const botRow = await measure(slack, 'lanebot', botUrl, REQUESTS, 'bot', pausedMs);
    if (profiler) await profiler.stopInto(process.env.BENCH_CPU_PROFILE!);
    const busyRow = await measure(slack, 'bare, bot busy (info)', bare.url, REQUESTS, 'bare-busy', pausedMs);

    // Every deploy command acked above is queued after the ack; wait for Redis to confirm them all.
    const expected = BOT_WARMUP + REQUESTS;
    const deadline = Date.now() + 30_000;
    let commands = await deployCommandCounts(metrics);
    while (commands.run + commands.failed < expected && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      commands = await deployCommandCounts(metrics);
    }
    const operationCounts = await bot.queues.operations.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
    const narrateCounts = await bot.queues.narrate.getJobCounts('waiting', 'active', 'delayed');
    const deployRecords = await countKeys(bot.redis, `${prefix}:op:*`);
    // Job runs by queue and outcome (done, later = re-delayed, failed): the workers' share of the event loop.
    const jobRuns = new Map<string, string[]>();
    for (const v of (await metrics.jobs.get()).values) {
      if (v.value > 0) jobRuns.set(String(v.labels.queue), [...(jobRuns.get(String(v.labels.queue)) ?? []), `${v.labels.outcome} ${v.value}`]);
    }

    console.log('');
    printTable([bareRow, coldRow, botRow, busyRow]);
    console.log('');
    const ratioP50 = botRow.p50 / bareRow.p50;
    const ratioP99 = botRow.p99 / bareRow.p99;
    console.log(`ratio p50 bot/bare: ${ratioP50.toFixed(2)}`);
    console.log(`ratio p99 bot/bare: ${ratioP99.toFixed(2)} (cold bot/bare, reported only: ${(coldRow.p99 / bareRow.p99).toFixed(2)})`);
    const ratioOk = ratioP99 <= MAX_RATIO;
    const deadlineOk = botRow.p99 < SLACK_ACK_DEADLINE_MS;
    console.log(`${ratioOk ? 'PASS' : 'FAIL'}: p99 ratio ${ratioP99.toFixed(2)} ${ratioOk ? '<=' : '>'} ${MAX_RATIO} (p50 ratio ${ratioP50.toFixed(2)}, reported only)`);
    console.log(`${deadlineOk ? 'PASS' : 'FAIL'}: lanebot p99 ${botRow.p99.toFixed(1)} ms ${deadlineOk ? '<' : '>='} ${SLACK_ACK_DEADLINE_MS} ms (Slack's ack deadline)`);
    console.log('');
    console.log(
      `deploys queued by the bot: ${commands.run} of ${expected} commands confirmed by Redis (${commands.failed} failed); ` +
        `${deployRecords} deploy records in Redis`,
    );
    console.log(`queues now: operations ${JSON.stringify(operationCounts)}; narrate ${JSON.stringify(narrateCounts)}`);
    console.log(`job runs so far: ${[...jobRuns].map(([queue, outcomes]) => `${queue} (${outcomes.join(', ')})`).join('; ') || 'none'}`);
    if (commands.run + commands.failed < expected) {
      throw new Error(`only ${commands.run + commands.failed} of ${expected} deploy commands finished within 30 s of the last ack`);
    }
    console.log(`note: node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? 'unknown'}), ` +
      `${os.platform()} ${os.release()}; Redis ${REDIS_URL}; LANEBOT_ROLE=${env.LANEBOT_ROLE}; ` +
      'app side on the main thread, Slack stub + load generator in a worker thread');
  } catch (error) {
    failed = true;
    console.error(`bench FAILED: ${(error as Error)?.stack ?? String(error)}`);
  } finally {
    await bot?.stop().catch((error: unknown) => console.error('stopping the bot failed:', error));
    await bare?.stop().catch((error: unknown) => console.error('stopping the bare app failed:', error));
    const stopped = await slack?.stop().catch((error: unknown) => console.error('stopping the Slack stub failed:', error));
    if (stopped) {
      console.log(`Slack stub saw ${stopped.responses} response_url replies and Web API calls ${JSON.stringify(stopped.apiCalls)}`);
    }
    infoRedis.disconnect();
    const deleted = await deletePrefix(prefix).catch((error: unknown) => {
      console.error(`deleting Redis keys under ${prefix} failed:`, error);
      return -1;
    });
    if (deleted >= 0) console.log(`cleaned up ${deleted} Redis keys under ${prefix}`);
  }
  process.exitCode = failed ? 1 : 0;
}

if (isMainThread) {
  void main();
} else {
  void slackSide();
}
