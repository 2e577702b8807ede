import { SimLaneHealth } from '../../../src/cloud/sim/sim-lane-health';
import { SimStacks, type SimStackListing } from '../../../src/cloud/sim/sim-stacks';
import { redisPerTest, T0 } from '../../support/fixtures';

const MIN = 60_000;
const GRAY = { service: 'user-api', env: 'dev', lane: 'gray' };
const TG = 'arn:aws:elasticloadbalancing:sim-1:000000000000:targetgroup/app-u-Targe-ABC/0123456789abcdef';
const ALARMS = { errorRate: 'user-api-dev-gray-5xx-rate', unhealthy: 'user-api-dev-gray-unhealthy-hosts', running: 'user-api-dev-gray-tasks-below-desired' };

const db = redisPerTest();
let t: number;
const clock = { now: () => t };
/** The lane stacks the fake stack source lists; tests change them as CloudFormation would. */
let stacks: SimStackListing[];

/** A lane stack whose create ended at `createdAt` (its latest operation), as SimStacks lists it. */
function laneStack(overrides: { createdAt?: number; desired?: string; status?: string; lastKind?: 'create' | 'update'; stackId?: string } = {}): SimStackListing {
  const createdAt = overrides.createdAt ?? T0;
  return {
    stackName: 'app-user-api-dev-gray',
    stackId: overrides.stackId ?? 'arn:aws:cloudformation:sim-1:000000000000:stack/app-user-api-dev-gray/1',
    status: overrides.status ?? 'CREATE_COMPLETE',
    parameters: { ServiceName: 'user-api', Env: 'dev', Lane: 'gray', ...(overrides.desired === undefined ? { DesiredCount: '2' } : { DesiredCount: overrides.desired }) },
    outputs: {
      TargetGroupArn: TG,
      ErrorRateAlarmName: ALARMS.errorRate,
      UnhealthyHostsAlarmName: ALARMS.unhealthy,
      RunningTasksAlarmName: ALARMS.running,
    },
    tags: {},
    family: 'lane',
    lastOperation: {
      kind: overrides.lastKind ?? 'create',
      startedAt: createdAt - 90_000,
      endsAt: createdAt,
      finalStatus: 'CREATE_COMPLETE',
      succeeded: true,
      finished: true,
    },
  };
}

function health(timeScale = 1): SimLaneHealth {
  return new SimLaneHealth({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale, stacks: { list: async () => stacks } });
}

async function alarm(h: SimLaneHealth, name: string) {
  const { alarms, missing } = await h.alarmStates([name]);
  expect(missing).toEqual([]);
  return alarms[0]!;
}

beforeEach(() => {
  t = T0;
  stacks = [laneStack()];
});

describe('SimLaneHealth target health', () => {
  it('knows only the target groups of existing lane stacks', async () => {
    const h = health();
    await expect(h.targetHealth('arn:aws:elasticloadbalancing:sim-1:000000000000:targetgroup/other/1')).resolves.toBeUndefined();
    expect(await h.targetHealth(TG)).toMatchObject({ targetGroupArn: TG });
    stacks = [];
    await expect(h.targetHealth(TG)).resolves.toBeUndefined();
  });

  it('starts with the desired tasks in initial, then healthy', async () => {
    const h = health();
    expect(await h.targetHealth(TG)).toMatchObject({ initial: 2, healthy: 0 });
    expect((await h.targetHealth(TG))!.targets[0]).toMatchObject({ state: 'initial', reason: 'Elb.InitialHealthChecking', port: 8080 });
    t = T0 + MIN;
    expect(await h.targetHealth(TG)).toMatchObject({ initial: 0, healthy: 2, unhealthy: 0 });
  });

  it('shows the unhealthy targets a person set, with the health check reason, at most all of them', async () => {
    const h = health();
    t = T0 + 10 * MIN;
    await h.setHealth(GRAY, { unhealthyTargets: 1 });
    const one = await h.targetHealth(TG);
    expect(one).toMatchObject({ healthy: 1, unhealthy: 1 });
    expect(one!.targets.find((target) => target.state === 'unhealthy')).toMatchObject({ reason: 'Target.ResponseCodeMismatch', description: expect.stringContaining('503') });
    expect(new Set(one!.targets.map((target) => target.id)).size).toBe(2);

    await h.setHealth(GRAY, { unhealthyTargets: 5 });
    expect(await h.targetHealth(TG)).toMatchObject({ healthy: 0, unhealthy: 2 });
  });

  it('drains the targets while the lane stack is being deleted', async () => {
    stacks = [laneStack({ status: 'DELETE_IN_PROGRESS' })];
    t = T0 + 10 * MIN;
    expect(await health().targetHealth(TG)).toMatchObject({ draining: 2, healthy: 0 });
  });

  it('scales the warm-up with SIM_TIME_SCALE', async () => {
    t = T0 + MIN / 10;
    expect(await health(10).targetHealth(TG)).toMatchObject({ healthy: 2 });
  });
});

describe('SimLaneHealth alarms', () => {
  it('has INSUFFICIENT_DATA for the first minutes after the lane stack is created, then OK from then on', async () => {
    const h = health();
    expect(await alarm(h, ALARMS.errorRate)).toMatchObject({ state: 'INSUFFICIENT_DATA', updatedAt: T0 });
    t = T0 + 2 * MIN;
    expect(await alarm(h, ALARMS.running)).toMatchObject({ state: 'INSUFFICIENT_DATA', updatedAt: T0 });
    t = T0 + 20 * MIN;
    for (const name of Object.values(ALARMS)) {
      // It became OK when the warm-up ended, not when it was read.
      expect(await alarm(h, name)).toMatchObject({ state: 'OK', updatedAt: T0 + 3 * MIN });
    }
  });

  it('fires the 5xx alarm once the rate has been above 1% for 5 minutes, and clears it the same way', async () => {
    const h = health();
    t = T0 + 10 * MIN;
    expect(await alarm(h, ALARMS.errorRate)).toMatchObject({ state: 'OK' });
    await h.setHealth(GRAY, { errorRatePercent: 5 });
    const changedAt = t;

    t = changedAt + 4 * MIN;
    expect(await alarm(h, ALARMS.errorRate)).toMatchObject({ state: 'OK', updatedAt: T0 + 3 * MIN });
    t = changedAt + 5 * MIN;
    const fired = await alarm(h, ALARMS.errorRate);
    expect(fired).toMatchObject({ state: 'ALARM', updatedAt: changedAt + 5 * MIN });
    expect(fired.reason).toContain('5% of the requests got a 5xx');

    // Read again much later: the state change keeps its timestamp.
    t = changedAt + 60 * MIN;
    expect(await alarm(h, ALARMS.errorRate)).toMatchObject({ state: 'ALARM', updatedAt: changedAt + 5 * MIN });

    await h.setHealth(GRAY, { errorRatePercent: 0 });
    const clearedAt = t;
    t = clearedAt + 4 * MIN;
    expect(await alarm(h, ALARMS.errorRate)).toMatchObject({ state: 'ALARM', updatedAt: changedAt + 5 * MIN });
    t = clearedAt + 6 * MIN;
    expect(await alarm(h, ALARMS.errorRate)).toMatchObject({ state: 'OK', updatedAt: clearedAt + 5 * MIN });
  });

  it('keeps the alarm OK at exactly 1%, the threshold', async () => {
    const h = health();
    t = T0 + 10 * MIN;
    await h.setHealth(GRAY, { errorRatePercent: 1 });
    t += 10 * MIN;
    expect(await alarm(h, ALARMS.errorRate)).toMatchObject({ state: 'OK' });
  });

  it('fires the unhealthy-hosts alarm after 3 minutes and the tasks-below-desired alarm after 5', async () => {
    const h = health();
    t = T0 + 10 * MIN;
    await h.setHealth(GRAY, { unhealthyTargets: 1 });
    const changedAt = t;
    t = changedAt + 3 * MIN;
    expect(await alarm(h, ALARMS.unhealthy)).toMatchObject({ state: 'ALARM', updatedAt: changedAt + 3 * MIN });
    expect(await alarm(h, ALARMS.running)).toMatchObject({ state: 'OK' });
    t = changedAt + 5 * MIN;
    const running = await alarm(h, ALARMS.running);
    expect(running).toMatchObject({ state: 'ALARM', updatedAt: changedAt + 5 * MIN });
    expect(running.reason).toContain('1 of 2 desired tasks running');
    expect(await alarm(h, ALARMS.errorRate)).toMatchObject({ state: 'OK' });
  });

  it('has INSUFFICIENT_DATA for the 5xx rate of a lane without tasks (no traffic)', async () => {
    stacks = [laneStack({ desired: '0' })];
    const h = health();
    t = T0 + 10 * MIN;
    await h.setHealth(GRAY, { errorRatePercent: 50 });
    t += 10 * MIN;
    expect(await alarm(h, ALARMS.errorRate)).toMatchObject({ state: 'INSUFFICIENT_DATA', reason: expect.stringContaining('no requests') });
    expect(await alarm(h, ALARMS.running)).toMatchObject({ state: 'OK' });
    expect(await h.targetHealth(TG)).toMatchObject({ targets: [] });
  });

  it('takes a stack updated since its create as settled', async () => {
    stacks = [laneStack({ lastKind: 'update', createdAt: T0 })];
    expect(await alarm(health(), ALARMS.errorRate)).toMatchObject({ state: 'OK' });
    expect(await health().targetHealth(TG)).toMatchObject({ healthy: 2 });
  });

  it('reports unknown alarms and the alarms of a deleted lane stack as missing', async () => {
    const h = health();
    t = T0 + 10 * MIN;
    expect(await h.alarmStates([ALARMS.errorRate, 'nope', ALARMS.errorRate])).toMatchObject({ alarms: [{ name: ALARMS.errorRate }], missing: ['nope'] });
    stacks = [];
    expect(await h.alarmStates([ALARMS.errorRate, ALARMS.unhealthy])).toEqual({ alarms: [], missing: [ALARMS.errorRate, ALARMS.unhealthy] });
  });

  it('starts over when the lane stack is created again', async () => {
    const h = health();
    t = T0 + 10 * MIN;
    await h.setHealth(GRAY, { errorRatePercent: 10 });
    t += 5 * MIN;
    expect(await alarm(h, ALARMS.errorRate)).toMatchObject({ state: 'ALARM' });

    const recreatedAt = t + 10 * MIN;
    stacks = [laneStack({ createdAt: recreatedAt, stackId: 'arn:aws:cloudformation:sim-1:000000000000:stack/app-user-api-dev-gray/2' })];
    t = recreatedAt + MIN;
    expect(await alarm(h, ALARMS.errorRate)).toMatchObject({ state: 'INSUFFICIENT_DATA', updatedAt: recreatedAt });
    t = recreatedAt + 3 * MIN;
    // The 10% rate is still set, and has held for longer than the window: ALARM once there is data.
    expect(await alarm(h, ALARMS.errorRate)).toMatchObject({ state: 'ALARM', updatedAt: recreatedAt + 3 * MIN });
  });

  it('agrees across processes on when a state changed', async () => {
    const a = health();
    t = T0 + 10 * MIN;
    await a.setHealth(GRAY, { errorRatePercent: 3 });
    t += 7 * MIN;
    const first = await alarm(a, ALARMS.errorRate);
    t += 30 * MIN;
    expect(await alarm(health(), ALARMS.errorRate)).toEqual(first);
  });
});

describe('SimLaneHealth.alarmsInState', () => {
  const BLUE_5XX = 'user-api-dev-blue-5xx-rate';
  /** A second lane stack, blue, created at the same time as gray. */
  function blueStack(): SimStackListing {
    const gray = laneStack();
    return {
      ...gray,
      stackName: 'app-user-api-dev-blue',
      stackId: 'arn:aws:cloudformation:sim-1:000000000000:stack/app-user-api-dev-blue/1',
      parameters: { ...gray.parameters, Lane: 'blue' },
      outputs: {
        TargetGroupArn: `${TG}-blue`,
        ErrorRateAlarmName: BLUE_5XX,
        UnhealthyHostsAlarmName: 'user-api-dev-blue-unhealthy-hosts',
        RunningTasksAlarmName: 'user-api-dev-blue-tasks-below-desired',
      },
    };
  }

  it('lists the alarms of every lane in the state asked for, with their figures', async () => {
    stacks = [laneStack(), blueStack()];
    const h = health();
    // Right after the create: every alarm without data, and no figures to show.
    const fresh = await h.alarmsInState('INSUFFICIENT_DATA');
    expect(fresh).toHaveLength(6);
    expect(fresh.every((a) => a.value === undefined)).toBe(true);
    expect(await h.alarmsInState('ALARM')).toEqual([]);

    t = T0 + 10 * MIN;
    await h.setHealth(GRAY, { errorRatePercent: 4.2, unhealthyTargets: 1 });
    t += 5 * MIN;

    const alarming = await h.alarmsInState('ALARM');
    expect(alarming.map((a) => a.name).sort()).toEqual([ALARMS.errorRate, ALARMS.unhealthy, ALARMS.running].sort());
    expect(alarming.find((a) => a.name === ALARMS.errorRate)).toEqual({
      name: ALARMS.errorRate,
      state: 'ALARM',
      reason: expect.stringContaining('4.2% of the requests got a 5xx'),
      updatedAt: T0 + 15 * MIN,
      value: 4.2,
      threshold: 1,
    });
    expect(alarming.find((a) => a.name === ALARMS.unhealthy)).toMatchObject({ value: 1, threshold: 0, updatedAt: T0 + 13 * MIN });
    expect(alarming.find((a) => a.name === ALARMS.running)).toMatchObject({ value: 1, threshold: 0 });

    const ok = await h.alarmsInState('OK');
    expect(ok.map((a) => a.name).sort()).toEqual([BLUE_5XX, 'user-api-dev-blue-unhealthy-hosts', 'user-api-dev-blue-tasks-below-desired'].sort());
    expect(ok.find((a) => a.name === BLUE_5XX)).toMatchObject({ value: 0, threshold: 1 });
    // The same answer as by name.
    expect((await h.alarmStates([ALARMS.errorRate])).alarms[0]).toEqual(alarming.find((a) => a.name === ALARMS.errorRate));
  });

  it('keeps the figures of an alarm whose setting changed less than a window ago', async () => {
    const h = health();
    t = T0 + 10 * MIN;
    await h.setHealth(GRAY, { errorRatePercent: 5 });
    t += 5 * MIN;
    const fired = (await h.alarmsInState('ALARM')).find((a) => a.name === ALARMS.errorRate);
    expect(fired).toMatchObject({ value: 5, threshold: 1 });

    // Back to 0 %: the alarm stays in ALARM for its window, and still says why.
    await h.setHealth(GRAY, { errorRatePercent: 0 });
    t += 2 * MIN;
    expect((await h.alarmsInState('ALARM')).find((a) => a.name === ALARMS.errorRate)).toEqual(fired);
    expect(await alarm(h, ALARMS.errorRate)).toEqual(fired);
  });

  it('lists nothing of a deleted lane stack', async () => {
    const h = health();
    t = T0 + 10 * MIN;
    await h.setHealth(GRAY, { errorRatePercent: 50 });
    t += 5 * MIN;
    expect(await h.alarmsInState('ALARM')).toHaveLength(1);
    stacks = [];
    expect(await h.alarmsInState('ALARM')).toEqual([]);
  });
});

describe('SimLaneHealth controls and listing', () => {
  it('changes only the settings given, and refuses out-of-range values', async () => {
    const h = health();
    expect(await h.settings(GRAY)).toEqual({ errorRatePercent: 0, unhealthyTargets: 0, p99Ms: 120 });
    await h.setHealth(GRAY, { errorRatePercent: 2.5 });
    expect(await h.setHealth(GRAY, { unhealthyTargets: 1 })).toEqual({ errorRatePercent: 2.5, unhealthyTargets: 1, p99Ms: 120, errorRateChangedAt: T0, unhealthyTargetsChangedAt: T0 });
    t += MIN;
    expect(await h.setHealth(GRAY, { p99Ms: 850 })).toEqual({
      errorRatePercent: 2.5,
      unhealthyTargets: 1,
      p99Ms: 850,
      errorRateChangedAt: T0,
      unhealthyTargetsChangedAt: T0,
      p99MsChangedAt: T0 + MIN,
    });
    t += MIN;
    // The same value again does not restart the alarm's window.
    expect(await h.setHealth(GRAY, { errorRatePercent: 2.5 })).toMatchObject({ errorRateChangedAt: T0 });

    await expect(h.setHealth(GRAY, { errorRatePercent: 101 })).rejects.toThrow(/errorRatePercent/);
    await expect(h.setHealth(GRAY, { errorRatePercent: Number.NaN })).rejects.toThrow(/errorRatePercent/);
    await expect(h.setHealth(GRAY, { unhealthyTargets: 1.5 })).rejects.toThrow(/unhealthyTargets/);
    await expect(h.setHealth(GRAY, { unhealthyTargets: -1 })).rejects.toThrow(/unhealthyTargets/);
    await expect(h.setHealth(GRAY, { p99Ms: 0 })).rejects.toThrow(/p99Ms/);
    await expect(h.setHealth(GRAY, { p99Ms: 60_001 })).rejects.toThrow(/p99Ms/);
    await expect(h.setHealth(GRAY, { p99Ms: Number.POSITIVE_INFINITY })).rejects.toThrow(/p99Ms/);
    expect((await h.settings(GRAY)).p99Ms).toBe(850);
  });

  it('lists every lane stack and every lane with settings, with counts and alarms', async () => {
    const h = health();
    await h.setHealth({ ...GRAY, lane: 'blue' }, { errorRatePercent: 4 });
    t = T0 + 10 * MIN;
    await h.setHealth(GRAY, { unhealthyTargets: 1 });
    t += 5 * MIN;

    const lanes = await h.lanes();

    expect(lanes.map((l) => l.lane)).toEqual(['blue', 'gray']);
    expect(lanes[0]).toMatchObject({ lane: 'blue', errorRatePercent: 4, stackName: 'app-user-api-dev-blue', desiredTasks: 0, alarms: [] });
    expect(lanes[0]!.targetHealth).toBeUndefined();
    expect(lanes[1]).toMatchObject({
      lane: 'gray',
      stackStatus: 'CREATE_COMPLETE',
      desiredTasks: 2,
      runningTasks: 1,
      unhealthyTargets: 1,
      targetGroupArn: TG,
      targetHealth: { healthy: 1, unhealthy: 1 },
    });
    expect(lanes[1]!.alarms.map((a) => [a.kind, a.state])).toEqual([
      ['errorRate', 'OK'],
      ['unhealthyHosts', 'ALARM'],
      ['runningTasks', 'ALARM'],
    ]);
  });
});

describe('SimLaneHealth over the simulated stacks', () => {
  it('finds the target group and the alarms a lane stack of SimStacks publishes', async () => {
    const sim = new SimStacks({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale: 1 });
    const started = await sim.deployStack({
      stackName: 'app-user-api-dev-gray',
      templateBody: 'Resources:\n  Placeholder:\n    Type: AWS::CloudFormation::WaitConditionHandle\n',
      parameters: { ServiceName: 'user-api', Env: 'dev', Lane: 'gray', ImageUri: 'repo/user-api:abc', RulePriority: '10', DesiredCount: '2' },
      clientRequestToken: 'create-gray',
    });
    expect(started.kind).toBe('started');
    const h = new SimLaneHealth({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale: 1, stacks: sim });

    t = T0 + 30 * MIN;
    const stack = await sim.describeStack('app-user-api-dev-gray');
    expect(stack?.status).toBe('CREATE_COMPLETE');
    expect(await h.targetHealth(stack!.outputs.TargetGroupArn!)).toMatchObject({ healthy: 2 });
    const alarmNames = Object.entries(stack!.outputs)
      .filter(([key]) => key.endsWith('AlarmName'))
      .map(([, name]) => name);
    expect(alarmNames.length).toBeGreaterThanOrEqual(2);
    const states = await h.alarmStates(alarmNames);
    expect(states.missing).toEqual([]);
    expect(states.alarms.every((a) => a.state === 'OK')).toBe(true);
  });

  it("answers a lane's ECS service, target health and alarms from that lane's stack, not from every stack of the account", async () => {
    const sim = new SimStacks({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale: 1 });
    const lanes = ['gray', 'blue', 'green'];
    for (const [i, lane] of lanes.entries()) {
      await sim.deployStack({
        stackName: `app-user-api-dev-${lane}`,
        templateBody: 'Resources:\n  Placeholder:\n    Type: AWS::CloudFormation::WaitConditionHandle\n',
        parameters: { ServiceName: 'user-api', Env: 'dev', Lane: lane, ImageUri: `repo/user-api:${lane}`, RulePriority: String(10 + i), DesiredCount: '2' },
        clientRequestToken: `create-${lane}`,
      });
    }
    t = T0 + 30 * MIN;
    const h = new SimLaneHealth({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale: 1, stacks: sim });
    const blue = (await sim.describeStack('app-user-api-dev-blue'))!;
    const list = jest.spyOn(sim, 'list');
    const listNamed = jest.spyOn(sim, 'listNamed');

    const service = await h.describeService(`arn:aws:ecs:sim-1:000000000000:cluster/${blue.outputs.ClusterName}`, 'user-api-dev-blue');
    expect(service).toMatchObject({ serviceName: 'user-api-dev-blue', desiredCount: 2, runningCount: 2 });
    expect(await h.targetHealth(blue.outputs.TargetGroupArn!)).toMatchObject({ healthy: 2 });
    const alarms = await h.alarmStates([blue.outputs.ErrorRateAlarmName!, blue.outputs.RunningTasksAlarmName!]);
    expect(alarms).toMatchObject({ missing: [], alarms: [{ name: 'user-api-dev-blue-5xx-rate', state: 'OK' }, { name: 'user-api-dev-blue-tasks-below-desired', state: 'OK' }] });
    expect(list).not.toHaveBeenCalled();
    expect(listNamed.mock.calls.map(([names]) => names)).toEqual([['app-user-api-dev-blue'], ['app-user-api-dev-blue'], ['app-user-api-dev-blue', 'app-user-api-dev-blue']]);

    // A name no stack has: the whole account is read, and the answer is still "no such thing".
    await expect(h.describeService('cluster/dev', 'user-api-dev-nope')).resolves.toBeUndefined();
    await expect(h.alarmStates(['someone-elses-alarm'])).resolves.toEqual({ alarms: [], missing: ['someone-elses-alarm'] });
    expect(list).toHaveBeenCalledTimes(2);
  });

  it('forgets a deleted lane: gone from the list, and its settings do not carry over to a lane of the same name', async () => {
    const sim = new SimStacks({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale: 1 });
    const input = {
      stackName: 'app-user-api-dev-gray',
      templateBody: 'Resources:\n  Placeholder:\n    Type: AWS::CloudFormation::WaitConditionHandle\n',
      parameters: { ServiceName: 'user-api', Env: 'dev', Lane: 'gray', ImageUri: 'repo/user-api:abc', RulePriority: '10', DesiredCount: '2' },
    };
    await sim.deployStack({ ...input, clientRequestToken: 'create-gray' });
    const h = new SimLaneHealth({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale: 1, stacks: sim });
    t = T0 + 30 * MIN;
    await h.setHealth(GRAY, { errorRatePercent: 40, unhealthyTargets: 1 });
    expect((await h.lanes()).map((l) => [l.lane, l.errorRatePercent])).toEqual([['gray', 40]]);

    await sim.deleteStack(input.stackName, 'delete-gray');
    t += 10 * MIN;
    expect(await h.lanes()).toEqual([]);
    await expect(h.settings(GRAY)).resolves.toEqual({ errorRatePercent: 0, unhealthyTargets: 0, p99Ms: 120 });

    await sim.deployStack({ ...input, clientRequestToken: 'create-gray-again' });
    t += 30 * MIN;
    const [again] = await h.lanes();
    expect(again).toMatchObject({ lane: 'gray', errorRatePercent: 0, unhealthyTargets: 0, runningTasks: 2, stackStatus: 'CREATE_COMPLETE' });
  });

  it('evaluates every alarm again at the cost of what changed: nothing written while no verdict changed, the change when one does', async () => {
    const h = health();
    const queue = `${db.prefix}:sim:health:alarm-events`;
    t = T0 + 30 * MIN;
    await h.evaluateAll();
    const first = await db.redis.llen(queue);
    expect(first).toBe(3); // each of the three alarms leaves INSUFFICIENT_DATA for OK

    const pipeline = jest.spyOn(db.redis, 'pipeline');
    const hgetall = jest.spyOn(db.redis, 'hgetall');
    try {
      t += MIN;
      await h.evaluateAll();
      await h.evaluateAll();
      // Verdicts as recorded and settings unchanged: no script run, no settings read.
      expect(pipeline).not.toHaveBeenCalled();
      expect(hgetall).not.toHaveBeenCalled();
      expect(await db.redis.llen(queue)).toBe(first);

      await h.setHealth(GRAY, { errorRatePercent: 30 });
      t += 6 * MIN;
      pipeline.mockClear();
      await h.evaluateAll();
      expect(pipeline).toHaveBeenCalled();
      const events = (await db.redis.lrange(queue, first, -1)).map((raw) => JSON.parse(raw) as { detail: { alarmName: string; state: { value: string } } });
      expect(events.map((e) => [e.detail.alarmName, e.detail.state.value])).toEqual([[ALARMS.errorRate, 'ALARM']]);
    } finally {
      pipeline.mockRestore();
      hgetall.mockRestore();
    }
    // What this process remembers of the verdicts it recorded goes with the stack.
    expect(h.rememberedVerdicts).toBe(3);
    stacks = [];
    await h.evaluateAll();
    expect(h.rememberedVerdicts).toBe(0);
  });
});
