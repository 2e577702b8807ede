// A canary on the simulated cloud, through the ports only, as the canary operation drives it: lane
// default deployed, the canary stack created at 0 % through the StacksPort, its weights moved by
// parameter updates, and the traffic of its target group and of the baseline read through the
// MetricsPort with the dimensions its outputs name.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSimCloud } from '../../src/cloud/sim/create-sim-cloud';
import type { StacksPort } from '../../src/cloud/stacks.port';
import { redisPerTest, T0 } from '../support/fixtures';

const TEMPLATES = join(__dirname, '../../templates');
const SCALE = 60;
/** A simulated minute on the clock at SCALE. */
const MIN = 60_000 / SCALE;
const CANARY = 'app-user-api-dev-canary';

const db = redisPerTest();
let t: number;

function cloud() {
  return createSimCloud({
    redis: db.redis,
    prefix: `${db.prefix}:sim`,
    clock: { now: () => t },
    timeScale: SCALE,
    account: { environments: [{ env: 'dev', protected: false }], apps: [{ service: 'user-api', env: 'dev', pipeline: 'user-api-dev' }] },
    templatesDir: TEMPLATES,
  });
}

async function until(stacks: StacksPort, stackName: string, status: string): Promise<void> {
  // The clock is the test's: move it a simulated minute at a time until the operation is done.
  for (let i = 0; i < 10; i++) {
    const progress = await stacks.progress(stackName);
    if (progress.finished) {
      expect(progress.status).toBe(status);
      return;
    }
    t += MIN;
  }
  throw new Error(`${stackName} did not finish`);
}

beforeEach(() => {
  t = T0;
});

it('reads the canary’s and the baseline’s traffic through the metrics port, step by step', async () => {
  const sim = cloud();
  const { stacks, metrics } = sim;
  await sim.sim.laneHealth.setHealth({ service: 'user-api', env: 'dev', lane: 'gray' }, { errorRatePercent: 4, p99Ms: 300 });

  const lane = await stacks.deployStack({
    stackName: 'app-user-api-dev-default',
    templateBody: readFileSync(join(TEMPLATES, 'service-stack.yaml'), 'utf8'),
    parameters: { Env: 'dev', ServiceName: 'user-api', Lane: 'default', ImageUri: 'repo/user-api:default-1', RulePriority: '0' },
    clientRequestToken: randomUUID(),
  });
  expect(lane.kind).toBe('started');
  await until(stacks, 'app-user-api-dev-default', 'CREATE_COMPLETE');

  const created = await stacks.deployStack({
    stackName: CANARY,
    templateBody: readFileSync(join(TEMPLATES, 'canary-stack.yaml'), 'utf8'),
    parameters: { Env: 'dev', ServiceName: 'user-api', SourceLane: 'gray', ImageUri: 'repo/user-api@sha256:' + 'ef'.repeat(32), CanaryWeight: '0', BaselineWeight: '100' },
    clientRequestToken: randomUUID(),
  });
  expect(created.kind).toBe('started');
  await until(stacks, CANARY, 'CREATE_COMPLETE');
  const outputs = (await stacks.describeStack(CANARY))!.outputs;
  const groups = [outputs.TargetGroupFullName!, outputs.BaselineTargetGroupFullName!];
  const read = (from: number, to: number) => metrics.trafficFigures({ loadBalancer: outputs.LoadBalancerFullName!, targetGroups: groups, start: from, end: to });

  // At 0 %: everything untagged to the baseline.
  const zeroFrom = Math.ceil(t / MIN) * MIN;
  t = zeroFrom + 2 * MIN;
  const atZero = await read(zeroFrom, t);
  expect(atZero[outputs.TargetGroupFullName!]).toEqual({ requests: 0, errors5xx: 0 });
  expect(atZero[outputs.BaselineTargetGroupFullName!]).toMatchObject({ requests: 12_000, errors5xx: 0, errorRatePercent: 0 });

  // Step to 5 %.
  const update = await stacks.updateStackParameters({ stackName: CANARY, parameters: { CanaryWeight: '5', BaselineWeight: '95' }, clientRequestToken: randomUUID() });
  expect(update.kind).toBe('started');
  await until(stacks, CANARY, 'UPDATE_COMPLETE');
  const stepFrom = Math.ceil(t / MIN) * MIN;
  t = stepFrom + 4 * MIN;
  const atFive = await read(stepFrom, t);
  const canary = atFive[outputs.TargetGroupFullName!]!;
  const baseline = atFive[outputs.BaselineTargetGroupFullName!]!;
  expect(canary).toMatchObject({ requests: 1_200, errors5xx: 48, errorRatePercent: 4 });
  expect(canary.p99Ms).toBeGreaterThan(290);
  expect(canary.p99Ms).toBeLessThan(310);
  expect(baseline).toMatchObject({ requests: 22_800, errors5xx: 0, errorRatePercent: 0 });

  // The 0 % window read again now, after the step: what it was then.
  expect(await read(zeroFrom, zeroFrom + 2 * MIN)).toEqual(atZero);
});
