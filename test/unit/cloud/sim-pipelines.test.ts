import { randomUUID } from 'node:crypto';
import type { ExecutionView } from '../../../src/cloud/pipelines.port';
import { SIM_APP_STAGES, SimPipelines } from '../../../src/cloud/sim/sim-pipelines';
import { LanebotError } from '../../../src/errors';
import { redisPerTest, T0 } from '../../support/fixtures';

const PIPELINE = 'api-staging';
const OTHER_PIPELINE = 'web-staging';

// Durations of the simulated stages, in ms at time scale 1.
const SOURCE_MS = 20_000; // AppSource 12 s + InfraSource 8 s
const BUILD_MS = 150_000;
const DEPLOY_MS = 120_000;
const TOTAL_MS = SOURCE_MS + BUILD_MS + DEPLOY_MS;

const db = redisPerTest();
let t: number;
const clock = { now: () => t };

function sim(timeScale = 1, consoleUrl?: string): SimPipelines {
  return new SimPipelines({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale, pipelineNames: () => [PIPELINE, OTHER_PIPELINE], consoleUrl });
}

async function start(pipelines: SimPipelines, branch = 'main', token: string = randomUUID(), pipelineName: string = PIPELINE): Promise<string> {
  const { executionId } = await pipelines.startExecution({ pipelineName, variables: { LANE: 'alpha', BRANCH: branch }, clientRequestToken: token });
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
    expect(view.stages.map((s) => s.name)).toEqual(SIM_APP_STAGES.map((s) => s.name));
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
    const next = await start(pipelines, 'main', 'deploy-2');
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
