// The simulator's traffic figures (MetricsPort) over real simulated stacks and lane settings: the
// untagged requests split by the canary stack's weights as they were over the window, header-routed
// lanes' own requests, 5xx and p99 from the settings of the lane each target group serves.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrafficWindow } from '../../../src/cloud/metrics.port';
import type { DeployStackInput } from '../../../src/cloud/stacks.port';
import { loadBalancerNames } from '../../../src/cloud/sim/sim-account';
import { SimFaults } from '../../../src/cloud/sim/sim-faults';
import { SimLaneHealth } from '../../../src/cloud/sim/sim-lane-health';
import { SimStacks } from '../../../src/cloud/sim/sim-stacks';
import { SimTraffic } from '../../../src/cloud/sim/sim-traffic';
import { redisPerTest, T0 } from '../../support/fixtures';

const CANARY_TEMPLATE = readFileSync(join(__dirname, '../../../templates/canary-stack.yaml'), 'utf8');
const LANE_TEMPLATE = readFileSync(join(__dirname, '../../../templates/service-stack.yaml'), 'utf8');
const CANARY = 'app-user-api-dev-canary';
const MIN = 60_000;
const GRAY = { service: 'user-api', env: 'dev', lane: 'gray' };
const DEFAULT = { service: 'user-api', env: 'dev', lane: 'default' };
const LB = loadBalancerNames('user-api', 'dev').fullName;
const BASELINE = loadBalancerNames('user-api', 'dev').defaultTargetGroup.fullName;

const db = redisPerTest();
let t: number;
const clock = { now: () => t };

interface Sim {
  stacks: SimStacks;
  health: SimLaneHealth;
  traffic: SimTraffic;
  faults: SimFaults;
  /** What the traffic asked of the stacks, in order. */
  reads: string[];
}

function simulator(timeScale = 1): Sim {
  const prefix = `${db.prefix}:sim`;
  const stacks = new SimStacks({ redis: db.redis, prefix, clock, timeScale });
  const health = new SimLaneHealth({ redis: db.redis, prefix, clock, timeScale, stacks });
  const faults = new SimFaults({ redis: db.redis, prefix });
  const reads: string[] = [];
  const traffic = new SimTraffic({
    stacks: {
      records: (names) => {
        reads.push(`records ${names.join(',')}`);
        return stacks.records(names);
      },
      allRecords: () => {
        reads.push('allRecords');
        return stacks.allRecords();
      },
    },
    health,
    clock,
    timeScale,
    scopes: () => [
      { service: 'user-api', env: 'dev' },
      { service: 'orders', env: 'dev' },
    ],
    faults,
  });
  return { stacks, health, traffic, faults, reads };
}

function lane(name: string, priority: number, extra: Record<string, string> = {}): DeployStackInput {
  return {
    stackName: `app-user-api-dev-${name}`,
    templateBody: LANE_TEMPLATE,
    parameters: { Env: 'dev', ServiceName: 'user-api', Lane: name, ImageUri: `repo/user-api:${name}`, RulePriority: String(priority), ...extra },
    clientRequestToken: randomUUID(),
  };
}

function canary(canaryWeight = 0): DeployStackInput {
  return {
    stackName: CANARY,
    templateBody: CANARY_TEMPLATE,
    parameters: {
      Env: 'dev',
      ServiceName: 'user-api',
      SourceLane: 'gray',
      ImageUri: 'repo/user-api@sha256:' + 'cd'.repeat(32),
      CanaryWeight: String(canaryWeight),
      BaselineWeight: String(100 - canaryWeight),
      RulePriority: '50000',
      DesiredCount: '1',
    },
    clientRequestToken: randomUUID(),
  };
}

async function step(stacks: SimStacks, canaryWeight: number): Promise<void> {
  const result = await stacks.updateStackParameters({
    stackName: CANARY,
    parameters: { CanaryWeight: String(canaryWeight), BaselineWeight: String(100 - canaryWeight) },
    clientRequestToken: randomUUID(),
  });
  expect(result.kind).toBe('started');
}

async function started(result: Promise<{ kind: string }>): Promise<void> {
  expect((await result).kind).toBe('started');
}

/**
 * At time scale 1: lane default created at T0 (done at 1.5 min); the canary created at 2 min at 0 %
 * (done at 3.5 min), stepped to 10 % at 5 min (done at 5.5 min) and to 50 % at 8 min (done at 8.5 min).
 * Leaves the clock at 12 min; returns the canary's target group.
 */
async function canarySteps(sim: Sim): Promise<string> {
  t = T0;
  await started(sim.stacks.deployStack(lane('default', 0)));
  t = T0 + 2 * MIN;
  await started(sim.stacks.deployStack(canary(0)));
  t = T0 + 5 * MIN;
  await step(sim.stacks, 10);
  t = T0 + 8 * MIN;
  await step(sim.stacks, 50);
  t = T0 + 12 * MIN;
  return (await sim.stacks.describeStack(CANARY))!.outputs.TargetGroupFullName!;
}

function window(targetGroups: string[], fromMinute: number, toMinute: number, loadBalancer = LB): TrafficWindow {
  return { loadBalancer, targetGroups, start: T0 + fromMinute * MIN, end: T0 + toMinute * MIN };
}

beforeEach(() => {
  t = T0;
});

describe('SimTraffic: the untagged traffic and the canary’s weights', () => {
  it('sends all the untagged requests, 6,000 a minute, to the default target group while there is no canary', async () => {
    const sim = simulator();
    await started(sim.stacks.deployStack(lane('default', 0)));
    t = T0 + 10 * MIN;

    const figures = await sim.traffic.trafficFigures(window([BASELINE], 3, 8));

    expect(figures[BASELINE]).toMatchObject({ requests: 30_000, errors5xx: 0, errorRatePercent: 0 });
    // Lane default runs from the end of its create (1.5 min): half a minute of the first minute only.
    expect((await sim.traffic.trafficFigures(window([BASELINE], 1, 2)))[BASELINE]!.requests).toBe(3_000);
    expect((await sim.traffic.trafficFigures(window([BASELINE], 0, 1)))[BASELINE]).toEqual({ requests: 0, errors5xx: 0 });
  });

  it('splits them by the weights in force once each step completed', async () => {
    const sim = simulator();
    const canaryGroup = await canarySteps(sim);

    // 9 to 11 min: 50 % all along.
    const now = await sim.traffic.trafficFigures(window([BASELINE, canaryGroup], 9, 11));
    expect(now[canaryGroup]!.requests).toBe(6_000);
    expect(now[BASELINE]!.requests).toBe(6_000);
    // 4 to 5 min: the canary exists at 0 %.
    const before = await sim.traffic.trafficFigures(window([BASELINE, canaryGroup], 4, 5));
    expect(before[canaryGroup]).toEqual({ requests: 0, errors5xx: 0 });
    expect(before[BASELINE]!.requests).toBe(6_000);
  });

  it('gives a window that ended minutes ago the weights it really had, and adds up both sides of a step inside it', async () => {
    const sim = simulator();
    const canaryGroup = await canarySteps(sim);

    // 6 to 8 min, read at 12 min when the weights are 50 %: it was 10 % then.
    const past = await sim.traffic.trafficFigures(window([BASELINE, canaryGroup], 6, 8));
    expect(past[canaryGroup]!.requests).toBe(1_200);
    expect(past[BASELINE]!.requests).toBe(10_800);
    // 6 to 9 min: 2.5 min at 10 % (until the step to 50 % completed at 8.5 min), then half a minute at 50 %.
    const across = await sim.traffic.trafficFigures(window([BASELINE, canaryGroup], 6, 9));
    expect(across[canaryGroup]!.requests).toBe(6_000 * (0.1 * 2.5 + 0.5 * 0.5));
    expect(across[BASELINE]!.requests).toBe(6_000 * (0.9 * 2.5 + 0.5 * 0.5));
    // The step to 50 % started at 8 min and counts from when it completed (8.5 min): 8 to 9 min is half at 10 %.
    expect((await sim.traffic.trafficFigures(window([canaryGroup], 8, 9)))[canaryGroup]!.requests).toBe(6_000 * (0.1 * 0.5 + 0.5 * 0.5));
  });

  it('does not reach past the present, and aligns the window to whole minutes as CloudWatch does', async () => {
    const sim = simulator();
    const canaryGroup = await canarySteps(sim);

    // 10 to 15 min asked at 12 min: two minutes so far.
    expect((await sim.traffic.trafficFigures(window([canaryGroup], 10, 15)))[canaryGroup]!.requests).toBe(6_000);
    // 9.4 to 11.7 min: 9 to 11 min.
    const aligned = await sim.traffic.trafficFigures({ loadBalancer: LB, targetGroups: [canaryGroup], start: T0 + 9.4 * MIN, end: T0 + 11.7 * MIN });
    expect(aligned[canaryGroup]!.requests).toBe(6_000);
  });

  it('stops sending to the canary when its delete starts; its target group then has no requests', async () => {
    const sim = simulator();
    const canaryGroup = await canarySteps(sim);
    await started(sim.stacks.deleteStack(CANARY, 'delete-canary'));
    t = T0 + 20 * MIN;

    const after = await sim.traffic.trafficFigures(window([BASELINE, canaryGroup], 13, 15));
    expect(after[canaryGroup]).toEqual({ requests: 0, errors5xx: 0 });
    expect(after[BASELINE]!.requests).toBe(12_000);
  });

  it('sends the default group nothing while lane default runs no tasks, the canary keeping its share', async () => {
    const sim = simulator();
    await started(sim.stacks.deployStack(lane('default', 0, { DesiredCount: '0' })));
    t = T0 + 2 * MIN;
    await started(sim.stacks.deployStack(canary(25)));
    t = T0 + 10 * MIN;
    const canaryGroup = (await sim.stacks.describeStack(CANARY))!.outputs.TargetGroupFullName!;

    const figures = await sim.traffic.trafficFigures(window([BASELINE, canaryGroup], 5, 7));
    expect(figures[BASELINE]).toEqual({ requests: 0, errors5xx: 0 });
    expect(figures[canaryGroup]!.requests).toBe(3_000);
  });
});

describe('SimTraffic: 5xx and p99 from the lanes’ settings', () => {
  it('answers the canary with its source lane’s 5xx rate and p99, the default group with lane default’s', async () => {
    const sim = simulator();
    const canaryGroup = await canarySteps(sim);
    await sim.health.setHealth(GRAY, { errorRatePercent: 5, p99Ms: 400 });
    await sim.health.setHealth(DEFAULT, { errorRatePercent: 0.2 });

    const figures = await sim.traffic.trafficFigures(window([BASELINE, canaryGroup], 9, 11));

    expect(figures[canaryGroup]).toMatchObject({ requests: 6_000, errors5xx: 300, errorRatePercent: 5 });
    expect(figures[BASELINE]).toMatchObject({ requests: 6_000, errors5xx: 12, errorRatePercent: 0.2 });
    expect(figures[canaryGroup]!.p99Ms).toBeGreaterThanOrEqual(392);
    expect(figures[canaryGroup]!.p99Ms).toBeLessThanOrEqual(408);
    // Lane default's p99 was never set: 120 ms.
    expect(figures[BASELINE]!.p99Ms).toBeGreaterThanOrEqual(117.6);
    expect(figures[BASELINE]!.p99Ms).toBeLessThanOrEqual(122.4);
    // The jitter is fixed by the group and the window: the same question, the same answer.
    expect(await sim.traffic.trafficFigures(window([BASELINE, canaryGroup], 9, 11))).toEqual(figures);
  });

  it('gives a header-routed lane its own 600 requests a minute, with its own settings, whatever the canary does', async () => {
    const sim = simulator();
    await started(sim.stacks.deployStack(lane('gray', 1)));
    const canaryGroup = await canarySteps(sim);
    const grayGroup = (await sim.stacks.describeStack('app-user-api-dev-gray'))!.outputs.TargetGroupFullName!;
    await sim.health.setHealth(GRAY, { errorRatePercent: 10 });

    const figures = await sim.traffic.trafficFigures(window([grayGroup, canaryGroup, BASELINE], 3, 8));

    expect(figures[grayGroup]).toMatchObject({ requests: 3_000, errors5xx: 300, errorRatePercent: 10 });
    // The canary follows gray too, and the untagged traffic is unchanged by gray's.
    expect(figures[canaryGroup]!.requests + figures[BASELINE]!.requests).toBe(30_000);
  });
});

describe('SimTraffic: what is asked', () => {
  it('answers zeros for an unknown load balancer, and for target groups the load balancer does not have', async () => {
    const sim = simulator();
    const canaryGroup = await canarySteps(sim);
    const ordersLb = loadBalancerNames('orders', 'dev').fullName;

    expect(await sim.traffic.trafficFigures(window([BASELINE, canaryGroup], 9, 11, 'app/nobody/0000000000000000'))).toEqual({
      [BASELINE]: { requests: 0, errors5xx: 0 },
      [canaryGroup]: { requests: 0, errors5xx: 0 },
    });
    expect(await sim.traffic.trafficFigures(window([BASELINE, canaryGroup, 'targetgroup/nothing/1'], 9, 11, ordersLb))).toEqual({
      [BASELINE]: { requests: 0, errors5xx: 0 },
      [canaryGroup]: { requests: 0, errors5xx: 0 },
      'targetgroup/nothing/1': { requests: 0, errors5xx: 0 },
    });
    expect(await sim.traffic.trafficFigures(window([], 9, 11))).toEqual({});
  });

  it('reads only the default lane’s and the canary’s stacks for the baseline and the canary, every stack only for a lane’s group', async () => {
    const sim = simulator();
    const canaryGroup = await canarySteps(sim);
    sim.reads.length = 0;

    await sim.traffic.trafficFigures(window([BASELINE, canaryGroup], 9, 11));
    expect(sim.reads).toEqual(['records app-user-api-dev-default,app-user-api-dev-canary']);

    sim.reads.length = 0;
    await sim.traffic.trafficFigures(window([BASELINE, 'targetgroup/app-u-LaneT-000000000000/0000000000000000'], 9, 11));
    expect(sim.reads).toEqual(['records app-user-api-dev-default,app-user-api-dev-canary', 'allRecords']);
  });

  it('fails the call as CloudWatch would when a cloudwatch fault is armed, once', async () => {
    const sim = simulator();
    await canarySteps(sim);
    await sim.faults.inject({ service: 'cloudwatch', fault: 'throttled' });

    await expect(sim.traffic.trafficFigures(window([BASELINE], 9, 11))).rejects.toMatchObject({ code: 'AWS_THROTTLED' });
    expect((await sim.traffic.trafficFigures(window([BASELINE], 9, 11)))[BASELINE]!.requests).toBe(6_000);
  });

  it('gives the sandbox the last minutes of each group by ARN, without consuming the faults armed for the bot', async () => {
    const sim = simulator();
    await canarySteps(sim);
    const outputs = (await sim.stacks.describeStack(CANARY))!.outputs;
    await sim.faults.inject({ service: 'cloudwatch', fault: 'unavailable' });

    // At 12 min: 7 to 12 min, 1.5 min at 10 % then 3.5 min at 50 % (from 8.5 min).
    const recent = await sim.traffic.recentFigures({ service: 'user-api', env: 'dev' }, [outputs.TargetGroupArn!, outputs.BaselineTargetGroupArn!], 5);

    expect(recent[outputs.TargetGroupArn!]!.requests).toBe(6_000 * (0.1 * 1.5 + 0.5 * 3.5));
    expect(recent[outputs.BaselineTargetGroupArn!]!.requests).toBe(6_000 * (0.9 * 1.5 + 0.5 * 3.5));
    expect(await sim.faults.pending()).toEqual([{ service: 'cloudwatch', fault: 'unavailable', count: 1 }]);
  });

  it('runs SIM_TIME_SCALE times faster: a window of 5 s of the clock at scale 60 holds 5 simulated minutes of requests', async () => {
    const sim = simulator(60);
    await started(sim.stacks.deployStack(lane('default', 0)));
    // Lane default's create takes 90 simulated seconds: 1.5 s of the clock.
    t = T0 + 10_000;

    const figures = await sim.traffic.trafficFigures({ loadBalancer: LB, targetGroups: [BASELINE], start: T0 + 2_000, end: T0 + 7_000 });
    expect(figures[BASELINE]!.requests).toBe(30_000);
    // Aligned to simulated minutes (a second of the clock): 2.5 s to 7.7 s reads 2 s to 7 s.
    const aligned = await sim.traffic.trafficFigures({ loadBalancer: LB, targetGroups: [BASELINE], start: T0 + 2_500, end: T0 + 7_700 });
    expect(aligned[BASELINE]!.requests).toBe(30_000);
  });
});
