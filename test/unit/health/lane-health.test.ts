import type { AlarmView } from '../../../src/cloud/alarms.port';
import { withRollout, type EcsDeploymentView, type EcsServiceView } from '../../../src/cloud/ecs.port';
import { summarizeTargets, type TargetHealthView } from '../../../src/cloud/load-balancer.port';
import type { LaneResources } from '../../../src/domain/lane-resources';
import { alarmLabel, alarmText, HealthLook, healthLinks, readLaneHealth, rolloutComplete, rolloutFailure, rolloutText, targetsText, type HealthPorts } from '../../../src/health/lane-health';

const TG = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app-u-Targe-ABC/0123456789abcdef';
const RESOURCES: LaneResources = {
  stackName: 'app-user-api-dev-gray',
  region: 'eu-west-1',
  clusterName: 'dev-cluster',
  serviceName: 'user-api-dev-gray',
  targetGroupArn: TG,
  alarms: { errorRate: 'gray-5xx', unhealthyHosts: 'gray-unhealthy', runningTasks: 'gray-tasks' },
};

const MISMATCH = { state: 'unhealthy', reason: 'Target.ResponseCodeMismatch', description: 'Health checks failed with these codes: [502]' } as const;
const TIMEOUT = { state: 'unhealthy', reason: 'Target.Timeout', description: 'Request timed out' } as const;

function group(...targets: (TargetHealthView['state'] | Omit<TargetHealthView, 'id'>)[]) {
  return summarizeTargets(
    TG,
    targets.map((t, i) => ({ id: `10.0.0.${i + 1}`, ...(typeof t === 'string' ? { state: t } : t) })),
  );
}

function deployment(overrides: Partial<EcsDeploymentView> = {}): EcsDeploymentView {
  return { id: 'ecs-svc/1', status: 'PRIMARY', desiredCount: 3, runningCount: 3, pendingCount: 0, failedTasks: 0, ...overrides };
}

function service(counts: { desired?: number; running?: number; pending?: number } = {}, ...deployments: EcsDeploymentView[]): EcsServiceView {
  const { desired = 3, running = desired, pending = 0 } = counts;
  return withRollout({
    serviceName: 'user-api-dev-gray',
    status: 'ACTIVE',
    desiredCount: desired,
    runningCount: running,
    pendingCount: pending,
    deployments: deployments.length > 0 ? deployments : [deployment({ rolloutState: 'COMPLETED' })],
  });
}

function alarm(name: string, state: AlarmView['state'], reason = ''): AlarmView {
  return { name, state, reason, updatedAt: 0 };
}

describe('targetsText', () => {
  it('says all healthy in one phrase', () => {
    expect(targetsText(group('healthy', 'healthy', 'healthy'), 3)).toBe('3/3 targets healthy');
  });

  it('counts against the desired tasks when fewer targets are registered', () => {
    expect(targetsText(group('healthy'), 3)).toBe('1/3 targets healthy');
    expect(targetsText(group(), 2)).toBe('0/2 targets healthy');
  });

  it('leads with the unhealthy targets and their reason, each reason once', () => {
    expect(targetsText(group(MISMATCH, MISMATCH, 'healthy'), 3)).toBe('2/3 targets unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [502]), 1/3 healthy');
  });

  it('lists different reasons side by side, at most three', () => {
    const reasons = ['Target.A', 'Target.B', 'Target.C', 'Target.D'].map((reason) => ({ state: 'unhealthy' as const, reason }));
    expect(targetsText(group(MISMATCH, TIMEOUT), 2)).toBe(
      '2/2 targets unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [502]; Target.Timeout: Request timed out)',
    );
    expect(targetsText(group(...reasons), 4)).toBe('4/4 targets unhealthy (Target.A; Target.B; Target.C)');
  });

  it('does not add "0/n healthy" when every target is unhealthy, but does when some are missing', () => {
    expect(targetsText(group(MISMATCH), 1)).toBe('1/1 targets unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [502])');
    expect(targetsText(group(MISMATCH), 3)).toBe('1/3 targets unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [502]), 0/3 healthy');
  });

  it('says which targets are still in their initial health checks', () => {
    const initial = { state: 'initial', reason: 'Elb.InitialHealthChecking', description: 'Initial health checks in progress' } as const;
    expect(targetsText(group(initial, initial, 'healthy'), 3)).toBe('1/3 targets healthy, 2 still in initial health checks');
  });

  it('does not count draining targets as wanted ones (an older deployment leaving)', () => {
    expect(targetsText(group('healthy', 'healthy', 'draining'), 2)).toBe('2/2 targets healthy, 1 draining');
    expect(targetsText(group('draining', 'draining'), 2)).toBe('0/2 targets healthy, 2 draining');
    // A failing target being deregistered drains too.
    expect(targetsText(group('healthy', { state: 'unhealthy.draining', reason: 'Target.Timeout' }), 1)).toBe('1/1 targets healthy, 1 draining');
  });

  it('explains unused targets and targets without health checks', () => {
    const unused = { state: 'unused', reason: 'Target.NotInUse', description: 'Target group is not configured to receive traffic from the load balancer' } as const;
    expect(targetsText(group('healthy', unused), 2)).toBe('1/2 targets healthy, 1 unused (Target.NotInUse: Target group is not configured to receive traffic from the load balancer)');
    expect(targetsText(group('unavailable'), 1)).toBe('0/1 targets healthy, 1 with health checks off');
  });
});

describe('rolloutText', () => {
  it('says complete with the running count', () => {
    expect(rolloutText(service())).toBe('ECS deployment complete, 3/3 running');
  });

  it('says the service is short of its desired tasks when the deployment completed but tasks are missing', () => {
    expect(rolloutText(service({ desired: 3, running: 1 }))).toBe('ECS service below desired: 1/3 running');
  });

  it('says a rollout is in progress', () => {
    expect(rolloutText(service({ running: 1, pending: 2 }, deployment({ rolloutState: 'IN_PROGRESS' })))).toBe('ECS deployment in progress: 1/3 running');
  });

  it('gives a failed rollout with its reason, without repeating "ECS deployment"', () => {
    const failed = (reason?: string) => service({ running: 0 }, deployment({ rolloutState: 'FAILED', ...(reason ? { rolloutStateReason: reason } : {}) }));
    expect(rolloutText(failed('ECS deployment circuit breaker: tasks failed to start.'))).toBe('ECS deployment failed (circuit breaker: tasks failed to start)');
    expect(rolloutText(failed('ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/0123.'))).toBe(
      'ECS deployment failed (circuit breaker: rolling back to deploymentId ecs-svc/0123)',
    );
    expect(rolloutText(failed('Something else happened'))).toBe('ECS deployment failed (Something else happened)');
    expect(rolloutText(failed())).toBe('ECS deployment failed');
  });

  it('treats a service without a rollout state (no circuit breaker) by its counts', () => {
    expect(rolloutText(service({}, deployment()))).toBe('ECS deployment complete, 3/3 running');
  });
});

describe('rolloutFailure', () => {
  const NEW = 'arn:aws:ecs:us-east-1:123456789012:task-definition/user-api-dev-gray:8';
  const OLD = 'arn:aws:ecs:us-east-1:123456789012:task-definition/user-api-dev-gray:7';

  it('is nothing for a rollout of the task definition the stack deployed', () => {
    expect(rolloutFailure(service({}, deployment({ rolloutState: 'COMPLETED', taskDefinition: NEW })), { taskDefinitionArn: NEW })).toBeUndefined();
    // Unknown either side (an older lane template without the output): nothing to compare.
    expect(rolloutFailure(service({}, deployment({ rolloutState: 'COMPLETED', taskDefinition: OLD })), {})).toBeUndefined();
    expect(rolloutFailure(service({}, deployment({ rolloutState: 'IN_PROGRESS', taskDefinition: OLD })), { taskDefinitionArn: NEW })).toBeUndefined();
  });

  it('names a FAILED primary deployment, and a FAILED one still listed behind the rollback', () => {
    expect(rolloutFailure(service({}, deployment({ rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.' })), {})).toBe(
      'ECS deployment failed (circuit breaker: tasks failed to start)',
    );
    const rollback = deployment({ id: 'ecs-svc/2', rolloutState: 'IN_PROGRESS', taskDefinition: OLD });
    const failed = deployment({ id: 'ecs-svc/1', status: 'ACTIVE', rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.', taskDefinition: NEW });
    expect(rolloutFailure(service({}, rollback, failed), { taskDefinitionArn: NEW })).toContain('ECS deployment failed');
  });

  it('sees a completed rollback to the previous task definition once the failed deployment is gone', () => {
    expect(rolloutFailure(service({}, deployment({ rolloutState: 'COMPLETED', taskDefinition: OLD })), { taskDefinitionArn: NEW })).toBe(
      'ECS rolled the service back to user-api-dev-gray:7 instead of running user-api-dev-gray:8 (circuit breaker)',
    );
  });
});

describe('rolloutComplete', () => {
  it('is true for a completed rollout running what it should', () => {
    expect(rolloutComplete(service())).toBe(true);
  });

  it('is false while the rollout is in progress, or after it failed', () => {
    expect(rolloutComplete(service({}, deployment({ rolloutState: 'IN_PROGRESS' })))).toBe(false);
    expect(rolloutComplete(service({}, deployment({ rolloutState: 'FAILED' })))).toBe(false);
  });

  it('is false while tasks are missing or pending', () => {
    expect(rolloutComplete(service({ running: 2 }))).toBe(false);
    expect(rolloutComplete(service({ running: 3, pending: 1 }))).toBe(false);
  });

  it('without a rollout state, is false while two deployments are active and true once one is left', () => {
    const old = deployment({ id: 'ecs-svc/0', status: 'ACTIVE' });
    expect(rolloutComplete(service({}, deployment(), old))).toBe(false);
    expect(rolloutComplete(service({}, deployment(), { ...old, status: 'INACTIVE' }))).toBe(true);
    expect(rolloutComplete(service({}, deployment()))).toBe(true);
  });

  it('is true for a service that wants no tasks', () => {
    expect(rolloutComplete(service({ desired: 0 }, deployment({ rolloutState: 'COMPLETED', desiredCount: 0, runningCount: 0 })))).toBe(true);
  });
});

describe('alarmText and alarmLabel', () => {
  it('calls the lane alarms by what they watch, and others by their name', () => {
    expect(alarmLabel(RESOURCES, 'gray-5xx')).toBe('5xx rate');
    expect(alarmLabel(RESOURCES, 'gray-unhealthy')).toBe('unhealthy hosts');
    expect(alarmLabel(RESOURCES, 'gray-tasks')).toBe('tasks below desired');
    expect(alarmLabel(RESOURCES, 'someone-elses-alarm')).toBe('someone-elses-alarm');
  });

  it('gives the state, and the reason of an alarm in ALARM without its full stop', () => {
    expect(alarmText(RESOURCES, alarm('gray-5xx', 'OK', 'Threshold Crossed: not greater.'))).toBe('5xx rate: OK');
    expect(alarmText(RESOURCES, alarm('gray-5xx', 'ALARM', 'Threshold Crossed: 1 datapoint [4.2] was greater than the threshold (1.0).'))).toBe(
      '5xx rate: ALARM (Threshold Crossed: 1 datapoint [4.2] was greater than the threshold (1.0))',
    );
    expect(alarmText(RESOURCES, alarm('gray-5xx', 'ALARM'))).toBe('5xx rate: ALARM');
    expect(alarmText(RESOURCES, alarm('gray-5xx', 'ALARM', 'Threshold Crossed.'), false)).toBe('5xx rate: ALARM');
    expect(alarmText(RESOURCES, alarm('gray-tasks', 'INSUFFICIENT_DATA', 'Insufficient Data.'))).toBe('tasks below desired: no data yet');
  });
});

describe('healthLinks', () => {
  it('links the target group and the ECS service in the console', () => {
    expect(healthLinks(RESOURCES)).toEqual([
      { label: 'target group', url: `https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#TargetGroup:targetGroupArn=${encodeURIComponent(TG)}` },
      { label: 'ECS service', url: 'https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/dev-cluster/services/user-api-dev-gray/health?region=eu-west-1' },
    ]);
  });

  it('leaves out what it cannot link', () => {
    const { region: _region, ...withoutRegion } = RESOURCES;
    expect(healthLinks(withoutRegion).map((l) => l.label)).toEqual(['target group']);
    expect(healthLinks({ stackName: 'app-x', alarms: {} })).toEqual([]);
  });
});

describe('readLaneHealth', () => {
  it('reads the service, the targets and the alarms the resources name', async () => {
    const calls: string[] = [];
    const ports: HealthPorts = {
      ecs: { describeService: async (cluster, name) => (calls.push(`ecs ${cluster}/${name}`), service()) },
      loadBalancer: { targetHealth: async (arn) => (calls.push(`elbv2 ${arn}`), group('healthy')) },
      alarms: { alarmStates: async (names) => (calls.push(`cloudwatch ${names.join(',')}`), { alarms: [alarm('gray-5xx', 'OK')], missing: ['gray-unhealthy', 'gray-tasks'] }) },
    };
    const reading = await readLaneHealth(ports, RESOURCES);
    expect(calls.sort()).toEqual(['cloudwatch gray-5xx,gray-unhealthy,gray-tasks', `ecs dev-cluster/user-api-dev-gray`, `elbv2 ${TG}`]);
    expect(reading).toEqual({ service: service(), targets: group('healthy'), alarms: [alarm('gray-5xx', 'OK')], missingAlarms: ['gray-unhealthy', 'gray-tasks'] });
  });

  it('does not ask for what the resources do not name, and leaves out what does not exist', async () => {
    const calls: string[] = [];
    const ports: HealthPorts = {
      ecs: { describeService: async () => (calls.push('ecs'), undefined) },
      loadBalancer: { targetHealth: async () => (calls.push('elbv2'), undefined) },
      alarms: { alarmStates: async (names) => (calls.push(`cloudwatch ${names.length}`), { alarms: [], missing: [] }) },
    };
    expect(await readLaneHealth(ports, { stackName: 'app-x', alarms: {} })).toEqual({ alarms: [], missingAlarms: [] });
    expect(calls).toEqual([]);
    const reading = await readLaneHealth(ports, RESOURCES);
    expect(reading).not.toHaveProperty('service');
    expect(reading).not.toHaveProperty('targets');
  });

  it('a HealthLook reads each part when first asked for, and once', async () => {
    const calls: string[] = [];
    const ports: HealthPorts = {
      ecs: { describeService: async () => (calls.push('ecs'), service()) },
      loadBalancer: { targetHealth: async () => (calls.push('elbv2'), group('healthy')) },
      alarms: { alarmStates: async () => (calls.push('cloudwatch'), { alarms: [], missing: [] }) },
    };
    const look = new HealthLook(ports, RESOURCES);
    expect(await look.service()).toEqual(service());
    expect(calls).toEqual(['ecs']);
    await Promise.all([look.service(), look.targets(), look.targets()]);
    expect(calls).toEqual(['ecs', 'elbv2']);
    await look.alarms();
    await look.alarms();
    expect(calls).toEqual(['ecs', 'elbv2', 'cloudwatch']);
  });

  it('lets a fault of any port through (the caller decides whether to retry)', async () => {
    const ports: HealthPorts = {
      ecs: { describeService: async () => service() },
      loadBalancer: { targetHealth: async () => Promise.reject(new Error('socket hang up')) },
      alarms: { alarmStates: async () => ({ alarms: [], missing: [] }) },
    };
    await expect(readLaneHealth(ports, RESOURCES)).rejects.toThrow('socket hang up');
  });
});
