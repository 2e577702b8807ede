// Load benchmark: N concurrent deploys against the simulator, narrated into a Slack stand-in that
// enforces Slack's own limits. `npm run bench:load -- --deploys 100,300,1000`.
//
// Layout: two processes.
//  - This process (the "bot side") runs the real lanebot from createLanebot with CLOUD=sim, as
//    deployed (role `all`: receiver and workers share the event loop). Its RSS is the bot's RSS.
//  - A child process (the "Slack side", this same file forked with `--slack-side`) runs the
//    sandbox's Slack stand-in behind its console server, with Slack's limits added (below), and the
//    load generator that sends the signed slash commands and times their acks. In production Slack
//    is remote; in a child process its memory and CPU are not counted as the bot's.
//
// Slack's limits enforced by the stand-in: SLACK_LIMITS of src/sandbox/workspace/slack-rate-limits.ts,
// the same token buckets the tests' Slack stub enforces (429 with Retry-After beyond them, as Slack
// answers): chat.postMessage 1 per second per channel, chat.update 50 per minute per workspace, each
// with the short burst Slack tolerates.
//
// Redis: by default a private redis-server on a free loopback port started by the bench (so INFO
// commandstats counts the bot's commands only, not other work on a shared Redis); BENCH_REDIS_URL
// uses an existing one instead (then the Redis figures include whatever else uses it).
//
// Per N the bench prints: pipeline ended → final thread reply p50/p99 (the pipeline's end is the sim
// execution's last stage end, the reply's time when the stand-in accepted it), the Slack floor (the
// most posts any one channel received ÷ 1 per second), the ratio, 429s, port calls per running
// deploy per poll interval, Redis commands per deploy, bot RSS peak and the slash commands' ack p99.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import os from 'node:os';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { CloudPorts } from '../src/cloud/cloud';
import { observeCloudCalls } from '../src/cloud/observe-cloud';
import { isTerminal } from '../src/cloud/pipelines.port';
import { parseConfig, readEnvOptions } from '../src/config';
import { isFinished, type OperationRecord } from '../src/domain/operation';
import { createLanebot, type Lanebot } from '../src/lanebot';
import { OPERATION_KINDS } from '../src/operations/kinds';
import { Metrics } from '../src/metrics';
import { startConsoleServer, type ConsoleServer } from '../src/sandbox/console-server';
import { signSlackRequest, slashCommandBody } from '../src/sandbox/slack-signing';
import { SLACK_LIMITS, SlackRateLimits, SlackWorkspace } from '../src/sandbox/slack-workspace';
import type { WebApiResponse } from '../src/sandbox/workspace/types';
import { deleteKeysWithPrefix } from '../src/state/keys';
import { QUEUE_NAMES, type OperationJobData } from '../src/queue/queues';

const SIGNING_SECRET = 'bench-signing-secret';
const SERVICES = Array.from({ length: 10 }, (_, i) => `svc-${String(i + 1).padStart(2, '0')}`);
const channelOf = (service: string): string => `C0${service.replace('-', '').toUpperCase()}`;
const SIM_TIME_SCALE = Number(process.env.BENCH_SIM_TIME_SCALE ?? 100);
const CONCURRENCY = 20;
/**
 * One N must settle within this (every deploy ended and every reply and root edit delivered), else
 * the bench fails. By default 10 minutes plus two chat.update slots per deploy: every root's final
 * edit alone takes N × 1.2 s at Slack's 50 edits a minute.
 */
function runTimeoutMs(n: number): number {
  return Number(process.env.BENCH_RUN_TIMEOUT_MS ?? 10 * 60_000 + 2 * n * SLACK_LIMITS.updates.intervalMs);
}
/** Besides no thread left to narrate, the Slack stand-in has taken no call for this long. */
const QUIET_MS = 2_000;
/** Slack's pace the floor is computed with: one post per second per channel. */
const POST_INTERVAL_MS = SLACK_LIMITS.postsPerChannel.intervalMs;

const BENCH_CONFIG = `
services:
${SERVICES.map((s) => `  ${s}: {}`).join('\n')}
environments:
  dev:
    verify: { soak: 0s }
channels:
${SERVICES.map((s) => `  ${channelOf(s)}: { service: ${s}, env: dev }`).join('\n')}
# One user sends every deploy within seconds; the default limits would refuse nearly all of them.
limits: { perUser: 100000/1m, perChannel: 100000/1m }
`;

// ---------------------------------------------------------------------------------------------
// Messages between the bot side and the Slack side.

interface SlackCall {
  method: 'chat.postMessage' | 'chat.update';
  channel: string;
  ts: string;
  threadTs?: string;
  at: number;
}

type ToSlackSide = { type: 'reset' } | { type: 'burst'; target: string; n: number } | { type: 'report' } | { type: 'stop' };
type FromSlackSide =
  | { type: 'ready'; apiUrl: string }
  | { type: 'burst-done'; acksMs: number[]; failures: string[] }
  | { type: 'report'; calls: SlackCall[]; refused: number; lastCallAt: number; otherCalls: Record<string, number> }
  | { type: 'error'; message: string };

// ---------------------------------------------------------------------------------------------
// Slack side.

/**
 * The sandbox's Slack stand-in enforcing Slack's rate limits (SLACK_LIMITS, the tests' stub's too:
 * token buckets, 429 + Retry-After beyond them), recording the calls it accepted.
 */
class RecordingWorkspace extends SlackWorkspace {
  accepted: SlackCall[] = [];
  otherCalls: Record<string, number> = {};
  lastCallAt = 0;

  reset(): void {
    this.enforceRateLimits(new SlackRateLimits(SLACK_LIMITS));
    this.accepted = [];
    this.otherCalls = {};
  }

  get refused(): number {
    return [...(this.rateLimits?.refused.values() ?? [])].reduce((a, b) => a + b, 0);
  }

  override handleWebApi(method: string, params: Record<string, unknown>): WebApiResponse {
    const now = Date.now();
    this.lastCallAt = now;
    const channel = String(params.channel ?? '');
    const response = super.handleWebApi(method, params);
    const body = response.body;
    const ok = response.status === 200 && typeof body === 'object' && body.ok === true;
    if (ok && method === 'chat.postMessage' && channel.startsWith('C')) {
      const threadTs = typeof params.thread_ts === 'string' ? params.thread_ts : undefined;
      this.accepted.push({ method, channel, ts: String((body as { ts?: unknown }).ts), threadTs, at: now });
    } else if (ok && method === 'chat.update') {
      this.accepted.push({ method, channel, ts: String(params.ts), at: now });
    } else if (response.status !== 429) {
      this.otherCalls[method] = (this.otherCalls[method] ?? 0) + 1;
    }
    return response;
  }
}

async function slackSide(): Promise<void> {
  const send = (message: FromSlackSide): void => void process.send!(message);
  const workspace = new RecordingWorkspace({
    users: [{ id: 'U0ALICE', name: 'alice' }],
    channels: SERVICES.map((s) => ({ id: channelOf(s), name: `${s}-dev` })),
  });
  const server: ConsoleServer = await startConsoleServer({ workspace, signingSecret: SIGNING_SECRET, port: 0 });
  workspace.consoleUrl = server.url;
  let seq = 0;
  process.on('message', (message: ToSlackSide) => {
    if (message.type === 'reset') workspace.reset();
    else if (message.type === 'report') {
      send({ type: 'report', calls: workspace.accepted, refused: workspace.refused, lastCallAt: workspace.lastCallAt, otherCalls: workspace.otherCalls });
    } else if (message.type === 'burst') {
      burst(workspace, message.target, message.n, seq).then(
        (result) => send({ type: 'burst-done', ...result }),
        (error: unknown) => send({ type: 'error', message: String((error as Error)?.stack ?? error) }),
      );
      seq += message.n;
    } else {
      void server.close().then(() => process.exit(0));
    }
  });
  send({ type: 'ready', apiUrl: server.apiUrl });
}

/** Deploy i goes to service i mod 10, lane i div 10: N deploys on N distinct lanes, spread evenly. */
async function burst(workspace: SlackWorkspace, target: string, n: number, firstSeq: number): Promise<{ acksMs: number[]; failures: string[] }> {
  const url = `${target}/slack/events`;
  const acksMs: number[] = [];
  const failures: string[] = [];
  let next = 0;
  async function loop(): Promise<void> {
    while (next < n) {
      const i = next++;
      const service = SERVICES[i % SERVICES.length]!;
      const lane = `lane-${String(Math.floor(i / SERVICES.length) + 1).padStart(3, '0')}`;
      const body = slashCommandBody({
        text: `deploy ${lane} release/9.${firstSeq + i}`,
        userId: 'U0ALICE',
        userName: 'alice',
        channelId: channelOf(service),
        channelName: `${service}-dev`,
        responseUrl: workspace.responseUrl(workspace.registerResponseUrl(undefined, `load-${firstSeq + i}`)),
      });
      const started = process.hrtime.bigint();
      try {
        const response = await fetch(url, { method: 'POST', headers: signSlackRequest(body, SIGNING_SECRET), body });
        await response.text();
        acksMs.push(Number(process.hrtime.bigint() - started) / 1e6);
        if (response.status !== 200 && failures.length < 5) failures.push(`#${i}: HTTP ${response.status}`);
      } catch (error) {
        if (failures.length < 5) failures.push(`#${i}: ${String(error)}`);
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  return { acksMs, failures };
}

// ---------------------------------------------------------------------------------------------
// Bot side.

class SlackSideProcess {
  private waiters: ((m: FromSlackSide) => void)[] = [];
  private constructor(
    private readonly child: ChildProcess,
    readonly apiUrl: string,
  ) {
    child.on('message', (m: FromSlackSide) => {
      if (m.type === 'error') throw new Error(`Slack side failed: ${m.message}`);
      this.waiters.shift()?.(m);
    });
  }

  static async start(): Promise<SlackSideProcess> {
    const child = fork(__filename, ['--slack-side'], { stdio: 'inherit' });
    const apiUrl = await new Promise<string>((resolve, reject) => {
      child.once('message', (m: FromSlackSide) => (m.type === 'ready' ? resolve(m.apiUrl) : reject(new Error(JSON.stringify(m)))));
      child.once('error', reject);
    });
    return new SlackSideProcess(child, apiUrl);
  }

  ask<T extends FromSlackSide>(message: ToSlackSide): Promise<T> {
    return new Promise<T>((resolve) => {
      this.waiters.push(resolve as (m: FromSlackSide) => void);
      this.child.send(message);
    });
  }

  tell(message: ToSlackSide): void {
    this.child.send(message);
  }

  stop(): void {
    this.child.send({ type: 'stop' });
  }
}

/** Counts every call the bot makes at the cloud ports, by port.method. */
function countingCloud(cloud: CloudPorts, counts: Map<string, number>, started: Map<string, string>): CloudPorts {
  return observeCloudCalls(cloud, ({ port, method, args, result }) => {
    const key = `${port}.${method}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (key === 'pipelines.startExecution') {
      const pipelineName = (args[0] as { pipelineName: string }).pipelineName;
      void (result as Promise<{ executionId: string }>).then((r) => started.set(r.executionId, pipelineName), () => undefined);
    }
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function startPrivateRedis(): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  for (let attempt = 0; ; attempt++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch (error) {
      if (attempt > 50) throw new Error(`redis-server on port ${port} did not start: ${String(error)}`);
      await sleep(100);
    }
  }
  probe.disconnect();
  return { url, stop: () => void child.kill('SIGTERM') };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
}

// ---------------------------------------------------------------------------------------------
// Redis commands, counted where the bot sends them (every ioredis connection of this process:
// the bot's, BullMQ's, the simulator's), a pipeline's or transaction's commands one by one and a
// Lua script as one command, as Redis bills them. Each command is put in one bucket:
//  - `sim`: a key of the simulated account (`…:sim:…`): the simulator's cost, not the bot's;
//  - `job:<queue>`: sent while a job of that queue is processed (its processor's async context:
//    BullMQ's Worker.callProcessJob runs inside an AsyncLocalStorage), BullMQ's calls from inside
//    the processor included (a step job moving itself to the delayed set);
//  - `bullmq:<queue>`: a key of a BullMQ queue (`…:bull:<queue>:…`) outside any job: BullMQ's own
//    work (fetching the next job, completing it; jobs added by the receiver);
//  - `lanebot`: the rest (the receiver's ack path, the event-feed readers).
// Besides, each run of an operation job is filed under the step it ran (the last one, when steps
// that finish at once are chained in one run) with the commands it sent: what one step run costs.

interface JobContext {
  queue: string;
  /** The operation step this run ran last, if any. */
  step?: string;
  /** Commands this run sent, the simulator's excepted, and of them BullMQ's (keys of a queue). */
  commands: number;
  bullmq: number;
  /** With BENCH_TRACE_STEP: each command's name and key shape. */
  trace?: string[];
}

/** BENCH_TRACE_STEP=<step>: prints which commands that step's runs sent, by name and key shape. */
const TRACE_STEP = process.env.BENCH_TRACE_STEP;
const traced = new Map<string, number>();

interface StepTally {
  runs: number;
  commands: number;
  bullmq: number;
}

const jobContext = new AsyncLocalStorage<JobContext>();
/** The context of the bench's own reads (waiting for the run to settle): counted apart. */
const BENCH_CONTEXT: JobContext = { queue: 'bench', commands: 0, bullmq: 0 };
const commandCounts = new Map<string, number>();
/** Per operation step: the job runs that ran it, and the commands those runs sent. */
const stepTallies = new Map<string, StepTally>();

function firstKey(name: string, args: unknown[]): string | undefined {
  const lower = name.toLowerCase();
  if (lower === 'evalsha' || lower === 'eval' || lower === 'evalsha_ro' || lower === 'eval_ro') return Number(args[1]) > 0 ? String(args[2]) : undefined;
  return typeof args[0] === 'string' ? args[0] : Buffer.isBuffer(args[0]) ? args[0].toString() : undefined;
}

/** The bucket of a command, and what it adds to the job run it belongs to (`weight`: a transaction counts its MULTI and EXEC too). */
function count(name: string, args: unknown[], weight: number): void {
  const job = jobContext.getStore();
  const key = firstKey(name, args);
  let bucket: string;
  if (job === BENCH_CONTEXT) bucket = 'bench';
  else if (key?.includes(':sim:')) bucket = 'sim';
  else {
    const bull = key && /:bull:([^:]+):/.exec(key);
    if (job) {
      job.commands += weight;
      if (bull) job.bullmq += weight;
      if (TRACE_STEP) (job.trace ??= []).push(`${name} ${(key ?? '').replace(/^[^:]*:/, '').replace(/[0-9a-f-]{8,}/g, '…')}`);
      bucket = `job:${job.queue}`;
    } else bucket = bull ? `bullmq:${bull[1]}` : 'lanebot';
  }
  commandCounts.set(bucket, (commandCounts.get(bucket) ?? 0) + weight);
}

/** Per connection: a MULTI sent and not yet counted (it goes where its first command goes), or an EXEC already counted. */
const transactions = new WeakMap<object, 'multi' | 'counted'>();

function countRedisCommands(): void {
  const send = Redis.prototype.sendCommand;
  Redis.prototype.sendCommand = function (this: Redis, command: Parameters<typeof send>[0], stream?: Parameters<typeof send>[1]) {
    const name = command.name.toLowerCase();
    const state = transactions.get(this);
    if (name === 'multi') transactions.set(this, 'multi');
    else if (name === 'exec' && state === 'counted') transactions.delete(this);
    else if (state === 'multi') {
      count(command.name, command.args, 3);
      transactions.set(this, 'counted');
    } else count(command.name, command.args, 1);
    return send.call(this, command, stream);
  } as typeof send;
  // callProcessJob is protected: BullMQ calls it for every job it hands to a processor.
  const worker = Worker.prototype as unknown as { callProcessJob: (this: Worker, ...args: unknown[]) => Promise<unknown> };
  const callProcessJob = worker.callProcessJob;
  worker.callProcessJob = function (this: Worker, ...args: unknown[]) {
    const context: JobContext = { queue: this.name, commands: 0, bullmq: 0 };
    // The first run of a request job records, admits and audits the operation before its first
    // step: filed apart. (An operation admitted at once runs its steps in that same job.)
    const job = args[0] as Job<OperationJobData>;
    const request = job.data.kind === 'request' && job.attemptsStarted <= 1;
    return jobContext.run(context, () => callProcessJob.apply(this, args)).finally(() => {
      if (context.queue !== QUEUE_NAMES.operations) return;
      const step = `${request ? 'request + ' : ''}${context.step ?? 'no step'}`;
      if (step === TRACE_STEP) for (const line of context.trace ?? []) traced.set(line, (traced.get(line) ?? 0) + 1);
      const tally = stepTallies.get(step) ?? { runs: 0, commands: 0, bullmq: 0 };
      stepTallies.set(step, { runs: tally.runs + 1, commands: tally.commands + context.commands, bullmq: tally.bullmq + context.bullmq });
    });
  };
  // Which step a run ran: each step notes its name in the job's context.
  for (const spec of OPERATION_KINDS) {
    for (const step of spec.steps) {
      const run = step.run.bind(step);
      (step as { run: typeof run }).run = (op, deps) => {
        const context = jobContext.getStore();
        if (context) context.step = step.name;
        return run(op, deps);
      };
    }
  }
}

interface Counts {
  commands: Map<string, number>;
  steps: Map<string, StepTally>;
}

function snapshotCounts(): Counts {
  return { commands: new Map(commandCounts), steps: new Map(stepTallies) };
}

function countsSince(before: Counts): Counts {
  const commands = new Map<string, number>();
  for (const [bucket, count] of commandCounts) commands.set(bucket, count - (before.commands.get(bucket) ?? 0));
  const steps = new Map<string, StepTally>();
  for (const [step, tally] of stepTallies) {
    const was = before.steps.get(step) ?? { runs: 0, commands: 0, bullmq: 0 };
    steps.set(step, { runs: tally.runs - was.runs, commands: tally.commands - was.commands, bullmq: tally.bullmq - was.bullmq });
  }
  return { commands, steps };
}

/** Job runs per queue, from the bot's own lanebot_jobs_total. */
async function jobRuns(metrics: Metrics): Promise<Map<string, number>> {
  const runs = new Map<string, number>();
  for (const value of (await metrics.jobs.get()).values) {
    const queue = String(value.labels.queue);
    runs.set(queue, (runs.get(queue) ?? 0) + value.value);
  }
  return runs;
}

async function operationRecords(bot: Lanebot, prefix: string): Promise<OperationRecord[]> {
  const ids: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await bot.redis.scan(cursor, 'MATCH', `${prefix}:op:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const id = key.slice(`${prefix}:op:`.length);
      if (!id.includes(':')) ids.push(id);
    }
  } while (cursor !== '0');
  return [...(await bot.operations.getMany(ids)).values()].filter((op) => op.kind === 'deploy');
}

interface RunFigures {
  n: number;
  deploys: number;
  ended: Record<string, number>;
  lagP50: number;
  lagP99: number;
  rootLagP50: number;
  rootLagP99: number;
  floorS: number;
  refused: number;
  portCallsPerPoll: number;
  pipelineReadsPerPoll: number;
  topCalls: string;
  /** The bot's Redis commands per deploy (the simulator's are in the buckets line). */
  redisPerDeploy: number;
  /** Per poll step (a run of a deploy's pipeline-execution step): every command it cost, and BullMQ's alone. */
  redisPerStep: number;
  bullmqPerStep: number;
  stepRuns: number;
  redisBuckets: string;
  redisSteps: string;
  rssPeakMb: number;
  /** The V8 heap in use at its peak (part of the RSS). */
  heapPeakMb: number;
  ackP99: number;
  wallS: number;
  /** Deploys whose lag could be measured (a thread reply after the pipeline's end seen). */
  lagSamples: number;
  posts: number;
  updates: number;
}

/** The step whose runs are the poll steps: a running deploy's job, woken while its pipeline runs. */
const POLL_STEP = 'pipeline-execution';

function redisFigures(n: number, counts: Counts, jobRuns: number): Pick<RunFigures, 'redisPerDeploy' | 'redisPerStep' | 'bullmqPerStep' | 'stepRuns' | 'redisBuckets' | 'redisSteps'> {
  const of = (bucket: string) => counts.commands.get(bucket) ?? 0;
  const bot = [...counts.commands].filter(([bucket]) => bucket !== 'sim' && bucket !== 'bench').reduce((sum, [, count]) => sum + count, 0);
  // BullMQ's work for a run outside the processor (fetching the job, and on average its share of
  // adding and completing jobs), the same for every run of the queue.
  const bullmqOutside = of(`bullmq:${QUEUE_NAMES.operations}`) / Math.max(1, jobRuns);
  const perRun = (tally: StepTally) => ({ all: tally.commands / tally.runs + bullmqOutside, bullmq: tally.bullmq / tally.runs + bullmqOutside });
  const poll = counts.steps.get(POLL_STEP);
  const pollFigures = poll && poll.runs > 0 ? perRun(poll) : { all: NaN, bullmq: NaN };
  return {
    redisPerDeploy: bot / n,
    redisPerStep: pollFigures.all,
    bullmqPerStep: pollFigures.bullmq,
    stepRuns: poll?.runs ?? 0,
    redisBuckets: [...counts.commands]
      .filter(([bucket, count]) => bucket !== 'bench' && count > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([bucket, count]) => `${bucket} ${(count / n).toFixed(1)}`)
      .join(', '),
    redisSteps: [...counts.steps]
      .filter(([, tally]) => tally.runs > 0)
      .map(([step, tally]) => `${step} ${tally.runs} runs ${perRun(tally).all.toFixed(1)} (BullMQ ${perRun(tally).bullmq.toFixed(1)})`)
      .join(', '),
  };
}

async function runOnce(n: number, slack: SlackSideProcess, redisUrl: string): Promise<RunFigures> {
  const prefix = `bench-load-${randomUUID()}`;
  const t0 = Date.now();
  const counts = new Map<string, number>();
  const started = new Map<string, string>();
  const env = readEnvOptions({
    SLACK_BOT_TOKEN: 'xoxb-bench',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    PORT: '0',
    REDIS_URL: redisUrl,
    CLOUD: 'sim',
    SIM_TIME_SCALE: String(SIM_TIME_SCALE),
    LANEBOT_REDIS_PREFIX: prefix,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
  });
  const metrics = new Metrics();
  const bot = createLanebot(env, parseConfig(BENCH_CONFIG, 'bench config'), {
    metrics,
    wrapCloud: (cloud) => countingCloud(cloud, counts, started),
  });
  const stats = new Redis(redisUrl);
  let rssPeak = 0;
  let heapPeak = 0;
  const rssTimer = setInterval(() => {
    const memory = process.memoryUsage();
    rssPeak = Math.max(rssPeak, memory.rss);
    heapPeak = Math.max(heapPeak, memory.heapUsed);
  }, 100);
  try {
    const botUrl = `http://127.0.0.1:${await bot.start()}`;
    slack.tell({ type: 'reset' });
    const commandsBefore = snapshotCounts();
    const runsBefore = await jobRuns(metrics);
    const burst = await slack.ask<Extract<FromSlackSide, { type: 'burst-done' }>>({ type: 'burst', target: botUrl, n });
    if (burst.failures.length > 0) throw new Error(`slash commands failed: ${burst.failures.join('; ')}`);

    // Wait for every deploy to end and the narration to drain (the stand-in quiet for QUIET_MS).
    const deadline = t0 + runTimeoutMs(n);
    let ops: OperationRecord[] = [];
    let waitingFor = 'the deploys';
    // The bench's own reads run in a context of their own, so they are not counted as the bot's.
    await jobContext.run(BENCH_CONTEXT, async () => { for (;;) {
      if (Date.now() > deadline) {
        throw new Error(`N=${n}: not settled within ${runTimeoutMs(n) / 1000} s (${ops.filter((op) => isFinished(op.status)).length} of ${ops.length} deploys ended; ${waitingFor})`);
      }
      await sleep(1_000);
      ops = await operationRecords(bot, prefix);
      if (ops.length < n || !ops.every((op) => isFinished(op.status))) continue;
      const report = await slack.ask<Extract<FromSlackSide, { type: 'report' }>>({ type: 'report' });
      const narrate = await bot.queues.narrate.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      // Threads with something left to send (the narrator's own record), whatever the queue holds:
      // a thread waiting out a Retry-After is a delayed job, and so is a far-off later look.
      const threadsPending = await bot.redis.zcard(bot.keys.narratePending);
      if (threadsPending === 0 && narrate.waiting === 0 && narrate.active === 0 && Date.now() - report.lastCallAt >= QUIET_MS) break;
      waitingFor = `${threadsPending} threads with replies to send, narrate queue ${JSON.stringify(narrate)}, last Slack call ${Date.now() - report.lastCallAt} ms ago`;
    } });
    const commands = countsSince(commandsBefore);
    const runsAfter = await jobRuns(metrics);
    const report = await slack.ask<Extract<FromSlackSide, { type: 'report' }>>({ type: 'report' });

    // The thread of each reply ts, and each thread's last reply / each root's last edit.
    const threadOf = new Map<string, string>();
    const lastReply = new Map<string, number>();
    const lastRootEdit = new Map<string, number>();
    const postsPerChannel = new Map<string, number>();
    for (const call of report.calls) {
      if (call.method === 'chat.postMessage') {
        postsPerChannel.set(call.channel, (postsPerChannel.get(call.channel) ?? 0) + 1);
        if (call.threadTs) {
          threadOf.set(`${call.channel}/${call.ts}`, call.threadTs);
          lastReply.set(`${call.channel}/${call.threadTs}`, call.at);
        }
      } else {
        const thread = threadOf.get(`${call.channel}/${call.ts}`);
        if (thread) lastReply.set(`${call.channel}/${thread}`, call.at);
        else lastRootEdit.set(`${call.channel}/${call.ts}`, call.at);
      }
    }

    // Pipeline end (the sim execution's last stage end) → the thread's final reply.
    const lags: number[] = [];
    const rootLags: number[] = [];
    const ended: Record<string, number> = {};
    let runningMs = 0;
    for (const op of ops) {
      ended[op.status] = (ended[op.status] ?? 0) + 1;
      if (op.startedAt && op.finishedAt) runningMs += op.finishedAt - op.startedAt;
      const pipelineName = op.executionId ? started.get(op.executionId) : undefined;
      if (!pipelineName || !op.executionId || !op.rootTs) continue;
      const execution = await bot.sim!.getExecution(pipelineName, op.executionId);
      if (!isTerminal(execution.status)) continue;
      const pipelineEnd = Math.max(...execution.stages.map((s) => s.endedAt ?? 0));
      const reply = lastReply.get(`${op.channel}/${op.rootTs}`);
      const root = lastRootEdit.get(`${op.channel}/${op.rootTs}`);
      if (reply !== undefined) lags.push((reply - pipelineEnd) / 1000);
      if (root !== undefined) rootLags.push((root - pipelineEnd) / 1000);
    }
    const pollIntervalMs = Math.max(200, 10_000 / SIM_TIME_SCALE);
    const polls = runningMs / pollIntervalMs;
    const totalCalls = [...counts.values()].reduce((a, b) => a + b, 0);
    const pipelineReads = (counts.get('pipelines.getExecution') ?? 0) + (counts.get('pipelines.pendingApprovals') ?? 0);
    return {
      n,
      deploys: ops.length,
      ended,
      lagP50: percentile(lags, 50),
      lagP99: percentile(lags, 99),
      rootLagP50: percentile(rootLags, 50),
      rootLagP99: percentile(rootLags, 99),
      floorS: Math.max(0, ...postsPerChannel.values()) * (POST_INTERVAL_MS / 1000),
      refused: report.refused,
      portCallsPerPoll: totalCalls / polls,
      pipelineReadsPerPoll: pipelineReads / polls,
      topCalls: [...counts].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k} ${v}`).join(', '),
      ...redisFigures(n, commands, (runsAfter.get(QUEUE_NAMES.operations) ?? 0) - (runsBefore.get(QUEUE_NAMES.operations) ?? 0)),
      rssPeakMb: rssPeak / 2 ** 20,
      heapPeakMb: heapPeak / 2 ** 20,
      ackP99: percentile(burst.acksMs, 99),
      wallS: (Date.now() - t0) / 1000,
      lagSamples: lags.length,
      posts: report.calls.filter((c) => c.method === 'chat.postMessage').length,
      updates: report.calls.filter((c) => c.method === 'chat.update').length,
    };
  } finally {
    clearInterval(rssTimer);
    await bot.stop().catch((error: unknown) => console.error('stopping the bot failed:', error));
    await deleteKeysWithPrefix(stats, prefix).catch(() => undefined);
    stats.disconnect();
  }
}

function printFigures(rows: RunFigures[]): void {
  const header = ['N', 'lag p50/p99 s', 'floor s', 'p99/floor', '429s', 'port calls/deploy/poll', 'pipeline reads/deploy/poll', 'Redis cmds/deploy', 'Redis cmds/poll step (BullMQ)', 'RSS peak MB', 'ack p99 ms', 'wall s'];
  const lines = rows.map((r) => [
    String(r.n),
    `${r.lagP50.toFixed(1)} / ${r.lagP99.toFixed(1)}`,
    r.floorS.toFixed(0),
    (r.lagP99 / r.floorS).toFixed(2),
    String(r.refused),
    r.portCallsPerPoll.toFixed(2),
    r.pipelineReadsPerPoll.toFixed(2),
    r.redisPerDeploy.toFixed(0),
    // No poll step at all: every woken step found its pipeline ended and went on to the next steps.
    r.stepRuns > 0 ? `${r.redisPerStep.toFixed(1)} (${r.bullmqPerStep.toFixed(1)})` : 'no poll steps',
    r.rssPeakMb.toFixed(0),
    r.ackP99.toFixed(0),
    r.wallS.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  console.log(format(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const line of lines) console.log(format(line));
  for (const r of rows) {
    console.log(
      `N=${r.n}: deploys ${JSON.stringify(r.ended)}; lag measured for ${r.lagSamples}; root's final edit lag p50/p99 ${r.rootLagP50.toFixed(1)} / ${r.rootLagP99.toFixed(1)} s; ` +
        `Slack accepted ${r.posts} posts, ${r.updates} updates; target p99 <= 1.5 x floor + 5 s = ${(1.5 * r.floorS + 5).toFixed(0)} s; ports: ${r.topCalls}; ` +
        `heap peak ${r.heapPeakMb.toFixed(0)} MB; Redis commands per deploy by bucket: ${r.redisBuckets}; per operation job run by step: ${r.redisSteps}`,
    );
  }
}

function deployCounts(argv: string[]): number[] {
  const index = argv.indexOf('--deploys');
  const raw = index >= 0 ? argv[index + 1] : argv.find((a) => a.startsWith('--deploys='))?.slice('--deploys='.length);
  const list = (raw ?? '100,300,1000').split(',').map(Number);
  if (list.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--deploys takes whole numbers separated by commas, got ${raw}`);
  return list;
}

async function main(): Promise<void> {
  countRedisCommands();
  const ns = deployCounts(process.argv.slice(2));
  const t0 = Date.now();
  const redis = process.env.BENCH_REDIS_URL ? { url: process.env.BENCH_REDIS_URL, stop: () => undefined } : await startPrivateRedis();
  const slack = await SlackSideProcess.start();
  const rows: RunFigures[] = [];
  let failed = false;
  try {
    console.log(`lanebot load bench: N concurrent deploys (${ns.join(', ')}), ${SERVICES.length} services each bound to a channel, ` +
      `CLOUD=sim SIM_TIME_SCALE=${SIM_TIME_SCALE}, Slack stand-in enforcing Slack's limits (posts 1 per ${POST_INTERVAL_MS} ms per channel, burst ${SLACK_LIMITS.postsPerChannel.burst}; chat.update 1 per ${SLACK_LIMITS.updates.intervalMs} ms, burst ${SLACK_LIMITS.updates.burst}); Redis ${redis.url}`);
    for (const n of ns) {
      const row = await runOnce(n, slack, redis.url);
      rows.push(row);
      console.log(`N=${n} done in ${row.wallS.toFixed(0)} s`);
    }
  } catch (error) {
    failed = true;
    console.error(`bench FAILED: ${(error as Error)?.stack ?? String(error)}`);
  } finally {
    slack.stop();
    redis.stop();
  }
  console.log('');
  printFigures(rows);
  console.log('');
  if (TRACE_STEP) console.log(`commands of ${TRACE_STEP}'s runs:\n${[...traced].sort((a, b) => b[1] - a[1]).map(([line, count]) => `  ${count} ${line}`).join('\n')}`);
  console.log(`total ${((Date.now() - t0) / 1000).toFixed(0)} s; node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? 'unknown'}), ${os.platform()} ${os.release()}`);
  process.exit(failed ? 1 : 0);
}

if (process.argv.includes('--slack-side')) {
  void slackSide();
} else {
  void main();
}
