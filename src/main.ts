// Entry point: read env and config, build the bot, start it, stop it cleanly on SIGTERM/SIGINT.
import { existsSync } from 'node:fs';
import pino from 'pino';
import { loadConfig, readEnvOptions } from './config';
import { ConfigError } from './errors';
import { createLanebot } from './lanebot';

/** After this long, a stop that is still waiting on jobs gives up; BullMQ hands them to another process. */
const SHUTDOWN_GRACE_MS = 25_000;

async function main(): Promise<void> {
  const bootLogger = pino({ base: { app: 'lanebot' } });
  let bot;
  try {
    // A .env file in the working directory fills in variables the environment does not set.
    if (existsSync('.env')) process.loadEnvFile('.env');
    const env = readEnvOptions();
    const config = loadConfig(env.LANEBOT_CONFIG);
    bot = createLanebot(env, config, { logger: pino({ level: env.LOG_LEVEL, base: { app: 'lanebot' } }) });
  } catch (error) {
    if (error instanceof ConfigError) {
      bootLogger.fatal(error.message);
      process.exit(2);
    }
    throw error;
  }

  const stop = (signal: string) => {
    bootLogger.info({ signal }, 'stopping: no new work is taken; running steps finish');
    const force = setTimeout(() => {
      bootLogger.warn('shutdown grace period over; exiting with jobs handed back to the queue');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    bot.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        bootLogger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  // A failed Slack or AWS call must never take the process down; log it and carry on.
  process.on('unhandledRejection', (reason) => bootLogger.error({ err: reason }, 'unhandled promise rejection'));

  try {
    await bot.start();
  } catch (error) {
    // E.g. the port is taken: without a receiver this process would be useless, so say why and exit.
    bootLogger.fatal({ err: error }, 'lanebot could not start');
    await bot.stop().catch(() => undefined);
    process.exit(1);
  }
}

void main();
