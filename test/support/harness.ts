// Starts a real lanebot (real Bolt receiver, real Redis, the simulator behind the pipeline port)
// against a local Slack stub, each on its own Redis key prefix, and cleans up after.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { parseConfig, readEnvOptions } from '../../src/config';
import { createLanebot, type Lanebot, type LanebotOverrides } from '../../src/lanebot';
import { deleteKeysWithPrefix } from '../../src/state/keys';
import { postSlashCommand } from './signed-request';
import { SlackStub } from './slack-stub';
import { TEST_CONFIG } from './test-config';

export { TEST_CONFIG };

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const SIGNING_SECRET = 'test-signing-secret';


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

/** Deletes every key under a test's prefix. */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
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
