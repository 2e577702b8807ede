// The stack-changes step's `update-parameters` change (promote and rollback set a lane's ImageUri
// this way) on its own: the simulator's stacks on the real Redis, or a plain fake port for answers
// the simulator cannot be made to give at will, and small stand-ins for the stores the step writes
// to. Each test drives the step call by call, as the runner does (a wait's progress is saved before
// the next call).
import pino from 'pino';
import type { CloudPorts } from '../../../src/cloud/cloud';
import { SimStacks } from '../../../src/cloud/sim/sim-stacks';
import type { StacksPort, UpdateStackParametersInput, UpdateStackParametersResult } from '../../../src/cloud/stacks.port';
import type { ThreadEvent } from '../../../src/chat/messages';
import { parseConfig } from '../../../src/config';
import type { OperationRecord } from '../../../src/domain/operation';
import type { StepDeps, StepResult } from '../../../src/operations/step';
import { MAX_BUSY_WAIT_MS, stackChangesStep } from '../../../src/operations/steps/stack-changes.step';
import type { OperationPatch } from '../../../src/state/operation-store';
import { deployRecord, redisPerTest, T0 } from '../../support/fixtures';
import { Metrics } from '../../../src/metrics';

const POLL_MS = 1000;
const CREATE_MS = 90_000;
const UPDATE_MS = 60_000;
const NAME = 'app-user-api-dev-gray';
const OLD_IMAGE = '000000000000.dkr.ecr.sim-1.amazonaws.com/user-api:gray-aaaaaaaaaaaa';
const NEW_IMAGE = '000000000000.dkr.ecr.sim-1.amazonaws.com/user-api@sha256:bbbb';
const LANE_PARAMETERS = { Env: 'dev', ServiceName: 'user-api', Lane: 'gray', ImageUri: OLD_IMAGE, RulePriority: '3' };

/** What a promote kind would declare: the lane stack, its ImageUri set to the operation's image. */
const promoteStep = stackChangesStep({
  changes: (op) => [{ action: 'update-parameters', stackName: `app-${op.service}-${op.env}-${op.lane}`, parameters: { ImageUri: String(op.params.image) } }],
});

const db = redisPerTest();

/** One operation going through the step, with the stand-ins the step uses (update, say, refreshRoot). */
class StepRun {
  time = T0;
  // A deploy record standing in for a promote (no such kind yet): the step reads only the slot and params.image.
  op: OperationRecord = deployRecord({ status: 'running', step: 0, params: { image: NEW_IMAGE } });
  said: { entryId: string; event: ThreadEvent }[] = [];
  results: StepResult[] = [];

  constructor(readonly stacks: StacksPort) {}

  get deps(): StepDeps {
    const operations = { update: async (_id: string, patch: OperationPatch) => this.apply(patch) };
    const narrator = {
      say: async (_id: string, entryId: string, event: ThreadEvent) => void this.said.push({ entryId, event }),
      refreshRoot: async () => {},
    };
    // Only what the step uses is there: a call to anything else fails the test with a TypeError.
    return {
      cloud: { stacks: this.stacks } as unknown as CloudPorts,
      operations: operations as unknown as StepDeps['operations'],
      narrator: narrator as unknown as StepDeps['narrator'],
      lanes: {} as StepDeps['lanes'],
      rulePriorities: {} as StepDeps['rulePriorities'],
      config: parseConfig('services:\n  user-api: {}\nenvironments:\n  dev: {}\n'),
      templatesDir: '',
      clock: { now: () => this.time },
      logger: pino({ level: 'silent' }),
      pollIntervalMs: POLL_MS,
      timeScale: 1,
      audit: { record: async () => undefined },
      metrics: new Metrics({ defaultMetrics: false }),
    };
  }

  private apply(patch: OperationPatch | undefined): void {
    if (patch) this.op = { ...this.op, ...(patch as Partial<OperationRecord>) };
  }

  /** One call of the step; `crash` drops what it returned, as a worker killed before saving it would. */
  async call(options: { crash?: boolean } = {}): Promise<StepResult> {
    const result = await promoteStep.run(this.op, this.deps);
    this.results.push(result);
    if (!options.crash && result.kind !== 'end') this.apply(result.patch);
    return result;
  }

  get stage() {
    return this.op.stages.find((s) => s.name === NAME);
  }
}

function sim(): SimStacks {
  return new SimStacks({ redis: db.redis, prefix: `${db.prefix}:sim`, clock: { now: () => run.time }, timeScale: 1 });
}

/** A lane stack created by a deploy, finished at the run's clock. */
async function laneStack(stacks: SimStacks): Promise<void> {
  const created = await stacks.deployStack({
    stackName: NAME,
    templateBody: 'Resources:\n  TaskDefinition:\n    Type: AWS::ECS::TaskDefinition\n',
    parameters: LANE_PARAMETERS,
    tags: { 'lanebot:lane': 'gray' },
    clientRequestToken: 'pipeline-deploy-1',
  });
  expect(created).toMatchObject({ kind: 'started', operation: 'create' });
  run.time += CREATE_MS;
}

let run: StepRun;

describe('stack-changes step: update-parameters', () => {
  it("updates the lane stack's ImageUri with its previous template, shows it as a stage, and goes on once it is done", async () => {
    const stacks = sim();
    run = new StepRun(stacks);
    await laneStack(stacks);

    expect(await run.call()).toMatchObject({ kind: 'wait', inMs: POLL_MS, underway: true });
    expect(run.stage).toMatchObject({ status: 'InProgress', detail: 'updating ImageUri', startedAt: run.time });

    run.time += UPDATE_MS / 2;
    expect(await run.call()).toMatchObject({ kind: 'wait' });
    expect(run.stage).toMatchObject({ status: 'InProgress', detail: 'UPDATE_IN_PROGRESS' });

    run.time += UPDATE_MS;
    const done = await run.call();

    expect(done).toEqual({ kind: 'next', patch: { stages: [expect.objectContaining({ name: NAME, status: 'Succeeded', detail: 'UPDATE_COMPLETE' })], progress: {} } });
    const view = await stacks.describeStack(NAME);
    expect(view?.parameters).toEqual({ ...LANE_PARAMETERS, ImageUri: NEW_IMAGE });
    expect(view?.outputs.ImageUri).toBe(NEW_IMAGE);
    expect(view?.tags).toEqual({ 'lanebot:lane': 'gray' });
    expect(run.said).toEqual([]);
  });

  it('updates the stack once when a worker dies after starting it and the step runs again', async () => {
    const stacks = sim();
    run = new StepRun(stacks);
    await laneStack(stacks);
    const since = (await stacks.progress(NAME)).cursor;

    await run.call({ crash: true });
    run.time += 5_000;
    expect(await run.call()).toMatchObject({ kind: 'wait', underway: true });
    run.time += UPDATE_MS;
    expect(await run.call()).toMatchObject({ kind: 'next' });

    const events = (await stacks.progress(NAME, since)).events.filter((e) => e.logicalResourceId === NAME).map((e) => e.status);
    expect(events).toEqual(['UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_COMPLETE']);
  });

  it('succeeds at once with "no changes" when the stack already runs that image', async () => {
    const stacks = sim();
    run = new StepRun(stacks);
    await laneStack(stacks);
    run.op = { ...run.op, params: { image: OLD_IMAGE } };

    expect(await run.call()).toEqual({ kind: 'next', patch: { stages: [expect.objectContaining({ status: 'Succeeded', detail: 'no changes' })], progress: {} } });
  });

  it('fails the operation with the failed resources when the update rolls back, and says so in the thread', async () => {
    const stacks = sim();
    run = new StepRun(stacks);
    await laneStack(stacks);
    await stacks.failNextOperation(NAME, 'CannotPullContainerError: image not found');

    await run.call();
    run.time += UPDATE_MS * 2;
    const result = await run.call();

    expect(result).toMatchObject({ kind: 'end', status: 'failed', patch: { statusSummary: `${NAME} failed` } });
    expect(run.said).toEqual([
      {
        entryId: `stage_failed:${NAME}`,
        event: { kind: 'stage_failed', stage: expect.objectContaining({ status: 'Failed', failure: { actionName: 'ExecuteChangeSet', summary: expect.stringContaining('image not found') } }) },
      },
    ]);
    expect((await stacks.describeStack(NAME))?.parameters.ImageUri).toBe(OLD_IMAGE);
  });

  it('fails with the reason when the lane stack does not exist (rejected, never created)', async () => {
    const stacks = sim();
    run = new StepRun(stacks);

    const result = await run.call();

    expect(result).toMatchObject({ kind: 'end', status: 'failed' });
    expect(run.said[0]?.event).toMatchObject({
      kind: 'stage_failed',
      stage: { status: 'Failed', failure: { actionName: 'CreateChangeSet', summary: expect.stringContaining(`Stack ${NAME} does not exist`) } },
    });
    expect(await stacks.describeStack(NAME)).toBeUndefined();
  });

  it('waits while the stack is busy with another operation, then gives up after the longest busy wait', async () => {
    const calls: UpdateStackParametersInput[] = [];
    let answer: UpdateStackParametersResult = { kind: 'busy', status: 'UPDATE_IN_PROGRESS' };
    const stacks = {
      updateStackParameters: async (input: UpdateStackParametersInput) => {
        calls.push(input);
        return answer;
      },
    } as unknown as StacksPort;
    run = new StepRun(stacks);

    expect(await run.call()).toMatchObject({ kind: 'wait', inMs: POLL_MS });
    expect(run.stage).toMatchObject({ status: 'NotStarted', detail: 'waiting: the stack is busy with another operation (UPDATE_IN_PROGRESS)' });
    answer = { kind: 'preparing' };
    run.time += POLL_MS;
    await run.call();
    expect(run.stage).toMatchObject({ status: 'NotStarted', detail: 'CloudFormation is preparing the change set' });
    answer = { kind: 'busy', status: 'UPDATE_IN_PROGRESS' };
    run.time += MAX_BUSY_WAIT_MS + POLL_MS;
    const result = await run.call();

    expect(result).toMatchObject({ kind: 'end', status: 'failed' });
    expect(run.said[0]?.event).toMatchObject({ stage: { failure: { summary: expect.stringContaining('stayed busy with another operation (UPDATE_IN_PROGRESS)') } } });
    // Every call with the one token of this operation and stack, and only the changed parameter.
    expect(new Set(calls.map((c) => c.clientRequestToken))).toEqual(new Set([`${run.op.id}-0`]));
    expect(calls.every((c) => c.stackName === NAME && JSON.stringify(c.parameters) === JSON.stringify({ ImageUri: NEW_IMAGE }))).toBe(true);
  });
});
