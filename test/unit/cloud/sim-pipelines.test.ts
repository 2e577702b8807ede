import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionView } from '../../../src/cloud/pipelines.port';
import { SIM_APP_STAGES, simPipelineCatalog, type SimPipelineInfo } from '../../../src/cloud/sim/sim-pipeline-catalog';
import { SimPipelines } from '../../../src/cloud/sim/sim-pipelines';
import { SimStacks } from '../../../src/cloud/sim/sim-stacks';
import { deliveryPlan, parseConfig } from '../../../src/config';
import { LanebotError } from '../../../src/errors';
import { redisPerTest, T0 } from '../../support/fixtures';

const PIPELINE = 'api-staging';
const OTHER_PIPELINE = 'web-staging';
const PROTECTED_PIPELINE = 'api-prod';

const PIPELINES: SimPipelineInfo[] = [
  { name: PIPELINE, kind: 'app', service: 'api', env: 'staging' },
  { name: OTHER_PIPELINE, kind: 'app', service: 'web', env: 'staging' },
  { name: PROTECTED_PIPELINE, kind: 'app', service: 'api', env: 'prod', protected: true },
  { name: 'infra-staging', kind: 'infra', env: 'staging' },
  { name: 'boot-staging', kind: 'boot', env: 'staging' },
];

// Durations of the simulated stages, in ms at time scale 1.
const SOURCE_MS = 20_000; // AppSource 12 s + InfraSource 8 s
const BUILD_MS = 150_000;
const DEPLOY_MS = 90_000; // the lane stack's create
const UPDATE_MS = 60_000; // ...and its update
const TOTAL_MS = SOURCE_MS + BUILD_MS + DEPLOY_MS;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const db = redisPerTest();
let t: number;
const clock = { now: () => t };
/** No templates: the Deploy actions use their placeholders (templates/ is being written elsewhere). */
const NO_TEMPLATES = join(tmpdir(), `no-templates-${randomUUID()}`);

function simStacks(timeScale = 1): SimStacks {
  return new SimStacks({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale });
}

function sim(timeScale = 1, consoleUrl?: string, templatesDir = NO_TEMPLATES): SimPipelines {
  return new SimPipelines({
    redis: db.redis,
    prefix: `${db.prefix}:sim`,
    clock,
    timeScale,
    pipelines: () => PIPELINES,
    stacks: simStacks(timeScale),
    consoleUrl,
    templatesDir,
  });
}

async function start(
  pipelines: SimPipelines,
  branch = 'main',
  token: string = randomUUID(),
  pipelineName: string = PIPELINE,
  variables: Record<string, string> = {},
): Promise<string> {
  const { executionId } = await pipelines.startExecution({ pipelineName, variables: { LANE: 'alpha', BRANCH: branch, ...variables }, clientRequestToken: token });
  return executionId;
}

function stage(view: ExecutionView, name: string) {
  const found = view.stages.find((s) => s.name === name);
  if (!found) throw new Error(`no stage ${name}`);
  return found;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(LanebotError);
    return (error as LanebotError).code;
  }
  throw new Error('expected the call to fail');
}

beforeEach(() => {
  t = T0;
});

describe('SimPipelines.startExecution', () => {
  it('fails with PIPELINE_NOT_FOUND for an unknown pipeline and records nothing', async () => {
    const pipelines = sim();
    await expect(codeOf(start(pipelines, 'main', 'tok', 'nope-staging'))).resolves.toBe('PIPELINE_NOT_FOUND');
    await expect(pipelines.executionIds('nope-staging')).resolves.toEqual([]);
  });

  it('returns the same execution for the same client request token', async () => {
    const pipelines = sim();
    const first = await start(pipelines, 'main', 'deploy-1');
    t += 5_000;
    const second = await start(pipelines, 'main', 'deploy-1');
    expect(second).toBe(first);
    await expect(pipelines.executionIds(PIPELINE)).resolves.toEqual([first]);
  });

  it('starts one execution per token, oldest first', async () => {
    const pipelines = sim();
    const a = await start(pipelines, 'main', 'deploy-a');
    const b = await start(pipelines, 'main', 'deploy-b');
    expect(a).not.toBe(b);
    await expect(pipelines.executionIds(PIPELINE)).resolves.toEqual([a, b]);
    await expect(pipelines.executionIds(OTHER_PIPELINE)).resolves.toEqual([]);
  });

  it('scopes tokens to a pipeline', async () => {
    const pipelines = sim();
    const a = await start(pipelines, 'main', 'same-token', PIPELINE);
    const b = await start(pipelines, 'main', 'same-token', OTHER_PIPELINE);
    expect(a).not.toBe(b);
    await expect(pipelines.executionIds(OTHER_PIPELINE)).resolves.toEqual([b]);
  });
});

describe('SimPipelines execution progress', () => {
  it('moves through Source, Build and Deploy as the clock advances', async () => {
    const pipelines = sim();
    const id = await start(pipelines);

    let view = await pipelines.getExecution(PIPELINE, id);
    expect(view).toMatchObject({ pipelineName: PIPELINE, executionId: id, status: 'InProgress' });
    // No Approval stage outside protected environments.
    expect(view.stages.map((s) => s.name)).toEqual(['Source', 'Build', 'Deploy']);
    expect(stage(view, 'Source')).toMatchObject({ status: 'InProgress', startedAt: T0 });
    expect(stage(view, 'Source').endedAt).toBeUndefined();
    expect(stage(view, 'Build')).toEqual({ name: 'Build', status: 'NotStarted' });
    expect(stage(view, 'Deploy')).toEqual({ name: 'Deploy', status: 'NotStarted' });
    expect(view.url).toBeUndefined();

    // Still in Source between its two actions.
    t = T0 + 12_000;
    view = await pipelines.getExecution(PIPELINE, id);
    expect(stage(view, 'Source').status).toBe('InProgress');

    t = T0 + SOURCE_MS;
    view = await pipelines.getExecution(PIPELINE, id);
    expect(view.status).toBe('InProgress');
    expect(stage(view, 'Source')).toMatchObject({ status: 'Succeeded', startedAt: T0, endedAt: T0 + SOURCE_MS });
    expect(stage(view, 'Build')).toMatchObject({ status: 'InProgress', startedAt: T0 + SOURCE_MS });
    expect(stage(view, 'Deploy').status).toBe('NotStarted');

    t = T0 + SOURCE_MS + BUILD_MS;
    view = await pipelines.getExecution(PIPELINE, id);
    expect(stage(view, 'Build')).toMatchObject({ status: 'Succeeded', endedAt: T0 + SOURCE_MS + BUILD_MS });
    expect(stage(view, 'Deploy')).toMatchObject({ status: 'InProgress', startedAt: T0 + SOURCE_MS + BUILD_MS });

    t = T0 + TOTAL_MS - 1;
    expect((await pipelines.getExecution(PIPELINE, id)).status).toBe('InProgress');

    t = T0 + TOTAL_MS;
    view = await pipelines.getExecution(PIPELINE, id);
    expect(view.status).toBe('Succeeded');
    expect(view.statusSummary).toBeUndefined();
    expect(view.stages.map((s) => s.status)).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
    expect(stage(view, 'Deploy')).toMatchObject({ startedAt: T0 + SOURCE_MS + BUILD_MS, endedAt: T0 + TOTAL_MS });
    for (const s of view.stages) expect(s.failure).toBeUndefined();
  });

  it('divides every duration by the time scale', async () => {
    const pipelines = sim(100);
    const id = await start(pipelines);

    t = T0 + SOURCE_MS / 100 - 1;
    expect(stage(await pipelines.getExecution(PIPELINE, id), 'Source').status).toBe('InProgress');

    t = T0 + SOURCE_MS / 100;
    let view = await pipelines.getExecution(PIPELINE, id);
    expect(stage(view, 'Source')).toMatchObject({ status: 'Succeeded', endedAt: T0 + SOURCE_MS / 100 });
    expect(stage(view, 'Build').status).toBe('InProgress');

    t = T0 + TOTAL_MS / 100 - 1;
    expect((await pipelines.getExecution(PIPELINE, id)).status).toBe('InProgress');

    t = T0 + TOTAL_MS / 100;
    view = await pipelines.getExecution(PIPELINE, id);
    expect(view.status).toBe('Succeeded');
    expect(stage(view, 'Deploy').endedAt).toBe(T0 + TOTAL_MS / 100);
  });

  it('links executions to the console when a console URL is set', async () => {
    const pipelines = sim(1, 'http://sandbox.test');
    const id = await start(pipelines, 'feature/sim-fail-build');
    t = T0 + TOTAL_MS;
    const view = await pipelines.getExecution(PIPELINE, id);
    expect(view.url).toBe(`http://sandbox.test/sim/executions/${id}`);
    expect(stage(view, 'Build').failure?.logUrl).toBe(`http://sandbox.test/sim/executions/${id}`);
  });
});

describe('SimPipelines failures', () => {
  it('fails the Build stage of a `sim-fail-build` branch', async () => {
    const pipelines = sim();
    const id = await start(pipelines, 'feature/sim-fail-build');

    t = T0 + SOURCE_MS + BUILD_MS - 1;
    expect(stage(await pipelines.getExecution(PIPELINE, id), 'Build').status).toBe('InProgress');

    t = T0 + SOURCE_MS + BUILD_MS;
    const view = await pipelines.getExecution(PIPELINE, id);
    expect(view.status).toBe('Failed');
    expect(stage(view, 'Source').status).toBe('Succeeded');
    const build = stage(view, 'Build');
    expect(build).toMatchObject({ status: 'Failed', startedAt: T0 + SOURCE_MS, endedAt: T0 + SOURCE_MS + BUILD_MS });
    expect(build.failure?.actionName).toBe('BuildAndPush');
    expect(build.failure?.summary).toEqual(expect.stringContaining('npm test'));
    expect(stage(view, 'Deploy')).toEqual({ name: 'Deploy', status: 'NotStarted' });
    expect(view.statusSummary).toBe(`Stage Build failed: ${build.failure!.summary}`);

    // A failed execution stays failed.
    t = T0 + 10 * TOTAL_MS;
    await expect(pipelines.getExecution(PIPELINE, id)).resolves.toEqual(view);
  });

  it('fails the next execution only after failNextRun', async () => {
    const pipelines = sim();
    await pipelines.failNextRun(PIPELINE, 'Deploy', 'custom message');
    const failing = await start(pipelines, 'main', 'deploy-1');
    const retry = await start(pipelines, 'main', 'deploy-1'); // same token: no new execution, plan not used again
    const next = await start(pipelines, 'main', 'deploy-2', PIPELINE, { LANE: 'beta' }); // another lane: another stack
    expect(retry).toBe(failing);

    t = T0 + TOTAL_MS;
    const failed = await pipelines.getExecution(PIPELINE, failing);
    expect(failed.status).toBe('Failed');
    expect(failed.stages.map((s) => s.status)).toEqual(['Succeeded', 'Succeeded', 'Failed']);
    expect(stage(failed, 'Deploy').failure).toMatchObject({ actionName: 'DeployLaneStack', summary: 'custom message' });
    expect(failed.statusSummary).toBe('Stage Deploy failed: custom message');

    const ok = await pipelines.getExecution(PIPELINE, next);
    expect(ok.status).toBe('Succeeded');
    expect(ok.stages.map((s) => s.status)).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
  });

  it('uses the action failure text when failNextRun gives no message, and only on that pipeline', async () => {
    const pipelines = sim();
    await pipelines.failNextRun(PIPELINE, 'source');
    const other = await start(pipelines, 'main', 'o-1', OTHER_PIPELINE);
    const failing = await start(pipelines, 'main', 'p-1', PIPELINE);

    t = T0 + TOTAL_MS;
    await expect(pipelines.getExecution(OTHER_PIPELINE, other)).resolves.toMatchObject({ status: 'Succeeded' });
    const view = await pipelines.getExecution(PIPELINE, failing);
    expect(view.status).toBe('Failed');
    // Source fails at its first action.
    expect(stage(view, 'Source')).toMatchObject({ status: 'Failed', endedAt: T0 + 12_000 });
    expect(stage(view, 'Source').failure).toEqual({
      actionName: 'AppSource',
      summary: SIM_APP_STAGES[0]!.actions[0]!.failure,
      logUrl: undefined,
    });
    expect(view.stages.slice(1).map((s) => s.status)).toEqual(['NotStarted', 'NotStarted']);
  });

  it('rejects failNextRun for an unknown stage with INPUT_INVALID', async () => {
    const pipelines = sim();
    await expect(codeOf(pipelines.failNextRun(PIPELINE, 'Test'))).resolves.toBe('INPUT_INVALID');
    // Nothing was planned: the next execution succeeds.
    const id = await start(pipelines);
    t = T0 + TOTAL_MS;
    await expect(pipelines.getExecution(PIPELINE, id)).resolves.toMatchObject({ status: 'Succeeded' });
  });
});

describe('SimPipelines.getExecution', () => {
  it('fails with PIPELINE_EXECUTION_NOT_FOUND for an unknown id', async () => {
    await expect(codeOf(sim().getExecution(PIPELINE, 'no-such-execution'))).resolves.toBe('PIPELINE_EXECUTION_NOT_FOUND');
  });

  it('fails with PIPELINE_EXECUTION_NOT_FOUND for an existing id under another pipeline', async () => {
    const pipelines = sim();
    const id = await start(pipelines, 'main', 'tok', PIPELINE);
    await expect(codeOf(pipelines.getExecution(OTHER_PIPELINE, id))).resolves.toBe('PIPELINE_EXECUTION_NOT_FOUND');
    await expect(pipelines.getExecution(PIPELINE, id)).resolves.toMatchObject({ executionId: id });
  });

  it('fails with PIPELINE_NOT_FOUND for an unknown pipeline', async () => {
    const pipelines = sim();
    const id = await start(pipelines);
    await expect(codeOf(pipelines.getExecution('nope-staging', id))).resolves.toBe('PIPELINE_NOT_FOUND');
  });
});

describe('SimPipelines Deploy through SimStacks', () => {
  it('creates the lane stack as of the action start, even when the execution is first read later', async () => {
    const pipelines = sim();
    const stacks = simStacks();
    const id = await start(pipelines, 'release/1.2.3', randomUUID(), PIPELINE, { LANE: 'gray', RULE_PRIORITY: '4' });

    // Nobody reads the execution until long after it ended: the stack operation still started with the action.
    t = T0 + 10 * TOTAL_MS;
    const view = await pipelines.getExecution(PIPELINE, id);
    expect(view.status).toBe('Succeeded');
    expect(stage(view, 'Deploy')).toMatchObject({ status: 'Succeeded', startedAt: T0 + SOURCE_MS + BUILD_MS, endedAt: T0 + TOTAL_MS });

    const stack = await stacks.describeStack('app-api-staging-gray');
    expect(stack).toMatchObject({ status: 'CREATE_COMPLETE' });
    expect(stack?.parameters).toEqual({
      Env: 'staging',
      ServiceName: 'api',
      Lane: 'gray',
      ImageUri: expect.stringMatching(/^000000000000\.dkr\.ecr\.sim-1\.amazonaws\.com\/pipeline-api-staging-repository-[0-9a-f]{12}:gray-[0-9a-f]{12}$/),
      RulePriority: '4',
    });
    // What templates/buildspec.yaml tags the lane stack with.
    expect(stack?.tags).toEqual({ 'lanebot:service': 'api', 'lanebot:env': 'staging', 'lanebot:lane': 'gray' });
    const listed = (await stacks.list()).find((s) => s.stackName === 'app-api-staging-gray');
    expect(listed?.lastOperation).toMatchObject({ kind: 'create', startedAt: T0 + SOURCE_MS + BUILD_MS, endsAt: T0 + TOTAL_MS });
    await expect(stacks.listenerRules('api', 'staging')).resolves.toMatchObject([{ lane: 'gray', priority: 4 }]);
    // Reading again deploys nothing more.
    await pipelines.getExecution(PIPELINE, id);
    expect((await stacks.list())[0]!.lastOperation?.kind).toBe('create');
  });

  it('shows the stack operation running while the Deploy stage is in progress', async () => {
    const pipelines = sim();
    const stacks = simStacks();
    const id = await start(pipelines, 'main', randomUUID(), PIPELINE, { LANE: 'gray' });
    t = T0 + SOURCE_MS + BUILD_MS + 1_000;
    expect(stage(await pipelines.getExecution(PIPELINE, id), 'Deploy').status).toBe('InProgress');
    expect((await stacks.describeStack('app-api-staging-gray'))?.status).toBe('CREATE_IN_PROGRESS');
    // Without RULE_PRIORITY the stack gets 0 (no rule).
    expect((await stacks.describeStack('app-api-staging-gray'))?.parameters.RulePriority).toBe('0');
  });

  it('deploys two lanes side by side', async () => {
    const pipelines = sim();
    const stacks = simStacks();
    const gray = await start(pipelines, 'feature/a', randomUUID(), PIPELINE, { LANE: 'gray', RULE_PRIORITY: '1' });
    const blue = await start(pipelines, 'feature/b', randomUUID(), PIPELINE, { LANE: 'blue', RULE_PRIORITY: '2' });
    t = T0 + TOTAL_MS;
    for (const id of [gray, blue]) {
      const view = await pipelines.getExecution(PIPELINE, id);
      expect(view.status).toBe('Succeeded');
      expect(stage(view, 'Deploy').endedAt).toBe(T0 + TOTAL_MS);
    }
    expect((await stacks.listenerRules('api', 'staging')).map((r) => [r.lane, r.priority])).toEqual([
      ['gray', 1],
      ['blue', 2],
    ]);
  });

  it('fails the Deploy of a lane whose rule priority another lane holds, with the stack\'s reason', async () => {
    const pipelines = sim();
    const gray = await start(pipelines, 'feature/a', randomUUID(), PIPELINE, { LANE: 'gray', RULE_PRIORITY: '3' });
    t = T0 + TOTAL_MS;
    expect((await pipelines.getExecution(PIPELINE, gray)).status).toBe('Succeeded');
    const blue = await start(pipelines, 'feature/b', randomUUID(), PIPELINE, { LANE: 'blue', RULE_PRIORITY: '3' });
    t += TOTAL_MS;
    const view = await pipelines.getExecution(PIPELINE, blue);
    expect(view.status).toBe('Failed');
    expect(stage(view, 'Deploy').failure).toMatchObject({ actionName: 'DeployLaneStack', summary: expect.stringContaining("Priority '3' is currently in use") });
    expect((await simStacks().describeStack('app-api-staging-blue'))?.status).toBe('ROLLBACK_COMPLETE');
  });

  it('gives a contested priority to the lane whose Deploy began first, whichever execution is read first', async () => {
    const pipelines = sim();
    const gray = await start(pipelines, 'feature/a', randomUUID(), PIPELINE, { LANE: 'gray', RULE_PRIORITY: '6' });
    t = T0 + 5_000;
    const blue = await start(pipelines, 'feature/b', randomUUID(), PIPELINE, { LANE: 'blue', RULE_PRIORITY: '6' });
    t = T0 + 5_000 + TOTAL_MS;
    expect((await pipelines.getExecution(PIPELINE, blue)).status).toBe('Failed');
    expect((await pipelines.getExecution(PIPELINE, gray)).status).toBe('Succeeded');
    await expect(simStacks().listenerRules('api', 'staging')).resolves.toMatchObject([{ lane: 'gray', priority: 6 }]);
  });

  it('succeeds at once when the stack already runs that image (no changes)', async () => {
    const pipelines = sim();
    const first = await start(pipelines, 'release/1.2.3', randomUUID(), PIPELINE, { LANE: 'gray' });
    t = T0 + TOTAL_MS;
    expect((await pipelines.getExecution(PIPELINE, first)).status).toBe('Succeeded');

    const startedAt = t;
    const again = await start(pipelines, 'release/1.2.3', randomUUID(), PIPELINE, { LANE: 'gray' });
    t = startedAt + SOURCE_MS + BUILD_MS;
    const view = await pipelines.getExecution(PIPELINE, again);
    expect(view.status).toBe('Succeeded');
    expect(stage(view, 'Deploy')).toEqual({ name: 'Deploy', status: 'Succeeded', startedAt: t, endedAt: t, detail: 'no changes' });
  });

  it('updates the stack for another branch, and fails at once while another deploy holds the stack', async () => {
    const pipelines = sim();
    const stacks = simStacks();
    const first = await start(pipelines, 'feature/a', randomUUID(), PIPELINE, { LANE: 'gray' });
    t = T0 + 10_000;
    const second = await start(pipelines, 'feature/b', randomUUID(), PIPELINE, { LANE: 'gray' });

    // The second execution reaches Deploy 10 s after the first, while the first's create runs.
    t = T0 + 10_000 + TOTAL_MS;
    const busy = await pipelines.getExecution(PIPELINE, second);
    expect(busy.status).toBe('Failed');
    const deploy = stage(busy, 'Deploy');
    expect(deploy).toMatchObject({ startedAt: T0 + 10_000 + SOURCE_MS + BUILD_MS, endedAt: T0 + 10_000 + SOURCE_MS + BUILD_MS });
    expect(deploy.failure?.summary).toMatch(/^Stack:arn:aws:cloudformation:sim-1:000000000000:stack\/app-api-staging-gray\/\S+ is in CREATE_IN_PROGRESS state and can not be updated\.$/);
    expect((await pipelines.getExecution(PIPELINE, first)).status).toBe('Succeeded');

    const thirdStart = t;
    const third = await start(pipelines, 'feature/b', randomUUID(), PIPELINE, { LANE: 'gray' });
    t = thirdStart + SOURCE_MS + BUILD_MS + UPDATE_MS;
    const view = await pipelines.getExecution(PIPELINE, third);
    expect(view.status).toBe('Succeeded');
    expect(stage(view, 'Deploy').endedAt).toBe(t);
    expect((await stacks.describeStack('app-api-staging-gray'))).toMatchObject({ status: 'UPDATE_COMPLETE' });
  });

  it('fails Deploy with the stack\'s failure for sim-fail-deploy, then replaces the rolled-back stack on the next run', async () => {
    const pipelines = sim();
    const stacks = simStacks();
    const failing = await start(pipelines, 'feature/sim-fail-deploy', randomUUID(), PIPELINE, { LANE: 'gray' });
    t = T0 + TOTAL_MS;
    const failed = await pipelines.getExecution(PIPELINE, failing);
    expect(failed.status).toBe('Failed');
    const deploy = stage(failed, 'Deploy');
    expect(deploy.failure).toMatchObject({ actionName: 'DeployLaneStack', summary: expect.stringContaining('ECS Deployment Circuit Breaker was triggered') });
    // The action ended when the stack's rollback did.
    const stack = (await stacks.list()).find((s) => s.stackName === 'app-api-staging-gray')!;
    expect(stack.status).toBe('ROLLBACK_COMPLETE');
    expect(deploy.endedAt).toBe(stack.lastOperation!.endsAt);

    // REPLACE_ON_FAILURE: the next deploy deletes the failed stack, then creates it.
    const nextStart = t;
    const next = await start(pipelines, 'main', randomUUID(), PIPELINE, { LANE: 'gray' });
    const deployStart = nextStart + SOURCE_MS + BUILD_MS;
    t = deployStart + 1_000;
    expect(stage(await pipelines.getExecution(PIPELINE, next), 'Deploy')).toMatchObject({ status: 'InProgress', detail: expect.stringContaining('ROLLBACK_COMPLETE') });
    expect((await stacks.describeStack('app-api-staging-gray'))?.status).toBe('DELETE_IN_PROGRESS');
    t = deployStart + 30_000 + 1_000;
    expect(stage(await pipelines.getExecution(PIPELINE, next), 'Deploy').status).toBe('InProgress');
    expect((await stacks.describeStack('app-api-staging-gray'))?.status).toBe('CREATE_IN_PROGRESS');
    t = deployStart + 30_000 + DEPLOY_MS;
    const view = await pipelines.getExecution(PIPELINE, next);
    expect(view.status).toBe('Succeeded');
    expect(stage(view, 'Deploy').endedAt).toBe(t);
    expect((await stacks.describeStack('app-api-staging-gray'))?.status).toBe('CREATE_COMPLETE');
  });

  it('fails Deploy with the template error when the template is not valid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-templates-'));
    try {
      writeFileSync(join(dir, 'service-stack.yaml'), 'Resources: [unclosed\n');
      const pipelines = sim(1, undefined, dir);
      const id = await start(pipelines);
      t = T0 + TOTAL_MS;
      const view = await pipelines.getExecution(PIPELINE, id);
      expect(stage(view, 'Deploy').failure?.summary).toMatch(/^Template format error: YAML not well-formed/);
      expect(stage(view, 'Deploy').endedAt).toBe(T0 + SOURCE_MS + BUILD_MS);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SimPipelines manual approval', () => {
  it('waits in Approval until approved, then runs the next stages from the approval', async () => {
    const pipelines = sim();
    const id = await start(pipelines, 'release/1.2.3', randomUUID(), PROTECTED_PIPELINE, { LANE: 'gray' });
    await expect(codeOf(pipelines.approve(id, true))).resolves.toBe('INPUT_INVALID'); // still in Source

    t = T0 + 3 * 86_400_000; // days later: still waiting
    let view = await pipelines.getExecution(PROTECTED_PIPELINE, id);
    expect(view.stages.map((s) => [s.name, s.status])).toEqual([
      ['Source', 'Succeeded'],
      ['Approval', 'InProgress'],
      ['Build', 'NotStarted'],
      ['Deploy', 'NotStarted'],
    ]);
    expect(view.status).toBe('InProgress');
    expect(stage(view, 'Approval').detail).toBe('waiting for approval');
    await expect(pipelines.waitingApprovals()).resolves.toEqual([
      {
        pipelineName: PROTECTED_PIPELINE,
        executionId: id,
        variables: { LANE: 'gray', BRANCH: 'release/1.2.3' },
        stageName: 'Approval',
        actionName: 'ManualApproval',
        since: T0 + SOURCE_MS,
        expiresAt: T0 + SOURCE_MS + 7 * 86_400_000,
        token: expect.stringMatching(UUID),
      },
    ]);
    expect((await pipelines.recentExecutions()).find((e) => e.executionId === id)?.pendingApproval).toMatchObject({ stageName: 'Approval' });

    const approvedAt = t;
    await pipelines.approve(id, true, 'ship it');
    await expect(codeOf(pipelines.approve(id, true))).resolves.toBe('INPUT_INVALID'); // answered already
    await expect(pipelines.waitingApprovals()).resolves.toEqual([]);

    view = await pipelines.getExecution(PROTECTED_PIPELINE, id);
    expect(stage(view, 'Approval')).toMatchObject({ status: 'Succeeded', startedAt: T0 + SOURCE_MS, endedAt: approvedAt });
    expect(stage(view, 'Build')).toMatchObject({ status: 'InProgress', startedAt: approvedAt });

    t = approvedAt + BUILD_MS + DEPLOY_MS;
    view = await pipelines.getExecution(PROTECTED_PIPELINE, id);
    expect(view.status).toBe('Succeeded');
    expect(stage(view, 'Deploy').endedAt).toBe(t);
    expect((await simStacks().describeStack('app-api-prod-gray'))?.status).toBe('CREATE_COMPLETE');
  });

  it('fails the Approval stage on rejection, with the approver\'s summary', async () => {
    const pipelines = sim();
    const id = await start(pipelines, 'release/1.2.3', randomUUID(), PROTECTED_PIPELINE);
    t = T0 + SOURCE_MS + 60_000;
    await pipelines.approve(id, false, 'not during the freeze');
    t += 10 * TOTAL_MS;
    const view = await pipelines.getExecution(PROTECTED_PIPELINE, id);
    expect(view.status).toBe('Failed');
    expect(stage(view, 'Approval')).toMatchObject({
      status: 'Failed',
      endedAt: T0 + SOURCE_MS + 60_000,
      failure: { actionName: 'ManualApproval', summary: 'Rejected by approver: not during the freeze' },
    });
    expect(view.statusSummary).toBe('Stage Approval failed: Rejected by approver: not during the freeze');
    expect(view.stages.slice(2).map((s) => s.status)).toEqual(['NotStarted', 'NotStarted']);
    await expect(simStacks().list()).resolves.toEqual([]);
  });

  it('expires an approval nobody answered within 7 days', async () => {
    const pipelines = sim();
    const id = await start(pipelines, 'main', randomUUID(), PROTECTED_PIPELINE);
    t = T0 + SOURCE_MS + 7 * 86_400_000;
    const view = await pipelines.getExecution(PROTECTED_PIPELINE, id);
    expect(stage(view, 'Approval')).toMatchObject({ status: 'Failed', failure: { summary: expect.stringContaining('expired') } });
    await expect(codeOf(pipelines.approve(id, true))).resolves.toBe('INPUT_INVALID');
  });

  it('refuses approve for executions without a pending approval', async () => {
    const pipelines = sim();
    const id = await start(pipelines);
    t = T0 + SOURCE_MS + 1;
    await expect(codeOf(pipelines.approve(id, true))).resolves.toBe('INPUT_INVALID');
    await expect(codeOf(pipelines.approve('no-such-execution', true))).resolves.toBe('PIPELINE_EXECUTION_NOT_FOUND');
    await expect(codeOf(pipelines.failNextRun(PROTECTED_PIPELINE, 'Approval'))).resolves.toBe('INPUT_INVALID');
  });
});

describe('SimPipelines pendingApprovals and putApprovalResult (the port)', () => {
  const at = (pipelines: SimPipelines, id: string) => pipelines.pendingApprovals(PROTECTED_PIPELINE, id);

  async function waiting(pipelines: SimPipelines, variables: Record<string, string> = { LANE: 'gray' }) {
    const id = await start(pipelines, 'release/1.2.3', randomUUID(), PROTECTED_PIPELINE, variables);
    t = T0 + SOURCE_MS + 1000;
    const [approval] = await at(pipelines, id);
    return { id, approval: approval! };
  }

  it('lists the waiting approval with an opaque token, the template\'s message resolved, and the expiry; in the view too', async () => {
    const pipelines = sim();
    const id = await start(pipelines, 'release/1.2.3', randomUUID(), PROTECTED_PIPELINE, { LANE: 'gray' });
    await expect(at(pipelines, id)).resolves.toEqual([]); // still in Source

    t = T0 + SOURCE_MS + 1000;
    const pending = await at(pipelines, id);
    expect(pending).toEqual([
      {
        stageName: 'Approval',
        actionName: 'ManualApproval',
        token: expect.stringMatching(UUID),
        customMessage: 'Deploy release/1.2.3 to lane gray',
        requestedAt: T0 + SOURCE_MS,
        expiresAt: T0 + SOURCE_MS + 7 * 86_400_000,
      },
    ]);
    expect(pending[0]!.token).not.toBe(id);
    const view = await pipelines.getExecution(PROTECTED_PIPELINE, id);
    expect(stage(view, 'Approval')).toMatchObject({ status: 'InProgress', detail: 'waiting for approval', approvals: pending });
    // Another execution's request has its own token.
    const other = await start(pipelines, 'main', randomUUID(), PROTECTED_PIPELINE);
    t += SOURCE_MS;
    expect((await at(pipelines, other))[0]!.token).not.toBe(pending[0]!.token);
  });

  it('records an approval once: the next answer, from Slack or the console, is already-decided', async () => {
    const pipelines = sim();
    const { id, approval } = await waiting(pipelines);
    const decision = { pipelineName: PROTECTED_PIPELINE, stageName: 'Approval', actionName: 'ManualApproval', token: approval.token, approved: true, summary: 'Approved by @bob in Slack' };

    await expect(pipelines.putApprovalResult(decision)).resolves.toEqual({ kind: 'recorded' });
    await expect(pipelines.putApprovalResult({ ...decision, approved: false })).resolves.toEqual({ kind: 'already-decided' });
    await expect(codeOf(pipelines.approve(id, false))).resolves.toBe('INPUT_INVALID');
    await expect(at(pipelines, id)).resolves.toEqual([]);
    const view = await pipelines.getExecution(PROTECTED_PIPELINE, id);
    expect(stage(view, 'Approval')).toMatchObject({ status: 'Succeeded', endedAt: T0 + SOURCE_MS + 1000 });
    expect(stage(view, 'Approval').approvals).toBeUndefined();
    expect(stage(view, 'Build').status).toBe('InProgress');
  });

  it('a rejection fails the stage with the summary; a decision in the console first makes Slack\'s already-decided', async () => {
    const pipelines = sim();
    const { id, approval } = await waiting(pipelines);
    await pipelines.approve(id, false, 'rejected in the console');
    const outcome = await pipelines.putApprovalResult({ pipelineName: PROTECTED_PIPELINE, stageName: 'Approval', actionName: 'ManualApproval', token: approval.token, approved: true, summary: 'Approved by @bob' });
    expect(outcome).toEqual({ kind: 'already-decided' });
    const view = await pipelines.getExecution(PROTECTED_PIPELINE, id);
    expect(stage(view, 'Approval')).toMatchObject({ status: 'Failed', failure: { summary: 'Rejected by approver: rejected in the console' } });
  });

  it('cuts a long summary to 512 characters, like the adapter', async () => {
    const pipelines = sim();
    const { id, approval } = await waiting(pipelines);
    await pipelines.putApprovalResult({ pipelineName: PROTECTED_PIPELINE, stageName: 'Approval', actionName: 'ManualApproval', token: approval.token, approved: false, summary: 'x'.repeat(2000) });
    const summary = stage(await pipelines.getExecution(PROTECTED_PIPELINE, id), 'Approval').failure!.summary;
    expect(summary).toBe(`Rejected by approver: ${'x'.repeat(511)}…`);
  });

  it('answers invalid-token for an unknown token, an expired request and a request not reached yet; a stage the pipeline lacks is an error', async () => {
    const pipelines = sim();
    const decision = (token: string) => ({ pipelineName: PROTECTED_PIPELINE, stageName: 'Approval', actionName: 'ManualApproval', token, approved: true, summary: 'ok' });
    await expect(pipelines.putApprovalResult(decision(randomUUID()))).resolves.toEqual({ kind: 'invalid-token' });

    const { id, approval } = await waiting(pipelines);
    // The same token named against another (unprotected) pipeline's stage does not exist there.
    await expect(codeOf(pipelines.putApprovalResult({ ...decision(approval.token), pipelineName: PIPELINE }))).resolves.toBe('AWS_ERROR');

    t = T0 + SOURCE_MS + 7 * 86_400_000;
    await expect(pipelines.putApprovalResult(decision(approval.token))).resolves.toEqual({ kind: 'invalid-token' });
    expect(stage(await pipelines.getExecution(PROTECTED_PIPELINE, id), 'Approval').failure?.summary).toBe(
      'The approval request expired: nobody approved or rejected it within 7 days.',
    );

    // A token learnt early (the sim issues it at start) is not valid before the request exists.
    const early = await start(pipelines, 'main', randomUUID(), PROTECTED_PIPELINE);
    const record = JSON.parse((await db.redis.get(`${db.prefix}:sim:execution:${early}`))!) as { approvalToken: string };
    await expect(pipelines.putApprovalResult(decision(record.approvalToken))).resolves.toEqual({ kind: 'invalid-token' });
  });

  it('expires after the pipeline\'s own approval timeout', async () => {
    const pipelines = new SimPipelines({
      redis: db.redis,
      prefix: `${db.prefix}:sim`,
      clock,
      timeScale: 1,
      pipelines: () => [{ ...PIPELINES[2]!, approvalTimeoutMinutes: 90 }],
      stacks: simStacks(),
      templatesDir: NO_TEMPLATES,
    });
    const { id, approval } = await waiting(pipelines);
    expect(approval.expiresAt).toBe(T0 + SOURCE_MS + 90 * 60_000);
    t = T0 + SOURCE_MS + 90 * 60_000;
    expect(stage(await pipelines.getExecution(PROTECTED_PIPELINE, id), 'Approval').failure?.summary).toBe(
      'The approval request expired: nobody approved or rejected it within 90 minutes.',
    );
  });

  it('refuses unknown stages, actions and malformed tokens with the errors the adapter maps CodePipeline\'s to', async () => {
    const pipelines = sim();
    const { approval } = await waiting(pipelines);
    const decision = { pipelineName: PROTECTED_PIPELINE, stageName: 'Approval', actionName: 'ManualApproval', token: approval.token, approved: true, summary: 'ok' };
    await expect(codeOf(pipelines.putApprovalResult({ ...decision, pipelineName: 'no-such-pipeline' }))).resolves.toBe('PIPELINE_NOT_FOUND');
    await expect(codeOf(pipelines.putApprovalResult({ ...decision, stageName: 'Review' }))).resolves.toBe('AWS_ERROR');
    await expect(codeOf(pipelines.putApprovalResult({ ...decision, actionName: 'Review' }))).resolves.toBe('AWS_ERROR');
    await expect(codeOf(pipelines.putApprovalResult({ ...decision, token: 'not-a-token' }))).resolves.toBe('AWS_ERROR');
    // A real action that is no approval: nothing waits there under this token.
    await expect(pipelines.putApprovalResult({ ...decision, stageName: 'Build', actionName: 'BuildAndPush' })).resolves.toEqual({ kind: 'invalid-token' });
    await expect(at(pipelines, (await pipelines.executionIds(PROTECTED_PIPELINE))[0]!)).resolves.toHaveLength(1);
  });

  it('lets two processes race: exactly one decision is recorded', async () => {
    const pipelines = sim();
    const { id, approval } = await waiting(pipelines);
    const decision = { pipelineName: PROTECTED_PIPELINE, stageName: 'Approval', actionName: 'ManualApproval', token: approval.token, summary: 'race' };
    const outcomes = await Promise.all([
      sim().putApprovalResult({ ...decision, approved: true }),
      sim().putApprovalResult({ ...decision, approved: false }),
      sim().putApprovalResult({ ...decision, approved: true }),
    ]);
    expect(outcomes.filter((o) => o.kind === 'recorded')).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'already-decided')).toHaveLength(2);
    expect(stage(await pipelines.getExecution(PROTECTED_PIPELINE, id), 'Approval').status).not.toBe('InProgress');
  });
});

describe('SimPipelines infra and boot', () => {
  it('deploys infra-environment-{env} from infra-{env}', async () => {
    const pipelines = sim();
    const { executionId } = await pipelines.startExecution({ pipelineName: 'infra-staging', variables: {}, clientRequestToken: 'infra-1' });
    t = T0 + 8_000 + 1;
    let view = await pipelines.getExecution('infra-staging', executionId);
    expect(view.stages.map((s) => [s.name, s.status])).toEqual([
      ['Source', 'Succeeded'],
      ['Deploy', 'InProgress'],
    ]);
    t = T0 + 8_000 + 240_000;
    view = await pipelines.getExecution('infra-staging', executionId);
    expect(view.status).toBe('Succeeded');
    const stack = await simStacks().describeStack('infra-environment-staging');
    expect(stack).toMatchObject({ status: 'CREATE_COMPLETE', parameters: { Env: 'staging' }, outputs: { ClusterName: expect.stringContaining('infra-environment-staging-Cluster-') } });
    await expect(codeOf(pipelines.failNextRun('infra-staging', 'Build'))).resolves.toBe('INPUT_INVALID');
  });

  it('deploys boot-{SERVICE}-{env} from boot-{env}', async () => {
    const pipelines = sim();
    const { executionId } = await pipelines.startExecution({ pipelineName: 'boot-staging', variables: { SERVICE: 'api' }, clientRequestToken: 'boot-1' });
    t = T0 + 8_000 + 180_000;
    const view = await pipelines.getExecution('boot-staging', executionId);
    expect(view.status).toBe('Succeeded');
    expect(stage(view, 'Deploy').failure).toBeUndefined();
    const stack = await simStacks().describeStack('boot-api-staging');
    expect(stack).toMatchObject({ status: 'CREATE_COMPLETE', parameters: { Env: 'staging', ServiceName: 'api' } });
    expect(stack?.outputs.HttpListenerArn).toContain(':listener/app/api-staging/');
  });

  it('fails the boot Deploy stage clearly without SERVICE, and creates no stack', async () => {
    const pipelines = sim();
    const { executionId } = await pipelines.startExecution({ pipelineName: 'boot-staging', variables: {}, clientRequestToken: 'boot-2' });
    t = T0 + TOTAL_MS;
    const view = await pipelines.getExecution('boot-staging', executionId);
    expect(view.status).toBe('Failed');
    expect(stage(view, 'Deploy')).toMatchObject({
      status: 'Failed',
      startedAt: T0 + 8_000,
      endedAt: T0 + 8_000,
      failure: { actionName: 'DeployBootStack', summary: expect.stringContaining('The pipeline variable SERVICE is not set') },
    });
    await expect(simStacks().list()).resolves.toEqual([]);
  });

  it('fails the infra Deploy with a planned stack failure', async () => {
    const pipelines = sim();
    await pipelines.failNextRun('infra-staging', 'deploy', 'NAT gateway quota reached');
    const { executionId } = await pipelines.startExecution({ pipelineName: 'infra-staging', variables: {}, clientRequestToken: 'infra-2' });
    t = T0 + 8_000 + 240_000;
    const view = await pipelines.getExecution('infra-staging', executionId);
    expect(stage(view, 'Deploy').failure).toMatchObject({ actionName: 'DeployInfraStack', summary: 'NAT gateway quota reached' });
    expect((await simStacks().describeStack('infra-environment-staging'))?.status).toBe('ROLLBACK_COMPLETE');

    // CREATE_UPDATE does not replace a failed stack: the next run fails at once and leaves it as it is.
    const { executionId: next } = await pipelines.startExecution({ pipelineName: 'infra-staging', variables: {}, clientRequestToken: 'infra-3' });
    t += 8_000;
    const refused = await pipelines.getExecution('infra-staging', next);
    expect(stage(refused, 'Deploy')).toMatchObject({
      status: 'Failed',
      endedAt: t,
      failure: { summary: expect.stringMatching(/^Stack:arn:aws:cloudformation:\S+ is in ROLLBACK_COMPLETE state and can not be updated\.$/) },
    });
    expect((await simStacks().describeStack('infra-environment-staging'))?.status).toBe('ROLLBACK_COMPLETE');
  });
});

describe('simPipelineCatalog', () => {
  it('lists app pipelines, and infra and boot per environment, with protection', () => {
    const config = parseConfig(
      'services:\n  user-api: {}\n  orders: { pipeline: "ord-{env}" }\nenvironments:\n  dev: {}\n  prod: { protected: true, approvers: [U0APPROVER1] }\n',
    );
    expect(simPipelineCatalog(deliveryPlan(config))).toEqual([
      { name: 'user-api-dev', kind: 'app', service: 'user-api', env: 'dev', protected: false },
      { name: 'user-api-prod', kind: 'app', service: 'user-api', env: 'prod', protected: true },
      { name: 'ord-dev', kind: 'app', service: 'orders', env: 'dev', protected: false },
      { name: 'ord-prod', kind: 'app', service: 'orders', env: 'prod', protected: true },
      { name: 'infra-dev', kind: 'infra', env: 'dev', protected: false },
      { name: 'boot-dev', kind: 'boot', env: 'dev', protected: false },
      { name: 'infra-prod', kind: 'infra', env: 'prod', protected: true },
      { name: 'boot-prod', kind: 'boot', env: 'prod', protected: true },
    ]);
    expect(SIM_APP_STAGES.map((s) => s.name)).toEqual(['Source', 'Approval', 'Build', 'Deploy']);
  });
});

describe('SimPipelines.listExecutions', () => {
  const line = async (pipelines: SimPipelines, id: string, pipelineName = PIPELINE) => (await pipelines.listExecutions(pipelineName)).find((e) => e.executionId === id);

  it('lists the newest executions first, each moving with its stages without anyone reading it', async () => {
    const pipelines = sim();
    const first = await start(pipelines, 'main', 'a');
    t += 10_000;
    const second = await start(pipelines, 'main', 'b', PIPELINE, { LANE: 'beta' });
    const listed = await pipelines.listExecutions(PIPELINE);
    expect(listed.map((e) => e.executionId)).toEqual([second, first]);
    expect(listed[1]).toEqual({ executionId: first, status: 'InProgress', startedAt: T0, lastUpdatedAt: T0 });

    // Each action boundary moves the line: AppSource → InfraSource → Build → Deploy → done.
    t = T0 + 12_000;
    expect(await line(pipelines, first)).toMatchObject({ status: 'InProgress', lastUpdatedAt: T0 + 12_000 });
    t = T0 + SOURCE_MS + 1_000;
    expect(await line(pipelines, first)).toMatchObject({ status: 'InProgress', lastUpdatedAt: T0 + SOURCE_MS });
    t = T0 + SOURCE_MS + BUILD_MS + 1_000;
    expect(await line(pipelines, first)).toMatchObject({ status: 'InProgress', lastUpdatedAt: T0 + SOURCE_MS + BUILD_MS });
    // The Deploy's stack operation ends without a getExecution in between: the list still sees it.
    t = T0 + TOTAL_MS + 60_000;
    expect(await line(pipelines, first)).toMatchObject({ status: 'Succeeded' });
    expect(await line(pipelines, second)).toMatchObject({ status: 'Succeeded' });
    expect((await pipelines.getExecution(PIPELINE, first)).status).toBe('Succeeded');
  });

  it('shows a failure with its summary, and an approval answered', async () => {
    const pipelines = sim();
    const failing = await start(pipelines, 'feature/sim-fail-build');
    const approving = await start(pipelines, 'main', 'p', PROTECTED_PIPELINE);
    t = T0 + SOURCE_MS + BUILD_MS + 1_000;
    expect(await line(pipelines, failing)).toMatchObject({ status: 'Failed', statusSummary: expect.stringContaining('Build') });
    const waiting = await line(pipelines, approving, PROTECTED_PIPELINE);
    expect(waiting).toMatchObject({ status: 'InProgress', lastUpdatedAt: T0 + SOURCE_MS });
    await pipelines.approve(approving, false, 'not today');
    expect(await line(pipelines, approving, PROTECTED_PIPELINE)).toMatchObject({ status: 'Failed' });
  });

  it('reaches back to startedSince, and to the newest 100 without it', async () => {
    const pipelines = sim();
    const ids: string[] = [];
    for (let i = 0; i < 105; i++) {
      ids.push(await start(pipelines, 'main', `tok-${i}`, PIPELINE, { LANE: `l${i}` }));
      t += 1_000;
    }
    expect(await pipelines.listExecutions(PIPELINE)).toHaveLength(100);
    const back = await pipelines.listExecutions(PIPELINE, { startedSince: T0 });
    expect(back).toHaveLength(105);
    expect(back.at(-1)?.executionId).toBe(ids[0]);
    expect(await pipelines.listExecutions(PIPELINE, { startedSince: T0 + 103_000 })).toHaveLength(2);
    expect(await pipelines.listExecutions(OTHER_PIPELINE)).toEqual([]);
  });
});
