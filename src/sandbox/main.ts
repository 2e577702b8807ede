// `npm run sandbox`: the whole bot on one machine. Finds (or starts) a Redis, starts the console
// (Slack's stand-in: Web API, workspace, web page) and the real bot with CLOUD=sim pointed at it,
// then prints the console URL.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { readEnvOptions } from '../config';
import { ConfigError } from '../errors';
import { createLanebot, type Lanebot } from '../lanebot';
import { startConsoleServer, type ConsoleServer } from './console-server';
import { findRedis, NoRedisError, type FoundRedis } from './find-redis';
import { deleteKeysWithPrefix } from '../state/keys';
import { loadSandboxConfig } from './sandbox-config';
import { simControlRoutes } from './sim-controls';
import { SlackWorkspace } from './slack-workspace';

/** Simulated pipelines take about five minutes; at 10× a deploy is pleasant to watch (~30 s). */
const DEFAULT_TIME_SCALE = '10';

async function main(): Promise<void> {
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn', base: { app: 'lanebot-sandbox' } });
  let redis: FoundRedis | undefined;
  let consoleServer: ConsoleServer | undefined;
  let bot: Lanebot | undefined;
  let prefix = '';
  const stopAll = async () => {
    await bot?.stop().catch(() => undefined);
    await consoleServer?.close().catch(() => undefined);
    if (redis && prefix) await deleteKeys(redis.url, prefix).catch(() => undefined);
    await redis?.stop().catch(() => undefined);
  };

  try {
    const configPath = process.env.SANDBOX_CONFIG ?? defaultConfigPath();
    const sandbox = loadSandboxConfig(configPath);
    redis = await findRedis(process.env);
    const signingSecret = randomBytes(16).toString('hex');
    prefix = `sandbox-${randomBytes(4).toString('hex')}`;
    const botPort = Number(process.env.PORT ?? 3000);
    const consolePort = Number(process.env.SANDBOX_PORT ?? 4000);

    const workspace = new SlackWorkspace({
      users: sandbox.users,
      channels: sandbox.channels.map((c) => ({ ...c, members: c.members.length > 0 ? c.members : undefined })),
      userGroups: sandbox.userGroups,
      logger,
    });
    const env = readEnvOptions({
      SLACK_BOT_TOKEN: 'xoxb-sandbox',
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_API_URL: 'http://127.0.0.1/', // replaced below, once the console has its port
      PORT: String(botPort),
      REDIS_URL: redis.url,
      CLOUD: 'sim',
      SIM_TIME_SCALE: process.env.SIM_TIME_SCALE ?? DEFAULT_TIME_SCALE,
      // The workspace lives in memory and starts empty every run, so the bot's state does too.
      LANEBOT_REDIS_PREFIX: prefix,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    });

    let simRoutes: ReturnType<typeof simControlRoutes> | undefined;
    // No bot URL yet: until the bot answers, the console says "the bot is still starting" instead of
    // sending a command Slack-style into nothing (which Slack reports as dispatch_failed).
    consoleServer = await startConsoleServer({
      workspace,
      signingSecret,
      port: consolePort,
      logger,
      extraRoutes: (req, res, url) => simRoutes?.(req, res, url) ?? Promise.resolve(false),
    });
    workspace.consoleUrl = consoleServer.url;

    bot = createLanebot({ ...env, SLACK_API_URL: consoleServer.apiUrl }, sandbox.lanebot, { logger });
    simRoutes = simControlRoutes(bot, sandbox.lanebot);
    await bot.start();
    consoleServer.setBotUrl(`http://127.0.0.1:${botPort}`);

    const banner = [
      '',
      `  lanebot sandbox: open ${consoleServer.url}`,
      '',
      `  bot       http://127.0.0.1:${botPort} (CLOUD=sim, SIM_TIME_SCALE=${env.SIM_TIME_SCALE})`,
      `  redis     ${redis.url} (${redis.origin === 'spawned' ? 'started for the sandbox, stopped with it' : redis.origin})`,
      `  config    ${configPath}`,
      `  try       /lane deploy gray release/1.2.3 in #${sandbox.channels.find((c) => c.binding)?.name ?? 'a bound channel'}`,
      '',
    ];
    process.stdout.write(`${banner.join('\n')}\n`);
  } catch (error) {
    await stopAll();
    if (error instanceof NoRedisError || error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`the sandbox could not start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }

  const stop = () => {
    void stopAll().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Removes this run's keys (queues, lanes, simulated account) from a Redis that outlives it. */
async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    await deleteKeysWithPrefix(client, prefix);
  } finally {
    client.disconnect();
  }
}

function defaultConfigPath(): string {
  // Works from src/sandbox (tsx) and from dist/src/sandbox (the build).
  const candidates = [join(__dirname, 'sandbox.yml'), join(__dirname, '..', '..', '..', 'src', 'sandbox', 'sandbox.yml')];
  return candidates.find((path) => existsSync(path)) ?? candidates[0]!;
}

void main();
