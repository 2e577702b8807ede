// The composition root: the one place that turns env + config into running parts. Tests build the
// same bot here, replacing only the outside world (clock, pipelines, pacing) through `overrides`.
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import pino, { type Logger } from 'pino';
import type { CommandDeps } from '../commands/command';
import { systemClock, type Clock } from './clock';
import { createAwsCloud } from './cloud/aws/create-aws-cloud';
import type { CloudPorts } from './cloud/cloud';
import type { PipelinesPort } from './cloud/pipelines.port';
import type { StacksPort } from './cloud/stacks.port';
import { SimClock } from './cloud/sim/sim-clock';
import { createSimCloud } from './cloud/sim/create-sim-cloud';
import type { SimFaults } from './cloud/sim/sim-faults';
import type { SimLaneHealth } from './cloud/sim/sim-lane-health';
import type { SimPipelines } from './cloud/sim/sim-pipelines';
import type { SimStacks } from './cloud/sim/sim-stacks';
import type { EnvOptions, LanebotConfig } from './config';
import type { DeployRequest } from './domain/deploy';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describeCause, LanebotError, QueueUnavailableError } from './errors';
import { DeployJob } from './jobs/deploy.job';
import { SetupJob } from './jobs/setup.job';
import type { JobDeps } from './jobs/job-deps';
import { WatchJob } from './jobs/watch.job';
import { Metrics } from './metrics';
import {
  createQueues,
  QUEUE_NAMES,
  runStep,
  type DeployJobData,
  type NarrateJobData,
  type Queues,
  type SetupJobData,
  type StepOutcome,
  type WatchJobData,
} from './queue/queues';
import type { ChatPort } from './slack/chat.port';
import { createSlackApp, type SlackApp } from './slack/slack-app';
import { createSlackWebClient, SlackChatAdapter } from './slack/slack-chat.adapter';
import { SLACK_PACING, sweepPendingThreads, ThreadFlusher, ThreadNarrator, type SlackPacing } from './slack/thread-narrator';
import { DeployStore } from './state/deploy-store';
import { RedisKeys } from './state/keys';
import { LaneRegistry } from './state/lane-registry';
import { RulePriorities } from './state/rule-priorities';

/** Seconds between polls of a running execution on AWS (CodePipeline's read APIs are throttled). */
const AWS_POLL_INTERVAL_MS = 10_000;
/** A deploy request that Redis has not confirmed by then is reported as unconfirmed. */
const ENQUEUE_TIMEOUT_MS = 5_000;
/**
 * Jobs per process at once. Every job step is short (a few Redis calls and one AWS or Slack call;
 * waiting happens in the delayed set), so small numbers carry hundreds of deploys. They are kept
 * small on purpose: the workers share the event loop with the Slack receiver, whose acks must stay
 * fast (bench/README.md). Scale out with more processes (LANEBOT_ROLE=worker) instead.
 */
const WORKER_CONCURRENCY = { deploy: 2, watch: 10, narrate: 5, stacks: 2 } as const;
/** How often stale pending Slack threads are re-scheduled. */
const SWEEP_INTERVAL_MS = 15_000;
/** How long stop() lets running job steps finish before it forces the workers closed. */
const STOP_GRACE_MS = 20_000;

export interface LanebotOverrides {
  logger?: Logger;
  clock?: Clock;
  pipelines?: PipelinesPort;
  stacks?: StacksPort;
  chat?: ChatPort;
  pollIntervalMs?: number;
  pacing?: SlackPacing;
  /** BullMQ worker tuning, e.g. short locks in tests that kill a worker. */
  workerOptions?: { lockDuration?: number; stalledInterval?: number };
  metrics?: Metrics;
}

export interface Lanebot {
  config: LanebotConfig;
  keys: RedisKeys;
  redis: Redis;
  queues: Queues;
  deploys: DeployStore;
  lanes: LaneRegistry;
  rulePriorities: RulePriorities;
  slack: SlackApp;
  /** Present when CLOUD=sim. */
  sim?: SimPipelines;
  /** The simulated account's CloudFormation, when CLOUD=sim. */
  simStacks?: SimStacks;
  /** The simulated lanes' target health and alarms (set from the sandbox), when CLOUD=sim. */
  simHealth?: SimLaneHealth;
  /** The simulated account's movable clock, when CLOUD=sim and no clock was given. */
  simClock?: SimClock;
  /** Throttling, access denied and 503s armed for the simulated ports' next calls, when CLOUD=sim. */
  simFaults?: SimFaults;
  /** Starts the HTTP/Socket Mode receiver and the workers; resolves with the HTTP port. */
  start(): Promise<number>;
  /** Stops taking work, lets running jobs finish (or hands them back), closes connections. */
  stop(): Promise<void>;
}

export function createLanebot(env: EnvOptions, config: LanebotConfig, overrides: LanebotOverrides = {}): Lanebot {
  const logger = overrides.logger ?? pino({ level: env.LOG_LEVEL, base: { app: 'lanebot' } });
  const metrics = overrides.metrics ?? new Metrics();
  const keys = new RedisKeys(env.LANEBOT_REDIS_PREFIX);

  // Workers and their state writes wait out Redis blips (BullMQ needs maxRetriesPerRequest: null).
  const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
  // Slash commands must fail fast instead: a user waits for the answer, and "nothing was queued"
  // has to be true when we say it.
  const commandRedis = new Redis(env.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  for (const [name, connection] of [['redis', redis], ['command-redis', commandRedis]] as const) {
    connection.on('error', (error) => logger.warn({ connection: name, err: describeCause(error) }, 'Redis connection error'));
  }

  // With the simulator, time is the simulated account's: real time plus what the sandbox advanced.
  const simClock = !overrides.clock && env.CLOUD === 'sim' ? new SimClock(redis, `${keys.prefix}:sim:clock-offset`) : undefined;
  const clock: Clock = overrides.clock ?? simClock ?? systemClock;

  const queues = createQueues(redis, keys.bull);
  const commandQueues = createQueues(commandRedis, keys.bull);
  const allQueues = [queues, commandQueues].flatMap((q) => [q.deploy, q.watch, q.narrate, q.stacks]);
  for (const queue of allQueues) {
    // Without a listener BullMQ prints every connection error to the console.
    queue.on('error', (error) => logger.debug({ queue: queue.name, err: describeCause(error) }, 'queue connection error'));
  }
  const deploys = new DeployStore(redis, keys);
  const lanes = new LaneRegistry(redis, keys, deploys);
  const commandDeploys = new DeployStore(commandRedis, keys);
  const commandLanes = new LaneRegistry(commandRedis, keys, commandDeploys);
  const rulePriorities = new RulePriorities(redis, keys);

  const templatesDir = env.LANEBOT_TEMPLATES_DIR ?? defaultTemplatesDir();
  // The same ports on either cloud; the simulated one also hands out its controls (sandbox, tests).
  const simCloud =
    env.CLOUD === 'sim'
      ? createSimCloud({ redis, prefix: `${keys.prefix}:sim`, clock, timeScale: env.SIM_TIME_SCALE, config, templatesDir })
      : undefined;
  const cloud: CloudPorts = simCloud ?? createAwsCloud({ region: env.AWS_REGION ?? 'us-east-1' });
  const { stacks: simStacks, laneHealth: simHealth, faults: simFaults } = simCloud?.sim ?? {};
  const sim = overrides.pipelines ? undefined : simCloud?.sim.pipelines;
  const pipelines: PipelinesPort = overrides.pipelines ?? cloud.pipelines;
  const stacks: StacksPort = overrides.stacks ?? cloud.stacks;
  const pollIntervalMs =
    overrides.pollIntervalMs ?? (env.CLOUD === 'sim' ? Math.max(200, AWS_POLL_INTERVAL_MS / env.SIM_TIME_SCALE) : AWS_POLL_INTERVAL_MS);

  const chat = overrides.chat ?? new SlackChatAdapter(createSlackWebClient(env.SLACK_BOT_TOKEN, env.SLACK_API_URL));
  const narrator = new ThreadNarrator(redis, keys, queues);
  const flusher = new ThreadFlusher(redis, keys, deploys, chat, clock, logger.child({ component: 'narrator' }), overrides.pacing ?? SLACK_PACING);
  const jobDeps: JobDeps = {
    deploys,
    lanes,
    pipelines,
    stacks,
    rulePriorities,
    config,
    templatesDir,
    narrator,
    queues,
    clock,
    logger: logger.child({ component: 'jobs' }),
    pollIntervalMs,
  };
  const deployJob = new DeployJob(jobDeps);
  const watchJob = new WatchJob(jobDeps);
  const setupJob = new SetupJob(jobDeps);

  const commandDeps: CommandDeps = {
    config,
    clock,
    lanes: {
      get: (ref) => commandLanes.get(ref).catch(redisUnavailable),
      list: (scope) => commandLanes.list(scope).catch(redisUnavailable),
    },
    deploys: {
      get: (deployId) => commandDeploys.get(deployId).catch(redisUnavailable),
    },
    enqueueDeploy: (request) => enqueueDeploy(commandRedis, commandQueues, request),
  };

  const slack = createSlackApp({
    botToken: env.SLACK_BOT_TOKEN,
    signingSecret: env.SLACK_SIGNING_SECRET,
    appToken: env.SLACK_APP_TOKEN,
    slackApiUrl: env.SLACK_API_URL,
    port: env.PORT,
    config,
    commandDeps,
    logger,
    metrics,
    health: async () => {
      try {
        await withTimeout(commandRedis.ping(), 1_000, 'PING timed out');
        return { ok: true, details: { redis: 'up' } };
      } catch (error) {
        return { ok: false, details: { redis: 'down', error: describeCause(error) } };
      }
    },
  });

  const workers: Worker[] = [];
  const workerOptions = { connection: redis, prefix: keys.bull, ...overrides.workerOptions };
  function startWorkers(): void {
    const step =
      <T>(queue: string, handle: (data: T) => Promise<StepOutcome>) =>
      async (job: Job<T>, token?: string) => {
        try {
          await runStep(job, token, async () => {
            const outcome = await handle(job.data);
            metrics.jobs.inc({ queue, outcome: outcome.done ? 'done' : 'later' });
            return outcome;
          });
        } catch (error) {
          if ((error as Error).name !== 'DelayedError') metrics.jobs.inc({ queue, outcome: 'failed' });
          throw error;
        }
      };
    workers.push(
      new Worker<DeployJobData>(
        QUEUE_NAMES.deploy,
        step<DeployJobData>(QUEUE_NAMES.deploy, (data) => deployJob.handle(data, data.failures ?? 0)),
        { ...workerOptions, concurrency: WORKER_CONCURRENCY.deploy },
      ),
      new Worker<WatchJobData>(QUEUE_NAMES.watch, step<WatchJobData>(QUEUE_NAMES.watch, (data) => watchJob.handle(data)), {
        ...workerOptions,
        concurrency: WORKER_CONCURRENCY.watch,
      }),
      new Worker<SetupJobData>(QUEUE_NAMES.stacks, step<SetupJobData>(QUEUE_NAMES.stacks, (data) => setupJob.handle(data)), {
        ...workerOptions,
        concurrency: WORKER_CONCURRENCY.stacks,
      }),
      new Worker<NarrateJobData>(
        QUEUE_NAMES.narrate,
        async (job, token) => {
          if (job.name === 'sweep') return void (await sweepPendingThreads(redis, keys, queues));
          return step<NarrateJobData>(QUEUE_NAMES.narrate, (data) => flusher.flush(data))(job, token);
        },
        { ...workerOptions, concurrency: WORKER_CONCURRENCY.narrate },
      ),
    );
    for (const worker of workers) {
      worker.on('failed', (job, error) => logger.error({ queue: worker.name, jobId: job?.id, err: error }, 'job failed'));
      worker.on('error', (error) => logger.warn({ queue: worker.name, err: describeCause(error) }, 'worker error'));
    }
  }

  let stopped = false;
  return {
    config,
    keys,
    redis,
    queues,
    deploys,
    lanes,
    rulePriorities,
    slack,
    sim,
    simStacks,
    simHealth,
    simClock,
    simFaults,
    async start() {
      await simClock?.start();
      // Take commands once Redis answers, so the first deploy is not refused for a connection still
      // being opened; if Redis is down, start anyway: commands then say so, and /healthz reports 503.
      await withTimeout(once(commandRedis, 'ready'), 3_000, 'Redis not ready').catch(() =>
        logger.warn({ redis: env.REDIS_URL.replace(/\/\/[^@]*@/, '//***@') }, 'Redis is not reachable yet; starting anyway'),
      );
      if (env.LANEBOT_ROLE !== 'web') {
        startWorkers();
        // One schedule shared by every process (upsert is idempotent): see thread-narrator.ts.
        // Not awaited: with Redis down it waits for the connection, and starting must not.
        void queues.narrate
          .upsertJobScheduler('narrate-sweep', { every: SWEEP_INTERVAL_MS }, { name: 'sweep', data: { deployId: '' } })
          .catch((error: unknown) => logger.warn({ err: describeCause(error) }, 'could not schedule the narrator sweep yet'));
      }
      if (env.LANEBOT_ROLE === 'worker') return 0;
      const port = await slack.start(env.PORT);
      logger.info({ port, mode: env.SLACK_APP_TOKEN ? 'socket' : 'http', cloud: env.CLOUD }, 'lanebot started');
      return port;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // Stop taking new commands first, then let workers finish their current step. A step that
      // does not finish in time is handed back to another process by BullMQ's stalled-job check.
      await slack.stop().catch((error: unknown) => logger.warn({ err: error }, 'stopping the Slack receiver failed'));
      // With Redis unreachable there is nothing to finish or hand back, and BullMQ's close would
      // wait for a connection that never comes: drop the sockets first.
      const redisUp = redis.status === 'ready';
      if (!redisUp) for (const connection of [redis, commandRedis]) connection.disconnect();
      const graceful = Promise.all(workers.map((w) => w.close(!redisUp)));
      await withTimeout(graceful, redisUp ? STOP_GRACE_MS : 2_000, 'workers did not stop in time').catch(async (error: unknown) => {
        logger.warn({ err: describeCause(error) }, 'forcing workers to stop; their jobs return to the queue');
        await withTimeout(Promise.all(workers.map((w) => w.close(true))), 2_000, 'forced close timed out').catch(() => undefined);
      });
      await withTimeout(Promise.all([queues.close(), commandQueues.close()]), redisUp ? STOP_GRACE_MS : 2_000, 'queues did not close').catch(
        () => undefined,
      );
      for (const connection of [redis, commandRedis]) {
        // QUIT waits for Redis to answer; with Redis gone, just drop the socket.
        if (connection.status === 'ready') await connection.quit().catch(() => connection.disconnect());
        else connection.disconnect();
      }
      simClock?.stop();
      logger.info('lanebot stopped');
    },
  };
}

/**
 * Queues a deploy request as one job. Fails fast, with "nothing was queued", when Redis is not
 * connected; BullMQ would otherwise wait for the connection while the user waits for an answer.
 */
async function enqueueDeploy(commandRedis: Redis, queues: Queues, request: DeployRequest): Promise<void> {
  if (commandRedis.status !== 'ready') throw new QueueUnavailableError(new Error(`Redis connection is ${commandRedis.status}`));
  try {
    await withTimeout(
      queues.deploy.add('request', { kind: 'request', request }, { jobId: `request-${request.id}` }),
      ENQUEUE_TIMEOUT_MS,
      'Redis did not confirm in time',
    );
  } catch (error) {
    if (error instanceof TimeoutError) {
      throw new QueueUnavailableError(error, { unconfirmed: true });
    }
    throw new QueueUnavailableError(error);
  }
}

function redisUnavailable(error: unknown): never {
  throw new LanebotError(
    'QUEUE_UNAVAILABLE',
    `lanebot could not read its Redis (${describeCause(error)}). Try again in a minute; if it keeps failing, tell your platform team.`,
    { cause: error, retryable: true },
  );
}

/** The templates/ directory lanebot ships with: next to src/ when run from source, two up from dist/src/. */
function defaultTemplatesDir(): string {
  const candidates = [resolve(__dirname, '..', 'templates'), resolve(__dirname, '..', '..', 'templates')];
  return candidates.find((dir) => existsSync(join(dir, 'pipelines'))) ?? candidates[0]!;
}

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
