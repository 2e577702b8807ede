// What Slack shows of a health verdict: the root's status, the end of the final reply, and the
// health lines of `/lane status`. The deploy's own messages are rendered with its view from the
// operations registry, as the narrator does.
import { healthStatusLabel, healthText, laneHealthLines } from '../../../src/chat/health-messages';
import { rootMessage, threadReply } from '../../../src/chat/messages';
import { withRollout } from '../../../src/cloud/ecs.port';
import { summarizeTargets } from '../../../src/cloud/load-balancer.port';
import type { LaneResources } from '../../../src/domain/lane-resources';
import type { HealthVerdict, OperationRecord } from '../../../src/domain/operation';
import { createOperationRegistry } from '../../../src/operations/kinds/index';
import { deployRecord, T0 } from '../../support/fixtures';

const LINKS = [
  { label: 'target group', url: 'https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#TargetGroup:targetGroupArn=x' },
  { label: 'ECS service', url: 'https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/c/services/s/health?region=eu-west-1' },
];

const HEALTHY: HealthVerdict = {
  verdict: 'healthy',
  summary: '3/3 targets healthy, ECS deployment complete, 3/3 running, alarms OK for 5 min',
  reasons: [],
  links: LINKS,
  checkedAt: T0,
};
const UNHEALTHY: HealthVerdict = {
  verdict: 'unhealthy',
  summary: 'deployed, but not healthy',
  reasons: ['1/3 targets unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [502]), 2/3 healthy after 10 min'],
  links: LINKS,
  checkedAt: T0,
};
const UNCHECKED: HealthVerdict = {
  verdict: 'unchecked',
  summary: 'health not checked',
  reasons: ["reading the lane's health failed: elasticloadbalancing:DescribeTargetHealth failed: 503 Service Unavailable"],
  links: [],
  checkedAt: T0,
};

const { viewOf } = createOperationRegistry();

function deploy(health: HealthVerdict | undefined, overrides: Partial<OperationRecord> = {}): OperationRecord {
  return deployRecord({ status: 'succeeded', startedAt: T0, finishedAt: T0 + 300_000, ...(health ? { health } : {}), ...overrides });
}

describe('healthStatusLabel', () => {
  it('says how a succeeded deploy left the lane', () => {
    expect(healthStatusLabel(deploy(HEALTHY))).toBe(':white_check_mark: deployed and healthy');
    expect(healthStatusLabel(deploy(UNHEALTHY))).toBe(':warning: deployed, unhealthy');
    expect(healthStatusLabel(deploy(UNCHECKED))).toBe(':white_check_mark: deployed (health not checked)');
  });

  it('leaves the usual label to operations without a verdict or not succeeded', () => {
    expect(healthStatusLabel(deploy(undefined))).toBeUndefined();
    expect(healthStatusLabel(deploy(HEALTHY, { status: 'failed' }))).toBeUndefined();
    expect(healthStatusLabel(deploy(undefined, { status: 'running' }))).toBeUndefined();
  });

  it('is what the deploy root shows', () => {
    expect(rootMessage(deploy(HEALTHY), viewOf(deploy(HEALTHY)), T0).text).toMatch(/, deployed and healthy$/);
    expect(rootMessage(deploy(UNHEALTHY), viewOf(deploy(UNHEALTHY)), T0).text).toMatch(/, deployed, unhealthy$/);
    expect(rootMessage(deploy(undefined), viewOf(deploy(undefined)), T0).text).not.toContain('health');
  });
});

describe('healthText', () => {
  it('is empty without a verdict', () => {
    expect(healthText(undefined)).toBe('');
  });

  it('healthy: the summary, and a note when something is worth saying', () => {
    expect(healthText(HEALTHY)).toBe('\n*Deployed and healthy:* 3/3 targets healthy, ECS deployment complete, 3/3 running, alarms OK for 5 min.');
    expect(healthText({ ...HEALTHY, reasons: ['alarms the lane stack names but CloudWatch does not know: gray-5xx'] })).toBe(
      '\n*Deployed and healthy:* 3/3 targets healthy, ECS deployment complete, 3/3 running, alarms OK for 5 min. Note: alarms the lane stack names but CloudWatch does not know: gray-5xx.',
    );
  });

  it('unhealthy: the reasons, the console links and what to do', () => {
    expect(healthText(UNHEALTHY)).toBe(
      '\n*Deployed, but not healthy:* 1/3 targets unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [502]), 2/3 healthy after 10 min.' +
        ` <${LINKS[0]!.url}|target group> · <${LINKS[1]!.url}|ECS service>` +
        ' The lane runs the new version; fix it forward or deploy the previous branch again.',
    );
    expect(healthText({ ...UNHEALTHY, reasons: ['a', 'b'], links: [] })).toBe(
      '\n*Deployed, but not healthy:* a; b. The lane runs the new version; fix it forward or deploy the previous branch again.',
    );
  });

  it('unhealthy after a failed ECS rollout: the lane was rolled back, so it does not say the new version runs', () => {
    const text = healthText({ ...UNHEALTHY, reasons: ['ECS deployment failed (circuit breaker: tasks failed to start)'], rolloutFailed: true });
    expect(text).toContain('*Deployed, but not healthy:* ECS deployment failed (circuit breaker: tasks failed to start).');
    expect(text).toContain('ECS rolled the service back to its previous deployment, so the lane does not run this version');
    expect(text).not.toContain('The lane runs the new version');
  });

  it('unchecked: why not', () => {
    expect(healthText(UNCHECKED)).toBe("\n*Health not checked:* reading the lane's health failed: elasticloadbalancing:DescribeTargetHealth failed: 503 Service Unavailable.");
  });

  it('escapes what it quotes and keeps long reasons short', () => {
    const text = healthText({ ...UNCHECKED, reasons: [`<script> & ${'x'.repeat(1000)}`] });
    expect(text).toContain('&lt;script&gt; &amp; ');
    expect(text).not.toContain('<script>');
    expect(text.length).toBeLessThan(500);
    expect(healthText({ ...HEALTHY, summary: '<b>' })).toContain('&lt;b&gt;');
  });
});

describe('the deploy final reply with a verdict', () => {
  const reply = (op: OperationRecord) => threadReply(op, { kind: 'finished' }, viewOf(op), { now: T0 + 300_000 }).text;

  it('marks the verdict with its icon and ends with it', () => {
    expect(reply(deploy(HEALTHY))).toMatch(/^:white_check_mark: Lane \*gray\* of user-api\/dev now runs `release\/1\.2\.3` \(deployed in 5m 00s\)\.\n\*Deployed and healthy:\*/);
    expect(reply(deploy(UNHEALTHY))).toMatch(/^:warning: Lane \*gray\* .*\n\*Deployed, but not healthy:\*/s);
    expect(reply(deploy(UNCHECKED))).toMatch(/^:grey_question: Lane \*gray\* .*\n\*Health not checked:\*/s);
  });

  it('does not say the lane runs a version ECS rolled back', () => {
    const text = reply(deploy({ ...UNHEALTHY, reasons: ['ECS deployment failed (circuit breaker: tasks failed to start)'], rolloutFailed: true }));
    expect(text).toMatch(/^:warning: The pipeline deployed `release\/1\.2\.3` to lane \*gray\* of user-api\/dev in 5m 00s, but ECS did not roll it out\./);
    expect(text).not.toContain('now runs');
  });
});

describe('laneHealthLines', () => {
  const resources: LaneResources = {
    stackName: 'app-user-api-dev-gray',
    region: 'eu-west-1',
    clusterName: 'dev-cluster',
    serviceName: 'user-api-dev-gray',
    targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tg/1',
    alarms: { errorRate: 'gray-5xx', unhealthyHosts: 'gray-unhealthy' },
  };
  const service = withRollout({
    serviceName: 'user-api-dev-gray',
    status: 'ACTIVE',
    desiredCount: 2,
    runningCount: 2,
    pendingCount: 0,
    deployments: [{ id: 'ecs-svc/1', status: 'PRIMARY', rolloutState: 'COMPLETED', desiredCount: 2, runningCount: 2, pendingCount: 0, failedTasks: 0 }],
  });

  it('lists rollout, targets and each alarm with its console link', () => {
    const lines = laneHealthLines(resources, {
      service,
      targets: summarizeTargets(resources.targetGroupArn!, [{ id: 'a', state: 'healthy' }, { id: 'b', state: 'healthy' }]),
      alarms: [
        { name: 'gray-5xx', state: 'ALARM', reason: 'Threshold Crossed: [4.2] > 1.', updatedAt: T0 },
        { name: 'gray-unhealthy', state: 'OK', reason: '', updatedAt: T0 },
      ],
      missingAlarms: ['gray-tasks'],
    });
    expect(lines).toEqual([
      '• ECS deployment complete, 2/2 running',
      '• 2/2 targets healthy',
      '• :rotating_light: <https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/gray-5xx|5xx rate: ALARM (Threshold Crossed: [4.2] &gt; 1)>',
      '• :large_green_circle: <https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/gray-unhealthy|unhealthy hosts: OK>',
      '• alarm `gray-tasks` does not exist',
    ]);
  });

  it('says what it did not find', () => {
    expect(laneHealthLines(resources, { alarms: [], missingAlarms: [] })).toEqual(['• ECS service `user-api-dev-gray` not found', '• target group not found']);
  });
});
