import { randomUUID } from 'node:crypto';
import type { DeployStackInput, StackEvent } from '../../../src/cloud/stacks.port';
import { SimLaneHealth } from '../../../src/cloud/sim/sim-lane-health';
import { SimStacks } from '../../../src/cloud/sim/sim-stacks';
import { redisPerTest, T0 } from '../../support/fixtures';

// Simulated durations of a lane stack's operations, in ms at time scale 1.
const CREATE_MS = 90_000;
const UPDATE_MS = 60_000;
const DELETE_MS = 30_000;

const TEMPLATE = 'Resources:\n  TaskDefinition:\n    Type: AWS::ECS::TaskDefinition\n    Properties: { Family: !Sub "${ServiceName}" }\n';

const db = redisPerTest();
let t: number;
const clock = { now: () => t };

function sim(timeScale = 1): SimStacks {
  return new SimStacks({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale });
}

function lane(name: string, overrides: { priority?: number; image?: string; service?: string; env?: string; tags?: Record<string, string>; token?: string } = {}): DeployStackInput {
  const service = overrides.service ?? 'user-api';
  const env = overrides.env ?? 'dev';
  return {
    stackName: `app-${service}-${env}-${name}`,
    templateBody: TEMPLATE,
    parameters: {
      Env: env,
      ServiceName: service,
      Lane: name,
      ImageUri: `000000000000.dkr.ecr.sim-1.amazonaws.com/${service}:${overrides.image ?? `${name}-aaaaaaaaaaaa`}`,
      RulePriority: String(overrides.priority ?? 0),
    },
    tags: overrides.tags,
    clientRequestToken: overrides.token ?? randomUUID(),
  };
}

/** Deploys and moves the clock past the operation; returns the stack id. */
async function deployed(stacks: SimStacks, input: DeployStackInput): Promise<string> {
  const result = await stacks.deployStack(input);
  if (result.kind !== 'started') throw new Error(`expected started, got ${JSON.stringify(result)}`);
  t += result.operation === 'create' ? CREATE_MS : UPDATE_MS;
  return result.stackId;
}

function stackStatuses(events: StackEvent[], stackName: string): string[] {
  return events.filter((e) => e.logicalResourceId === stackName).map((e) => e.status);
}

beforeEach(() => {
  t = T0;
});

describe('SimStacks create', () => {
  it('creates a lane stack over about 90 s, streaming its events as time passes', async () => {
    const stacks = sim();
    const input = lane('gray', { priority: 7 });
    const result = await stacks.deployStack(input);
    expect(result).toEqual({ kind: 'started', operation: 'create', stackId: expect.stringMatching(/^arn:aws:cloudformation:sim-1:000000000000:stack\/app-user-api-dev-gray\/[0-9a-f-]{36}$/), eventCursor: expect.any(String) });
    if (result.kind !== 'started') return;

    const progress = await stacks.progress(input.stackName, result.eventCursor);
    expect(progress).toMatchObject({ status: 'CREATE_IN_PROGRESS', finished: false, succeeded: false, failureReasons: [] });
    // At the start: the stack's event and the first resource's.
    expect(progress.events.map((e) => [e.logicalResourceId, e.status, e.timestamp])).toEqual([
      [input.stackName, 'CREATE_IN_PROGRESS', T0],
      ['TaskExecutionRole', 'CREATE_IN_PROGRESS', T0],
    ]);
    expect(progress.events[0]!.reason).toBe('User Initiated');
    const view = await stacks.describeStack(input.stackName);
    expect(view).toMatchObject({ stackId: result.stackId, status: 'CREATE_IN_PROGRESS', parameters: input.parameters, outputs: {} });

    t = T0 + CREATE_MS / 2;
    const middle = await stacks.progress(input.stackName, progress.cursor);
    expect(middle.status).toBe('CREATE_IN_PROGRESS');
    expect(middle.events.length).toBeGreaterThan(0);
    expect(middle.events.every((e) => e.timestamp > T0 && e.timestamp <= t)).toBe(true);
    expect(middle.events.map((e) => e.eventId)).not.toContain(progress.events[0]!.eventId);

    t = T0 + CREATE_MS - 1;
    expect((await stacks.describeStack(input.stackName))?.status).toBe('CREATE_IN_PROGRESS');

    t = T0 + CREATE_MS;
    const rest = await stacks.progress(input.stackName, middle.cursor);
    expect(rest).toMatchObject({ status: 'CREATE_COMPLETE', finished: true, succeeded: true, failureReasons: [] });
    expect(rest.events.at(-1)).toMatchObject({ logicalResourceId: input.stackName, status: 'CREATE_COMPLETE', timestamp: T0 + CREATE_MS });
    // Nothing new after the end.
    expect((await stacks.progress(input.stackName, rest.cursor)).events).toEqual([]);

    const all = [...progress.events, ...middle.events, ...rest.events];
    const timestamps = all.map((e) => e.timestamp);
    expect(timestamps).toEqual([...timestamps].sort((a, b) => a - b));
    expect(new Set(all.map((e) => e.eventId)).size).toBe(all.length);
    const resources = all.filter((e) => e.status === 'CREATE_COMPLETE' && e.logicalResourceId !== input.stackName);
    // The resources of templates/service-stack.yaml.
    expect(resources.map((e) => [e.logicalResourceId, e.resourceType])).toEqual([
      ['TaskExecutionRole', 'AWS::IAM::Role'],
      ['TaskDefinition', 'AWS::ECS::TaskDefinition'],
      ['LaneTargetGroup', 'AWS::ElasticLoadBalancingV2::TargetGroup'],
      ['LaneListenerRule', 'AWS::ElasticLoadBalancingV2::ListenerRule'],
      ['Service', 'AWS::ECS::Service'],
      ['TargetErrorRateAlarm', 'AWS::CloudWatch::Alarm'],
      ['UnhealthyHostsAlarm', 'AWS::CloudWatch::Alarm'],
      ['RunningTasksAlarm', 'AWS::CloudWatch::Alarm'],
    ]);
    // Without a cursor, progress lists the current operation from its start.
    expect((await stacks.progress(input.stackName)).events).toEqual(all);

    const done = await stacks.describeStack(input.stackName);
    expect(done?.status).toBe('CREATE_COMPLETE');
    // The outputs of templates/service-stack.yaml.
    expect(done?.outputs).toEqual({
      TargetGroupArn: expect.stringMatching(/^arn:aws:elasticloadbalancing:sim-1:000000000000:targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/),
      TargetGroupFullName: expect.stringMatching(/^targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/),
      ListenerRuleArn: expect.stringMatching(/^arn:aws:elasticloadbalancing:sim-1:000000000000:listener-rule\/app\/user-api-dev\//),
      RulePriority: '7',
      ServiceName: 'user-api-dev-gray',
      ClusterName: expect.stringMatching(/^infra-environment-dev-Cluster-[0-9A-F]{12}$/),
      ErrorRateAlarmName: 'user-api-dev-gray-5xx-rate',
      UnhealthyHostsAlarmName: 'user-api-dev-gray-unhealthy-hosts',
      RunningTasksAlarmName: 'user-api-dev-gray-tasks-below-desired',
      ImageUri: input.parameters.ImageUri,
      TaskDefinitionArn: expect.stringMatching(/^arn:aws:ecs:sim-1:000000000000:task-definition\/user-api-dev-gray:\d+$/),
    });
    expect(done?.outputs.TargetGroupArn).toContain(done?.outputs.TargetGroupFullName);
  });

  it("gives lane default no listener rule or target group of its own: it uses the boot stack's default one", async () => {
    const stacks = sim();
    const input = lane('default', { priority: 3 });
    await deployed(stacks, input);
    const events = (await stacks.progress(input.stackName)).events;
    expect(events.map((e) => e.logicalResourceId)).not.toContain('LaneListenerRule');
    expect(events.map((e) => e.logicalResourceId)).not.toContain('LaneTargetGroup');
    const outputs = (await stacks.describeStack(input.stackName))!.outputs;
    expect(outputs.ListenerRuleArn).toBeUndefined();
    await expect(stacks.listenerRules('user-api', 'dev')).resolves.toEqual([]);

    await deployed(stacks, { stackName: 'boot-user-api-dev', templateBody: TEMPLATE, parameters: { Env: 'dev', ServiceName: 'user-api' }, clientRequestToken: 'boot' });
    t += 180_000;
    expect(outputs.TargetGroupArn).toBe((await stacks.describeStack('boot-user-api-dev'))!.outputs.DefaultTargetGroupArn);
  });

  it('divides durations by the time scale', async () => {
    const stacks = sim(10);
    const input = lane('gray');
    await stacks.deployStack(input);
    t = T0 + CREATE_MS / 10 - 1;
    expect((await stacks.progress(input.stackName)).status).toBe('CREATE_IN_PROGRESS');
    t = T0 + CREATE_MS / 10;
    expect((await stacks.progress(input.stackName)).status).toBe('CREATE_COMPLETE');
  });

  it('reports a stack that never existed as DELETE_COMPLETE', async () => {
    await expect(sim().progress('app-user-api-dev-none')).resolves.toMatchObject({ status: 'DELETE_COMPLETE', finished: true, succeeded: true, events: [] });
    await expect(sim().describeStack('app-user-api-dev-none')).resolves.toBeUndefined();
  });
});

describe('SimStacks one operation at a time', () => {
  it('answers busy, with the status, to a deploy or delete while an operation runs', async () => {
    const stacks = sim();
    await stacks.deployStack(lane('gray'));
    t = T0 + 10_000;
    await expect(stacks.deployStack(lane('gray', { image: 'gray-bbbbbbbbbbbb' }))).resolves.toEqual({ kind: 'busy', status: 'CREATE_IN_PROGRESS' });
    await expect(stacks.deleteStack('app-user-api-dev-gray', 'del-1')).resolves.toEqual({ kind: 'busy', status: 'CREATE_IN_PROGRESS' });

    t = T0 + CREATE_MS;
    const update = await stacks.deployStack(lane('gray', { image: 'gray-bbbbbbbbbbbb' }));
    expect(update).toMatchObject({ kind: 'started', operation: 'update' });
    t += 1_000;
    await expect(stacks.deployStack(lane('gray', { image: 'gray-cccccccccccc' }))).resolves.toEqual({ kind: 'busy', status: 'UPDATE_IN_PROGRESS' });
    // The cleanup phase still holds the stack.
    t = T0 + CREATE_MS + UPDATE_MS - 100;
    expect((await stacks.describeStack('app-user-api-dev-gray'))?.status).toBe('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
    await expect(stacks.deployStack(lane('gray', { image: 'gray-cccccccccccc' }))).resolves.toEqual({
      kind: 'busy',
      status: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
    });
    t = T0 + CREATE_MS + UPDATE_MS;
    expect((await stacks.describeStack('app-user-api-dev-gray'))?.status).toBe('UPDATE_COMPLETE');
  });

  it('returns the first call\'s operation for the same client request token', async () => {
    const stacks = sim();
    const input = lane('gray', { token: 'deploy-1' });
    const first = await stacks.deployStack(input);
    t += 5_000;
    await expect(stacks.deployStack(input)).resolves.toEqual(first);
    t = T0 + CREATE_MS;
    // Done, and the stack matches: still the operation the token started, not "no changes".
    await expect(stacks.deployStack(input)).resolves.toEqual(first);
    const events = (await stacks.progress(input.stackName)).events;
    expect(stackStatuses(events, input.stackName)).toEqual(['CREATE_IN_PROGRESS', 'CREATE_COMPLETE']);
    // A new token with the same template and parameters: nothing to do.
    await expect(stacks.deployStack({ ...input, clientRequestToken: 'deploy-2' })).resolves.toEqual({ kind: 'no-changes', stackId: (first as { stackId: string }).stackId });
  });
});

describe('SimStacks updates', () => {
  it('answers no-changes for the same template, parameters and tags; updates what changed', async () => {
    const stacks = sim();
    const stackId = await deployed(stacks, lane('gray', { priority: 2, tags: { team: 'a' } }));
    await expect(stacks.deployStack(lane('gray', { priority: 2, tags: { team: 'a' } }))).resolves.toEqual({ kind: 'no-changes', stackId });

    const start = t;
    const update = await stacks.deployStack(lane('gray', { priority: 2, tags: { team: 'a' }, image: 'gray-bbbbbbbbbbbb' }));
    expect(update).toEqual({ kind: 'started', operation: 'update', stackId, eventCursor: expect.any(String) });
    if (update.kind !== 'started') return;
    // During the update, describe-stacks shows the new parameters and the old outputs.
    t = start + 1_000;
    const during = await stacks.describeStack('app-user-api-dev-gray');
    expect(during?.parameters.ImageUri).toContain('gray-bbbbbbbbbbbb');
    expect(during?.outputs.ImageUri).toContain('gray-aaaaaaaaaaaa');

    t = start + UPDATE_MS;
    const progress = await stacks.progress('app-user-api-dev-gray', update.eventCursor);
    expect(progress).toMatchObject({ status: 'UPDATE_COMPLETE', succeeded: true });
    expect(stackStatuses(progress.events, 'app-user-api-dev-gray')).toEqual(['UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_COMPLETE']);
    const touched = new Set(progress.events.filter((e) => e.logicalResourceId !== 'app-user-api-dev-gray').map((e) => e.logicalResourceId));
    expect([...touched].sort()).toEqual(['Service', 'TaskDefinition']);
    // The task definition is replaced: the new one first, the old one deleted at cleanup.
    expect(progress.events.filter((e) => e.logicalResourceId === 'TaskDefinition').map((e) => e.status)).toEqual([
      'UPDATE_IN_PROGRESS',
      'UPDATE_COMPLETE',
      'DELETE_IN_PROGRESS',
      'DELETE_COMPLETE',
    ]);
    expect((await stacks.describeStack('app-user-api-dev-gray'))?.outputs.ImageUri).toContain('gray-bbbbbbbbbbbb');

    // Tags alone are a change too.
    await expect(stacks.deployStack(lane('gray', { priority: 2, tags: { team: 'b' }, image: 'gray-bbbbbbbbbbbb' }))).resolves.toMatchObject({
      kind: 'started',
      operation: 'update',
    });
  });

  it('streams events across operations from an older cursor', async () => {
    const stacks = sim();
    const create = await stacks.deployStack(lane('gray'));
    if (create.kind !== 'started') throw new Error('not started');
    t = T0 + 1_000;
    const early = await stacks.progress('app-user-api-dev-gray', create.eventCursor);
    t = T0 + CREATE_MS;
    await stacks.deployStack(lane('gray', { image: 'gray-bbbbbbbbbbbb' }));
    t += UPDATE_MS;
    const later = await stacks.progress('app-user-api-dev-gray', early.cursor);
    expect(stackStatuses(later.events, 'app-user-api-dev-gray')).toEqual(['CREATE_COMPLETE', 'UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_COMPLETE']);
    expect(later.events[0]!.timestamp).toBeGreaterThanOrEqual(early.events.at(-1)!.timestamp);
  });
});

describe('SimStacks updateStackParameters', () => {
  const NAME = 'app-user-api-dev-gray';
  const NEW_IMAGE = '000000000000.dkr.ecr.sim-1.amazonaws.com/user-api@sha256:bbbb';

  it('updates the stack with its previous template and tags, only ImageUri changed, and publishes the new image when done', async () => {
    const stacks = sim();
    const original = lane('gray', { priority: 3, tags: { team: 'a' } });
    const stackId = await deployed(stacks, original);

    const start = t;
    const result = await stacks.updateStackParameters({ stackName: NAME, parameters: { ImageUri: NEW_IMAGE }, clientRequestToken: 'promote-1' });

    expect(result).toEqual({ kind: 'started', operation: 'update', stackId, eventCursor: expect.any(String) });
    if (result.kind !== 'started') return;
    const during = await stacks.describeStack(NAME);
    expect(during?.parameters).toEqual({ ...original.parameters, ImageUri: NEW_IMAGE });
    expect(during?.tags).toEqual({ team: 'a' });
    expect(during?.outputs.ImageUri).toBe(original.parameters.ImageUri);

    t = start + UPDATE_MS;
    const progress = await stacks.progress(NAME, result.eventCursor);
    expect(progress).toMatchObject({ status: 'UPDATE_COMPLETE', succeeded: true });
    // Only what uses ImageUri changes: the same template and tags do not touch every resource.
    const touched = new Set(progress.events.filter((e) => e.logicalResourceId !== NAME).map((e) => e.logicalResourceId));
    expect([...touched].sort()).toEqual(['Service', 'TaskDefinition']);
    expect((await stacks.describeStack(NAME))?.outputs.ImageUri).toBe(NEW_IMAGE);
    // The template is still the first deploy's: deploying that again with the new image is no change.
    await expect(stacks.deployStack({ ...original, parameters: { ...original.parameters, ImageUri: NEW_IMAGE }, clientRequestToken: 'redeploy' })).resolves.toEqual({
      kind: 'no-changes',
      stackId,
    });
  });

  it('starts one operation per token: a retry reports the first call\'s, during the update and after it', async () => {
    const stacks = sim();
    await deployed(stacks, lane('gray'));
    const input = { stackName: NAME, parameters: { ImageUri: NEW_IMAGE }, clientRequestToken: 'promote-1' };

    const first = await stacks.updateStackParameters(input);
    t += 1_000;
    const second = await stacks.updateStackParameters(input);
    t += UPDATE_MS;
    const third = await stacks.updateStackParameters(input);

    expect(second).toEqual(first);
    expect(third).toEqual(first);
    const listing = (await stacks.list()).find((s) => s.stackName === NAME);
    expect(listing?.lastOperation).toMatchObject({ kind: 'update', finished: true, succeeded: true });
    // A new token with the image the stack already has: nothing to do.
    await expect(stacks.updateStackParameters({ ...input, clientRequestToken: 'promote-2' })).resolves.toMatchObject({ kind: 'no-changes' });
  });

  it('answers busy while another operation runs, and rejects a missing stack, an unknown parameter, and a stack only a delete can move on', async () => {
    const stacks = sim();
    const update = (token: string, parameters: Record<string, string> = { ImageUri: NEW_IMAGE }) =>
      stacks.updateStackParameters({ stackName: NAME, parameters, clientRequestToken: token });

    await expect(update('u-1')).resolves.toEqual({ kind: 'rejected', reason: expect.stringContaining(`Stack ${NAME} does not exist`) });

    await stacks.deployStack(lane('gray'));
    await expect(update('u-2')).resolves.toEqual({ kind: 'busy', status: 'CREATE_IN_PROGRESS' });
    t += CREATE_MS;
    await expect(update('u-3', { ImageTag: 'x' })).resolves.toEqual({
      kind: 'rejected',
      reason: `Parameters: [ImageTag] do not exist in the template of stack ${NAME}.`,
    });

    // A failed first create leaves ROLLBACK_COMPLETE: deployStack would replace it, this cannot.
    const other = 'app-user-api-dev-blue';
    await stacks.failNextOperation(other);
    await stacks.deployStack(lane('blue', { priority: 9 }));
    t += CREATE_MS;
    const result = await stacks.updateStackParameters({ stackName: other, parameters: { ImageUri: NEW_IMAGE }, clientRequestToken: 'u-4' });
    expect(result).toEqual({ kind: 'rejected', reason: expect.stringMatching(/is in ROLLBACK_COMPLETE state and can not be updated\.$/) });
    expect((await stacks.describeStack(other))?.status).toBe('ROLLBACK_COMPLETE');
  });

  it('fails like any update when a failure is armed, keeping the previous image', async () => {
    const stacks = sim();
    const original = lane('gray');
    await deployed(stacks, original);
    await stacks.failNextOperation(NAME, 'Image not found');

    const result = await stacks.updateStackParameters({ stackName: NAME, parameters: { ImageUri: NEW_IMAGE }, clientRequestToken: 'promote-1' });
    if (result.kind !== 'started') throw new Error(`expected started, got ${JSON.stringify(result)}`);
    t += UPDATE_MS * 2;

    const progress = await stacks.progress(NAME, result.eventCursor);
    expect(progress).toMatchObject({ status: 'UPDATE_ROLLBACK_COMPLETE', succeeded: false });
    expect(progress.failureReasons.join(' ')).toContain('Image not found');
    const view = await stacks.describeStack(NAME);
    expect(view?.parameters.ImageUri).toBe(original.parameters.ImageUri);
    expect(view?.outputs.ImageUri).toBe(original.parameters.ImageUri);
  });

  it('is an ECS deployment of the lane\'s service, as any update of its stack', async () => {
    const stacks = sim();
    const health = new SimLaneHealth({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale: 1, stacks });
    await deployed(stacks, lane('gray', { priority: 3 }));
    const cluster = (await stacks.describeStack(NAME))!.outputs.ClusterName!;
    const before = await health.describeService(cluster, 'user-api-dev-gray');

    await stacks.updateStackParameters({ stackName: NAME, parameters: { ImageUri: NEW_IMAGE }, clientRequestToken: 'promote-1' });
    t += 1_000;
    const during = await health.describeService(cluster, 'user-api-dev-gray');
    t += UPDATE_MS;
    const after = await health.describeService(cluster, 'user-api-dev-gray');

    expect(during?.deployments[0]).toMatchObject({ status: 'PRIMARY', rolloutState: 'IN_PROGRESS' });
    expect(during?.deployments[0]?.id).not.toBe(before?.deployments[0]?.id);
    expect(after?.deployments).toEqual([expect.objectContaining({ id: during?.deployments[0]?.id, rolloutState: 'COMPLETED' })]);
  });
});

describe('SimStacks service roles', () => {
  const NAME = 'app-user-api-dev-default';
  const ROLE = 'arn:aws:iam::000000000000:role/pipeline-user-api-dev-LaneStackRole-AAAAAAAAAAAA';
  const OTHER_ROLE = 'arn:aws:iam::000000000000:role/pipeline-user-api-dev-LaneStackRole-BBBBBBBBBBBB';

  it('describes the role a stack was created with, and none for a stack created without one', async () => {
    const stacks = sim();
    await deployed(stacks, { ...lane('default'), roleArn: ROLE });
    await deployed(stacks, lane('gray', { priority: 3 }));

    expect((await stacks.describeStack(NAME))?.roleArn).toBe(ROLE);
    expect((await stacks.describeStack('app-user-api-dev-gray'))?.roleArn).toBeUndefined();
  });

  it('keeps the role through updates that name none (a deploy or a parameter update), and takes a new one when named', async () => {
    const stacks = sim();
    const original = { ...lane('default'), roleArn: ROLE };
    await deployed(stacks, original);

    await deployed(stacks, { ...lane('default', { image: 'default-bbbbbbbbbbbb' }) });
    expect((await stacks.describeStack(NAME))?.roleArn).toBe(ROLE);

    const update = await stacks.updateStackParameters({ stackName: NAME, parameters: { ImageUri: 'x@sha256:cccc' }, clientRequestToken: 'promote-1' });
    expect(update).toMatchObject({ kind: 'started', operation: 'update' });
    t += UPDATE_MS;
    expect((await stacks.describeStack(NAME))?.roleArn).toBe(ROLE);

    await stacks.updateStackParameters({ stackName: NAME, parameters: { ImageUri: 'x@sha256:dddd' }, roleArn: OTHER_ROLE, clientRequestToken: 'promote-2' });
    t += UPDATE_MS;
    expect(await stacks.describeStack(NAME)).toMatchObject({ status: 'UPDATE_COMPLETE', parameters: { ImageUri: 'x@sha256:dddd' }, roleArn: OTHER_ROLE });
  });
});

describe('SimStacks failures', () => {
  it('rolls a failed create back to ROLLBACK_COMPLETE; the next deploy deletes it (replacing) and then creates it anew', async () => {
    const stacks = sim();
    const name = 'app-user-api-dev-gray';
    await stacks.failNextOperation(name);
    const create = await stacks.deployStack(lane('gray', { priority: 4 }));
    if (create.kind !== 'started') throw new Error('not started');

    t = T0 + CREATE_MS;
    const failed = await stacks.progress(name, create.eventCursor);
    expect(failed).toMatchObject({ status: 'ROLLBACK_COMPLETE', finished: true, succeeded: false });
    expect(stackStatuses(failed.events, name)).toEqual(['CREATE_IN_PROGRESS', 'ROLLBACK_IN_PROGRESS', 'ROLLBACK_COMPLETE']);
    expect(failed.failureReasons).toEqual([expect.stringContaining('ECS Deployment Circuit Breaker was triggered')]);
    const serviceFailed = failed.events.find((e) => e.status === 'CREATE_FAILED');
    expect(serviceFailed).toMatchObject({ logicalResourceId: 'Service', resourceType: 'AWS::ECS::Service' });
    // What was created is deleted again, the failed resource included.
    const deleted = failed.events.filter((e) => e.status === 'DELETE_COMPLETE').map((e) => e.logicalResourceId);
    expect(deleted).toEqual(['Service', 'LaneListenerRule', 'LaneTargetGroup', 'TaskDefinition', 'TaskExecutionRole']);
    const view = await stacks.describeStack(name);
    expect(view).toMatchObject({ status: 'ROLLBACK_COMPLETE', statusReason: 'The following resource(s) failed to create: [Service]. Rollback requested by user.', outputs: {} });
    // A rolled-back create holds no listener rule.
    await expect(stacks.listenerRules('user-api', 'dev')).resolves.toEqual([]);

    const replacing = await stacks.deployStack(lane('gray', { priority: 4 }));
    expect(replacing).toEqual({ kind: 'replacing', status: 'ROLLBACK_COMPLETE' });
    expect((await stacks.describeStack(name))?.status).toBe('DELETE_IN_PROGRESS');
    await expect(stacks.deployStack(lane('gray', { priority: 4 }))).resolves.toEqual({ kind: 'busy', status: 'DELETE_IN_PROGRESS' });

    t += DELETE_MS;
    await expect(stacks.describeStack(name)).resolves.toBeUndefined();
    expect((await stacks.progress(name)).status).toBe('DELETE_COMPLETE');
    const again = await stacks.deployStack(lane('gray', { priority: 4 }));
    expect(again).toMatchObject({ kind: 'started', operation: 'create' });
    expect((again as { stackId: string }).stackId).not.toBe(create.stackId);
    t += CREATE_MS;
    expect((await stacks.describeStack(name))?.status).toBe('CREATE_COMPLETE');
  });

  it('rolls a failed update back to the previous parameters, with the given reason, once', async () => {
    const stacks = sim();
    const name = 'app-user-api-dev-gray';
    await deployed(stacks, lane('gray'));
    await stacks.failNextOperation(name, 'tasks failed the /health check');
    const start = t;
    const update = await stacks.deployStack(lane('gray', { image: 'gray-bbbbbbbbbbbb' }));
    if (update.kind !== 'started') throw new Error('not started');
    t = start + UPDATE_MS;
    const progress = await stacks.progress(name, update.eventCursor);
    expect(progress).toMatchObject({ status: 'UPDATE_ROLLBACK_COMPLETE', finished: true, succeeded: false, failureReasons: ['Service: tasks failed the /health check'] });
    expect(stackStatuses(progress.events, name)).toEqual([
      'UPDATE_IN_PROGRESS',
      'UPDATE_ROLLBACK_IN_PROGRESS',
      'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
      'UPDATE_ROLLBACK_COMPLETE',
    ]);
    expect(progress.events.find((e) => e.status === 'UPDATE_FAILED')).toMatchObject({ logicalResourceId: 'Service', reason: 'tasks failed the /health check' });
    const view = await stacks.describeStack(name);
    expect(view?.parameters.ImageUri).toContain('gray-aaaaaaaaaaaa');
    expect(view?.outputs.ImageUri).toContain('gray-aaaaaaaaaaaa');
    expect(view?.statusReason).toBe('The following resource(s) failed to update: [Service].');

    // The plan was used up: the same update now succeeds.
    await deployed(stacks, lane('gray', { image: 'gray-bbbbbbbbbbbb' }));
    expect((await stacks.describeStack(name))?.status).toBe('UPDATE_COMPLETE');
  });

  it('rejects an empty or malformed template without touching the stack', async () => {
    const stacks = sim();
    const input = lane('gray');
    await expect(stacks.deployStack({ ...input, templateBody: '  ' })).resolves.toMatchObject({ kind: 'rejected', reason: expect.stringContaining("Value '' at 'templateBody'") });
    await expect(stacks.deployStack({ ...input, templateBody: 'Resources:\n  A: [unclosed' })).resolves.toMatchObject({
      kind: 'rejected',
      reason: expect.stringMatching(/^Template format error: YAML not well-formed/),
    });
    await expect(stacks.deployStack({ ...input, templateBody: '{"Description": "no resources"}' })).resolves.toEqual({
      kind: 'rejected',
      reason: 'Template format error: At least one Resources member must be defined.',
    });
    await expect(stacks.describeStack(input.stackName)).resolves.toBeUndefined();
    // JSON templates are fine.
    await expect(stacks.deployStack({ ...input, templateBody: '{"Resources": {"A": {"Type": "AWS::SNS::Topic"}}}' })).resolves.toMatchObject({ kind: 'started' });
  });
});

describe('SimStacks delete and listener rules', () => {
  it('deletes a stack, idempotently by token, and reports it gone', async () => {
    const stacks = sim();
    const name = 'app-user-api-dev-gray';
    await deployed(stacks, lane('gray', { priority: 1 }));
    const start = t;
    const deletion = await stacks.deleteStack(name, 'del-1');
    expect(deletion).toEqual({ kind: 'started', eventCursor: expect.any(String) });
    await expect(stacks.deleteStack(name, 'del-1')).resolves.toEqual(deletion);
    // DeleteStack on a stack being deleted starts nothing; like the adapter, the answer is the running delete.
    await expect(stacks.deleteStack(name, 'del-2')).resolves.toEqual(deletion);
    // Still there, outputs included, while it is being deleted.
    expect((await stacks.describeStack(name))?.outputs.ServiceName).toBe('user-api-dev-gray');
    await expect(stacks.listenerRules('user-api', 'dev')).resolves.toHaveLength(1);

    t = start + DELETE_MS;
    const progress = await stacks.progress(name, (deletion as { eventCursor: string }).eventCursor);
    expect(progress).toMatchObject({ status: 'DELETE_COMPLETE', finished: true, succeeded: true });
    expect(progress.events.filter((e) => e.logicalResourceId !== name).map((e) => `${e.logicalResourceId} ${e.status}`).filter((s) => s.endsWith('COMPLETE'))).toEqual([
      'RunningTasksAlarm DELETE_COMPLETE',
      'UnhealthyHostsAlarm DELETE_COMPLETE',
      'TargetErrorRateAlarm DELETE_COMPLETE',
      'Service DELETE_COMPLETE',
      'LaneListenerRule DELETE_COMPLETE',
      'LaneTargetGroup DELETE_COMPLETE',
      'TaskDefinition DELETE_COMPLETE',
      'TaskExecutionRole DELETE_COMPLETE',
    ]);
    await expect(stacks.describeStack(name)).resolves.toBeUndefined();
    await expect(stacks.deleteStack(name, 'del-3')).resolves.toEqual({ kind: 'gone' });
    await expect(stacks.list()).resolves.toEqual([]);
    await expect(stacks.list({ includeDeleted: true })).resolves.toMatchObject([{ stackName: name, status: 'DELETE_COMPLETE', family: 'lane' }]);
    await expect(stacks.listenerRules('user-api', 'dev')).resolves.toEqual([]);
  });

  it("fails a lane stack whose rule priority another lane of the service/env holds, with ELBv2's message", async () => {
    const stacks = sim();
    await deployed(stacks, lane('gray', { priority: 5 }));
    // Other services and environments have their own listeners.
    await deployed(stacks, lane('gray', { priority: 5, service: 'orders' }));
    await deployed(stacks, lane('gray', { priority: 5, env: 'prod' }));

    const start = t;
    const blue = await stacks.deployStack(lane('blue', { priority: 5 }));
    if (blue.kind !== 'started') throw new Error('not started');
    t = start + CREATE_MS;
    const progress = await stacks.progress('app-user-api-dev-blue', blue.eventCursor);
    expect(progress.status).toBe('ROLLBACK_COMPLETE');
    expect(progress.failureReasons).toEqual([expect.stringContaining("Priority '5' is currently in use")]);
    expect(progress.events.find((e) => e.status === 'CREATE_FAILED')?.logicalResourceId).toBe('LaneListenerRule');
    // The Service was never reached.
    expect(progress.events.map((e) => e.logicalResourceId)).not.toContain('Service');

    const rules = await stacks.listenerRules('user-api', 'dev');
    expect(rules).toEqual([
      {
        priority: 5,
        lane: 'gray',
        stackName: 'app-user-api-dev-gray',
        listenerArn: expect.stringMatching(/^arn:aws:elasticloadbalancing:sim-1:000000000000:listener\/app\/user-api-dev\/[0-9a-f]{16}\/[0-9a-f]{16}$/),
        targetGroupArn: (await stacks.describeStack('app-user-api-dev-gray'))!.outputs.TargetGroupArn,
      },
    ]);
  });

  it("checks a rule's priority against its own listener's stacks only, and indexes stacks recorded before that index existed", async () => {
    const stacks = sim();
    await deployed(stacks, lane('gray', { priority: 5 }));
    // As an account recorded by an older simulator: no listener index yet.
    const indexKeys = await db.redis.keys(`${db.prefix}:sim:cfn:listener*`);
    expect(indexKeys.length).toBeGreaterThan(0);
    await db.redis.del(...indexKeys);
    await deployed(stacks, lane('gray', { priority: 6, service: 'orders' }));

    // A process started on that account indexes it once: the old stack still holds its priority.
    const fresh = sim();
    let start = t;
    const blue = await fresh.deployStack(lane('blue', { priority: 5 }));
    if (blue.kind !== 'started') throw new Error('not started');
    t = start + CREATE_MS;
    await expect(fresh.progress('app-user-api-dev-blue', blue.eventCursor)).resolves.toMatchObject({ status: 'ROLLBACK_COMPLETE' });

    // From then on only the stacks of the deploy's own listener are read for the check.
    const mget = jest.spyOn(db.redis, 'mget');
    start = t;
    const green = await fresh.deployStack(lane('green', { priority: 5 }));
    const read = mget.mock.calls.flat().map(String);
    mget.mockRestore();
    expect(read.some((key) => key.endsWith(':stack:app-user-api-dev-gray'))).toBe(true);
    expect(read.some((key) => key.endsWith(':stack:app-orders-dev-gray'))).toBe(false);
    if (green.kind !== 'started') throw new Error('not started');
    t = start + CREATE_MS;
    await expect(fresh.progress('app-user-api-dev-green', green.eventCursor)).resolves.toMatchObject({ status: 'ROLLBACK_COMPLETE' });
    await expect(fresh.listenerRules('orders', 'dev')).resolves.toMatchObject([{ priority: 6, lane: 'gray' }]);
  });

  it('fails an update that moves the rule to a priority in use, keeping the old one', async () => {
    const stacks = sim();
    await deployed(stacks, lane('gray', { priority: 1 }));
    await deployed(stacks, lane('blue', { priority: 2 }));
    const start = t;
    await stacks.deployStack(lane('blue', { priority: 1 }));
    t = start + UPDATE_MS;
    const progress = await stacks.progress('app-user-api-dev-blue');
    expect(progress.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(progress.events.find((e) => e.status === 'UPDATE_FAILED')).toMatchObject({ logicalResourceId: 'LaneListenerRule', reason: expect.stringContaining("Priority '1' is currently in use") });
    expect((await stacks.listenerRules('user-api', 'dev')).map((r) => [r.lane, r.priority])).toEqual([
      ['gray', 1],
      ['blue', 2],
    ]);
  });

  it('frees a deleted lane stack\'s priority (with its target group) once the delete completes', async () => {
    const stacks = sim();
    await deployed(stacks, lane('gray', { priority: 9 }));
    const grayTargetGroup = (await stacks.describeStack('app-user-api-dev-gray'))!.outputs.TargetGroupArn;
    const start = t;
    await stacks.deleteStack('app-user-api-dev-gray', 'del-gray');
    t = start + DELETE_MS;
    await deployed(stacks, lane('blue', { priority: 9 }));
    expect((await stacks.describeStack('app-user-api-dev-blue'))?.status).toBe('CREATE_COMPLETE');
    const rules = await stacks.listenerRules('user-api', 'dev');
    expect(rules.map((r) => [r.lane, r.priority])).toEqual([['blue', 9]]);
    expect(rules[0]!.targetGroupArn).toBe((await stacks.describeStack('app-user-api-dev-blue'))!.outputs.TargetGroupArn);
    expect(rules[0]!.targetGroupArn).not.toBe(grayTargetGroup);
  });

  it('lets only one of two lanes racing for a priority have it', async () => {
    const a = sim();
    const b = sim(); // a second process on the same simulated account
    const results = await Promise.all([a.deployStack(lane('gray', { priority: 3 })), b.deployStack(lane('blue', { priority: 3 }))]);
    expect(results.map((r) => r.kind)).toEqual(['started', 'started']);
    t = T0 + CREATE_MS;
    const statuses = await Promise.all(['gray', 'blue'].map(async (l) => (await a.describeStack(`app-user-api-dev-${l}`))!.status));
    expect(statuses.sort()).toEqual(['CREATE_COMPLETE', 'ROLLBACK_COMPLETE']);
    await expect(a.listenerRules('user-api', 'dev')).resolves.toHaveLength(1);
  });
});

describe('SimStacks lane deletion', () => {
  const GRAY = 'app-user-api-dev-gray';

  it('removes the stack, its target group and its listener rule, so a new lane can take the priority', async () => {
    const stacks = sim();
    await deployed(stacks, lane('gray', { priority: 12 }));
    const grayTargetGroup = (await stacks.describeStack(GRAY))!.outputs.TargetGroupArn;
    const start = t;
    const deletion = await stacks.deleteStack(GRAY, 'delete-gray');
    if (deletion.kind !== 'started') throw new Error(`expected started, got ${JSON.stringify(deletion)}`);

    t = start + DELETE_MS / 2;
    const middle = await stacks.progress(GRAY, deletion.eventCursor);
    expect(middle).toMatchObject({ status: 'DELETE_IN_PROGRESS', finished: false, succeeded: false });
    expect(stackStatuses(middle.events, GRAY)).toEqual(['DELETE_IN_PROGRESS']);

    t = start + DELETE_MS;
    const done = await stacks.progress(GRAY, middle.cursor);
    expect(done).toMatchObject({ status: 'DELETE_COMPLETE', finished: true, succeeded: true, failureReasons: [] });
    expect(stackStatuses(done.events, GRAY)).toEqual(['DELETE_COMPLETE']);
    expect(done.events.filter((e) => e.status === 'DELETE_COMPLETE').map((e) => e.logicalResourceId)).toEqual(
      expect.arrayContaining(['LaneListenerRule', 'LaneTargetGroup', 'Service']),
    );
    await expect(stacks.listenerRules('user-api', 'dev')).resolves.toEqual([]);

    await deployed(stacks, lane('blue', { priority: 12 }));
    const blue = await stacks.describeStack('app-user-api-dev-blue');
    expect(blue?.status).toBe('CREATE_COMPLETE');
    expect(blue?.outputs.TargetGroupArn).not.toBe(grayTargetGroup);
    expect((await stacks.listenerRules('user-api', 'dev')).map((r) => [r.lane, r.priority])).toEqual([['blue', 12]]);
  });

  it('ends an armed delete in DELETE_FAILED with per-resource reasons, keeps the rule, and a second delete finishes it', async () => {
    const stacks = sim();
    await deployed(stacks, lane('gray', { priority: 12 }));
    await stacks.failNextOperation(GRAY, 'the service is still draining');
    const start = t;
    const deletion = await stacks.deleteStack(GRAY, 'delete-gray');
    if (deletion.kind !== 'started') throw new Error(`expected started, got ${JSON.stringify(deletion)}`);

    t = start + DELETE_MS;
    const failed = await stacks.progress(GRAY, deletion.eventCursor);
    // As the adapter reports CloudFormation's events: the resource's reason, then the stack's own.
    expect(failed).toMatchObject({
      status: 'DELETE_FAILED',
      finished: true,
      succeeded: false,
      failureReasons: ['Service: the service is still draining', `${GRAY}: The following resource(s) failed to delete: [Service].`],
    });
    expect(stackStatuses(failed.events, GRAY)).toEqual(['DELETE_IN_PROGRESS', 'DELETE_FAILED']);
    // The alarms went before the service; the rule and the target group come after it, so they stay.
    expect(failed.events.filter((e) => e.status === 'DELETE_COMPLETE').map((e) => e.logicalResourceId)).toEqual([
      'RunningTasksAlarm',
      'UnhealthyHostsAlarm',
      'TargetErrorRateAlarm',
    ]);
    await expect(stacks.describeStack(GRAY)).resolves.toMatchObject({ status: 'DELETE_FAILED', statusReason: 'The following resource(s) failed to delete: [Service].' });
    expect((await stacks.listenerRules('user-api', 'dev')).map((r) => [r.lane, r.priority])).toEqual([['gray', 12]]);
    // Like CloudFormation: a stack whose delete failed can only be deleted again.
    await expect(stacks.deployStack(lane('gray', { priority: 12, image: 'gray-bbbbbbbbbbbb' }))).resolves.toEqual({
      kind: 'rejected',
      reason: expect.stringContaining('is in DELETE_FAILED state and can not be updated'),
    });

    const retry = await stacks.deleteStack(GRAY, 'delete-gray-again');
    if (retry.kind !== 'started') throw new Error(`expected started, got ${JSON.stringify(retry)}`);
    t += DELETE_MS;
    const finished = await stacks.progress(GRAY, retry.eventCursor);
    expect(finished).toMatchObject({ status: 'DELETE_COMPLETE', succeeded: true });
    // Only what the failed delete left is deleted this time.
    expect(finished.events.filter((e) => e.status === 'DELETE_COMPLETE' && e.logicalResourceId !== GRAY).map((e) => e.logicalResourceId)).toEqual([
      'Service',
      'LaneListenerRule',
      'LaneTargetGroup',
      'TaskDefinition',
      'TaskExecutionRole',
    ]);
    await expect(stacks.listenerRules('user-api', 'dev')).resolves.toEqual([]);
  });

  it('fails an armed delete with the family\'s usual reason when none is given', async () => {
    const stacks = sim();
    await deployed(stacks, lane('gray', { priority: 12 }));
    await stacks.failNextOperation(GRAY);
    await stacks.deleteStack(GRAY, 'delete-gray');
    t += DELETE_MS;
    const failed = await stacks.progress(GRAY);
    expect(failed.status).toBe('DELETE_FAILED');
    expect(failed.failureReasons[0]).toMatch(/^Service: Resource handler returned message: .*deletion timed out/);
  });

  it('answers a delete of a stack that does not exist as gone, like a finished delete', async () => {
    const stacks = sim();
    await expect(stacks.deleteStack('app-user-api-dev-none', 'delete-none')).resolves.toEqual({ kind: 'gone' });
    await expect(stacks.progress('app-user-api-dev-none')).resolves.toMatchObject({ status: 'DELETE_COMPLETE', finished: true, succeeded: true, failureReasons: [] });
  });

  it('refuses a delete while a create or update runs (busy), and joins a delete already running', async () => {
    const stacks = sim();
    await stacks.deployStack(lane('gray', { priority: 12 }));
    t += 1_000;
    await expect(stacks.deleteStack(GRAY, 'delete-during-create')).resolves.toEqual({ kind: 'busy', status: 'CREATE_IN_PROGRESS' });
    t = T0 + CREATE_MS;
    await stacks.deployStack(lane('gray', { priority: 12, image: 'gray-bbbbbbbbbbbb' }));
    t += 1_000;
    await expect(stacks.deleteStack(GRAY, 'delete-during-update')).resolves.toEqual({ kind: 'busy', status: 'UPDATE_IN_PROGRESS' });

    t = T0 + CREATE_MS + UPDATE_MS;
    const first = await stacks.deleteStack(GRAY, 'delete-1');
    t += 1_000;
    // The adapter's contract: DeleteStack on a stack being deleted starts nothing and reports that delete.
    await expect(stacks.deleteStack(GRAY, 'delete-2')).resolves.toEqual(first);
    t += DELETE_MS;
    const events = (await stacks.progress(GRAY, (first as { eventCursor: string }).eventCursor)).events;
    expect(stackStatuses(events, GRAY)).toEqual(['DELETE_IN_PROGRESS', 'DELETE_COMPLETE']);
  });

  it('makes the next create or update fail when armed, and leaves the plan alone for a delete with nothing to remove', async () => {
    const stacks = sim();
    await stacks.failNextOperation(GRAY, 'first create fails');
    await stacks.failNextOperation(GRAY, 'second create fails');
    await deployed(stacks, lane('gray', { priority: 12 }));
    expect((await stacks.describeStack(GRAY))?.status).toBe('ROLLBACK_COMPLETE');
    // The failed create left no resources: its delete cannot fail, and the second plan waits for the next create.
    await stacks.deleteStack(GRAY, 'delete-rolled-back');
    t += DELETE_MS;
    await expect(stacks.describeStack(GRAY)).resolves.toBeUndefined();
    await deployed(stacks, lane('gray', { priority: 12 }));
    expect(await stacks.describeStack(GRAY)).toMatchObject({ status: 'ROLLBACK_COMPLETE' });
    expect((await stacks.progress(GRAY)).failureReasons).toEqual(['Service: second create fails']);
  });
});

describe('SimStacks listing every stack', () => {
  it('reads only the records saved since its last listing, and all of them again after the account was wiped', async () => {
    const stacks = sim();
    await deployed(stacks, lane('gray', { priority: 1 }));
    await deployed(stacks, lane('blue', { priority: 2 }));
    expect((await stacks.list()).map((s) => s.stackName)).toEqual(['app-user-api-dev-blue', 'app-user-api-dev-gray']);

    const mget = jest.spyOn(db.redis, 'mget');
    try {
      // Nothing saved since: no record is read again.
      expect(await stacks.list()).toHaveLength(2);
      expect(mget).not.toHaveBeenCalled();

      // One stack saved since, by another process of the same account: only that one is read.
      await deployed(sim(), lane('green', { priority: 3 }));
      mget.mockClear();
      expect((await stacks.list()).map((s) => s.stackName)).toEqual(['app-user-api-dev-blue', 'app-user-api-dev-gray', 'app-user-api-dev-green']);
      expect(mget.mock.calls.map((call) => call.length)).toEqual([1]);
      expect(mget.mock.calls[0]![0]).toMatch(/app-user-api-dev-green$/);
    } finally {
      mget.mockRestore();
    }

    // The account's keys deleted (a sandbox reset): the next listing starts from scratch.
    const keys = await db.redis.keys(`${db.prefix}:sim:*`);
    await db.redis.del(...keys);
    expect(await stacks.list()).toEqual([]);
    await deployed(sim(), lane('red', { priority: 4 }));
    expect((await stacks.list()).map((s) => s.stackName)).toEqual(['app-user-api-dev-red']);
  });
});

describe('SimStacks families and listing', () => {
  it('gives boot, infra and pipeline stacks their own resources and outputs', async () => {
    const stacks = sim();
    const base = { templateBody: TEMPLATE, clientRequestToken: randomUUID() };
    await stacks.deployStack({ ...base, stackName: 'infra-environment-dev', parameters: { Env: 'dev' } });
    await stacks.deployStack({ ...base, stackName: 'boot-user-api-dev', parameters: { Env: 'dev', ServiceName: 'user-api' }, clientRequestToken: randomUUID() });
    await stacks.deployStack({
      ...base,
      stackName: 'pipeline-user-api-dev',
      parameters: { Env: 'dev', ServiceName: 'user-api', PipelineName: 'user-api-dev' },
      clientRequestToken: randomUUID(),
    });
    await stacks.deployStack({ ...base, stackName: 'pipeline-infra-dev', parameters: { Env: 'dev' }, clientRequestToken: randomUUID() });
    t = T0 + 240_000; // the slowest, the environment, takes about 4 minutes

    const boot = await stacks.describeStack('boot-user-api-dev');
    expect(boot).toMatchObject({ status: 'CREATE_COMPLETE' });
    // The outputs of templates/boot-stack.yaml.
    expect(boot?.outputs).toEqual({
      LoadBalancerArn: expect.stringMatching(/^arn:aws:elasticloadbalancing:sim-1:000000000000:loadbalancer\/app\/user-api-dev\/[0-9a-f]{16}$/),
      DnsName: expect.stringMatching(/^user-api-dev-\d+\.sim-1\.elb\.amazonaws\.com$/),
      HttpListenerArn: expect.stringMatching(/^arn:aws:elasticloadbalancing:sim-1:000000000000:listener\/app\/user-api-dev\//),
      CloudMapServiceArn: expect.stringMatching(/^arn:aws:servicediscovery:sim-1:000000000000:service\/srv-/),
      LogGroupName: '/ecs/dev/user-api',
      DefaultTargetGroupArn: expect.stringMatching(/:targetgroup\//),
      TaskSecurityGroupId: expect.stringMatching(/^sg-[0-9a-f]{17}$/),
    });
    const bootResources = (await stacks.progress('boot-user-api-dev')).events.map((e) => e.logicalResourceId);
    expect(bootResources).toEqual(expect.arrayContaining(['LoadBalancer', 'HttpListener', 'DefaultTargetGroup', 'LogGroup']));

    // A lane of that service sits on the boot stack's listener.
    await deployed(stacks, lane('gray', { priority: 1 }));
    expect((await stacks.listenerRules('user-api', 'dev'))[0]!.listenerArn).toBe(boot!.outputs.HttpListenerArn);

    // The outputs of templates/infra-stack.yaml; lane stacks import the cluster name.
    const infra = await stacks.describeStack('infra-environment-dev');
    expect(infra?.outputs).toEqual({
      VpcId: expect.stringMatching(/^vpc-[0-9a-f]{17}$/),
      PrivateSubnets: expect.stringMatching(/^subnet-[0-9a-f]{17},subnet-[0-9a-f]{17}$/),
      PublicSubnets: expect.stringMatching(/^subnet-[0-9a-f]{17},subnet-[0-9a-f]{17}$/),
      ClusterName: expect.stringMatching(/^infra-environment-dev-Cluster-/),
      NamespaceId: expect.stringMatching(/^ns-[0-9a-f]{16}$/),
    });
    expect((await stacks.describeStack('app-user-api-dev-gray'))!.outputs.ClusterName).toBe(infra!.outputs.ClusterName);
    expect((await stacks.progress('infra-environment-dev')).events.map((e) => e.resourceType)).toEqual(
      expect.arrayContaining(['AWS::EC2::VPC', 'AWS::ECS::Cluster', 'AWS::ServiceDiscovery::PrivateDnsNamespace']),
    );
    // templates/pipelines/: the app pipeline's stack also has the ECR repository the build pushes to.
    expect((await stacks.describeStack('pipeline-user-api-dev'))?.outputs).toEqual({
      PipelineName: 'user-api-dev',
      ArtifactBucketName: expect.stringMatching(/^pipeline-user-api-dev-artifactbucket-[0-9a-f]{12}$/),
      RepositoryUri: expect.stringMatching(/^000000000000\.dkr\.ecr\.sim-1\.amazonaws\.com\/pipeline-user-api-dev-repository-[0-9a-f]{12}$/),
      BuildProjectName: 'user-api-dev-build',
      LaneStackRoleArn: expect.stringMatching(/^arn:aws:iam::000000000000:role\//),
    });
    expect((await stacks.describeStack('pipeline-infra-dev'))?.outputs).toEqual({
      PipelineName: 'infra-dev',
      ArtifactBucketName: expect.any(String),
      InfraStackRoleArn: expect.stringMatching(/^arn:aws:iam::000000000000:role\/pipeline-infra-dev-InfraStackRole-/),
    });

    const listing = await stacks.list();
    expect(listing.map((s) => [s.stackName, s.family, s.status])).toEqual([
      ['app-user-api-dev-gray', 'lane', 'CREATE_COMPLETE'],
      ['boot-user-api-dev', 'boot', 'CREATE_COMPLETE'],
      ['infra-environment-dev', 'infra', 'CREATE_COMPLETE'],
      ['pipeline-infra-dev', 'pipeline', 'CREATE_COMPLETE'],
      ['pipeline-user-api-dev', 'pipeline', 'CREATE_COMPLETE'],
    ]);
    expect(listing[2]!.lastOperation).toEqual({
      kind: 'create',
      startedAt: T0,
      endsAt: T0 + 240_000,
      finalStatus: 'CREATE_COMPLETE',
      succeeded: true,
      statusReason: undefined,
      finished: true,
    });
  });

  it('makes the next operation of a boot stack fail on its load balancer by default', async () => {
    const stacks = sim();
    await stacks.failNextOperation('boot-user-api-dev');
    await stacks.deployStack({ stackName: 'boot-user-api-dev', templateBody: TEMPLATE, parameters: { Env: 'dev', ServiceName: 'user-api' }, clientRequestToken: 'b1' });
    t = T0 + 180_000;
    const progress = await stacks.progress('boot-user-api-dev');
    expect(progress.status).toBe('ROLLBACK_COMPLETE');
    expect(progress.events.find((e) => e.status === 'CREATE_FAILED')?.logicalResourceId).toBe('LoadBalancer');
    expect(progress.failureReasons).toEqual([expect.stringContaining('ElasticLoadBalancingV2')]);
  });
});
