// A lanebot worker process for the "killed mid-canary" test. It runs deploys and the canary like any
// worker, and on the canary's second metrics read (its 5 % step's check) records that it got there and
// hangs inside the call — a worker dead in the middle of a step. The test SIGKILLs it there.
import pino from 'pino';
import { parseConfig, readEnvOptions } from '../../src/config';
import { createLanebot } from '../../src/lanebot';
import { connectRedis } from '../../src/redis/redis-connection';
import { redisTargetOf } from '../../src/redis/redis-target';
import { CANARY_TEST_CONFIG } from './test-config';

const env = readEnvOptions(process.env);
// The bot's Redis, one server or the cluster the suite runs on (TEST_REDIS_CLUSTER=1).
const markerRedis = connectRedis(redisTargetOf(env));
const marker = (name: string) => `${env.LANEBOT_REDIS_PREFIX}:test:${name}`;

const bot = createLanebot(env, parseConfig(CANARY_TEST_CONFIG), {
  logger: pino({ level: env.LOG_LEVEL }),
  pollIntervalMs: 50,
  pacing: { postIntervalMs: 5, updateIntervalMs: 5, threadLockMs: 2000 },
  workerOptions: { lockDuration: 2000, stalledInterval: 1000 },
  clock: { now: () => Date.now() },
  wrapCloud: (cloud) => ({
    ...cloud,
    metrics: {
      async trafficFigures(window) {
        if ((await markerRedis.incr(marker('metrics-reads'))) === 2) {
          await markerRedis.set(marker('hung'), '1');
          return new Promise(() => undefined);
        }
        return cloud.metrics.trafficFigures(window);
      },
    },
  }),
});
void bot.start().then(() => process.send?.('ready'));
