import { ClusterNotFoundException, DescribeServicesCommand, ECSClient, ECSServiceException } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { EcsAdapter } from '../../../src/cloud/aws/ecs.adapter';

const ecs = mockClient(ECSClient);
const CLUSTER = 'arn:aws:ecs:eu-west-1:123456789012:cluster/staging';
const SERVICE = 'user-staging-gray';

let sleeps: number[];
function adapter(): EcsAdapter {
  return new EcsAdapter({
    client: new ECSClient({ region: 'eu-west-1' }),
    region: 'eu-west-1',
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    maxThrottleRetries: 2,
  });
}

function sdkError(name: string, httpStatusCode: number | undefined): ECSServiceException {
  return new ECSServiceException({ name, $fault: 'client', $metadata: { httpStatusCode }, message: `${name} happened` });
}

beforeEach(() => {
  ecs.reset();
  sleeps = [];
});

describe('EcsAdapter.describeService', () => {
  it('reads the counts, the deployments and the primary deployment rollout state', async () => {
    ecs.on(DescribeServicesCommand, { cluster: CLUSTER, services: [SERVICE] }).resolves({
      services: [
        {
          serviceName: SERVICE,
          status: 'ACTIVE',
          desiredCount: 3,
          runningCount: 2,
          pendingCount: 1,
          deployments: [
            { id: 'ecs-svc/2', status: 'PRIMARY', rolloutState: 'IN_PROGRESS', rolloutStateReason: 'ECS deployment ecs-svc/2 in progress.', desiredCount: 3, runningCount: 1, pendingCount: 1, failedTasks: 2, taskDefinition: 'td:7' },
            { id: 'ecs-svc/1', status: 'ACTIVE', rolloutState: 'COMPLETED', desiredCount: 3, runningCount: 1, pendingCount: 0, failedTasks: 0 },
          ],
        },
      ],
      failures: [],
    });

    const view = await adapter().describeService(CLUSTER, SERVICE);

    expect(view).toEqual({
      serviceName: SERVICE,
      status: 'ACTIVE',
      desiredCount: 3,
      runningCount: 2,
      pendingCount: 1,
      rolloutState: 'IN_PROGRESS',
      rolloutStateReason: 'ECS deployment ecs-svc/2 in progress.',
      deployments: [
        { id: 'ecs-svc/2', status: 'PRIMARY', rolloutState: 'IN_PROGRESS', rolloutStateReason: 'ECS deployment ecs-svc/2 in progress.', desiredCount: 3, runningCount: 1, pendingCount: 1, failedTasks: 2, taskDefinition: 'td:7' },
        { id: 'ecs-svc/1', status: 'ACTIVE', rolloutState: 'COMPLETED', desiredCount: 3, runningCount: 1, pendingCount: 0, failedTasks: 0 },
      ],
      url: 'https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/staging/services/user-staging-gray/health?region=eu-west-1',
    });
  });

  it('reports the circuit breaker: the primary deployment FAILED with its reason', async () => {
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceName: SERVICE,
          status: 'ACTIVE',
          desiredCount: 1,
          runningCount: 1,
          pendingCount: 0,
          deployments: [
            { id: 'ecs-svc/3', status: 'PRIMARY', rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.', desiredCount: 0, runningCount: 0, failedTasks: 3 },
            { id: 'ecs-svc/2', status: 'ACTIVE', rolloutState: 'COMPLETED', desiredCount: 1, runningCount: 1, failedTasks: 0 },
          ],
        },
      ],
    });

    const view = await adapter().describeService('staging', SERVICE);

    expect(view).toMatchObject({ rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.' });
    expect(view?.deployments[0]).toMatchObject({ failedTasks: 3, pendingCount: 0 });
  });

  it('leaves out a rollout state it does not know rather than misreading it', async () => {
    ecs.on(DescribeServicesCommand).resolves({
      services: [{ serviceName: SERVICE, deployments: [{ id: 'd', status: 'PRIMARY', rolloutState: 'PAUSED' as never }] }],
    });

    const view = await adapter().describeService('staging', SERVICE);

    expect(view?.rolloutState).toBeUndefined();
    expect(view?.deployments[0]).toEqual({ id: 'd', status: 'PRIMARY', desiredCount: 0, runningCount: 0, pendingCount: 0, failedTasks: 0 });
  });

  it('answers undefined for a service ECS lists as MISSING', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [], failures: [{ arn: `arn:aws:ecs:eu-west-1:123456789012:service/staging/${SERVICE}`, reason: 'MISSING' }] });

    await expect(adapter().describeService('staging', SERVICE)).resolves.toBeUndefined();
  });

  it('answers undefined when the cluster does not exist', async () => {
    ecs.on(DescribeServicesCommand).rejects(new ClusterNotFoundException({ $metadata: { httpStatusCode: 400 }, message: 'Cluster not found.' }));

    await expect(adapter().describeService('gone', SERVICE)).resolves.toBeUndefined();
  });

  it('retries throttling, then says AWS_THROTTLED', async () => {
    ecs.on(DescribeServicesCommand).rejects(sdkError('ThrottlingException', 400));

    await expect(adapter().describeService('staging', SERVICE)).rejects.toMatchObject({ code: 'AWS_THROTTLED', retryable: true });
    expect(sleeps).toHaveLength(2);
  });

  it('maps access denied and other faults', async () => {
    ecs.on(DescribeServicesCommand).rejectsOnce(sdkError('AccessDeniedException', 403)).rejectsOnce(sdkError('ServerException', 500)).rejects(sdkError('InvalidParameterException', 400));

    await expect(adapter().describeService('staging', SERVICE)).rejects.toMatchObject({ code: 'AWS_ACCESS_DENIED', message: expect.stringContaining('ecs:DescribeServices') });
    await expect(adapter().describeService('staging', SERVICE)).rejects.toMatchObject({ code: 'AWS_ERROR', retryable: true });
    await expect(adapter().describeService('staging', SERVICE)).rejects.toMatchObject({ code: 'AWS_ERROR', retryable: false });
  });
});
