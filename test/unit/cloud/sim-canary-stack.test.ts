// The canary stack (templates/canary-stack.yaml) in the simulator: created, moved step by step by
// weights-only updates and deleted through the StacksPort like a lane stack, with the outputs the
// template declares; its target group and ECS service answer like a lane's, driven by its source lane.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeployStackInput } from '../../../src/cloud/stacks.port';
import { SimLaneHealth } from '../../../src/cloud/sim/sim-lane-health';
import { SimStacks } from '../../../src/cloud/sim/sim-stacks';
import { redisPerTest, T0 } from '../../support/fixtures';

const CANARY_TEMPLATE = readFileSync(join(__dirname, '../../../templates/canary-stack.yaml'), 'utf8');
const LANE_TEMPLATE = readFileSync(join(__dirname, '../../../templates/service-stack.yaml'), 'utf8');
const NAME = 'app-user-api-dev-canary';
const IMAGE = '000000000000.dkr.ecr.sim-1.amazonaws.com/user-api@sha256:' + 'ab'.repeat(32);
// Simulated durations of the canary's operations, in ms at time scale 1.
const CREATE_MS = 90_000;
const UPDATE_MS = 30_000;
const DELETE_MS = 30_000;
const MIN = 60_000;

const db = redisPerTest();
let t: number;
const clock = { now: () => t };

function sim(): SimStacks {
  return new SimStacks({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale: 1 });
}

function canary(overrides: Record<string, string> = {}): DeployStackInput {
  return {
    stackName: NAME,
    templateBody: CANARY_TEMPLATE,
    parameters: {
      Env: 'dev',
      ServiceName: 'user-api',
      SourceLane: 'gray',
      ImageUri: IMAGE,
      CanaryWeight: '0',
      BaselineWeight: '100',
      RulePriority: '50000',
      ContainerPort: '8080',
      Cpu: '256',
      Memory: '512',
      DesiredCount: '2',
      HealthCheckPath: '/health',
      HealthCheckGracePeriodSeconds: '60',
      TaskRoleArn: '',
      ...overrides,
    },
    clientRequestToken: randomUUID(),
  };
}

function lane(name: string, priority: number): DeployStackInput {
  return {
    stackName: `app-user-api-dev-${name}`,
    templateBody: LANE_TEMPLATE,
    parameters: { Env: 'dev', ServiceName: 'user-api', Lane: name, ImageUri: `repo/user-api:${name}`, RulePriority: String(priority), DesiredCount: '1' },
    clientRequestToken: randomUUID(),
  };
}

async function weights(stacks: SimStacks, canaryWeight: number): Promise<void> {
  const result = await stacks.updateStackParameters({
    stackName: NAME,
    parameters: { CanaryWeight: String(canaryWeight), BaselineWeight: String(100 - canaryWeight) },
    clientRequestToken: randomUUID(),
  });
  expect(result).toMatchObject({ kind: 'started', operation: 'update' });
}

beforeEach(() => {
  t = T0;
});

describe('SimStacks: the canary stack', () => {
  it('creates it with the outputs canary-stack.yaml declares, its baseline being the default target group', async () => {
    const stacks = sim();
    const result = await stacks.deployStack(canary());
    expect(result).toMatchObject({ kind: 'started', operation: 'create' });
    t += CREATE_MS;

    const view = (await stacks.describeStack(NAME))!;
    expect(view.status).toBe('CREATE_COMPLETE');
    const { outputs } = view;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'TargetGroupArn', 'TargetGroupFullName', 'BaselineTargetGroupArn', 'BaselineTargetGroupFullName', 'LoadBalancerFullName', 'ListenerRuleArn',
        'ServiceName', 'ClusterName', 'ImageUri', 'TaskDefinitionArn', 'CanaryWeight', 'BaselineWeight', 'SourceLane',
      ].sort(),
    );
    expect(outputs).toMatchObject({ ServiceName: 'user-api-dev-canary', ImageUri: IMAGE, CanaryWeight: '0', BaselineWeight: '100', SourceLane: 'gray' });
    expect(outputs.TargetGroupArn!.endsWith(`:${outputs.TargetGroupFullName}`)).toBe(true);
    expect(outputs.TargetGroupFullName).toMatch(/^targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/);
    expect(outputs.LoadBalancerFullName).toMatch(/^app\/user-api-dev\/[0-9a-f]{16}$/);
    expect(outputs.TaskDefinitionArn).toMatch(/^arn:aws:ecs:sim-1:000000000000:task-definition\/user-api-dev-canary:\d+$/);

    // The baseline is lane default's target group, the boot stack's default one.
    await stacks.deployStack(lane('default', 0));
    t += CREATE_MS;
    const defaultLane = (await stacks.describeStack('app-user-api-dev-default'))!.outputs;
    expect(outputs.BaselineTargetGroupArn).toBe(defaultLane.TargetGroupArn);
    expect(outputs.BaselineTargetGroupFullName).toBe(defaultLane.TargetGroupFullName);
    expect(outputs.TargetGroupArn).not.toBe(defaultLane.TargetGroupArn);

    const listing = (await stacks.list()).find((s) => s.stackName === NAME);
    expect(listing?.family).toBe('canary');
  });

  it('moves the weights by updates that change the listener rule alone, and publishes them when each is done', async () => {
    const stacks = sim();
    await stacks.deployStack(canary());
    t += CREATE_MS;
    const taskDefinition = (await stacks.describeStack(NAME))!.outputs.TaskDefinitionArn;

    const step = t;
    await weights(stacks, 5);
    t = step + UPDATE_MS / 2;
    // While the update runs, the outputs are still the old weights'.
    expect((await stacks.describeStack(NAME))!.outputs).toMatchObject({ CanaryWeight: '0', BaselineWeight: '100' });
    t = step + UPDATE_MS;
    const progress = await stacks.progress(NAME);
    expect(progress).toMatchObject({ status: 'UPDATE_COMPLETE', succeeded: true });
    expect(new Set(progress.events.filter((e) => e.logicalResourceId !== NAME).map((e) => e.logicalResourceId))).toEqual(new Set(['CanaryListenerRule']));
    const view = (await stacks.describeStack(NAME))!;
    expect(view.outputs).toMatchObject({ CanaryWeight: '5', BaselineWeight: '95', TaskDefinitionArn: taskDefinition });
    expect(view.parameters).toMatchObject({ CanaryWeight: '5', BaselineWeight: '95', SourceLane: 'gray', ImageUri: IMAGE });

    // The same weights again: nothing to do.
    const again = await stacks.updateStackParameters({ stackName: NAME, parameters: { CanaryWeight: '5', BaselineWeight: '95' }, clientRequestToken: randomUUID() });
    expect(again.kind).toBe('no-changes');
  });

  it('holds its weighted rule at priority 50000 on the listener, next to the lanes’ rules, until it is deleted', async () => {
    const stacks = sim();
    await stacks.deployStack(lane('gray', 1));
    t += CREATE_MS;
    await stacks.deployStack(canary());
    t += CREATE_MS;
    const canaryTargetGroup = (await stacks.describeStack(NAME))!.outputs.TargetGroupArn;

    expect((await stacks.listenerRules('user-api', 'dev')).map((r) => [r.lane, r.priority, r.stackName])).toEqual([
      ['gray', 1, 'app-user-api-dev-gray'],
      ['canary', 50_000, NAME],
    ]);
    expect((await stacks.listenerRules('user-api', 'dev'))[1]!.targetGroupArn).toBe(canaryTargetGroup);

    // A lane stack asking for the canary's priority is refused as ELBv2 would.
    const start = t;
    await stacks.deployStack(lane('blue', 50_000));
    t = start + CREATE_MS;
    const blue = await stacks.progress('app-user-api-dev-blue');
    expect(blue.status).toBe('ROLLBACK_COMPLETE');
    expect(blue.failureReasons).toEqual([expect.stringContaining("Priority '50000' is currently in use")]);

    const deletion = await stacks.deleteStack(NAME, 'delete-canary');
    expect(deletion.kind).toBe('started');
    t += DELETE_MS;
    expect(await stacks.describeStack(NAME)).toBeUndefined();
    const deleted = await stacks.progress(NAME, (deletion as { eventCursor: string }).eventCursor);
    expect(deleted.events.filter((e) => e.status === 'DELETE_COMPLETE').map((e) => e.logicalResourceId)).toEqual([
      'Service', 'CanaryListenerRule', 'CanaryTargetGroup', 'TaskDefinition', 'TaskExecutionRole', NAME,
    ]);
    expect((await stacks.listenerRules('user-api', 'dev')).map((r) => r.lane)).toEqual(['gray']);
  });

  it('fails as a lane stack does when made to: an update rolls back to the old weights', async () => {
    const stacks = sim();
    await stacks.deployStack(canary());
    t += CREATE_MS;
    await stacks.failNextOperation(NAME);
    const start = t;
    await weights(stacks, 25);
    t = start + 2 * UPDATE_MS;
    const progress = await stacks.progress(NAME);
    expect(progress.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(progress.failureReasons).toEqual([expect.stringContaining('Service: ')]);
    expect((await stacks.describeStack(NAME))!.outputs).toMatchObject({ CanaryWeight: '0', BaselineWeight: '100' });
  });

  it('fills in the template’s default weights (0 and 100) when they are not given', async () => {
    const stacks = sim();
    const input = canary();
    delete input.parameters.CanaryWeight;
    delete input.parameters.BaselineWeight;
    await stacks.deployStack(input);
    t += CREATE_MS;
    expect((await stacks.describeStack(NAME))!.outputs).toMatchObject({ CanaryWeight: '0', BaselineWeight: '100' });
    expect((await stacks.list()).find((s) => s.stackName === NAME)?.family).toBe('canary');
  });
});

describe('SimLaneHealth: the canary', () => {
  function health(stacks: SimStacks): SimLaneHealth {
    return new SimLaneHealth({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale: 1, stacks });
  }

  it('answers its target health and ECS service like a lane’s: initial, then healthy, its rollout completed', async () => {
    const stacks = sim();
    const h = health(stacks);
    await stacks.deployStack(canary());
    t += CREATE_MS / 2;
    const view = await stacks.describeStack(NAME);
    // Not created yet: no target group published, no service.
    expect(view?.outputs.TargetGroupArn).toBeUndefined();
    t = T0 + CREATE_MS;
    const { TargetGroupArn, ClusterName } = (await stacks.describeStack(NAME))!.outputs;
    expect(await h.targetHealth(TargetGroupArn!)).toMatchObject({ initial: 2, healthy: 0 });
    t += MIN;
    expect(await h.targetHealth(TargetGroupArn!)).toMatchObject({ initial: 0, healthy: 2, unhealthy: 0 });
    expect(await h.describeService(ClusterName!, 'user-api-dev-canary')).toMatchObject({
      serviceName: 'user-api-dev-canary',
      status: 'ACTIVE',
      desiredCount: 2,
      runningCount: 2,
      deployments: [{ status: 'PRIMARY', rolloutState: 'COMPLETED' }],
    });
    // No alarms of its own.
    const [row] = (await h.lanes()).filter((l) => l.lane === 'canary');
    expect(row).toMatchObject({ lane: 'canary', canaryOf: 'gray', stackName: NAME, desiredTasks: 2, runningTasks: 2, alarms: [] });
  });

  it('behaves like its source lane: gray’s unhealthy targets, and the ECS failure armed for gray’s next deployment', async () => {
    const stacks = sim();
    const h = health(stacks);
    const gray = { service: 'user-api', env: 'dev', lane: 'gray' };
    await h.setHealth(gray, { unhealthyTargets: 1, errorRatePercent: 3, p99Ms: 400 });
    await h.failNextDeployment(gray);
    await stacks.deployStack(canary());
    t += CREATE_MS + 2 * MIN;
    const { TargetGroupArn, ClusterName } = (await stacks.describeStack(NAME))!.outputs;

    expect(await h.targetHealth(TargetGroupArn!)).toMatchObject({ healthy: 1, unhealthy: 1 });
    const service = await h.describeService(ClusterName!, 'user-api-dev-canary');
    expect(service?.deployments[0]).toMatchObject({ rolloutState: 'FAILED', rolloutStateReason: expect.stringContaining('circuit breaker') });
    const row = (await h.lanes()).find((l) => l.lane === 'canary');
    expect(row).toMatchObject({ canaryOf: 'gray', unhealthyTargets: 1, errorRatePercent: 3, p99Ms: 400 });

    // Deleting the canary leaves gray's settings alone.
    await stacks.deleteStack(NAME, 'delete-canary');
    t += DELETE_MS + MIN;
    expect((await h.lanes()).map((l) => l.lane)).toEqual(['gray']);
    expect(await h.settings(gray)).toMatchObject({ unhealthyTargets: 1, errorRatePercent: 3, p99Ms: 400 });
  });
});
