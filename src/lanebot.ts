// The composition root: the one place that turns env + config into running parts. Tests build the
// same bot here, replacing only the outside world (clock, pipelines, pacing) through `overrides`.
import { Worker, type Job } from 'bullmq';
import pino, { type Logger } from 'pino';
import type { CommandDeps, LaneHealthRequest } from '../commands/command';
import { createQueueDashboard, QUEUE_DASHBOARD_PATH } from './admin/queue-dashboard';
import { referencedGroups, userPrincipal, type Principal } from './access/policy';
import { refreshUserGroups, UserGroupCache } from './access/user-groups';
import { AuditLog } from './audit/audit-log';
import { ChannelMembership, refreshChannelMembership } from './chat/channel-membership';
import type { ChatPort } from './chat/chat.port';
import { reportLaneHealth } from './chat/lane-health-report.job';
import { createSlackWebClient, SlackChatAdapter } from './chat/slack-chat.adapter';
import { SlackUserGroupDirectory } from './chat/slack-user-group-directory';
import { SLACK_PACING, sweepPendingThreads, ThreadFlusher, ThreadNarrator, type SlackPacing } from './chat/thread-narrator';
import { systemClock, type Clock } from './clock';
import { createAwsCloud } from './cloud/aws/create-aws-cloud';
import type { CloudPorts } from './cloud/cloud';
import type { PipelinesPort } from './cloud/pipelines.port';
import { createSimCloud } from './cloud/sim/create-sim-cloud';
import { SimClock } from './cloud/sim/sim-clock';
import type { SimFaults } from './cloud/sim/sim-faults';
import type { SimImages } from './cloud/sim/sim-images';
import type { SimTraffic } from './cloud/sim/sim-traffic';
import type { SimLaneHealth } from './cloud/sim/sim-lane-health';
import type { SimPipelines } from './cloud/sim/sim-pipelines';
import type { SimStacks } from './cloud/sim/sim-stacks';
import type { StacksPort } from './cloud/stacks.port';
import { deliveryPlan, type EnvOptions, type LanebotConfig } from './config';
import type { OperationRecord, OperationRequest } from './domain/operation';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, describeCause, LanebotError, QueueUnavailableError } from './errors';
import { Metrics } from './metrics';
import { createOperationRegistry } from './operations/kinds/index';
import { recoverOperations } from './operations/recovery';
import { AlarmWatch } from './alarms/alarm-watch';
import { PipelineWatch } from './operations/pipeline-watch';
import { LaneExpiry } from './expiry/lane-expiry';
import { AlarmStates } from './state/alarm-states';
import type { OperationRegistry } from './operations/registry';
import { OperationRunner } from './operations/runner';
import type { GateDeps } from './operations/gates/gate-deps';
import { ApprovalStore } from './state/approvals';
import type { StepDeps } from './operations/step';
import {
  createQueues,
  followUpJobId,
  QUEUE_NAMES,
  requestJobId,
  runJobId,
  runStep,
  type FollowUpJobData,
  type ExpiryJobData,
  type JobRetryOptions,
  type MaintenanceJobData,
  type NarrateJobData,
  type OperationJobData,
  type Queues,
  type StepOutcome,
} from './queue/queues';
import { ACK_PRIORITY_DEFAULTS, AckPriority, type AckPriorityOptions } from './queue/ack-priority';
import { RedisRequestLedger } from './slack/receiver/request-ledger';
import { createSlackApp, type SlackApp } from './slack/slack-app';
import { keyPrefixFor, RedisKeys } from './state/keys';
import { connectRedis, type RedisClient } from './redis/redis-connection';
import { TimeoutError, withTimeout } from './timeout';
import { redisTargetOf } from './redis/redis-target';
import { reconnectOnReadOnly } from './state/redis-failover';
import { LaneRegistry } from './state/lane-registry';
import { OperationStore } from './state/operation-store';
import { RateLimiter } from './state/rate-limits';
import { RulePriorities } from './state/rule-priorities';

/** Seconds between polls of a running execution on AWS (CodePipeline's read APIs are throttled). */
const AWS_POLL_INTERVAL_MS = 10_000;
/** A request that Redis has not confirmed by then is reported as unconfirmed. */
const ENQUEUE_TIMEOUT_MS = 5_000;
/** How long the ack path waits for a user's groups from Redis before going on without them. */
const PRINCIPAL_TIMEOUT_MS = 500;
/**
 * Jobs per process at once. Every job step is short (a few Redis calls and one AWS or Slack call;
 * waiting happens in the delayed set), so small numbers carry hundreds of operations. They are kept
 * small on purpose where the workers share the event loop with the Slack receiver, whose acks must
 * stay fast (bench/README.md: 4 operation steps at once doubled the ack p99 against 2). A worker-only
 * process (LANEBOT_ROLE=worker) has no acks to protect and runs more at once: scale out with those.
 */
const WORKER_CONCURRENCY = { operations: 2, narrate: 5, maintenance: 1, followUps: 2, expiry: 2 } as const;
const WORKER_ONLY_CONCURRENCY = { operations: 16, narrate: 10, maintenance: 1, followUps: 4, expiry: 4 } as const;
/**
 * How long a command's follow-up waits for the listener to deliver the first answer (then it is let
 * go at once): the bound, should the listener never say so (its process died).
 */
const FOLLOW_UP_HOLD_MS = 3_000;
/** How often stale pending Slack threads are re-scheduled. */
const SWEEP_INTERVAL_MS = 15_000;
/** How often the recovery pass looks for operations without a live job (operations/recovery.ts). */
const RECOVERY_INTERVAL_MS = 60_000;
/** Operations younger than this are left to their first job by the recovery pass. */
const RECOVERY_GRACE_MS = 2 * 60_000;
/** How often every configured user group is read again from Slack (besides subteam_members_changed). */
const USER_GROUP_REFRESH_MS = 15 * 60_000;
/** How often the bot's membership of every bound channel is read again (besides Slack's member events). */
const CHANNEL_MEMBERSHIP_REFRESH_MS = 15 * 60_000;
/** The expiry sweep reads the lanes due once a minute; the digest of lanes pending deletion goes out once a day. */
const EXPIRY_SWEEP_INTERVAL_MS = 60_000;
const EXPIRY_DIGEST_INTERVAL_MS = 24 * 3_600_000;
/** The alarm watch's safety net runs once a minute across all lanes (alarms/alarm-watch.ts). */
const ALARM_POLL_INTERVAL_MS = 60_000;
/**
 * A followed pipeline execution is re-read by its own step every this many poll intervals, besides
 * the watch waking it when it moved: the safety net, at 2 calls per deploy per 20 intervals.
 */
const PIPELINE_RECHECK_POLLS = 20;
/** With PIPELINE_EVENTS_QUEUE_URL, the pipeline watch lists every this many poll intervals (a minute on AWS). */
const PIPELINE_POLLS_WITH_EVENTS = 6;
/** How long stop() lets running job steps finish before it forces the workers closed. */
const STOP_GRACE_MS = 20_000;

export interface LanebotOverrides {
  logger?: Logger;
  clock?: Clock;
  pipelines?: PipelinesPort;
  stacks?: StacksPort;
  /** Wraps the cloud ports once they are chosen (tests count the calls a process makes). */
  wrapCloud?: (cloud: CloudPorts) => CloudPorts;
  chat?: ChatPort;
  pollIntervalMs?: number;
  pacing?: SlackPacing;
  /** BullMQ worker tuning, e.g. short locks in tests that kill a worker. */
  workerOptions?: { lockDuration?: number; stalledInterval?: number };
  metrics?: Metrics;
  /** The recovery pass's schedule and grace period (tests shorten them). */
  recovery?: { intervalMs?: number; graceMs?: number };
  /**
   * Whether the bot's channel membership is read from Slack on a schedule (default true). Tests that
   * count or fail Slack calls turn it off; the events and the narrator keep the copy current anyway.
   */
  refreshChannelMembership?: boolean;
  /** The operation kinds (tests swap in a kind whose step fails); default: createOperationRegistry(). */
  registry?: OperationRegistry;
  /**
   * Attempts and first backoff of every job (default: DEFAULT_JOB_OPTIONS, 5 attempts from 1 s, about
   * 15 s before a job fails for good): tests of a job that fails for good shorten them.
   */
  jobRetry?: JobRetryOptions;
  /**
   * The alarm watch: whether this process reads the alarm event feed (default: when the cloud has
   * one and the process runs workers) and how often the safety-net pass runs (default once a
   * minute; false: never on a schedule). Tests that count Slack calls turn both off.
   */
  alarms?: { consumeEvents?: boolean; pollEveryMs?: number | false; eventWaitSeconds?: number };
  /**
   * Lane expiry's schedules: the sweep (default once a minute, divided by SIM_TIME_SCALE with the
   * simulator) and the digest (default once a day). false: not on a schedule (tests call them).
   */
  expiry?: { sweepEveryMs?: number | false; digestEveryMs?: number | false };
  /**
   * Tracking per pipeline (operations/pipeline-watch.ts): the watch polls every `pollEveryMs`
   * (default: the poll interval; false: not on a schedule, tests call pollOnce) and a step re-reads
   * on its own every `recheckPolls` intervals (default PIPELINE_RECHECK_POLLS). false: no watch,
   * every running deploy polls its execution itself.
   */
  pipelineWatch?: false | { pollEveryMs?: number | false; recheckPolls?: number };
  /**
   * With LANEBOT_ROLE=all, the workers pause during bursts of Slack requests (queue/ack-priority.ts;
   * default ACK_PRIORITY_DEFAULTS). false: never (tests that count job runs during a burst).
   */
  ackPriority?: false | Partial<AckPriorityOptions>;
}

export interface Lanebot {
  config: LanebotConfig;
  keys: RedisKeys;
  redis: RedisClient;
  queues: Queues;
  operations: OperationStore;
  lanes: LaneRegistry;
  rulePriorities: RulePriorities;
  audit: AuditLog;
  userGroups: UserGroupCache;
  /** Whether the bot may post in each channel, as lanebot last learned it. */
  channelMembership: ChannelMembership;
  runner: OperationRunner;
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
  /** The simulated account's ECR (what the builds pushed; deleteImage to refuse a promote or rollback to it), when CLOUD=sim. */
  simImages?: SimImages;
  /** The simulated ALB traffic (also the metrics port): the sandbox shows each lane's, when CLOUD=sim. */
  simTraffic?: SimTraffic;
  /** Idle lanes warned, renewed and deleted: `sweep()` and `digest()` are what the schedules run. */
  expiry: LaneExpiry;
  /** Lane alarms into the lanes' threads: `pollOnce()` is the safety-net pass the schedule runs. */
  alarmWatch: AlarmWatch;
  /** Running pipeline executions, followed per pipeline (absent when turned off): `pollOnce()` is what the schedule runs. */
  pipelineWatch?: PipelineWatch;
  /** Deploys of a service/env waiting for approval. */
  approvalsPending(scope: { service: string; env: string }): Promise<OperationRecord[]>;
  /** With LANEBOT_ROLE=all: the workers' pauses during bursts of Slack requests (queue/ack-priority.ts). */
  ackPriority?: AckPriority;
  /** One recovery pass now (it also runs on a schedule). */
  recover(): ReturnType<typeof recoverOperations>;
  /** Starts the HTTP/Socket Mode receiver and the workers; resolves with the HTTP port. */
  start(): Promise<number>;
  /** Stops taking work, lets running jobs finish (or hands them back), closes connections. */
  stop(): Promise<void>;
}

export function createLanebot(env: EnvOptions, config: LanebotConfig, overrides: LanebotOverrides = {}): Lanebot {
  const logger = overrides.logger ?? pino({ level: env.LOG_LEVEL, base: { app: 'lanebot' } });
  const metrics = overrides.metrics ?? new Metrics();
  const redisTarget = redisTargetOf(env);
  const keys = new RedisKeys(keyPrefixFor(env.LANEBOT_REDIS_PREFIX, redisTarget));
  // Checked before any connection opens: a bad path must stop the start without leaving sockets behind.
  const templatesDir = checkTemplatesDir(env.LANEBOT_TEMPLATES_DIR) ?? defaultTemplatesDir();
  // Every operation kind is checked here, at start-up, not when the first one is queued.
  const registry = overrides.registry ?? createOperationRegistry();

  // Workers and their state writes wait out Redis blips (BullMQ needs maxRetriesPerRequest: null).
  // Every connection (and BullMQ's copies of the first) reconnects when a failover left it on a
  // node that became a replica (src/state/redis-failover.ts).
  //
  // No auto-pipelining. Not on this connection, which BullMQ shares: Bull's users saw jobs lose
  // their data with it (OptimalBits/bull#2276, taskforcesh/bullmq#457). And lanebot's state cannot
  // simply move to a connection of its own that has it: with state and queue writes on two
  // connections, the 2,000-deploy flood (test/integration/narration-hostile.test.ts) left thread keys
  // of superseded deploys behind, so some path still relies on both sharing one connection's order.
  // What auto-pipelining would save is had below ioredis instead: connectRedis coalesces each
  // connection's writes per event-loop turn (src/redis/coalesce-writes.ts), order and replies untouched.
  const redis = connectRedis(redisTarget, { maxRetriesPerRequest: null, reconnectOnError: reconnectOnReadOnly });
  // Slash commands must fail fast instead: a user waits for the answer, and "nothing was queued"
  // has to be true when we say it.
  const commandRedis = connectRedis(redisTarget, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    reconnectOnError: reconnectOnReadOnly,
  });
  // The simulated AWS account (CLOUD=sim) has a connection of its own, as AWS is a service of its
  // own: the bot only ever awaits its calls, so nothing depends on the two sharing an order; and
  // the connection lanebot shares with BullMQ carries BullMQ's dozens of scripts, which ioredis
  // copies into every MULTI built on it (the simulator's bookkeeping builds one per call).
  const simRedis = env.CLOUD === 'sim' ? connectRedis(redisTarget, { maxRetriesPerRequest: null, reconnectOnError: reconnectOnReadOnly }) : undefined;
  const named = [['redis', redis], ['command-redis', commandRedis], ...(simRedis ? [['sim-redis', simRedis] as const] : [])] as const;
  const connections = named.map(([, connection]) => connection);
  for (const [name, connection] of named) {
    connection.on('error', (error) => logger.warn({ connection: name, err: describeCause(error) }, 'Redis connection error'));
  }

  // With the simulator, time is the simulated account's: real time plus what the sandbox advanced.
  const simClock = !overrides.clock && simRedis ? new SimClock(simRedis, `${keys.prefix}:sim:clock-offset`) : undefined;
  const clock: Clock = overrides.clock ?? simClock ?? systemClock;

  const queues = createQueues(redis, keys.bull, overrides.jobRetry);
  const commandQueues = createQueues(commandRedis, keys.bull, overrides.jobRetry);
  const allQueues = [queues, commandQueues].flatMap((q) => [q.operations, q.narrate, q.maintenance, q.followUps, q.expiry]);
  for (const queue of allQueues) {
    // Without a listener BullMQ prints every connection error to the console.
    queue.on('error', (error) => logger.debug({ queue: queue.name, err: describeCause(error) }, 'queue connection error'));
  }
  const operations = new OperationStore(redis, keys);
  const lanes = new LaneRegistry(redis, keys, operations);
  const commandOperations = new OperationStore(commandRedis, keys);
  const commandLanes = new LaneRegistry(commandRedis, keys, commandOperations);
  const rulePriorities = new RulePriorities(redis, keys);
  const audit = new AuditLog(redis, keys, logger.child({ component: 'audit' }));
  const commandAudit = new AuditLog(commandRedis, keys, logger.child({ component: 'audit' }));
  const userGroups = new UserGroupCache(redis, keys);
  const commandUserGroups = new UserGroupCache(commandRedis, keys);
  const groupIds = referencedGroups(config);
  const membership = new ChannelMembership(redis, keys);
  const rateLimiter = new RateLimiter(commandRedis, keys, config.limits);
  const commandMembership = new ChannelMembership(commandRedis, keys);

  // The same ports on either cloud; the simulated one also hands out its controls (sandbox, tests).
  const simCloud =
    simRedis
      ? createSimCloud({ redis: simRedis, prefix: `${keys.prefix}:sim`, clock, timeScale: env.SIM_TIME_SCALE, account: deliveryPlan(config), templatesDir })
      : undefined;
  const baseCloud: CloudPorts = simCloud ?? createAwsCloud({ region: env.AWS_REGION ?? 'us-east-1', alarmEventsQueueUrl: env.ALARM_EVENTS_QUEUE_URL, pipelineEventsQueueUrl: env.PIPELINE_EVENTS_QUEUE_URL });
  const chosenCloud: CloudPorts = { ...baseCloud, pipelines: overrides.pipelines ?? baseCloud.pipelines, stacks: overrides.stacks ?? baseCloud.stacks };
  const cloud: CloudPorts = overrides.wrapCloud?.(chosenCloud) ?? chosenCloud;
  const sim = overrides.pipelines ? undefined : simCloud?.sim.pipelines;
  const pollIntervalMs =
    overrides.pollIntervalMs ?? (env.CLOUD === 'sim' ? Math.max(200, AWS_POLL_INTERVAL_MS / env.SIM_TIME_SCALE) : AWS_POLL_INTERVAL_MS);

  const slackClient = createSlackWebClient(env.SLACK_BOT_TOKEN, env.SLACK_API_URL);
  const chat = overrides.chat ?? new SlackChatAdapter(slackClient);
  const directory = new SlackUserGroupDirectory(slackClient);
  const narrator = new ThreadNarrator(redis, keys, queues);
  const flusher = new ThreadFlusher(redis, keys, operations, registry.viewOf, chat, clock, logger.child({ component: 'narrator' }), overrides.pacing ?? SLACK_PACING);
  const jobLogger = logger.child({ component: 'operations' });
  const timeScale = env.CLOUD === 'sim' ? env.SIM_TIME_SCALE : 1;
  // With the event feed, events wake the operations; the list is the safety net for lost ones.
  const pipelineWatchEvery =
    overrides.pipelineWatch === false ? false : (overrides.pipelineWatch?.pollEveryMs ?? pollIntervalMs * (cloud.pipelineEvents ? PIPELINE_POLLS_WITH_EVENTS : 1));
  /** The watch's poll: one job scheduler, on only while some pipeline has followed executions. */
  const pipelineWatchSchedule = (every: number) => ({
    start: async () => void (await queues.maintenance.upsertJobScheduler('watch-pipelines', { every }, { name: 'watch-pipelines', data: { kind: 'watch-pipelines' } })),
    stop: async () => void (await queues.maintenance.removeJobScheduler('watch-pipelines')),
  });
  const pipelineWatch =
    overrides.pipelineWatch === false
      ? undefined
      : new PipelineWatch({
          redis,
          keys,
          pipelines: cloud.pipelines,
          wake: async (operationId) => {
            // The request job carries the steps of an operation admitted at once (most), a run job
            // those of one that waited for its slot: the first one alive is the operation's.
            for (const jobId of [requestJobId(operationId), runJobId(operationId)]) {
              const job = await queues.operations.getJob(jobId);
              const state = job ? await job.getState() : 'unknown';
              // A failed job is kept a week for inspection: it moves nothing on.
              if (state === 'unknown' || state === 'failed' || state === 'completed') continue;
              if (state === 'delayed') await job!.promote().catch(() => undefined); // it may have just woken up
              return true;
            }
            return false;
          },
          logger: logger.child({ component: 'pipeline-watch' }),
          recheckMs: pollIntervalMs * (overrides.pipelineWatch?.recheckPolls ?? PIPELINE_RECHECK_POLLS),
          schedule: pipelineWatchEvery === false ? undefined : pipelineWatchSchedule(pipelineWatchEvery),
        });
  const stepDeps: StepDeps = {
    cloud,
    operations,
    lanes,
    rulePriorities,
    narrator,
    audit,
    metrics,
    config,
    templatesDir,
    clock,
    logger: jobLogger,
    pollIntervalMs,
    timeScale,
    pipelineWatch,
  };
  const alarmWatch = new AlarmWatch({
    states: new AlarmStates(redis, keys),
    lanes,
    operations,
    narrator,
    cloud,
    config,
    clock,
    logger: logger.child({ component: 'alarms' }),
    timeScale,
    // The simulator's feed answers from Redis: a short wait keeps stop() quick.
    eventWaitSeconds: overrides.alarms?.eventWaitSeconds ?? (env.CLOUD === 'sim' ? 1 : 20),
  });
  const approvals = new ApprovalStore(redis, keys, operations);
  const commandApprovals = new ApprovalStore(commandRedis, keys, commandOperations);
  /** Brings an operation's delayed job (request or run) back now: something it waits for was decided. */
  const resume = async (queue: Queues, operationId: string): Promise<void> => {
    for (const jobId of [requestJobId(operationId), runJobId(operationId)]) {
      const job = await queue.operations.getJob(jobId);
      if (job && (await job.isDelayed())) await job.promote().catch(() => undefined); // it may have just woken up
    }
  };
  const gateDeps: GateDeps = { config, approvals, operations, narrator, audit, clock, recheckMs: pollIntervalMs * 6, resume: (id) => resume(queues, id) };
  const runner = new OperationRunner({ registry, operations, lanes, narrator, audit, metrics, queues, redis, keys, clock, logger: jobLogger, steps: stepDeps, gate: gateDeps });
  const commandNarrator = new ThreadNarrator(commandRedis, keys, commandQueues);
  const recover = () =>
    recoverOperations({ redis, keys, operations, lanes, runner, queues, clock, logger: jobLogger }, overrides.recovery?.graceMs ?? RECOVERY_GRACE_MS);

  const expiryDeps = (connection: RedisClient, q: Queues, parts: { lanes: LaneRegistry; operations: OperationStore; narrator: ThreadNarrator; audit: AuditLog }) =>
    new LaneExpiry({
      ...parts,
      chat,
      config,
      clock,
      logger: logger.child({ component: 'expiry' }),
      timeScale,
      queueWork: async (data, jobId) => {
        const job = await q.expiry.add(data.kind, data, { jobId });
        // The same id may wait, delayed by its own step (a busy lane, a notice still running): now is later.
        if (await job.isDelayed()) await job.promote().catch((error: unknown) => logger.debug({ jobId, err: describeCause(error) }, 'expiry work was no longer delayed'));
      },
      enqueue: async (request) => void (await q.operations.add('request', { kind: 'request', request }, { jobId: requestJobId(request.id) })),
      claimDigest: async (channel, day) => (await connection.set(keys.expiryDigest(channel, day), '1', 'EX', 2 * 24 * 3600, 'NX')) === 'OK',
    });
  const expiry = expiryDeps(redis, queues, { lanes, operations, narrator, audit });
  const commandExpiry = expiryDeps(commandRedis, commandQueues, { lanes: commandLanes, operations: commandOperations, narrator: commandNarrator, audit: commandAudit });

  const commandDeps: CommandDeps = {
    config,
    clock,
    lanes: {
      state: (ref) => commandLanes.state(ref).catch(redisUnavailable),
      get: (ref) => commandLanes.get(ref).catch(redisUnavailable),
      list: (scope) => commandLanes.list(scope).catch(redisUnavailable),
      page: (scope, options) => commandLanes.page(scope, options).catch(redisUnavailable),
      releases: (ref) => commandLanes.releases(ref).catch(redisUnavailable),
    },
    operations: {
      get: (operationId) => commandOperations.get(operationId).catch(redisUnavailable),
    },
    audit: {
      recent: (scope, limit, scanLimit) => commandAudit.recent(scope, limit, scanLimit).catch(redisUnavailable),
    },
    enqueue: (request) => enqueueRequest(commandRedis, commandQueues, request),
    queueLaneHealth: (request) => queueLaneHealth(commandRedis, commandQueues, request),
    renewLane: (ref, by, durationMs) => commandExpiry.renew(ref, by, durationMs).catch(redisUnavailable),
    // A Redis read only; when it cannot be read, go on: the narrator tells the requester if posting fails.
    approvals: {
      decide: (op, action, user, reason) => commandApprovals.decide(op, action, user, clock.now(), reason).catch(redisUnavailable),
      pending: (scope) => commandApprovals.pending(scope).catch(redisUnavailable),
      decidePipeline: (op, token, decision) => commandApprovals.decidePipeline(op, token, decision).catch(redisUnavailable),
    },
    controlOperation: (operationId, field, value, statuses, once) => commandOperations.setControl(operationId, field, value, statuses, once).catch(redisUnavailable),
    resume: (operationId) => resume(commandQueues, operationId),
    refreshThread: (operationId) => commandNarrator.refreshRoot(operationId),
    openModal: (triggerId, view) => chat.openModal(triggerId, view),
    canPost: (channelId) => commandMembership.canPost(channelId, clock.now()).catch(() => 'unknown' as const),
  };

  // The operator view exists only with ADMIN_TOKEN (env read here, in the root, like every variable).
  const mounts = env.ADMIN_TOKEN
    ? {
        [QUEUE_DASHBOARD_PATH]: createQueueDashboard({
          queues: [queues.operations, queues.narrate, queues.maintenance, queues.followUps, queues.expiry],
          token: env.ADMIN_TOKEN,
          logger,
        }),
      }
    : undefined;

  // Where this process both receives Slack's requests and runs the workers, acks come first: the
  // workers take no new jobs during a burst of requests (queue/ack-priority.ts).
  const ackPriority =
    env.LANEBOT_ROLE === 'all' && overrides.ackPriority !== false
      ? new AckPriority(() => workers, {
          ...ACK_PRIORITY_DEFAULTS,
          ...overrides.ackPriority,
          onPauseEnded: (pausedMs) => {
            metrics.workerPauses.inc();
            metrics.workerPausedSeconds.inc(pausedMs / 1_000);
          },
        })
      : undefined;

  const slack = createSlackApp({
    botToken: env.SLACK_BOT_TOKEN,
    signingSecret: env.SLACK_SIGNING_SECRET,
    appToken: env.SLACK_APP_TOKEN,
    slackApiUrl: env.SLACK_API_URL,
    port: env.PORT,
    config,
    commandDeps,
    principalOf: (userId) => principalOf(commandUserGroups, userId, groupIds, logger),
    audit: (entry) => commandAudit.record(entry),
    rateLimit: (userId, channelId) =>
      withTimeout(rateLimiter.hit(userId, channelId), PRINCIPAL_TIMEOUT_MS, 'rate limit not read in time').catch((error: unknown) => {
        logger.warn({ err: describeCause(error) }, 'could not count a request against its rate limit; letting it through');
        return { allowed: true } as const;
      }),
    requestLedger: new RedisRequestLedger(commandRedis, keys),
    userGroupChanged: async (groupId) => {
      if (!groupIds.includes(groupId)) return; // a group lanebot's config does not name
      await commandQueues.maintenance.add('refresh-user-groups', { kind: 'refresh-user-groups', groupId }, { jobId: `refresh-${groupId}-${Date.now()}` });
    },
    channelMembership: commandMembership,
    onRequest: ackPriority ? () => ackPriority.requestArrived() : undefined,
    logger,
    metrics,
    mounts,
    health: async () => {
      try {
        await withTimeout(commandRedis.ping(), 1_000, 'PING timed out');
        return { ok: true, details: { redis: 'up' } };
      } catch (error) {
        return { ok: false, details: { redis: 'down', error: describeCause(error) } };
      }
    },
  });

  async function maintain(data: MaintenanceJobData): Promise<void> {
    switch (data.kind) {
      case 'recover':
        await recover();
        // A process that died between following a pipeline and turning the poll on left it off.
        await pipelineWatch?.ensureScheduled();
        return;
      case 'watch-pipelines': {
        const pass = await pipelineWatch?.pollOnce();
        if (pass && (pass.woken > 0 || pass.failed > 0)) logger.child({ component: 'pipeline-watch' }).debug(pass, 'pipeline watch pass');
        return;
      }
      case 'poll-alarms': {
        const pass = await alarmWatch.pollOnce();
        if (pass.changes > 0 || pass.discovered > 0) logger.child({ component: 'alarms' }).info(pass, 'alarm safety-net pass');
        return;
      }
      case 'expiry-sweep': {
        const swept = await expiry.sweep();
        // Debug: while a lane stands warned, every sweep queues its (de-duplicated) work again; what
        // the work does is logged and audited where it happens.
        if (swept.warn + swept.expire + swept.withdrawn > 0) logger.child({ component: 'expiry' }).debug(swept, 'expiry sweep');
        return;
      }
      case 'expiry-digest':
        await expiry.digest();
        return;
      case 'refresh-channel-membership':
        await refreshChannelMembership(chat, membership, Object.keys(config.channels), () => clock.now(), logger.child({ component: 'channel-membership' }));
        return;
      case 'refresh-user-groups': {
        const ids = data.groupId ? [data.groupId] : groupIds;
        await refreshUserGroups(directory, userGroups, ids, clock.now(), logger.child({ component: 'user-groups' }));
        return;
      }
    }
  }

  const workers: Worker[] = [];
  const workerOptions = { connection: redis, prefix: keys.bull, ...overrides.workerOptions };
  function startWorkers(): void {
    const concurrency = env.LANEBOT_ROLE === 'worker' ? WORKER_ONLY_CONCURRENCY : WORKER_CONCURRENCY;
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
    const runOperation = step<OperationJobData>(QUEUE_NAMES.operations, (data) => runner.handle(data));
    workers.push(
      new Worker<OperationJobData>(
        QUEUE_NAMES.operations,
        async (job, token) => {
          try {
            await runOperation(job, token);
          } catch (error) {
            if ((error as Error).name === 'DelayedError') throw error;
            // The last attempt failed: end the operation (and free its slot) instead of leaving it
            // "running" with no job. Earlier attempts throw, and BullMQ retries them with backoff.
            const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
            const operationId = job.data.kind === 'request' ? job.data.request.id : job.data.operationId;
            if (!lastAttempt) throw error;
            await runner.failForGood(operationId, error);
          }
        },
        { ...workerOptions, concurrency: concurrency.operations },
      ),
      new Worker<NarrateJobData>(
        QUEUE_NAMES.narrate,
        async (job, token) => {
          if (job.name === 'sweep') return void (await sweepPendingThreads(redis, keys, queues));
          return step<NarrateJobData>(QUEUE_NAMES.narrate, (data) => flusher.flush(data))(job, token);
        },
        { ...workerOptions, concurrency: concurrency.narrate },
      ),
      new Worker<MaintenanceJobData>(QUEUE_NAMES.maintenance, (job) => maintain(job.data), {
        ...workerOptions,
        concurrency: concurrency.maintenance,
      }),
      new Worker<ExpiryJobData>(QUEUE_NAMES.expiry, step<ExpiryJobData>(QUEUE_NAMES.expiry, (data) => expiry.handle(data)), {
        ...workerOptions,
        concurrency: concurrency.expiry,
      }),
      new Worker<FollowUpJobData>(
        QUEUE_NAMES.followUps,
        (job) => reportLaneHealth(job.data, { cloud, lanes, chat, redis, keys, logger: logger.child({ component: 'follow-ups' }) }),
        { ...workerOptions, concurrency: concurrency.followUps },
      ),
    );
    for (const worker of workers) {
      worker.on('failed', (job, error) => logger.error({ queue: worker.name, jobId: job?.id, err: error }, 'job failed'));
      worker.on('error', (error) => logger.warn({ queue: worker.name, err: describeCause(error) }, 'worker error'));
    }
  }

  /** One schedule per job shared by every process (upsert is idempotent). Not awaited: see start(). */
  function schedule(): void {
    const upserts: Promise<unknown>[] = [
      // See chat/thread-narrator.ts for why stale threads are swept.
      queues.narrate.upsertJobScheduler('narrate-sweep', { every: SWEEP_INTERVAL_MS }, { name: 'sweep', data: { operationId: '' } }),
      queues.maintenance.upsertJobScheduler('recover', { every: overrides.recovery?.intervalMs ?? RECOVERY_INTERVAL_MS }, { name: 'recover', data: { kind: 'recover' } }),
    ];
    // The sweep runs in the cloud's time: with the simulator's faster clock, more often (at most once a second).
    const sweepEvery = overrides.expiry?.sweepEveryMs ?? Math.max(1_000, Math.round(EXPIRY_SWEEP_INTERVAL_MS / timeScale));
    if (sweepEvery !== false) {
      upserts.push(queues.maintenance.upsertJobScheduler('expiry-sweep', { every: sweepEvery }, { name: 'expiry-sweep', data: { kind: 'expiry-sweep' } }));
    }
    const digestEvery = overrides.expiry?.digestEveryMs ?? Math.max(60_000, Math.round(EXPIRY_DIGEST_INTERVAL_MS / timeScale));
    if (digestEvery !== false) {
      upserts.push(queues.maintenance.upsertJobScheduler('expiry-digest', { every: digestEvery }, { name: 'expiry-digest', data: { kind: 'expiry-digest' } }));
    }
    // On at start only when executions are followed (a restart); steps turn it on as they start.
    if (pipelineWatch) upserts.push(pipelineWatch.ensureScheduled());
    const pollAlarmsEvery = overrides.alarms?.pollEveryMs ?? ALARM_POLL_INTERVAL_MS;
    if (pollAlarmsEvery !== false) {
      upserts.push(queues.maintenance.upsertJobScheduler('poll-alarms', { every: pollAlarmsEvery }, { name: 'poll-alarms', data: { kind: 'poll-alarms' } }));
    }
    if (Object.keys(config.channels).length > 0 && overrides.refreshChannelMembership !== false) {
      upserts.push(
        // The first run comes at once (BullMQ runs an `every` scheduler's first job on upsert).
        queues.maintenance.upsertJobScheduler(
          'refresh-channel-membership',
          { every: CHANNEL_MEMBERSHIP_REFRESH_MS },
          { name: 'refresh-channel-membership', data: { kind: 'refresh-channel-membership' } },
        ),
      );
    }
    if (groupIds.length > 0) {
      upserts.push(
        queues.maintenance.upsertJobScheduler(
          'refresh-user-groups',
          // The first run comes at once (a fresh install knows no group members yet): BullMQ runs an
          // `every` scheduler's first job on upsert, and warns on the console if told `immediately`.
          { every: USER_GROUP_REFRESH_MS },
          { name: 'refresh-user-groups', data: { kind: 'refresh-user-groups' } },
        ),
      );
    }
    void Promise.all(upserts).catch((error: unknown) => logger.warn({ err: describeCause(error) }, 'could not schedule the periodic jobs yet'));
  }

  let stopped = false;
  return {
    config,
    keys,
    redis,
    queues,
    operations,
    lanes,
    rulePriorities,
    audit,
    userGroups,
    channelMembership: membership,
    runner,
    slack,
    sim,
    simStacks: simCloud?.sim.stacks,
    simHealth: simCloud?.sim.laneHealth,
    simClock,
    simFaults: simCloud?.sim.faults,
    simImages: simCloud?.sim.images,
    simTraffic: simCloud?.sim.traffic,
    recover,
    expiry,
    alarmWatch,
    pipelineWatch,
    approvalsPending: (scope) => approvals.pending(scope),
    ackPriority,
    async start() {
      await simClock?.start();
      // Not awaited: with Redis down it waits for the connection; until it listens, every call asks Redis.
      simCloud?.sim.faults.watch().catch((error: unknown) => logger.warn({ err: error }, 'the simulated faults are read from Redis on every call'));
      // Take commands once Redis answers, so the first deploy is not refused for a connection still
      // being opened; if Redis is down, start anyway: commands then say so, and /healthz reports 503.
      // (It may be ready already: 'ready' fired before start() was called, and once() would wait in vain.)
      const ready: Promise<unknown> = commandRedis.status === 'ready' ? Promise.resolve() : once(commandRedis, 'ready');
      await withTimeout(ready, 3_000, 'Redis not ready').catch(() =>
        logger.warn({ redis: env.REDIS_URL.replace(/\/\/[^@]*@/, '//***@') }, 'Redis is not reachable yet; starting anyway'),
      );
      if (env.LANEBOT_ROLE !== 'web') {
        startWorkers();
        // Not awaited: with Redis down it waits for the connection, and starting must not.
        schedule();
        if (overrides.alarms?.consumeEvents ?? true) alarmWatch.startConsuming();
        if (pipelineWatch && cloud.pipelineEvents) pipelineWatch.startConsuming(cloud.pipelineEvents);
      }
      if (env.LANEBOT_ROLE === 'worker') return 0;
      const port = await slack.start(env.PORT);
      logger.info(
        { port, mode: env.SLACK_APP_TOKEN ? 'socket' : 'http', cloud: env.CLOUD, queueDashboard: mounts ? QUEUE_DASHBOARD_PATH : 'off (no ADMIN_TOKEN)' },
        'lanebot started',
      );
      return port;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // Stop taking new commands first, then let workers finish their current step. A step that
      // does not finish in time is handed back to another process by BullMQ's stalled-job check.
      await slack.stop().catch((error: unknown) => logger.warn({ err: error }, 'stopping the Slack receiver failed'));
      // Paused workers stay paused: they are closed next.
      ackPriority?.stop();
      await withTimeout(alarmWatch.stop(), 5_000, 'the alarm event loop did not stop').catch(() => undefined);
      if (pipelineWatch) await withTimeout(pipelineWatch.stop(), 5_000, 'the pipeline event loop did not stop').catch(() => undefined);
      // With Redis unreachable there is nothing to finish or hand back, and BullMQ's close would
      // wait for a connection that never comes: drop the sockets first.
      const redisUp = redis.status === 'ready';
      if (!redisUp) for (const connection of connections) connection.disconnect();
      const graceful = Promise.all(workers.map((w) => w.close(!redisUp)));
      await withTimeout(graceful, redisUp ? STOP_GRACE_MS : 2_000, 'workers did not stop in time').catch(async (error: unknown) => {
        logger.warn({ err: describeCause(error) }, 'forcing workers to stop; their jobs return to the queue');
        await withTimeout(Promise.all(workers.map((w) => w.close(true))), 2_000, 'forced close timed out').catch(() => undefined);
      });
      await withTimeout(Promise.all([queues.close(), commandQueues.close()]), redisUp ? STOP_GRACE_MS : 2_000, 'queues did not close').catch(
        () => undefined,
      );
      for (const connection of connections) {
        // QUIT waits for Redis to answer; with Redis gone, just drop the socket.
        if (connection.status === 'ready') await connection.quit().catch(() => connection.disconnect());
        else connection.disconnect();
      }
      simClock?.stop();
      await simCloud?.sim.faults.close();
      logger.info('lanebot stopped');
    },
  };
}

/**
 * Queues an operation request as one job. Fails fast, with "nothing was queued", when Redis is not
 * connected; BullMQ would otherwise wait for the connection while the user waits for an answer.
 */
async function enqueueRequest(commandRedis: RedisClient, queues: Queues, request: OperationRequest): Promise<void> {
  if (commandRedis.status !== 'ready') throw new QueueUnavailableError(new Error(`Redis connection is ${commandRedis.status}`));
  try {
    await withTimeout(
      queues.operations.add('request', { kind: 'request', request }, { jobId: requestJobId(request.id) }),
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

/**
 * Queues `/lane status`'s health follow-up, held back (delayed) until the listener has delivered the
 * first answer and calls `release`, or FOLLOW_UP_HOLD_MS at most. Fails fast like enqueueRequest.
 */
async function queueLaneHealth(commandRedis: RedisClient, queues: Queues, request: LaneHealthRequest): Promise<{ release(): Promise<void> }> {
  if (commandRedis.status !== 'ready') throw new QueueUnavailableError(new Error(`Redis connection is ${commandRedis.status}`));
  const data: FollowUpJobData = { kind: 'lane-health', ...request };
  const jobId = followUpJobId(data);
  try {
    await withTimeout(queues.followUps.add('lane-health', data, { jobId, delay: FOLLOW_UP_HOLD_MS }), ENQUEUE_TIMEOUT_MS, 'Redis did not confirm in time');
  } catch (error) {
    throw new QueueUnavailableError(error, { unconfirmed: error instanceof TimeoutError });
  }
  return {
    async release() {
      const job = await queues.followUps.getJob(jobId);
      // It may have gone by itself meanwhile (the hold ran out): then there is nothing to let go.
      if (job && (await job.isDelayed())) await job.promote().catch(() => undefined);
    },
  };
}

/**
 * The user and their configured groups, from lanebot's Redis copy. On the ack path: when Redis is
 * slow or down the user is taken without groups (a member of an approver group is then refused
 * with a reason, and nothing can be queued anyway), never held past Slack's 3 seconds.
 */
async function principalOf(cache: UserGroupCache, userId: string, groupIds: string[], logger: Logger): Promise<Principal> {
  if (groupIds.length === 0) return userPrincipal(userId);
  try {
    return await withTimeout(cache.principal(userId, groupIds), PRINCIPAL_TIMEOUT_MS, 'user groups not read in time');
  } catch (error) {
    logger.warn({ user: userId, err: describeCause(error) }, 'could not read user group memberships; going on without them');
    return userPrincipal(userId);
  }
}

function redisUnavailable(error: unknown): never {
  throw new LanebotError(
    'QUEUE_UNAVAILABLE',
    `lanebot could not read its Redis (${describeCause(error)}). Try again in a minute; if it keeps failing, tell your platform team.`,
    { cause: error, retryable: true },
  );
}

/**
 * A templates directory named in the environment must hold the pipeline templates `/lane setup`
 * deploys: a wrong path stops the start here, with its name, rather than failing a setup later.
 */
function checkTemplatesDir(dir: string | undefined): string | undefined {
  if (dir === undefined) return undefined;
  if (!existsSync(join(dir, 'pipelines'))) {
    throw new ConfigError(
      `environment is invalid:\n  - LANEBOT_TEMPLATES_DIR: ${dir} has no pipelines/ folder; point it at the templates/ folder lanebot ships with, or leave it unset`,
    );
  }
  return dir;
}

/** The templates/ directory lanebot ships with: next to src/ when run from source, two up from dist/src/. */
function defaultTemplatesDir(): string {
  const candidates = [resolve(__dirname, '..', 'templates'), resolve(__dirname, '..', '..', 'templates')];
  return candidates.find((dir) => existsSync(join(dir, 'pipelines'))) ?? candidates[0]!;
}

