// A lanebot worker process for the "killed mid-deploy" test. It starts the pipeline through the
// simulator, records that it did, and then hangs before it can record the execution — the worst
// moment to die. The test SIGKILLs it there.
import pino from 'pino';
import type { PipelinesPort } from '../../src/cloud/pipelines.port';
import { simPipelineCatalog } from '../../src/cloud/sim/sim-pipeline-catalog';
import { SimPipelines } from '../../src/cloud/sim/sim-pipelines';
import { deliveryPlan, parseConfig, readEnvOptions } from '../../src/config';
import { createLanebot } from '../../src/lanebot';
import { keyPrefixFor } from '../../src/state/keys';
import { connectRedis } from '../../src/redis/redis-connection';
import { redisTargetOf } from '../../src/redis/redis-target';
import { systemClock } from '../../src/clock';
import { TEST_CONFIG } from './harness';

const env = readEnvOptions(process.env);
// The bot's Redis, one server or the cluster the suite runs on (TEST_REDIS_CLUSTER=1).
const markerRedis = connectRedis(redisTargetOf(env));
const sim = new SimPipelines({
  redis: markerRedis,
  prefix: `${keyPrefixFor(env.LANEBOT_REDIS_PREFIX, redisTargetOf(env))}:sim`,
  clock: systemClock,
  timeScale: env.SIM_TIME_SCALE,
  pipelines: () => simPipelineCatalog(deliveryPlan(parseConfig(TEST_CONFIG))),
});
const hangingPipelines: PipelinesPort = {
  async startExecution(input) {
    const result = await sim.startExecution(input);
    await markerRedis.set(`${env.LANEBOT_REDIS_PREFIX}:test:started`, result.executionId);
    return new Promise(() => undefined);
  },
  getExecution: (pipeline, id) => sim.getExecution(pipeline, id),
  listExecutions: (pipeline, options) => sim.listExecutions(pipeline, options),
  pendingApprovals: (pipeline, id) => sim.pendingApprovals(pipeline, id),
  putApprovalResult: (decision) => sim.putApprovalResult(decision),
};

const bot = createLanebot(env, parseConfig(TEST_CONFIG), {
  logger: pino({ level: env.LOG_LEVEL }),
  pipelines: hangingPipelines,
  pollIntervalMs: 50,
  pacing: { postIntervalMs: 5, updateIntervalMs: 5, threadLockMs: 2000 },
  workerOptions: { lockDuration: 2000, stalledInterval: 1000 },
});
void bot.start().then(() => process.send?.('ready'));
