// The verify-health step on its own: fake ports (plain objects answering what a test sets), a clock
// the test moves, and small in-memory stand-ins for the stores the step writes to. Each test drives
// the step call by call, as the runner does (a wait's progress is saved before the next call).
import pino from 'pino';
import type { AlarmsPort, AlarmView } from '../../../src/cloud/alarms.port';
import type { CloudPorts } from '../../../src/cloud/cloud';
import { withRollout, type EcsPort, type EcsServiceView } from '../../../src/cloud/ecs.port';
import { summarizeTargets, type LoadBalancerPort, type TargetGroupHealth, type TargetHealthView } from '../../../src/cloud/load-balancer.port';
import type { StackView, StacksPort } from '../../../src/cloud/stacks.port';
import { parseConfig } from '../../../src/config';
import type { LaneResources } from '../../../src/domain/lane-resources';
import type { OperationRecord } from '../../../src/domain/operation';
import { AwsAccessDeniedError, AwsThrottledError, LanebotError } from '../../../src/errors';
import type { StepDeps, StepResult } from '../../../src/operations/step';
import { MAX_AWS_FAILURES } from '../../../src/operations/steps/retry';
import { HEALTH_STAGE, verifyHealthStep } from '../../../src/operations/steps/verify-health.step';
import type { OperationPatch } from '../../../src/state/operation-store';
import { deployRecord, T0 } from '../../support/fixtures';
import { Metrics } from '../../../src/metrics';

const MIN = 60_000;
const POLL_MS = 1000;
const REGION = 'eu-west-1';
const TG = `arn:aws:elasticloadbalancing:${REGION}:123456789012:targetgroup/app-u-Targe-ABC/0123456789abcdef`;
const ALARMS = { errorRate: 'user-api-dev-gray-5xx-rate', unhealthyHosts: 'user-api-dev-gray-unhealthy-hosts', runningTasks: 'user-api-dev-gray-tasks-below-desired' };
const OUTPUTS: Record<string, string> = {
  ClusterName: 'infra-environment-dev-Cluster-1',
  ServiceName: 'user-api-dev-gray',
  TargetGroupArn: TG,
  ErrorRateAlarmName: ALARMS.errorRate,
  UnhealthyHostsAlarmName: ALARMS.unhealthyHosts,
  RunningTasksAlarmName: ALARMS.runningTasks,
};

function config(verify = '{ soak: 5m, deadline: 10m }') {
  return parseConfig(`
services:
  user-api: {}
environments:
  dev:
    verify: ${verify}
`);
}

function stack(outputs: Record<string, string> = OUTPUTS): StackView {
  return {
    stackName: 'app-user-api-dev-gray',
    stackId: `arn:aws:cloudformation:${REGION}:123456789012:stack/app-user-api-dev-gray/1`,
    status: 'UPDATE_COMPLETE',
    parameters: {},
    outputs,
    tags: {},
  };
}

function service(overrides: Partial<Omit<EcsServiceView, 'deployments'>> & { rolloutState?: EcsServiceView['rolloutState']; reason?: string } = {}): EcsServiceView {
  const { rolloutState = 'COMPLETED', reason, desiredCount = 2, runningCount = desiredCount, pendingCount = 0, ...rest } = overrides;
  return withRollout({
    serviceName: 'user-api-dev-gray',
    status: 'ACTIVE',
    desiredCount,
    runningCount,
    pendingCount,
    deployments: [{ id: 'ecs-svc/1', status: 'PRIMARY', rolloutState, ...(reason ? { rolloutStateReason: reason } : {}), desiredCount, runningCount, pendingCount, failedTasks: 0 }],
    ...rest,
  });
}

const UNHEALTHY: Omit<TargetHealthView, 'id'> = { state: 'unhealthy', reason: 'Target.ResponseCodeMismatch', description: 'Health checks failed with these codes: [502]' };

function targets(...states: (TargetHealthView['state'] | Omit<TargetHealthView, 'id'>)[]): TargetGroupHealth {
  return summarizeTargets(
    TG,
    states.map((s, i) => ({ id: `10.0.0.${i + 1}`, port: 8080, ...(typeof s === 'string' ? { state: s } : s) })),
  );
}

function alarm(name: string, state: AlarmView['state'] = 'OK', reason = ''): AlarmView {
  return { name, state, reason, updatedAt: T0 };
}

const allOk = () => Object.values(ALARMS).map((name) => alarm(name));

/** The fake cloud: what each read answers, the faults the next reads throw, and the calls made. */
class FakeCloud {
  stack: StackView | undefined = stack();
  service: EcsServiceView | undefined = service();
  targets: TargetGroupHealth | undefined = targets('healthy', 'healthy');
  alarms: AlarmView[] = allOk();
  missingAlarms: string[] = [];
  /** Thrown by the next reads of the ECS service (read on every look), one per call. */
  faults: Error[] = [];
  calls: string[] = [];

  readonly stacks: Pick<StacksPort, 'describeStack'> = {
    describeStack: async (name) => {
      this.calls.push(`describeStack ${name}`);
      return this.stack;
    },
  };
  readonly ecs: EcsPort = {
    describeService: async (cluster, name) => {
      this.calls.push(`describeService ${cluster} ${name}`);
      const fault = this.faults.shift();
      if (fault) throw fault;
      return this.service;
    },
  };
  readonly loadBalancer: LoadBalancerPort = {
    targetHealth: async (arn) => {
      this.calls.push(`targetHealth ${arn}`);
      return this.targets;
    },
  };
  readonly alarmsPort: AlarmsPort = {
    alarmsInState: async (state) => this.alarms.filter((a) => a.state === state),
    alarmStates: async (names) => {
      this.calls.push(`alarmStates ${names.join(',')}`);
      return { alarms: this.alarms.filter((a) => names.includes(a.name)), missing: this.missingAlarms };
    },
  };
}

/**
 * One operation going through the step. The stores are stand-ins for what the step uses of them
 * (update, refreshRoot, pendingId, recordResources); the runner's part — saving a wait's progress,
 * applying a `next` patch — is done here the same way.
 */
class StepRun {
  time = T0;
  op: OperationRecord;
  cloud = new FakeCloud();
  pendingId: string | undefined;
  recorded: LaneResources[] = [];
  rootRefreshes = 0;
  results: StepResult[] = [];
  timeScale = 1;

  constructor(private readonly cfg = config()) {
    this.op = deployRecord({ status: 'running', step: 1, stages: [{ name: 'Deploy', status: 'Succeeded', startedAt: T0 - MIN, endedAt: T0 }] });
  }

  get deps(): StepDeps {
    const stand = {
      operations: { update: async (_id: string, patch: OperationPatch) => this.apply(patch) },
      narrator: {
        showChange: async (_id: string, patch: OperationPatch) => {
          this.apply(patch);
          this.rootRefreshes += 1;
        },
      },
      lanes: {
        pendingId: async () => this.pendingId,
        recordResources: async (_ref: unknown, resources: LaneResources) => void this.recorded.push(resources),
      },
    };
    const cloud = { stacks: this.cloud.stacks, ecs: this.cloud.ecs, loadBalancer: this.cloud.loadBalancer, alarms: this.cloud.alarmsPort };
    // Only what the step uses is there: a call to anything else fails the test with a TypeError.
    return {
      cloud: cloud as unknown as CloudPorts,
      operations: stand.operations as unknown as StepDeps['operations'],
      narrator: stand.narrator as unknown as StepDeps['narrator'],
      lanes: stand.lanes as unknown as StepDeps['lanes'],
      rulePriorities: {} as StepDeps['rulePriorities'],
      config: this.cfg,
      templatesDir: '',
      clock: { now: () => this.time },
      logger: pino({ level: 'silent' }),
      pollIntervalMs: POLL_MS,
      timeScale: this.timeScale,
      audit: { record: async () => undefined },
      metrics: new Metrics({ defaultMetrics: false }),
    };
  }

  private apply(patch: OperationPatch): void {
    this.op = { ...this.op, ...(patch as Partial<OperationRecord>) };
  }

  /** One call of the step. */
  async call(): Promise<StepResult> {
    const result = await verifyHealthStep.run(this.op, this.deps);
    this.results.push(result);
    if (result.kind !== 'end' && result.patch) this.apply(result.patch);
    return result;
  }

  /** Calls the step until it stops waiting at once (a wait of 0 is the next phase starting). */
  async settle(): Promise<StepResult> {
    for (let i = 0; i < 20; i++) {
      const result = await this.call();
      if (result.kind !== 'wait' || result.inMs > 0) return result;
    }
    throw new Error('the step kept waiting 0 ms');
  }

  /** Moves the clock, then calls the step until it waits for something or ends. */
  async after(ms: number): Promise<StepResult> {
    this.time += ms;
    return this.settle();
  }

  get progress(): Record<string, unknown> {
    return (this.op.progress ?? {}) as Record<string, unknown>;
  }

  get stage() {
    return this.op.stages.find((s) => s.name === HEALTH_STAGE);
  }
}

function expectVerdict(result: StepResult): NonNullable<OperationRecord['health']> {
  expect(result.kind).toBe('next');
  const health = result.kind === 'next' ? result.patch?.health : undefined;
  expect(health).toBeDefined();
  return health!;
}

let run: StepRun;

beforeEach(() => {
  run = new StepRun();
});

describe('verify-health: the phases', () => {
  it('reads the lane stack once, records its resources, and goes as far as one look can, reading each part once', async () => {
    const first = await run.call();
    // Rollout complete and targets healthy at the first look: straight into the soak.
    expect(first).toEqual({ kind: 'wait', inMs: 3 * POLL_MS, patch: { progress: expect.objectContaining({ phase: 'soak', phaseStartedAt: T0, soakEndsAt: T0 + 5 * MIN, desired: 2, failures: 0 }) }, underway: false });
    expect(run.recorded).toEqual([
      {
        stackName: 'app-user-api-dev-gray',
        region: REGION,
        clusterName: OUTPUTS.ClusterName,
        serviceName: OUTPUTS.ServiceName,
        targetGroupArn: TG,
        alarms: ALARMS,
      },
    ]);
    expect(run.cloud.calls).toEqual([
      'describeStack app-user-api-dev-gray',
      `describeService ${OUTPUTS.ClusterName} ${OUTPUTS.ServiceName}`,
      `targetHealth ${TG}`,
      `alarmStates ${Object.values(ALARMS).join(',')}`,
    ]);
    // Only the phase the look stopped in is shown.
    expect(run.stage).toMatchObject({ status: 'InProgress', detail: 'alarms, 5 min soak', startedAt: T0 });
    expect(run.rootRefreshes).toBe(1);
    // The pipeline's stages stay as they were.
    expect(run.op.stages[0]).toMatchObject({ name: 'Deploy', status: 'Succeeded' });

    await run.after(POLL_MS);
    await run.after(POLL_MS);
    expect(run.cloud.calls.filter((c) => c.startsWith('describeStack'))).toEqual(['describeStack app-user-api-dev-gray']);
    expect(run.rootRefreshes).toBe(1);
  });

  it('reads only what a phase judges: the service during the rollout, no alarms before the soak, the targets again only at its end', async () => {
    run.cloud.service = service({ rolloutState: 'IN_PROGRESS', runningCount: 1, pendingCount: 1 });
    await run.call();
    await run.after(POLL_MS);
    expect(run.cloud.calls.slice(1).map((c) => c.split(' ')[0])).toEqual(['describeService', 'describeService']);
    expect(run.stage).toMatchObject({ detail: 'ECS rollout' });

    run.cloud.calls = [];
    run.cloud.service = service();
    run.cloud.targets = targets('initial', 'initial');
    await run.after(POLL_MS);
    expect(run.cloud.calls.map((c) => c.split(' ')[0])).toEqual(['describeService', 'targetHealth']);
    expect(run.stage).toMatchObject({ detail: 'targets' });

    run.cloud.calls = [];
    run.cloud.targets = targets('healthy', 'healthy');
    await run.after(POLL_MS);
    await run.after(3 * POLL_MS);
    expect(run.cloud.calls.map((c) => c.split(' ')[0])).toEqual(['describeService', 'targetHealth', 'alarmStates', 'describeService', 'alarmStates']);

    run.cloud.calls = [];
    expect(expectVerdict(await run.after(5 * MIN)).verdict).toBe('healthy');
    expect(run.cloud.calls.map((c) => c.split(' ')[0])).toEqual(['describeService', 'alarmStates', 'targetHealth']);
  });

  it('goes rollout → targets → soak → healthy, waiting between looks and only for the soak', async () => {
    run.cloud.service = service({ rolloutState: 'IN_PROGRESS', runningCount: 1, pendingCount: 1 });
    run.cloud.targets = targets('initial', 'initial');
    expect(await run.settle()).toMatchObject({ kind: 'wait', inMs: POLL_MS });
    expect(run.progress).toMatchObject({ phase: 'rollout', lastSeen: 'ECS deployment in progress: 1/2 running' });

    run.cloud.service = service();
    expect(await run.after(2 * MIN)).toMatchObject({ kind: 'wait', inMs: POLL_MS });
    expect(run.progress).toMatchObject({ phase: 'targets', phaseStartedAt: T0 + 2 * MIN, desired: 2, lastSeen: '0/2 targets healthy, 2 still in initial health checks' });
    expect(run.stage).toMatchObject({ status: 'InProgress', detail: 'targets', startedAt: T0 });

    run.cloud.targets = targets('healthy', 'healthy');
    // Soak: looks every 3 polls, never past its end.
    expect(await run.after(MIN)).toMatchObject({ kind: 'wait', inMs: 3 * POLL_MS });
    expect(run.progress).toMatchObject({ phase: 'soak', phaseStartedAt: T0 + 3 * MIN, soakEndsAt: T0 + 8 * MIN });
    expect(run.stage).toMatchObject({ status: 'InProgress', detail: 'alarms, 5 min soak' });
    expect(await run.after(5 * MIN - 2000)).toEqual({ kind: 'wait', inMs: 2000, patch: expect.anything(), underway: false });

    const health = expectVerdict(await run.after(2000));
    expect(health).toEqual({
      verdict: 'healthy',
      summary: '2/2 targets healthy, ECS deployment complete, 2/2 running, alarms OK for 5 min',
      reasons: [],
      links: [
        { label: 'target group', url: expect.stringContaining(`https://${REGION}.console.aws.amazon.com/ec2/`) },
        { label: 'ECS service', url: expect.stringContaining('/ecs/v2/clusters/infra-environment-dev-Cluster-1/services/user-api-dev-gray/') },
      ],
      checkedAt: T0 + 8 * MIN,
    });
    const last = run.results.at(-1)!;
    expect(last.kind === 'next' && last.patch?.stages?.find((s) => s.name === HEALTH_STAGE)).toEqual({
      name: HEALTH_STAGE,
      status: 'Succeeded',
      startedAt: T0,
      endedAt: T0 + 8 * MIN,
      detail: 'healthy',
    });
    // Every wait was a poll or the soak's remainder: the step never sleeps in a worker.
    expect(run.results.every((r) => r.kind !== 'wait' || r.inMs <= 3 * POLL_MS)).toBe(true);
  });

  it('reports a service without tasks as such, and alarms it does not know or without data', async () => {
    run.cloud.service = service({ desiredCount: 0 });
    run.cloud.targets = targets();
    run.cloud.alarms = [alarm(ALARMS.errorRate, 'INSUFFICIENT_DATA'), alarm(ALARMS.unhealthyHosts)];
    run.cloud.missingAlarms = [ALARMS.runningTasks];
    await run.settle();
    const health = expectVerdict(await run.after(5 * MIN));
    expect(health.verdict).toBe('healthy');
    expect(health.summary).toBe('no tasks desired, ECS deployment complete, 0/0 running, alarms OK for 5 min, except 5xx rate (no data yet)');
    expect(health.reasons).toEqual([`alarms the lane stack names but CloudWatch does not know: ${ALARMS.runningTasks}`]);
  });

  it('does not call alarms without data OK, nor a lane without alarms', async () => {
    run.cloud.alarms = Object.values(ALARMS).map((name) => alarm(name, 'INSUFFICIENT_DATA'));
    await run.settle();
    expect(expectVerdict(await run.after(5 * MIN)).summary).toBe(
      '2/2 targets healthy, ECS deployment complete, 2/2 running, no alarm data yet (5xx rate, unhealthy hosts, tasks below desired)',
    );

    run = new StepRun();
    run.cloud.stack = stack({ ClusterName: OUTPUTS.ClusterName!, ServiceName: OUTPUTS.ServiceName!, TargetGroupArn: TG });
    await run.settle();
    expect(expectVerdict(await run.after(5 * MIN)).summary).toBe('2/2 targets healthy, ECS deployment complete, 2/2 running, no alarms to check');
  });

  it('without a soak gives the verdict as soon as the targets are healthy, without "for 0s"', async () => {
    run = new StepRun(config('{ soak: 0s }'));
    const health = expectVerdict(await run.settle());
    expect(health.summary).toBe('2/2 targets healthy, ECS deployment complete, 2/2 running, alarms OK');
    expect(health.checkedAt).toBe(T0);
  });
});

describe('verify-health: verdicts', () => {
  it('calls a rollout the circuit breaker failed unhealthy at once, in any phase', async () => {
    run.cloud.service = service({ rolloutState: 'FAILED', runningCount: 0, reason: 'ECS deployment circuit breaker: tasks failed to start.' });
    const health = expectVerdict(await run.settle());
    expect(health).toMatchObject({ verdict: 'unhealthy', summary: 'deployed, but not healthy', reasons: ['ECS deployment failed (circuit breaker: tasks failed to start)'], rolloutFailed: true });
    expect(health.checkedAt).toBe(T0);
    const last = run.results.at(-1)!;
    expect(last.kind === 'next' && last.patch?.stages?.find((s) => s.name === HEALTH_STAGE)).toMatchObject({ status: 'Failed', detail: 'not healthy', endedAt: T0 });

    // Rolled back during the soak: still a verdict at once.
    run = new StepRun();
    await run.settle();
    expect(run.progress.phase).toBe('soak');
    run.cloud.service = service({ rolloutState: 'FAILED' });
    expect(expectVerdict(await run.after(MIN))).toMatchObject({ verdict: 'unhealthy', reasons: ['ECS deployment failed'], rolloutFailed: true });
  });

  it('gives each check its own deadline, and says what it saw last', async () => {
    run.cloud.service = service({ rolloutState: 'IN_PROGRESS', runningCount: 0, pendingCount: 2 });
    await run.settle();
    expect(await run.after(10 * MIN - 1)).toMatchObject({ kind: 'wait' });
    expect(expectVerdict(await run.after(1))).toMatchObject({
      verdict: 'unhealthy',
      summary: 'deployed, but not healthy',
      reasons: ['ECS deployment in progress: 0/2 running after 10 min'],
    });
    expect(run.results.at(-1)).not.toHaveProperty('patch.health.rolloutFailed');

    // A rollout of 9 minutes leaves the targets their own 10.
    run = new StepRun();
    run.cloud.service = service({ rolloutState: 'IN_PROGRESS', runningCount: 0, pendingCount: 2 });
    run.cloud.targets = targets(UNHEALTHY, 'healthy');
    await run.settle();
    run.cloud.service = service();
    await run.after(9 * MIN);
    expect(run.progress.phase).toBe('targets');
    expect(await run.after(10 * MIN - 1)).toMatchObject({ kind: 'wait' });
    expect(expectVerdict(await run.after(1)).reasons).toEqual([
      '1/2 targets unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [502]), 1/2 healthy after 10 min',
    ]);
  });

  it('names the ECS service it did not find, and the target group that does not exist', async () => {
    run.cloud.service = undefined;
    await run.settle();
    expect(expectVerdict(await run.after(10 * MIN)).reasons).toEqual([
      `ECS service \`${OUTPUTS.ServiceName}\` not found in cluster \`${OUTPUTS.ClusterName}\` after 10 min`,
    ]);

    run = new StepRun();
    run.cloud.targets = undefined;
    await run.settle();
    expect(expectVerdict(await run.after(10 * MIN)).reasons).toEqual(['the target group does not exist after 10 min']);
  });

  it('puts the targets\' reason first when a service short of tasks misses its deadline', async () => {
    // Tasks failing the load balancer's health check are stopped and replaced: running stays short.
    run.cloud.service = service({ runningCount: 1 });
    run.cloud.targets = targets(UNHEALTHY, 'healthy');
    await run.settle();
    expect(run.progress.phase).toBe('rollout');
    expect(expectVerdict(await run.after(10 * MIN)).reasons).toEqual([
      '1/2 targets unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [502]), 1/2 healthy',
      'ECS service below desired: 1/2 running after 10 min',
    ]);
  });

  it('calls the lane unhealthy as soon as an alarm fires during the soak, naming it', async () => {
    await run.settle();
    run.cloud.alarms = [
      alarm(ALARMS.errorRate, 'ALARM', 'Threshold Crossed: 1 datapoint [4.2] was greater than the threshold (1.0).'),
      alarm(ALARMS.unhealthyHosts),
      alarm(ALARMS.runningTasks),
    ];
    const health = expectVerdict(await run.after(2 * MIN));
    expect(health).toMatchObject({ verdict: 'unhealthy', reasons: ['alarm 5xx rate: ALARM (Threshold Crossed: 1 datapoint [4.2] was greater than the threshold (1.0))'] });
    expect(health.checkedAt).toBe(T0 + 2 * MIN);
  });

  it('does not hold an alarm that fires before the soak against the version (the soak judges it)', async () => {
    run.cloud.alarms = [alarm(ALARMS.errorRate, 'ALARM', 'Threshold Crossed'), alarm(ALARMS.unhealthyHosts), alarm(ALARMS.runningTasks)];
    run.cloud.targets = targets('initial', 'initial');
    await run.settle();
    expect(run.progress.phase).toBe('targets');
    run.cloud.alarms = allOk();
    run.cloud.targets = targets('healthy', 'healthy');
    await run.after(MIN);
    expect(expectVerdict(await run.after(5 * MIN)).verdict).toBe('healthy');
  });

  it('reads the targets again at the soak\'s end', async () => {
    await run.settle();
    run.cloud.targets = targets(UNHEALTHY, 'healthy');
    expect(expectVerdict(await run.after(5 * MIN))).toMatchObject({
      verdict: 'unhealthy',
      reasons: ['1/2 targets unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [502]), 1/2 healthy'],
    });
  });

  it('gives way to an operation waiting for the lane', async () => {
    await run.settle();
    run.pendingId = 'newer-deploy';
    const health = expectVerdict(await run.after(MIN));
    expect(health).toMatchObject({ verdict: 'unchecked', summary: 'health check cut short', reasons: [expect.stringContaining('another operation is waiting for this lane')] });
    expect(health.links.map((l) => l.label)).toEqual(['target group', 'ECS service']);
    const last = run.results.at(-1)!;
    expect(last.kind === 'next' && last.patch?.stages?.find((s) => s.name === HEALTH_STAGE)).toMatchObject({ status: 'Stopped', detail: 'not checked' });
  });
});

describe('verify-health: what it cannot check', () => {
  it('says so when the lane stack does not exist', async () => {
    run.cloud.stack = undefined;
    const health = expectVerdict(await run.call());
    expect(health).toMatchObject({ verdict: 'unchecked', summary: 'health not checked', reasons: ['the lane stack `app-user-api-dev-gray` does not exist'], links: [] });
    expect(run.recorded).toEqual([]);
  });

  it('names the outputs the lane stack lacks, and still records what it has', async () => {
    run.cloud.stack = stack({ TargetGroupArn: TG, ErrorRateAlarmName: ALARMS.errorRate });
    const health = expectVerdict(await run.call());
    expect(health).toMatchObject({ verdict: 'unchecked', reasons: ['the lane stack `app-user-api-dev-gray` publishes no ClusterName or ServiceName output'] });
    expect(health.links.map((l) => l.label)).toEqual(['target group']);
    expect(run.recorded).toEqual([expect.objectContaining({ targetGroupArn: TG, alarms: { errorRate: ALARMS.errorRate } })]);
    expect(run.cloud.calls.some((c) => c.startsWith('describeService'))).toBe(false);

    run = new StepRun();
    run.cloud.stack = stack({});
    expect(expectVerdict(await run.call()).reasons).toEqual(['the lane stack `app-user-api-dev-gray` publishes no ClusterName, ServiceName or TargetGroupArn output']);
  });

  it('waits throttling out without counting it', async () => {
    await run.settle();
    run.cloud.faults = Array.from({ length: MAX_AWS_FAILURES * 2 }, () => new AwsThrottledError('ecs:DescribeServices'));
    for (let i = 0; i < MAX_AWS_FAILURES * 2; i++) {
      const result = await run.after(1000);
      expect(result).toMatchObject({ kind: 'wait' });
      expect(result.kind === 'wait' && result.inMs).toBeGreaterThanOrEqual(POLL_MS);
      expect(run.progress.failures).toBe(0);
    }
    // The soak went on meanwhile, and its verdict is an ordinary one.
    expect(expectVerdict(await run.after(5 * MIN)).verdict).toBe('healthy');
  });

  it('retries a retryable fault, forgets it after a good read, and gives up with "not checked" when it outlives its retries', async () => {
    const unavailable = () => new LanebotError('AWS_ERROR', 'ecs:DescribeServices failed: 503 Service Unavailable', { retryable: true });
    await run.settle();
    run.cloud.faults = [unavailable(), unavailable()];
    await run.after(1000);
    await run.after(1000);
    expect(run.progress.failures).toBe(2);
    await run.after(1000);
    expect(run.progress.failures).toBe(0);

    run.cloud.faults = Array.from({ length: MAX_AWS_FAILURES }, unavailable);
    for (let i = 1; i < MAX_AWS_FAILURES; i++) {
      expect(await run.after(1000)).toMatchObject({ kind: 'wait' });
      expect(run.progress.failures).toBe(i);
    }
    const health = expectVerdict(await run.after(1000));
    expect(health).toMatchObject({
      verdict: 'unchecked',
      summary: 'health not checked',
      reasons: ["reading the lane's health failed: ecs:DescribeServices failed: 503 Service Unavailable"],
    });
    expect(health.links).toHaveLength(2);
  });

  it('gives up at once on a fault that retrying cannot mend (access denied), so the lane is not held', async () => {
    await run.settle();
    run.cloud.faults = [new AwsAccessDeniedError('ecs:DescribeServices', new Error('not authorized'))];
    const health = expectVerdict(await run.after(1000));
    expect(health.verdict).toBe('unchecked');
    expect(health.reasons[0]).toMatch(/^reading the lane's health failed: lanebot's AWS role may not call ecs:DescribeServices/);
  });
});

describe('verify-health: time scale', () => {
  it('divides the soak and the deadline by the cloud\'s time scale; the texts keep the configured durations', async () => {
    run.timeScale = 60;
    await run.settle();
    // 5 min / 60 = 5 s of soak.
    expect(run.progress.soakEndsAt).toBe(T0 + 5000);
    expect(run.stage?.detail).toBe('alarms, 5 min soak');
    expect(expectVerdict(await run.after(5000)).summary).toBe('2/2 targets healthy, ECS deployment complete, 2/2 running, alarms OK for 5 min');

    // 10 min / 60 = 10 s of deadline.
    run = new StepRun();
    run.timeScale = 60;
    run.cloud.service = service({ rolloutState: 'IN_PROGRESS', runningCount: 0, pendingCount: 2 });
    await run.settle();
    expect(await run.after(9999)).toMatchObject({ kind: 'wait' });
    expect(expectVerdict(await run.after(1)).reasons).toEqual(['ECS deployment in progress: 0/2 running after 10 min']);
  });

  it('writes durations the way they were configured', async () => {
    run = new StepRun(config('{ soak: 90s, deadline: 1h }'));
    await run.settle();
    expect(run.stage?.detail).toBe('alarms, 1m 30s soak');
    expect(expectVerdict(await run.after(90_000)).summary).toContain('alarms OK for 1m 30s');

    run = new StepRun(config('{ soak: 5m, deadline: 1h }'));
    run.cloud.service = undefined;
    await run.settle();
    expect(expectVerdict(await run.after(3_600_000)).reasons[0]).toMatch(/ after 1 h$/);
  });
});
