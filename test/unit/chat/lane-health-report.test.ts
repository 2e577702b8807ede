// What `/lane status`'s follow-up says: laneHealthLines (one lane's rollout, targets, alarms) and
// laneHealthReportText (one lane, or the lanes the first answer showed).
import { laneHealthLines, laneHealthReportText } from '../../../src/chat/health-messages';
import type { AlarmView } from '../../../src/cloud/alarms.port';
import type { EcsServiceView } from '../../../src/cloud/ecs.port';
import { summarizeTargets } from '../../../src/cloud/load-balancer.port';
import type { LaneResources } from '../../../src/domain/lane-resources';
import type { LaneHealthReading } from '../../../src/health/lane-health';

const SCOPE = { service: 'user-api', env: 'dev' };
const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/app-u-LaneT-1/abc';

const RESOURCES: LaneResources = {
  stackName: 'app-user-api-dev-gray',
  region: 'us-east-1',
  clusterName: 'dev-cluster',
  serviceName: 'user-api-dev-gray',
  targetGroupArn: TG,
  alarms: { errorRate: 'gray-5xx', unhealthyHosts: 'gray-unhealthy', runningTasks: 'gray-tasks' },
};

const SERVICE: EcsServiceView = { serviceName: 'user-api-dev-gray', status: 'ACTIVE', desiredCount: 2, runningCount: 2, pendingCount: 0, rolloutState: 'COMPLETED', deployments: [] };

function alarm(name: string, state: AlarmView['state'], reason = ''): AlarmView {
  return { name, state, reason, updatedAt: 0 };
}

const HEALTHY: LaneHealthReading = {
  service: SERVICE,
  targets: summarizeTargets(TG, [
    { id: '10.0.0.1', state: 'healthy' },
    { id: '10.0.0.2', state: 'healthy' },
  ]),
  alarms: [alarm('gray-5xx', 'OK'), alarm('gray-unhealthy', 'OK'), alarm('gray-tasks', 'INSUFFICIENT_DATA')],
  missingAlarms: [],
};

describe('laneHealthLines', () => {
  it('says the rollout, the targets and each alarm with its console link', () => {
    expect(laneHealthLines(RESOURCES, HEALTHY)).toEqual([
      '• ECS deployment complete, 2/2 running',
      '• 2/2 targets healthy',
      '• :large_green_circle: <https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/gray-5xx|5xx rate: OK>',
      '• :large_green_circle: <https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/gray-unhealthy|unhealthy hosts: OK>',
      '• :white_circle: <https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/gray-tasks|tasks below desired: no data yet>',
    ]);
  });

  it('gives unhealthy targets their reason and a firing alarm its reason', () => {
    const reading: LaneHealthReading = {
      ...HEALTHY,
      targets: summarizeTargets(TG, [
        { id: '10.0.0.1', state: 'healthy' },
        { id: '10.0.0.2', state: 'unhealthy', reason: 'Target.ResponseCodeMismatch', description: 'Health checks failed with these codes: [502]' },
      ]),
      alarms: [alarm('gray-5xx', 'ALARM', 'Threshold Crossed: 1 datapoint [4.2] was greater than the threshold (1.0).')],
    };
    const lines = laneHealthLines({ ...RESOURCES, region: undefined }, reading);
    expect(lines[1]).toBe('• 1/2 targets unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [502]), 1/2 healthy');
    // Without a region there is no console link, only the text.
    expect(lines[2]).toBe('• :rotating_light: 5xx rate: ALARM (Threshold Crossed: 1 datapoint [4.2] was greater than the threshold (1.0))');
  });

  it('says which part could not be read, and why, instead of leaving it out', () => {
    const reading: LaneHealthReading = {
      alarms: [],
      missingAlarms: [],
      unreadable: { service: 'ecs denied', targets: "lanebot's AWS role may not call elasticloadbalancing:DescribeTargetHealth <x>", alarms: 'AWS throttled' },
    };
    expect(laneHealthLines(RESOURCES, reading)).toEqual([
      '• :grey_question: ECS service: could not be read: ecs denied',
      "• :grey_question: target health: could not be read: lanebot's AWS role may not call elasticloadbalancing:DescribeTargetHealth &lt;x&gt;",
      '• :grey_question: alarms: could not be read: AWS throttled',
    ]);
  });

  it('tells a service or target group that is gone from one the stack never named, and names missing alarms', () => {
    const gone = laneHealthLines(RESOURCES, { alarms: [alarm('gray-5xx', 'OK')], missingAlarms: ['gray-unhealthy'] });
    expect(gone).toEqual([
      '• ECS service `user-api-dev-gray` not found',
      '• target group not found',
      expect.stringContaining('5xx rate: OK'),
      '• alarm `gray-unhealthy` does not exist',
    ]);
    const unnamed = laneHealthLines({ stackName: 'app-user-api-dev-gray', alarms: {} }, { alarms: [], missingAlarms: [] });
    expect(unnamed).toEqual([
      '• ECS service unknown: the lane stack publishes no ClusterName or ServiceName output',
      '• target health unknown: the lane stack publishes no TargetGroupArn output',
      '• no alarms: the lane stack publishes none',
    ]);
  });
});

describe('laneHealthReportText', () => {
  it('heads one lane with its name and scope, and ends with the console links', () => {
    const text = laneHealthReportText(SCOPE, [{ lane: 'gray', resources: RESOURCES, reading: HEALTHY }]);
    const lines = text.split('\n');
    expect(lines[0]).toBe(':stethoscope: *Health of lane gray* (user-api/dev), read just now:');
    expect(lines.slice(1, 3)).toEqual(['• ECS deployment complete, 2/2 running', '• 2/2 targets healthy']);
    expect(lines.at(-1)).toBe(
      `<https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#TargetGroup:targetGroupArn=${encodeURIComponent(TG)}|target group> · ` +
        '<https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/dev-cluster/services/user-api-dev-gray/health?region=us-east-1|ECS service>',
    );
  });

  it('gives each of several lanes its section, in the order given, and a lane without a stack its reason', () => {
    const text = laneHealthReportText(SCOPE, [
      { lane: 'blue', problem: 'the lane stack `app-user-api-dev-blue` does not exist (the deploy did not get that far, or the lane was deleted)' },
      { lane: 'gray', resources: RESOURCES, reading: HEALTHY },
    ]);
    const sections = text.split('\n\n');
    expect(sections[0]).toBe(':stethoscope: *Health of the lanes above* (user-api/dev), read just now:');
    expect(sections[1]).toBe('*blue*\n• the lane stack `app-user-api-dev-blue` does not exist (the deploy did not get that far, or the lane was deleted)');
    expect(sections[2]!.split('\n').slice(0, 3)).toEqual(['*gray*', '• ECS deployment complete, 2/2 running', '• 2/2 targets healthy']);
    expect(sections).toHaveLength(3);
  });
});
