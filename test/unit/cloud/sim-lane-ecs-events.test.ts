import { SimAlarmEvents } from '../../../src/cloud/sim/sim-alarm-events';
import { SimLaneHealth } from '../../../src/cloud/sim/sim-lane-health';
import type { SimStackListing } from '../../../src/cloud/sim/sim-stacks';
import { redisPerTest, T0 } from '../../support/fixtures';

const MIN = 60_000;
const GRAY = { service: 'user-api', env: 'dev', lane: 'gray' };
const SERVICE = 'user-api-dev-gray';
const TG = 'arn:aws:elasticloadbalancing:sim-1:000000000000:targetgroup/app-u-Targe-ABC/0123456789abcdef';
const ERROR_RATE_ALARM = 'user-api-dev-gray-5xx-rate';

const db = redisPerTest();
let t: number;
const clock = { now: () => t };
let stacks: SimStackListing[];

/** A lane stack whose latest operation (create or update) ran from startedAt to endsAt. */
function laneStack(op: { kind: 'create' | 'update'; startedAt: number; endsAt: number; finished: boolean }): SimStackListing {
  return {
    stackName: 'app-user-api-dev-gray',
    stackId: 'arn:aws:cloudformation:sim-1:000000000000:stack/app-user-api-dev-gray/1',
    status: op.finished ? (op.kind === 'create' ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE') : op.kind === 'create' ? 'CREATE_IN_PROGRESS' : 'UPDATE_IN_PROGRESS',
    parameters: { ServiceName: 'user-api', Env: 'dev', Lane: 'gray', DesiredCount: '3' },
    outputs: { TargetGroupArn: TG, ServiceName: SERVICE, ClusterName: 'dev', ErrorRateAlarmName: ERROR_RATE_ALARM },
    tags: {},
    family: 'lane',
    lastOperation: { ...op, finalStatus: op.kind === 'create' ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE', succeeded: true },
  };
}

function health(): SimLaneHealth {
  return new SimLaneHealth({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale: 1, stacks: { list: async () => stacks } });
}

function queue(h: SimLaneHealth): SimAlarmEvents {
  return new SimAlarmEvents({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, evaluate: () => h.evaluateAll(), sleep: async () => undefined });
}

beforeEach(() => {
  t = T0;
  stacks = [laneStack({ kind: 'create', startedAt: T0 - 90_000, endsAt: T0, finished: true })];
});

describe('SimLaneHealth as the ECS port', () => {
  it('describes the lane service: deployment complete, running = desired less the unhealthy targets', async () => {
    const h = health();
    const view = await h.describeService('arn:aws:ecs:sim-1:000000000000:cluster/dev', SERVICE);
    expect(view).toMatchObject({ serviceName: SERVICE, status: 'ACTIVE', desiredCount: 3, runningCount: 3, rolloutState: 'COMPLETED' });
    expect(view?.deployments).toHaveLength(1);

    await h.setHealth(GRAY, { unhealthyTargets: 1 });
    expect(await h.describeService('dev', SERVICE)).toMatchObject({ desiredCount: 3, runningCount: 2, rolloutState: 'COMPLETED' });
  });

  it('answers undefined for another service, another cluster or a lane without its stack', async () => {
    const h = health();
    await expect(h.describeService('dev', 'user-api-dev-blue')).resolves.toBeUndefined();
    await expect(h.describeService('prod', SERVICE)).resolves.toBeUndefined();
    stacks = [];
    await expect(h.describeService('dev', SERVICE)).resolves.toBeUndefined();
  });

  it('shows an update in progress beside the previous deployment', async () => {
    stacks = [laneStack({ kind: 'update', startedAt: T0, endsAt: T0 + 2 * MIN, finished: false })];
    const view = await health().describeService('dev', SERVICE);
    expect(view).toMatchObject({ rolloutState: 'IN_PROGRESS', runningCount: 3, pendingCount: 3 });
    expect(view?.deployments.map((d) => [d.status, d.rolloutState])).toEqual([
      ['PRIMARY', 'IN_PROGRESS'],
      ['ACTIVE', 'COMPLETED'],
    ]);
  });

  it('fails the next deployment like the circuit breaker, once, and not the one already running', async () => {
    const h = health();
    await h.failNextDeployment(GRAY);
    // The create that ended before the arming is not the next deployment.
    expect(await h.describeService('dev', SERVICE)).toMatchObject({ rolloutState: 'COMPLETED' });

    t = T0 + MIN;
    stacks = [laneStack({ kind: 'update', startedAt: t, endsAt: t + MIN, finished: true })];
    t += 2 * MIN;
    const failed = await h.describeService('dev', SERVICE);
    expect(failed).toMatchObject({ rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.', runningCount: 3 });
    expect(failed?.deployments[0]).toMatchObject({ status: 'PRIMARY', rolloutState: 'FAILED', runningCount: 0 });
    expect(failed!.deployments[0]!.failedTasks).toBeGreaterThan(0);
    // Read again, it stays failed; the deployment after it completes.
    expect(await h.describeService('dev', SERVICE)).toMatchObject({ rolloutState: 'FAILED' });
    stacks = [laneStack({ kind: 'update', startedAt: t, endsAt: t + MIN, finished: true })];
    t += 2 * MIN;
    expect(await h.describeService('dev', SERVICE)).toMatchObject({ rolloutState: 'COMPLETED' });
  });
});

describe('SimAlarmEvents', () => {
  it('delivers each alarm state change once, with previous state, value and threshold, until acknowledged', async () => {
    const h = health();
    const q = queue(h);
    t = T0 + 10 * MIN;
    // The alarms settle to OK: INSUFFICIENT_DATA → OK is a change.
    const first = await q.receive(10, 0);
    expect(first).toEqual([expect.objectContaining({ alarmName: ERROR_RATE_ALARM, state: 'OK', previousState: 'INSUFFICIENT_DATA', value: 0, threshold: 1 })]);
    await q.acknowledge(first.map((c) => c.receipt));

    await h.setHealth(GRAY, { errorRatePercent: 4.2 });
    t += 5 * MIN;
    const fired = await q.receive(10, 0);
    expect(fired).toEqual([
      expect.objectContaining({ alarmName: ERROR_RATE_ALARM, state: 'ALARM', previousState: 'OK', value: 4.2, threshold: 1, at: T0 + 15 * MIN }),
    ]);
    expect(fired[0]!.reason).toContain('4.2');
    // Reading the alarms again (any process) emits nothing new.
    await h.alarmStates([ERROR_RATE_ALARM]);
    await q.acknowledge(fired.map((c) => c.receipt));
    await expect(q.receive(10, 0)).resolves.toEqual([]);
    await expect(q.depth()).resolves.toBe(0);
  });

  it('delivers an unacknowledged message again after its visibility timeout', async () => {
    const h = health();
    const q = queue(h);
    t = T0 + 10 * MIN;
    const first = await q.receive(10, 0);
    expect(first).toHaveLength(1);
    await expect(q.receive(10, 0)).resolves.toEqual([]);
    t += 31_000;
    const again = await q.receive(10, 0);
    expect(again).toEqual([expect.objectContaining({ alarmName: ERROR_RATE_ALARM, state: 'OK', at: first[0]!.at })]);
    expect(again[0]!.receipt).not.toBe(first[0]!.receipt);
  });

  it('drops messages that are not alarm state changes', async () => {
    const h = health();
    const q = queue(h);
    await db.redis.rpush(`${db.prefix}:sim:health:alarm-events`, '{"Event":"aws:sqs:test"}', 'not json');
    await expect(q.receive(10, 0)).resolves.toEqual([]);
    await expect(q.depth()).resolves.toBe(0);
    expect(await db.redis.hlen(`${db.prefix}:sim:health:alarm-events:bodies`)).toBe(0);
  });
});
