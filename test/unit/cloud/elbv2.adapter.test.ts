import {
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ElasticLoadBalancingV2ServiceException,
  TargetGroupNotFoundException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { Elbv2Adapter } from '../../../src/cloud/aws/elbv2.adapter';
import { LanebotError } from '../../../src/errors';

const elb = mockClient(ElasticLoadBalancingV2Client);
const TG = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app-user-Targe-1A2B3C/0123456789abcdef';

let sleeps: number[];
function adapter(): Elbv2Adapter {
  return new Elbv2Adapter({
    client: new ElasticLoadBalancingV2Client({ region: 'eu-west-1' }),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    maxThrottleRetries: 2,
  });
}

function sdkError(name: string, httpStatusCode: number | undefined): ElasticLoadBalancingV2ServiceException {
  return new ElasticLoadBalancingV2ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode }, message: `${name} happened` });
}

beforeEach(() => {
  elb.reset();
  sleeps = [];
});

describe('Elbv2Adapter.targetHealth', () => {
  it('counts targets per state and keeps each target with its reason', async () => {
    elb.on(DescribeTargetHealthCommand, { TargetGroupArn: TG }).resolves({
      TargetHealthDescriptions: [
        { Target: { Id: '10.0.1.10', Port: 8080 }, TargetHealth: { State: 'healthy' } },
        {
          Target: { Id: '10.0.1.11', Port: 8080 },
          TargetHealth: { State: 'unhealthy', Reason: 'Target.ResponseCodeMismatch', Description: 'Health checks failed with these codes: [502]' },
        },
        { Target: { Id: '10.0.1.12', Port: 8080 }, TargetHealth: { State: 'initial', Reason: 'Elb.InitialHealthChecking' } },
        { Target: { Id: '10.0.1.13', Port: 8080 }, TargetHealth: { State: 'draining', Reason: 'Target.DeregistrationInProgress' } },
        { Target: { Id: '10.0.1.14', Port: 8080 }, TargetHealth: { State: 'unhealthy.draining', Reason: 'Target.ResponseCodeMismatch' } },
        { Target: { Id: '10.0.1.15', Port: 8080 }, TargetHealth: { State: 'unused', Reason: 'Target.NotInUse' } },
        { Target: { Id: '10.0.1.16', Port: 8080 }, TargetHealth: { State: 'unavailable', Reason: 'Target.HealthCheckDisabled' } },
      ],
    });

    const health = await adapter().targetHealth(TG);

    expect(health).toMatchObject({ targetGroupArn: TG, healthy: 1, unhealthy: 1, initial: 1, draining: 2, unused: 1, unavailable: 1 });
    expect(health?.targets[1]).toEqual({
      id: '10.0.1.11',
      port: 8080,
      state: 'unhealthy',
      reason: 'Target.ResponseCodeMismatch',
      description: 'Health checks failed with these codes: [502]',
    });
    expect(health?.targets[0]).toEqual({ id: '10.0.1.10', port: 8080, state: 'healthy' });
  });

  it('answers an empty target group with zero counts', async () => {
    elb.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [] });
    expect(await adapter().targetHealth(TG)).toEqual({ targetGroupArn: TG, healthy: 0, unhealthy: 0, initial: 0, draining: 0, unused: 0, unavailable: 0, targets: [] });
  });

  it('answers a target group that does not exist with undefined', async () => {
    elb.on(DescribeTargetHealthCommand).rejects(new TargetGroupNotFoundException({ $metadata: { httpStatusCode: 400 }, message: 'One or more target groups not found' }));
    await expect(adapter().targetHealth(TG)).resolves.toBeUndefined();
  });

  it('retries throttling a bounded number of times, then throws a retryable AWS_THROTTLED', async () => {
    elb.on(DescribeTargetHealthCommand).rejects(sdkError('Throttling', 400));
    const error = await adapter().targetHealth(TG).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LanebotError);
    expect(error).toMatchObject({ code: 'AWS_THROTTLED', retryable: true });
    expect(sleeps).toHaveLength(2);
    expect(elb.commandCalls(DescribeTargetHealthCommand)).toHaveLength(3);
  });

  it('gets through a throttle that passes', async () => {
    elb.on(DescribeTargetHealthCommand).rejectsOnce(sdkError('Throttling', 400)).resolves({ TargetHealthDescriptions: [] });
    await expect(adapter().targetHealth(TG)).resolves.toMatchObject({ healthy: 0 });
    expect(sleeps).toHaveLength(1);
  });

  it('maps access denied to AWS_ACCESS_DENIED naming the action', async () => {
    elb.on(DescribeTargetHealthCommand).rejects(sdkError('AccessDenied', 403));
    await expect(adapter().targetHealth(TG)).rejects.toMatchObject({
      code: 'AWS_ACCESS_DENIED',
      message: expect.stringContaining('elasticloadbalancing:DescribeTargetHealth'),
    });
  });

  it('maps HealthUnavailable and server errors to a retryable AWS_ERROR, client errors to a final one', async () => {
    elb.on(DescribeTargetHealthCommand).rejects(sdkError('HealthUnavailableException', 500));
    await expect(adapter().targetHealth(TG)).rejects.toMatchObject({ code: 'AWS_ERROR', retryable: true, message: expect.stringContaining(TG) });

    elb.on(DescribeTargetHealthCommand).rejects(sdkError('InternalFailure', 503));
    await expect(adapter().targetHealth(TG)).rejects.toMatchObject({ code: 'AWS_ERROR', retryable: true });

    elb.on(DescribeTargetHealthCommand).rejects(sdkError('ValidationError', 400));
    await expect(adapter().targetHealth(TG)).rejects.toMatchObject({ code: 'AWS_ERROR', retryable: false, message: expect.stringContaining('ValidationError') });
  });
});
