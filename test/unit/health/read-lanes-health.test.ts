// readLanesHealth, what `/lane status` reads: every lane's alarms in one alarmStates call, the ECS
// service and targets per lane, and a failing port noted in the part it left unknown.
import type { AlarmStates } from '../../../src/cloud/alarms.port';
import type { EcsServiceView } from '../../../src/cloud/ecs.port';
import { summarizeTargets, type TargetGroupHealth } from '../../../src/cloud/load-balancer.port';
import type { LaneResources } from '../../../src/domain/lane-resources';
import { readLanesHealth, type HealthPorts } from '../../../src/health/lane-health';

function resourcesOf(lane: string, options: { alarms?: boolean; targets?: boolean } = {}): LaneResources {
  return {
    stackName: `app-user-api-dev-${lane}`,
    region: 'us-east-1',
    clusterName: 'dev-cluster',
    serviceName: `user-api-dev-${lane}`,
    ...(options.targets === false ? {} : { targetGroupArn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${lane}/abc` }),
    alarms: options.alarms === false ? {} : { errorRate: `${lane}-5xx`, unhealthyHosts: `${lane}-unhealthy`, runningTasks: `${lane}-tasks` },
  };
}

function service(name: string): EcsServiceView {
  return { serviceName: name, status: 'ACTIVE', desiredCount: 1, runningCount: 1, pendingCount: 0, rolloutState: 'COMPLETED', deployments: [] };
}

/** Ports over plain data that record what they were asked; a name in `failing` makes that call throw. */
function fakePorts(failing: { ecs?: string; targets?: string; alarms?: boolean } = {}) {
  const asked = { alarmStates: [] as string[][], describeService: [] as string[], targetHealth: [] as string[] };
  const ports: HealthPorts = {
    alarms: {
      async alarmStates(names): Promise<AlarmStates> {
        asked.alarmStates.push(names);
        if (failing.alarms) throw new Error('AWS throttled cloudwatch:DescribeAlarms');
        // blue's tasks alarm does not exist.
        const known = names.filter((n) => n !== 'blue-tasks');
        return { alarms: known.map((name) => ({ name, state: name.endsWith('5xx') ? 'ALARM' : 'OK', reason: '', updatedAt: 0 })), missing: names.filter((n) => n === 'blue-tasks') };
      },
    },
    ecs: {
      async describeService(_cluster, name) {
        asked.describeService.push(name);
        if (name === failing.ecs) throw new Error('ecs:DescribeServices denied');
        return service(name);
      },
    },
    loadBalancer: {
      async targetHealth(arn): Promise<TargetGroupHealth | undefined> {
        asked.targetHealth.push(arn);
        if (failing.targets && arn.includes(`/${failing.targets}/`)) throw new Error('elasticloadbalancing:DescribeTargetHealth denied');
        return summarizeTargets(arn, [{ id: '10.0.0.1', state: 'healthy' }]);
      },
    },
  };
  return { ports, asked };
}

describe('readLanesHealth', () => {
  it('reads every lane\'s alarms in one call and gives each lane its own, in order', async () => {
    const { ports, asked } = fakePorts();
    const [gray, blue, green] = await readLanesHealth(ports, [resourcesOf('gray'), resourcesOf('blue'), resourcesOf('green', { alarms: false })]);
    expect(asked.alarmStates).toEqual([['gray-5xx', 'gray-unhealthy', 'gray-tasks', 'blue-5xx', 'blue-unhealthy', 'blue-tasks']]);
    expect(asked.describeService).toEqual(['user-api-dev-gray', 'user-api-dev-blue', 'user-api-dev-green']);
    expect(gray!.alarms.map((a) => [a.name, a.state])).toEqual([
      ['gray-5xx', 'ALARM'],
      ['gray-unhealthy', 'OK'],
      ['gray-tasks', 'OK'],
    ]);
    expect(gray!.missingAlarms).toEqual([]);
    expect(blue!.alarms.map((a) => a.name)).toEqual(['blue-5xx', 'blue-unhealthy']);
    expect(blue!.missingAlarms).toEqual(['blue-tasks']);
    expect(green).toMatchObject({ alarms: [], missingAlarms: [], service: { serviceName: 'user-api-dev-green' }, targets: { healthy: 1 } });
    for (const reading of [gray, blue, green]) expect(reading).not.toHaveProperty('unreadable');
  });

  it('makes no alarm call when no lane publishes alarms, and no target call without a target group', async () => {
    const { ports, asked } = fakePorts();
    const [reading] = await readLanesHealth(ports, [resourcesOf('gray', { alarms: false, targets: false })]);
    expect(asked.alarmStates).toEqual([]);
    expect(asked.targetHealth).toEqual([]);
    expect(reading).toEqual({ alarms: [], missingAlarms: [], service: service('user-api-dev-gray') });
  });

  it('notes a failing port in the part it left unknown, for the lanes it concerns, and keeps the rest', async () => {
    const { ports } = fakePorts({ ecs: 'user-api-dev-blue', targets: 'gray' });
    const [gray, blue] = await readLanesHealth(ports, [resourcesOf('gray'), resourcesOf('blue')]);
    expect(gray!.unreadable).toEqual({ targets: 'elasticloadbalancing:DescribeTargetHealth denied' });
    expect(gray!.service).toBeDefined();
    expect(gray!.alarms).toHaveLength(3);
    expect(blue!.unreadable).toEqual({ service: 'ecs:DescribeServices denied' });
    expect(blue!.targets).toMatchObject({ healthy: 1 });
  });

  it('marks the alarms unknown for every lane with alarms when the one alarm call fails', async () => {
    const { ports } = fakePorts({ alarms: true });
    const [gray, green] = await readLanesHealth(ports, [resourcesOf('gray'), resourcesOf('green', { alarms: false })]);
    expect(gray!.unreadable).toEqual({ alarms: 'AWS throttled cloudwatch:DescribeAlarms' });
    expect(gray!.alarms).toEqual([]);
    expect(green).not.toHaveProperty('unreadable');
  });
});
