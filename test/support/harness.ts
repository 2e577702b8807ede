// Starts a real lanebot (real Bolt receiver, real Redis, the simulator behind the pipeline port)
// against a local Slack stub, each on its own Redis key prefix, and cleans up after.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { parseConfig, readEnvOptions } from '../../src/config';
import { createLanebot, type Lanebot, type LanebotOverrides } from '../../src/lanebot';
import { deleteKeysWithPrefix } from '../../src/state/keys';
import { connectRedis, type RedisClient } from '../../src/redis/redis-connection';
import { redisTargetOf } from '../../src/redis/redis-target';
import { postSlashCommand } from './signed-request';
import { SlackStub } from './slack-stub';
import { TEST_CONFIG } from './test-config';

export { TEST_CONFIG };

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const SIGNING_SECRET = 'test-signing-secret';

/**
 * The Redis Cluster the suite runs against instead of REDIS_URL, when there is one: set by
 * TEST_REDIS_CLUSTER=1 (test/support/cluster-global-setup.ts starts a local cluster) or given as
 * TEST_REDIS_CLUSTER_NODES. Read when called: the global setup sets it after this module loads.
 */
export function testClusterNodes(): string | undefined {
  return process.env.TEST_REDIS_CLUSTER_NODES || undefined;
}

/** A connection to the Redis the tests run against (the cluster, when there is one). */
export function connectTestRedis(clusterNodes = testClusterNodes()): RedisClient {
  return connectRedis(redisTargetOf({ REDIS_URL, REDIS_CLUSTER_NODES: clusterNodes }));
}


/** A clock the test moves by hand; the simulator's pipelines advance only when it does. */
export class ManualClock {
  constructor(public time = Date.UTC(2026, 10, 23, 9, 0, 0)) {}
  now(): number {
    return this.time;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

export interface TestBot {
  bot: Lanebot;
  url: string;
  stub: SlackStub;
  clock: ManualClock;
  prefix: string;
  /** Sends a signed `/lane` command; the returned id names its response_url. */
  command(text: string, options?: { user?: string; channel?: string }): Promise<{ status: number; body: string; id: string }>;
  stop(): Promise<void>;
}

export interface TestBotOptions {
  stub?: SlackStub;
  clock?: ManualClock;
  prefix?: string;
  env?: Record<string, string>;
  overrides?: LanebotOverrides;
  config?: string;
}

export async function startTestBot(options: TestBotOptions = {}): Promise<TestBot> {
  const stub = options.stub ?? (await new SlackStub().start());
  const clock = options.clock ?? new ManualClock();
  const prefix = options.prefix ?? `test-${randomUUID()}`;
  const env = readEnvOptions({
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: stub.apiUrl,
    PORT: '0',
    REDIS_URL,
    // A test that names its own Redis (one that is down, say) gets that one, not the cluster.
    ...(testClusterNodes() && !options.env?.REDIS_URL ? { REDIS_CLUSTER_NODES: testClusterNodes()! } : {}),
    CLOUD: 'sim',
    LANEBOT_REDIS_PREFIX: prefix,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...options.env,
  });
  const bot = createLanebot(env, parseConfig(options.config ?? TEST_CONFIG), {
    logger: pino({ level: env.LOG_LEVEL }),
    clock,
    pollIntervalMs: 50,
    pacing: { postIntervalMs: 5, updateIntervalMs: 5, threadLockMs: 2000 },
    // Tests count and fail Slack calls; a scheduled conversations.info would take their turn.
    refreshChannelMembership: false,
    // Likewise the alarm watch: tests of alarms drive it (pollOnce, consumeOnce) or turn it on.
    alarms: { consumeEvents: false, pollEveryMs: false },
    // And lane expiry: tests call expiry.sweep() and expiry.digest() when they move the clock.
    expiry: { sweepEveryMs: false, digestEveryMs: false },
    ...options.overrides,
  });
  const port = await bot.start();
  const url = `http://127.0.0.1:${port}`;
  let counter = 0;
  return {
    bot,
    url,
    stub,
    clock,
    prefix,
    async command(text, cmdOptions = {}) {
      const id = `cmd${++counter}-${randomUUID().slice(0, 8)}`;
      const result = await postSlashCommand(url, { text, responseUrl: stub.responseUrl(id), ...cmdOptions }, SIGNING_SECRET);
      return { ...result, id };
    },
    async stop() {
      await bot.stop();
      if (!options.stub) await stub.stop();
    },
  };
}

/** What botsPerTest() gives each test: its own Slack stub and key prefix, and the bots it starts. */
export interface BotsPerTest {
  readonly stub: SlackStub;
  readonly prefix: string;
  /** Bots pushed here are stopped after the test, before its stub and keys go. */
  readonly bots: TestBot[];
}

/**
 * A Slack stub and a Redis key prefix of its own for each test of the calling file; after each
 * test, the bots it pushed on `bots` are stopped, the stub too, and the keys deleted.
 */
export function botsPerTest(): BotsPerTest {
  const state: { stub?: SlackStub; prefix: string; bots: TestBot[] } = { prefix: '', bots: [] };
  beforeEach(async () => {
    state.stub = await new SlackStub().start();
    state.prefix = `test-${randomUUID()}`;
  });
  afterEach(async () => {
    for (const bot of state.bots.splice(0)) await bot.stop().catch(() => undefined);
    await state.stub?.stop();
    await deletePrefix(state.prefix);
  });
  return {
    get stub() {
      if (!state.stub) throw new Error('botsPerTest: the stub exists only inside a test');
      return state.stub;
    },
    get prefix() {
      return state.prefix;
    },
    bots: state.bots,
  };
}

/** Deletes every key under a test's prefix. */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = connectTestRedis();
  try {
    await deleteKeysWithPrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

/** Waits until `check` returns a truthy value (polling); fails with `what` if it never does. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}

/**
 * The HTTP status of a request, its body read to the end: a response whose body nobody reads keeps
 * its keep-alive socket busy, open past the test file (and Jest's worker then fails to exit).
 */
export async function statusOf(url: string, init?: RequestInit): Promise<number> {
  const response = await fetch(url, init);
  await response.arrayBuffer();
  return response.status;
}
