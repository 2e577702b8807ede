// The ELBv2 and CloudWatch adapters against moto: resources are made through the SDK (and, for
// EC2, moto's Query API, as no EC2 SDK client is a dependency), then read back through the adapters.
//
// What moto covers: DescribeTargetHealth reports every registered target as `healthy`, except an
// EC2 instance that is stopped (`unused`, Target.InvalidState); it never runs health checks, so
// `initial`, `unhealthy` and `draining` of registered targets are covered by the aws-sdk-client-mock
// tests only. DescribeAlarms answers by name with the state SetAlarmState gave, its reason and
// StateUpdatedTimestamp (no StateTransitionedTimestamp), starts new alarms in OK rather than
// INSUFFICIENT_DATA, and ignores MaxRecords and AlarmTypes (so batching is shown, paging is not).
// DescribeAlarms by StateValue (the alarm watch's safety net) is filtered by moto as by CloudWatch,
// and StateReasonData comes back as SetAlarmState gave it.
import {
  CloudWatchClient,
  PutMetricAlarmCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CloudWatchAlarmsAdapter } from '../../src/cloud/aws/cloudwatch-alarms.adapter';
import { Elbv2Adapter } from '../../src/cloud/aws/elbv2.adapter';
import { describeWithMoto, startMoto, type MotoServer } from '../support/moto';

describeWithMoto('lane health adapters against moto', () => {
  let moto: MotoServer;
  let elb: ElasticLoadBalancingV2Client;
  let cw: CloudWatchClient;

  beforeAll(async () => {
    moto = await startMoto();
    elb = new ElasticLoadBalancingV2Client(moto.clientConfig);
    cw = new CloudWatchClient(moto.clientConfig);
  }, 40_000);

  afterAll(async () => {
    elb?.destroy();
    cw?.destroy();
    await moto?.stop();
  });

  /** An EC2 Query API call; moto routes it by the credential scope and does not check signatures. */
  async function ec2(params: Record<string, string>): Promise<string> {
    const response = await fetch(moto.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: 'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: new URLSearchParams({ Version: '2016-11-15', ...params }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`EC2 ${params.Action} failed: ${text}`);
    return text;
  }

  async function createVpc(): Promise<string> {
    const vpcId = /<vpcId>([^<]+)<\/vpcId>/.exec(await ec2({ Action: 'CreateVpc', CidrBlock: '10.0.0.0/16' }))?.[1];
    if (!vpcId) throw new Error('moto returned no VPC id');
    return vpcId;
  }

  async function targetGroup(name: string, targetType: 'ip' | 'instance', vpcId: string): Promise<string> {
    const out = await elb.send(new CreateTargetGroupCommand({ Name: name, Protocol: 'HTTP', Port: 8080, VpcId: vpcId, TargetType: targetType, HealthCheckPath: '/health' }));
    return out.TargetGroups![0]!.TargetGroupArn!;
  }

  it('reads the targets of an ECS-style (ip) target group as healthy, with their ports', async () => {
    const arn = await targetGroup('lane-gray-ip', 'ip', await createVpc());
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: '10.0.1.10', Port: 8080 }, { Id: '10.0.1.11', Port: 8081 }] }));

    const health = await new Elbv2Adapter({ client: elb }).targetHealth(arn);

    expect(health).toMatchObject({ targetGroupArn: arn, healthy: 2, unhealthy: 0, initial: 0, draining: 0, unused: 0, unavailable: 0 });
    expect(health?.targets).toEqual(
      expect.arrayContaining([
        { id: '10.0.1.10', port: 8080, state: 'healthy' },
        { id: '10.0.1.11', port: 8081, state: 'healthy' },
      ]),
    );
  });

  it('reports a stopped instance as unused with its reason', async () => {
    const arn = await targetGroup('lane-blue-instances', 'instance', await createVpc());
    const run = await ec2({ Action: 'RunInstances', ImageId: 'ami-12c6146b', MinCount: '2', MaxCount: '2', InstanceType: 't3.micro' });
    const [running, stopped] = [...run.matchAll(/<instanceId>([^<]+)<\/instanceId>/g)].map((m) => m[1]!);
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: running! }, { Id: stopped! }] }));
    await ec2({ Action: 'StopInstances', 'InstanceId.1': stopped! });

    const health = await new Elbv2Adapter({ client: elb }).targetHealth(arn);

    expect(health).toMatchObject({ healthy: 1, unused: 1 });
    expect(health?.targets).toEqual(expect.arrayContaining([expect.objectContaining({ id: stopped, state: 'unused', reason: 'Target.InvalidState' })]));
  });

  it('answers a target group that does not exist with undefined', async () => {
    const missing = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/gone/0123456789abcdef';
    await expect(new Elbv2Adapter({ client: elb }).targetHealth(missing)).resolves.toBeUndefined();
  });

  it('reads alarm states with their reasons, in batches, and names the missing alarms', async () => {
    const names = Array.from({ length: 105 }, (_, i) => `app-user-api-dev-gray-alarm-${String(i).padStart(3, '0')}`);
    for (const name of names) {
      await cw.send(
        new PutMetricAlarmCommand({
          AlarmName: name,
          Namespace: 'AWS/ApplicationELB',
          MetricName: 'UnHealthyHostCount',
          Statistic: 'Maximum',
          Period: 60,
          EvaluationPeriods: 1,
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
        }),
      );
    }
    const reason = 'Threshold Crossed: 1 datapoint [1.0 (05/01/26 10:00:00)] was greater than the threshold (0.0).';
    await cw.send(new SetAlarmStateCommand({ AlarmName: names[104]!, StateValue: 'ALARM', StateReason: reason }));
    await cw.send(new SetAlarmStateCommand({ AlarmName: names[1]!, StateValue: 'INSUFFICIENT_DATA', StateReason: 'no datapoints' }));

    const states = await new CloudWatchAlarmsAdapter({ client: cw }).alarmStates([names[104]!, 'app-user-api-dev-gray-nope', ...names]);

    expect(states.missing).toEqual(['app-user-api-dev-gray-nope']);
    expect(states.alarms).toHaveLength(105);
    // The threshold is the alarm's own (moto's StateReasonData is `{}` unless SetAlarmState gave one).
    expect(states.alarms[0]).toEqual({ name: names[104], state: 'ALARM', reason, updatedAt: expect.any(Number), threshold: 0 });
    expect(states.alarms[0]!.updatedAt).toBeGreaterThan(Date.UTC(2020, 0, 1));
    expect(states.alarms.find((a) => a.name === names[1])).toMatchObject({ state: 'INSUFFICIENT_DATA', reason: 'no datapoints' });
    // moto creates alarms in OK (CloudWatch starts them in INSUFFICIENT_DATA).
    expect(states.alarms.find((a) => a.name === names[0])).toMatchObject({ state: 'OK', reason: 'Unchecked: Initial alarm creation' });
  });

  it('lists exactly the alarms in a state, with the figures SetAlarmState gave', async () => {
    await moto.reset(); // the alarms of the test above would be listed too
    const names = ['user-api-dev-gray-5xx-rate', 'user-api-dev-gray-unhealthy-hosts', 'user-api-dev-blue-5xx-rate', 'user-api-dev-blue-tasks-below-desired'];
    for (const name of names) {
      await cw.send(
        new PutMetricAlarmCommand({
          AlarmName: name,
          Namespace: 'AWS/ApplicationELB',
          MetricName: 'HTTPCode_Target_5XX_Count',
          Statistic: 'Sum',
          Period: 300,
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanThreshold',
        }),
      );
    }
    const reasonData = JSON.stringify({
      version: '1.0',
      statistic: 'Average',
      period: 300,
      threshold: 1,
      recentDatapoints: [4.2],
      evaluatedDatapoints: [{ timestamp: '2026-01-05T10:05:00.000+0000', sampleCount: 300, value: 4.2 }],
    });
    await cw.send(new SetAlarmStateCommand({ AlarmName: names[0]!, StateValue: 'ALARM', StateReason: 'Threshold Crossed: 1 datapoint [4.2] was greater than the threshold (1.0).', StateReasonData: reasonData }));
    await cw.send(new SetAlarmStateCommand({ AlarmName: names[2]!, StateValue: 'ALARM', StateReason: 'Threshold Crossed: no reason data' }));
    await cw.send(new SetAlarmStateCommand({ AlarmName: names[3]!, StateValue: 'INSUFFICIENT_DATA', StateReason: 'no datapoints' }));
    const adapter = new CloudWatchAlarmsAdapter({ client: cw });

    const alarming = await adapter.alarmsInState('ALARM');

    expect(alarming.map((a) => a.name).sort()).toEqual([names[0], names[2]].sort());
    expect(alarming.find((a) => a.name === names[0])).toMatchObject({ state: 'ALARM', value: 4.2, threshold: 1 });
    // Without reason data, the alarm's own threshold (no value to show).
    const bare = alarming.find((a) => a.name === names[2])!;
    expect(bare).toMatchObject({ state: 'ALARM', threshold: 1 });
    expect(bare).not.toHaveProperty('value');
    expect((await adapter.alarmsInState('OK')).map((a) => a.name)).toEqual([names[1]]);
    expect((await adapter.alarmsInState('INSUFFICIENT_DATA')).map((a) => a.name)).toEqual([names[3]]);
  });
});
