// The thread messages of admin operations (`/lane infra`, `/lane boot`, `/lane setup`): their own
// titles and closing replies, never a lane deploy's wording or its "Deploy again" button.
import type { OperationRecord } from '../../../src/domain/operation';
import { deployRecord, T0, type DeployOverrides } from '../../support/fixtures';
import { rootMessage as renderRoot, threadReply as renderReply, type RenderContext, type ThreadEvent } from '../../../src/chat/messages';
import { createOperationRegistry } from '../../../src/operations/kinds/index';

// The messages as the narrator renders them: each with its kind's view from the operations registry.
const { viewOf } = createOperationRegistry();
const rootMessage = (op: OperationRecord, now: number) => renderRoot(op, viewOf(op), now);
const threadReply = (op: OperationRecord, event: ThreadEvent, ctx: RenderContext) => renderReply(op, event, viewOf(op), ctx);

const sec = (n: number) => T0 + n * 1000;

function op(overrides: Partial<OperationRecord> & DeployOverrides): OperationRecord {
  return deployRecord({ branch: 'main', startedAt: sec(0), finishedAt: sec(95), ...overrides });
}

const text = (m: { text: string; blocks?: unknown[] }) => JSON.stringify(m.blocks);

describe('admin operation messages', () => {
  it('infra: an environment-wide title and what is ready next', () => {
    const infra = op({ kind: 'infra', service: '*', lane: '@infra', pipeline: 'infra-dev', status: 'succeeded' });
    const root = rootMessage(infra, sec(95));
    expect(root.text).toContain('dev · environment infrastructure (infra-dev)');
    expect(text(root)).toContain('*dev · environment infrastructure*');
    expect(text(root)).not.toContain('@infra');
    const done = threadReply(infra, { kind: 'finished' }, { now: sec(95) });
    expect(done.text).toContain('The infrastructure of *dev* is deployed in 1m 35s');
    expect(done.text).toContain('`/lane boot`');
  });

  it('boot: names the service stack and says lanes can be deployed', () => {
    const boot = op({ kind: 'boot', lane: '@boot', pipeline: 'boot-dev', status: 'succeeded' });
    expect(rootMessage(boot, sec(95)).text).toContain('user-api · dev · service bootstrap (boot-dev)');
    expect(threadReply(boot, { kind: 'finished' }, { now: sec(95) }).text).toContain('`boot-user-api-dev`');
  });

  it('setup: lists its stacks with their details, and how to go on', () => {
    const setup = op({
      kind: 'setup',
      lane: '@setup',
      status: 'succeeded',
      stages: [
        { name: 'pipeline-infra-dev', status: 'Succeeded', startedAt: sec(0), endedAt: sec(1), detail: 'no changes' },
        { name: 'pipeline-boot-dev', status: 'Succeeded', startedAt: sec(0), endedAt: sec(60), detail: 'CREATE_COMPLETE' },
        { name: 'pipeline-user-api-dev', status: 'Succeeded', startedAt: sec(0), endedAt: sec(95), detail: 'UPDATE_COMPLETE' },
      ],
    });
    const root = text(rootMessage(setup, sec(95)));
    expect(root).toContain('pipeline-infra-dev — succeeded (no changes)');
    expect(root).toContain('pipelines of `user-api-dev`');
    const done = threadReply(setup, { kind: 'finished' }, { now: sec(95) }).text;
    expect(done).toContain('`pipeline-infra-dev`, `pipeline-boot-dev`, `pipeline-user-api-dev`');
    expect(done).toContain('run `/lane infra`, then `/lane boot`');
  });

  it('a failed operation says where, why, and to run the command again, without a Deploy again button', () => {
    const setup = op({
      kind: 'setup',
      lane: '@setup',
      status: 'failed',
      statusSummary: 'pipeline-user-api-dev failed',
      stages: [
        {
          name: 'pipeline-user-api-dev',
          status: 'Failed',
          failure: { actionName: 'CreateChangeSet', summary: 'Parameters: [AppRepo] must have values' },
        },
      ],
    });
    const done = threadReply(setup, { kind: 'finished' }, { now: sec(95) });
    expect(done.text).toContain(':x: `/lane setup` failed at *pipeline-user-api-dev*: pipeline-user-api-dev failed.');
    expect(done.text).toContain('run `/lane setup` again');
    expect(JSON.stringify(done.blocks)).not.toContain('lane_deploy_again');
    const stage = threadReply(setup, { kind: 'stage_failed', stage: setup.stages[0]! }, { now: sec(95) }).text;
    expect(stage).toContain('Stack *pipeline-user-api-dev* failed.');
    expect(stage).toContain('must have values');
  });

  it('an operation that could not run gives the reason', () => {
    const infra = op({ kind: 'infra', service: '*', lane: '@infra', pipeline: 'infra-dev', status: 'error', error: 'Pipeline `infra-dev` does not exist' });
    expect(threadReply(infra, { kind: 'finished' }, { now: sec(95) }).text).toBe(':warning: `/lane infra` could not run: Pipeline `infra-dev` does not exist');
  });

  it('queued behind another operation: no lane wording', () => {
    const boot = op({ kind: 'boot', lane: '@boot', pipeline: 'boot-dev', status: 'waiting' });
    const reply = threadReply(boot, { kind: 'queued_behind', aheadId: 'x' }, { now: sec(1), other: op({ requester: 'U0OTHER' }) }).text;
    expect(reply).toBe(':double_vertical_bar: Another `/lane boot` by <@U0OTHER> is running; this one starts when it ends.');
    const superseded = threadReply(boot, { kind: 'superseded', byId: 'y' }, { now: sec(1) }).text;
    expect(superseded).toContain('Superseded by a newer `/lane boot`');
  });
});
