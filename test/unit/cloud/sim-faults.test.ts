import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { CloudFormationClient, CloudFormationServiceException, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, CloudWatchServiceException, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { CodePipelineClient, CodePipelineServiceException, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { DescribeImagesCommand, ECRClient, ECRServiceException } from '@aws-sdk/client-ecr';
import { DescribeServicesCommand, ECSClient, ECSServiceException } from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client, ElasticLoadBalancingV2ServiceException } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Redis } from 'ioredis';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudFormationAdapter } from '../../../src/cloud/aws/cloudformation.adapter';
import { CloudWatchAlarmsAdapter } from '../../../src/cloud/aws/cloudwatch-alarms.adapter';
import { CodePipelineAdapter } from '../../../src/cloud/aws/codepipeline.adapter';
import { EcrAdapter } from '../../../src/cloud/aws/ecr.adapter';
import { EcsAdapter } from '../../../src/cloud/aws/ecs.adapter';
import { Elbv2Adapter } from '../../../src/cloud/aws/elbv2.adapter';
import { SimFaults, type SimFaultKind, type SimFaultService } from '../../../src/cloud/sim/sim-faults';
import { SimImages } from '../../../src/cloud/sim/sim-images';
import { SimLaneHealth } from '../../../src/cloud/sim/sim-lane-health';
import type { SimPipelineInfo } from '../../../src/cloud/sim/sim-pipeline-catalog';
import { SimPipelines } from '../../../src/cloud/sim/sim-pipelines';
import { SimStacks } from '../../../src/cloud/sim/sim-stacks';
import { LanebotError } from '../../../src/errors';
import { REDIS_URL } from '../../support/harness';
import { redisPerTest, T0 } from '../../support/fixtures';

const db = redisPerTest();
let t: number;
const clock = { now: () => t };

const PIPELINES: SimPipelineInfo[] = [{ name: 'api-staging', kind: 'app', service: 'api', env: 'staging' }];
const NO_TEMPLATES = join(tmpdir(), `no-templates-${randomUUID()}`);
const TEMPLATE = 'Resources:\n  TaskDefinition:\n    Type: AWS::ECS::TaskDefinition\n    Properties: { Family: !Sub "${ServiceName}" }\n';
const IMAGE = '000000000000.dkr.ecr.sim-1.amazonaws.com/pipeline-api-staging-repository-0123456789ab:gray-0123456789ab';
const TG = 'arn:aws:elasticloadbalancing:sim-1:000000000000:targetgroup/app-u-Targe-ABC/0123456789abcdef';

function faults(): SimFaults {
  return new SimFaults({ redis: db.redis, prefix: `${db.prefix}:sim` });
}

function simStacks(withFaults?: SimFaults): SimStacks {
  return new SimStacks({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale: 1, faults: withFaults });
}

function simPipelines(withFaults: SimFaults, stacks = simStacks()): SimPipelines {
  return new SimPipelines({
    redis: db.redis,
    prefix: `${db.prefix}:sim`,
    clock,
    timeScale: 1,
    pipelines: () => PIPELINES,
    stacks,
    templatesDir: NO_TEMPLATES,
    faults: withFaults,
  });
}

function laneHealth(withFaults: SimFaults): SimLaneHealth {
  const stack = {
    stackName: 'app-user-api-dev-gray',
    stackId: 'arn:aws:cloudformation:sim-1:000000000000:stack/app-user-api-dev-gray/1',
    status: 'CREATE_COMPLETE',
    parameters: { ServiceName: 'user-api', Env: 'dev', Lane: 'gray', DesiredCount: '2' },
    outputs: { TargetGroupArn: TG, ErrorRateAlarmName: 'user-api-dev-gray-5xx-rate' },
    tags: {},
    family: 'lane' as const,
  };
  return new SimLaneHealth({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale: 1, stacks: { list: async () => [stack] }, faults: withFaults });
}

/** The error a promise rejects with (failing the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<LanebotError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(LanebotError);
    return error as LanebotError;
  }
  throw new Error('expected the call to fail');
}

const EXPECTED: Record<SimFaultKind, { code: string; retryable: boolean }> = {
  throttled: { code: 'AWS_THROTTLED', retryable: true },
  'access-denied': { code: 'AWS_ACCESS_DENIED', retryable: false },
  unavailable: { code: 'AWS_ERROR', retryable: true },
};

beforeEach(() => {
  t = T0;
});

describe('SimFaults', () => {
  it('fails the service\'s next calls as armed, in order, then lets calls through', async () => {
    const f = faults();
    await f.inject({ service: 'codepipeline', fault: 'throttled', count: 2 });
    await f.inject({ service: 'codepipeline', fault: 'access-denied' });
    await f.inject({ service: 'cloudwatch', fault: 'unavailable', count: 3 });
    expect(await f.pending()).toEqual([
      { service: 'codepipeline', fault: 'throttled', count: 2 },
      { service: 'codepipeline', fault: 'access-denied', count: 1 },
      { service: 'cloudwatch', fault: 'unavailable', count: 3 },
    ]);

    const codes: string[] = [];
    for (let i = 0; i < 3; i++) codes.push((await rejection(f.check('codepipeline', 'StartPipelineExecution', 'api-staging'))).code);
    expect(codes).toEqual(['AWS_THROTTLED', 'AWS_THROTTLED', 'AWS_ACCESS_DENIED']);
    await expect(f.check('codepipeline', 'StartPipelineExecution', 'api-staging')).resolves.toBeUndefined();
    // Another service's faults are its own.
    await expect(f.check('cloudformation', 'DescribeStacks', 'app-x')).resolves.toBeUndefined();
    expect(await f.pending()).toEqual([{ service: 'cloudwatch', fault: 'unavailable', count: 3 }]);
  });

  it('throws what the adapters throw: throttled and 503 retryable, access denied naming the call and the policy', async () => {
    const f = faults();
    await f.inject({ service: 'codepipeline', fault: 'throttled' });
    await f.inject({ service: 'codepipeline', fault: 'access-denied' });
    await f.inject({ service: 'codepipeline', fault: 'unavailable' });

    const throttled = await rejection(f.check('codepipeline', 'StartPipelineExecution', 'user-api-dev'));
    expect(throttled).toMatchObject({ name: 'AwsThrottledError', code: 'AWS_THROTTLED', retryable: true });
    expect(throttled.message).toBe('AWS throttled StartPipelineExecution; lanebot will retry.');

    const denied = await rejection(f.check('codepipeline', 'StartPipelineExecution', 'user-api-dev'));
    expect(denied).toMatchObject({ name: 'AwsAccessDeniedError', code: 'AWS_ACCESS_DENIED', retryable: false });
    expect(denied.message).toContain("lanebot's AWS role may not call codepipeline:StartPipelineExecution on pipeline `user-api-dev`");
    expect(denied.message).toContain('templates/iam/bot-policy.json');

    const unavailable = await rejection(f.check('codepipeline', 'StartPipelineExecution', 'user-api-dev'));
    expect(unavailable).toMatchObject({ code: 'AWS_ERROR', retryable: true });
    expect(unavailable.message).toContain('codepipeline:StartPipelineExecution on pipeline `user-api-dev` failed: 503 Service Unavailable');
  });

  it('never lets concurrent consumers in several processes take more faults than were armed', async () => {
    await faults().inject({ service: 'cloudformation', fault: 'throttled', count: 7 });
    // Four connections stand for four bot processes sharing the simulated account.
    const connections = Array.from({ length: 4 }, () => new Redis(REDIS_URL));
    try {
      const consumers = connections.map((redis) => new SimFaults({ redis, prefix: `${db.prefix}:sim` }));
      const outcomes = await Promise.allSettled(
        Array.from({ length: 60 }, (_, i) => consumers[i % consumers.length]!.check('cloudformation', 'DescribeStacks', 'app-x')),
      );
      expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(7);
      expect(await faults().pending()).toEqual([]);
      await expect(faults().check('cloudformation', 'DescribeStacks', 'app-x')).resolves.toBeUndefined();
    } finally {
      for (const redis of connections) redis.disconnect();
    }
  });

  it('keeps its keys under the simulated account\'s prefix', async () => {
    await faults().inject({ service: 'elbv2', fault: 'unavailable', count: 2 });
    expect(await db.redis.keys(`${db.prefix}:*`)).toEqual([`${db.prefix}:sim:faults:elbv2`]);
  });

  it.each([
    [{ service: 'ec2', fault: 'throttled' }, '`service`'],
    [{ service: 'codepipeline', fault: 'slow' }, '`fault`'],
    [{ service: 'codepipeline', fault: 'throttled', count: 0 }, '`count`'],
    [{ service: 'codepipeline', fault: 'throttled', count: 101 }, '`count`'],
    [{ service: 'codepipeline', fault: 'throttled', count: 1.5 }, '`count`'],
  ])('refuses %j naming %s', async (injection, field) => {
    const error = await rejection(faults().inject(injection as never));
    expect(error).toMatchObject({ code: 'INPUT_INVALID' });
    expect(error.message).toContain(field);
    expect(await faults().pending()).toEqual([]);
  });
});

describe('SimFaults watching for faults being armed', () => {
  /** A bot process's SimFaults on its own connection, watching, with its LPOPs counted. */
  async function watchedProcess(): Promise<{ faults: SimFaults; lpops: () => number; stop: () => Promise<void> }> {
    const redis = new Redis(REDIS_URL);
    const lpop = jest.spyOn(redis, 'lpop');
    const watched = new SimFaults({ redis, prefix: `${db.prefix}:sim` });
    await watched.watch();
    return {
      faults: watched,
      lpops: () => lpop.mock.calls.length,
      stop: async () => {
        await watched.close();
        redis.disconnect();
      },
    };
  }

  /** Calls until one fails (the arming message travels on another connection), at most `limit` calls. */
  async function callsUntilFault(f: SimFaults, limit = 500): Promise<LanebotError | undefined> {
    for (let i = 0; i < limit; i++) {
      const error = await f.check('ecr', 'DescribeImages').then(() => undefined, (e: unknown) => e as LanebotError);
      if (error) return error;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return undefined;
  }

  it('asks Redis once per service, then not again while nothing is armed', async () => {
    const bot = await watchedProcess();
    try {
      await bot.faults.check('codepipeline', 'GetPipelineExecution', 'api-staging');
      await bot.faults.check('cloudformation', 'DescribeStacks', 'app-x');
      expect(bot.lpops()).toBe(2);
      for (let i = 0; i < 50; i++) {
        await bot.faults.check('codepipeline', 'GetPipelineExecution', 'api-staging');
        await bot.faults.check('cloudformation', 'DescribeStacks', 'app-x');
      }
      expect(bot.lpops()).toBe(2);
    } finally {
      await bot.stop();
    }
  });

  it('fails the next calls when another process arms a fault, and goes quiet again once they are taken', async () => {
    const bot = await watchedProcess();
    try {
      await bot.faults.check('ecr', 'DescribeImages');
      // The sandbox (another process, another connection) arms two faults.
      await faults().inject({ service: 'ecr', fault: 'throttled', count: 2 });
      expect(await callsUntilFault(bot.faults)).toMatchObject({ code: 'AWS_THROTTLED' });
      await expect(bot.faults.check('ecr', 'DescribeImages')).rejects.toMatchObject({ code: 'AWS_THROTTLED' });
      await bot.faults.check('ecr', 'DescribeImages');
      const lpopsWhenEmpty = bot.lpops();
      for (let i = 0; i < 20; i++) await bot.faults.check('ecr', 'DescribeImages');
      expect(bot.lpops()).toBe(lpopsWhenEmpty);
      expect(await faults().pending()).toEqual([]);
    } finally {
      await bot.stop();
    }
  });

  it('consumes faults armed before it started watching', async () => {
    await faults().inject({ service: 'elbv2', fault: 'unavailable' });
    const bot = await watchedProcess();
    try {
      await expect(bot.faults.check('elbv2', 'DescribeTargetHealth')).rejects.toMatchObject({ code: 'AWS_ERROR', retryable: true });
      await expect(bot.faults.check('elbv2', 'DescribeTargetHealth')).resolves.toBeUndefined();
    } finally {
      await bot.stop();
    }
  });

  it('after close asks Redis on every call again', async () => {
    const bot = await watchedProcess();
    await bot.faults.check('ecr', 'DescribeImages');
    await bot.faults.close();
    await faults().inject({ service: 'ecr', fault: 'access-denied' });
    await expect(bot.faults.check('ecr', 'DescribeImages')).rejects.toMatchObject({ code: 'AWS_ACCESS_DENIED' });
    await bot.stop();
  });
});

describe('the simulated ports consume armed faults', () => {
  it.each<[SimFaultKind]>([['throttled'], ['access-denied'], ['unavailable']])('SimPipelines: %s on StartPipelineExecution and GetPipelineExecution', async (fault) => {
    const f = faults();
    const sim = simPipelines(f);
    await f.inject({ service: 'codepipeline', fault });
    const start = { pipelineName: 'api-staging', variables: { LANE: 'gray', BRANCH: 'main' }, clientRequestToken: randomUUID() };
    const error = await rejection(sim.startExecution(start));
    expect(error).toMatchObject(EXPECTED[fault]);
    expect(error.message).toMatch(/StartPipelineExecution/);
    expect(await sim.executionIds('api-staging')).toEqual([]); // the failed call started nothing

    const { executionId } = await sim.startExecution(start);
    await f.inject({ service: 'codepipeline', fault });
    expect(await rejection(sim.getExecution('api-staging', executionId))).toMatchObject(EXPECTED[fault]);
    expect(await sim.getExecution('api-staging', executionId)).toMatchObject({ executionId, status: 'InProgress' });
  });

  it.each<[SimFaultKind]>([['throttled'], ['access-denied'], ['unavailable']])('SimStacks: %s on every port method', async (fault) => {
    const f = faults();
    const stacks = simStacks(f);
    const input = { stackName: 'app-user-api-dev-gray', templateBody: TEMPLATE, parameters: { Env: 'dev', ServiceName: 'user-api', Lane: 'gray' }, clientRequestToken: randomUUID() };
    const calls: [string, () => Promise<unknown>][] = [
      ['CreateChangeSet', () => stacks.deployStack(input)],
      ['DescribeStacks', () => stacks.describeStack(input.stackName)],
      ['DescribeStackEvents', () => stacks.progress(input.stackName)],
      ['DeleteStack', () => stacks.deleteStack(input.stackName, randomUUID())],
    ];
    for (const [operation, call] of calls) {
      await f.inject({ service: 'cloudformation', fault });
      const error = await rejection(call());
      expect(error).toMatchObject(EXPECTED[fault]);
      expect(error.message).toContain(operation);
      expect(error.message).toContain('app-user-api-dev-gray');
    }
    // Nothing was deployed by the failed call; the next one goes through.
    expect(await stacks.describeStack(input.stackName)).toBeUndefined();
    expect(await stacks.deployStack(input)).toMatchObject({ kind: 'started', operation: 'create' });
  });

  it.each<[SimFaultKind]>([['throttled'], ['access-denied'], ['unavailable']])('SimLaneHealth: %s on DescribeTargetHealth and DescribeAlarms', async (fault) => {
    const f = faults();
    const health = laneHealth(f);
    await f.inject({ service: 'elbv2', fault });
    const targets = await rejection(health.targetHealth(TG));
    expect(targets).toMatchObject(EXPECTED[fault]);
    expect(targets.message).toContain('DescribeTargetHealth');
    expect(await health.targetHealth(TG)).toMatchObject({ targetGroupArn: TG });

    await f.inject({ service: 'cloudwatch', fault });
    // No names: the adapter makes no call, so there is nothing to fail and the fault stays armed.
    expect(await health.alarmStates([])).toEqual({ alarms: [], missing: [] });
    const alarms = await rejection(health.alarmStates(['user-api-dev-gray-5xx-rate']));
    expect(alarms).toMatchObject(EXPECTED[fault]);
    expect(alarms.message).toContain('DescribeAlarms');
    expect((await health.alarmStates(['user-api-dev-gray-5xx-rate'])).missing).toEqual([]);
  });

  it("does not let a pipeline's Deploy action consume the bot's CloudFormation faults", async () => {
    const f = faults();
    const stacks = simStacks(f);
    const sim = simPipelines(f, stacks);
    const { executionId } = await sim.startExecution({ pipelineName: 'api-staging', variables: { LANE: 'gray', BRANCH: 'main' }, clientRequestToken: randomUUID() });
    await f.inject({ service: 'cloudformation', fault: 'access-denied', count: 2 });
    t += 20_000 + 150_000 + 1_000; // Source and Build done: the Deploy action has started its stack
    expect(await sim.getExecution('api-staging', executionId)).toMatchObject({ status: 'InProgress' });
    t += 120_000;
    expect(await sim.getExecution('api-staging', executionId)).toMatchObject({ status: 'Succeeded' });
    expect((await stacks.list()).map((s) => s.stackName)).toEqual(['app-api-staging-gray']);
    expect(await f.pending()).toEqual([{ service: 'cloudformation', fault: 'access-denied', count: 2 }]);
  });
});

// The same SDK error through the real adapter (its client mocked) and through the simulator must
// give the same lanebot error: class, code, retryable flag and message.
describe('simulated faults read exactly like the AWS adapters\' errors', () => {
  const codepipeline = mockClient(CodePipelineClient);
  const cloudformation = mockClient(CloudFormationClient);
  const elbv2 = mockClient(ElasticLoadBalancingV2Client);
  const cloudwatch = mockClient(CloudWatchClient);
  const ecr = mockClient(ECRClient);
  const ecs = mockClient(ECSClient);
  const noRetry = { sleep: async () => undefined, maxThrottleRetries: 0 };

  afterAll(() => {
    for (const mock of [codepipeline, cloudformation, elbv2, cloudwatch, ecr, ecs]) mock.restore();
  });

  /** Per service: the sim port call, and the adapter call after its client is set to reject with `cause`. */
  const cases: Record<SimFaultService, { sim: (f: SimFaults) => Promise<unknown>; aws: (cause: { name: string; message: string; $metadata: { httpStatusCode?: number } }) => Promise<unknown> }> = {
    codepipeline: {
      sim: (f) => simPipelines(f).startExecution({ pipelineName: 'api-staging', variables: {}, clientRequestToken: randomUUID() }),
      aws: (cause) => {
        codepipeline.reset().on(StartPipelineExecutionCommand).rejects(new CodePipelineServiceException({ ...cause, $fault: 'client' }));
        return new CodePipelineAdapter({ client: new CodePipelineClient({ region: 'sim-1' }), region: 'sim-1', ...noRetry }).startExecution({
          pipelineName: 'api-staging',
          variables: {},
          clientRequestToken: randomUUID(),
        });
      },
    },
    cloudformation: {
      sim: (f) => simStacks(f).describeStack('app-api-staging-gray'),
      aws: (cause) => {
        cloudformation.reset().on(DescribeStacksCommand).rejects(new CloudFormationServiceException({ ...cause, $fault: 'client' }));
        return new CloudFormationAdapter({ client: new CloudFormationClient({ region: 'sim-1' }), region: 'sim-1', ...noRetry }).describeStack('app-api-staging-gray');
      },
    },
    ecs: {
      sim: (f) => laneHealth(f).describeService('infra-environment-dev-Cluster-1', 'user-api-dev-gray'),
      aws: (cause) => {
        ecs.reset().on(DescribeServicesCommand).rejects(new ECSServiceException({ ...cause, $fault: 'client' }));
        return new EcsAdapter({ client: new ECSClient({ region: 'sim-1' }), region: 'sim-1', ...noRetry }).describeService('infra-environment-dev-Cluster-1', 'user-api-dev-gray');
      },
    },
    elbv2: {
      sim: (f) => laneHealth(f).targetHealth(TG),
      aws: (cause) => {
        elbv2.reset().on(DescribeTargetHealthCommand).rejects(new ElasticLoadBalancingV2ServiceException({ ...cause, $fault: 'client' }));
        return new Elbv2Adapter({ client: new ElasticLoadBalancingV2Client({ region: 'sim-1' }), ...noRetry }).targetHealth(TG);
      },
    },
    cloudwatch: {
      sim: (f) => laneHealth(f).alarmStates(['user-api-dev-gray-5xx-rate']),
      aws: (cause) => {
        cloudwatch.reset().on(DescribeAlarmsCommand).rejects(new CloudWatchServiceException({ ...cause, $fault: 'client' }));
        return new CloudWatchAlarmsAdapter({ client: new CloudWatchClient({ region: 'sim-1' }), ...noRetry }).alarmStates(['user-api-dev-gray-5xx-rate']);
      },
    },
    ecr: {
      sim: (f) => new SimImages({ redis: db.redis, prefix: `${db.prefix}:sim`, faults: f }).imageExists(IMAGE),
      aws: (cause) => {
        ecr.reset().on(DescribeImagesCommand).rejects(new ECRServiceException({ ...cause, $fault: 'client' }));
        return new EcrAdapter({ client: new ECRClient({ region: 'sim-1' }), region: 'sim-1', ...noRetry }).imageExists(IMAGE);
      },
    },
  };

  const services = Object.keys(cases) as SimFaultService[];
  const kinds: SimFaultKind[] = ['throttled', 'access-denied', 'unavailable'];
  it.each(services.flatMap((service) => kinds.map((fault) => [service, fault] as const)))('%s %s', async (service, fault) => {
    const f = faults();
    await f.inject({ service, fault });
    const simulated = await rejection(cases[service].sim(f));
    const sdk = simulated.cause as { name: string; message: string; $metadata: { httpStatusCode?: number } };
    const real = await rejection(cases[service].aws({ name: sdk.name, message: sdk.message, $metadata: sdk.$metadata }));
    const shape = (e: LanebotError) => ({ class: e.constructor.name, name: e.name, code: e.code, retryable: e.retryable, message: e.message });
    expect(shape(simulated)).toEqual(shape(real));
  });
});
