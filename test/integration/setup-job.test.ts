// `/lane setup` end to end against a scripted stack port: the real Bolt receiver, BullMQ and Redis,
// the setup job and the narrator; only the stack service is a fake, so each outcome the port can
// report (busy, no changes, rejected, a failed first create to replace, failure reasons) is shown
// in the thread exactly as it would be with CloudFormation.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AwsAccessDeniedError } from '../../src/errors';
import type {
  DeployStackInput,
  DeployStackResult,
  DeleteStackResult,
  StackProgress,
  StacksPort,
  StackView,
  UpdateStackParametersResult,
} from '../../src/cloud/stacks.port';
import { deletePrefix, startTestBot, waitFor, type TestBot } from '../support/harness';
import { adminConfig, TEST_ADMIN as ADMIN, TEST_CONNECTION_ARN } from '../support/test-config';

const CONFIG = adminConfig('  infraBranch: release\n  stackRoleArn: arn:aws:iam::123456789012:role/lanebot-pipeline-stacks\n');

type Step = { deploy: DeployStackResult } | { progress: Partial<StackProgress> & { status: string } } | { fail: Error };

/** A stack port that answers each stack's calls from a script, in order (the last answer repeats). */
class ScriptedStacks implements StacksPort {
  readonly calls: { op: string; stackName: string; input?: DeployStackInput; since?: string }[] = [];
  constructor(private readonly scripts: Record<string, Step[]>) {}

  private next(stackName: string, kind: 'deploy' | 'progress'): Step {
    const script = this.scripts[stackName] ?? [];
    const index = script.findIndex((s) => kind in s || 'fail' in s);
    if (index < 0) throw new Error(`no ${kind} answer scripted for ${stackName}`);
    const step = script[index]!;
    if (script.filter((s) => kind in s || 'fail' in s).length > 1) script.splice(index, 1);
    return step;
  }

  async deployStack(input: DeployStackInput): Promise<DeployStackResult> {
    this.calls.push({ op: 'deploy', stackName: input.stackName, input });
    const step = this.next(input.stackName, 'deploy');
    if ('fail' in step) throw step.fail;
    return (step as { deploy: DeployStackResult }).deploy;
  }

  async progress(stackName: string, since?: string): Promise<StackProgress> {
    this.calls.push({ op: 'progress', stackName, since });
    const step = this.next(stackName, 'progress');
    if ('fail' in step) throw step.fail;
    const p = (step as { progress: Partial<StackProgress> & { status: string } }).progress;
    const finished = !p.status.endsWith('_IN_PROGRESS');
    return { events: [], failureReasons: [], finished, succeeded: finished && /(CREATE|UPDATE|DELETE)_COMPLETE$/.test(p.status) && !p.status.includes('ROLLBACK'), ...p };
  }

  async describeStack(): Promise<StackView | undefined> {
    return undefined;
  }

  async deleteStack(): Promise<DeleteStackResult> {
    return { kind: 'gone' };
  }

  async updateStackParameters(): Promise<UpdateStackParametersResult> {
    throw new Error('setup never updates parameters alone');
  }
}

describe('/lane setup (scripted stack port)', () => {
  let t: TestBot | undefined;

  afterEach(async () => {
    if (t) {
      await t.stop();
      await deletePrefix(t.prefix);
      t = undefined;
    }
  });

  async function runSetup(stacks: ScriptedStacks): Promise<{ root: NonNullable<ReturnType<TestBot["stub"]["rootMentioning"]>>; bot: TestBot }> {
    t = await startTestBot({ config: CONFIG, overrides: { stacks } });
    const sent = await t.command('setup', { user: ADMIN });
    expect(JSON.parse(sent.body).text).toContain('Queued the setup of the pipelines of *user-api/dev*');
    const root = await waitFor('the setup root message', () => t!.stub.rootMentioning('pipeline setup'));
    return { root, bot: t };
  }

  it('deploys the three pipeline stacks from templates/ with the configured parameters, and says what is next', async () => {
    const stacks = new ScriptedStacks({
      'pipeline-infra-dev': [{ deploy: { kind: 'preparing' } }, { deploy: { kind: 'no-changes', stackId: 'infra-id' } }],
      'pipeline-boot-dev': [
        { deploy: { kind: 'started', operation: 'create', stackId: 'boot-id', eventCursor: 'e0' } },
        { progress: { status: 'CREATE_IN_PROGRESS', cursor: 'e1' } },
        { progress: { status: 'CREATE_COMPLETE', cursor: 'e2' } },
      ],
      'pipeline-user-api-dev': [
        { deploy: { kind: 'started', operation: 'update', stackId: 'app-id', eventCursor: 'a0' } },
        { progress: { status: 'UPDATE_COMPLETE', cursor: 'a1' } },
      ],
    });
    const { root, bot } = await runSetup(stacks);
    const done = await waitFor('the final reply', () => bot.stub.thread(root).find((m) => m.text.includes('are set up')));
    expect(done.text).toContain('`pipeline-infra-dev`, `pipeline-boot-dev`, `pipeline-user-api-dev`');
    await waitFor('the root to show success', () => root.text.includes('deployed'));
    const blocks = JSON.stringify(root.blocks);
    expect(blocks).toContain('pipeline-infra-dev — succeeded (no changes)');
    expect(blocks).toContain('pipeline-boot-dev — succeeded (CREATE_COMPLETE)');

    const app = stacks.calls.find((c) => c.op === 'deploy' && c.stackName === 'pipeline-user-api-dev')!.input!;
    expect(app.parameters).toEqual({
      Env: 'dev',
      ConnectionArn: TEST_CONNECTION_ARN,
      InfraRepo: 'acme/infra-devops',
      InfraBranch: 'release',
      PipelineName: 'user-api-dev',
      ServiceName: 'user-api',
      AppRepo: 'acme/user-api',
      RequireApproval: 'false',
    });
    expect(app.templateBody).toBe(readFileSync(join(__dirname, '../../templates/pipelines/app-pipeline.yaml'), 'utf8'));
    expect(app.capabilities).toEqual(['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM']);
    expect(app.roleArn).toBe('arn:aws:iam::123456789012:role/lanebot-pipeline-stacks');
    expect(app.tags).toMatchObject({ 'lanebot:service': 'user-api', 'lanebot:env': 'dev' });
    // Progress is read from where the operation started, then from where the last read ended.
    expect(stacks.calls.filter((c) => c.op === 'progress' && c.stackName === 'pipeline-boot-dev').map((c) => c.since)).toEqual(['e0', 'e1']);
    // Every stack gets its own idempotency token, derived from the setup record; a change set still
    // being prepared is picked up on the next poll with the same token.
    const tokens = stacks.calls.filter((c) => c.op === 'deploy').map((c) => c.input!.clientRequestToken);
    expect(tokens).toHaveLength(4);
    expect(new Set(tokens).size).toBe(3);
    const infraTokens = stacks.calls.filter((c) => c.op === 'deploy' && c.stackName === 'pipeline-infra-dev').map((c) => c.input!.clientRequestToken);
    expect(infraTokens).toHaveLength(2);
    expect(new Set(infraTokens).size).toBe(1);
  });

  it('waits for a busy stack, replaces a failed first create, and reports a refused template with its reason', async () => {
    const stacks = new ScriptedStacks({
      'pipeline-infra-dev': [
        { deploy: { kind: 'busy', status: 'UPDATE_IN_PROGRESS' } },
        { deploy: { kind: 'busy', status: 'UPDATE_IN_PROGRESS' } },
        { deploy: { kind: 'no-changes', stackId: 'infra-id' } },
      ],
      'pipeline-boot-dev': [
        { deploy: { kind: 'replacing', status: 'ROLLBACK_COMPLETE' } },
        { progress: { status: 'DELETE_IN_PROGRESS' } },
        { progress: { status: 'DELETE_COMPLETE' } },
        { deploy: { kind: 'started', operation: 'create', stackId: 'boot-id' } },
        { progress: { status: 'CREATE_COMPLETE' } },
      ],
      'pipeline-user-api-dev': [{ deploy: { kind: 'rejected', reason: 'Parameters: [AppRepo] must have values' } }],
    });
    const { root, bot } = await runSetup(stacks);
    const stageFailed = await waitFor('the stack failure reply', () => bot.stub.thread(root).find((m) => m.text.includes('Stack *pipeline-user-api-dev* failed')));
    expect(stageFailed.text).toContain('Parameters: [AppRepo] must have values');
    const final = await waitFor('the final reply', () => bot.stub.thread(root).find((m) => m.text.includes('`/lane setup` failed')));
    expect(final.text).toContain('at *pipeline-user-api-dev*');
    expect(final.text).toContain('run `/lane setup` again');
    // Root edits are coalesced and may land after the last reply.
    await waitFor('the root to show the end', () => root.text.includes('failed'));
    const blocks = JSON.stringify(root.blocks);
    expect(blocks).toContain('pipeline-infra-dev — succeeded (no changes)');
    expect(blocks).toContain('pipeline-boot-dev — succeeded');
    // The busy stack was tried again until it was free; the replaced one was created afresh.
    expect(stacks.calls.filter((c) => c.op === 'deploy' && c.stackName === 'pipeline-infra-dev')).toHaveLength(3);
    expect(stacks.calls.filter((c) => c.op === 'deploy' && c.stackName === 'pipeline-boot-dev')).toHaveLength(2);
  });

  it('shows the failed resources of a stack that rolled back', async () => {
    const stacks = new ScriptedStacks({
      'pipeline-infra-dev': [{ deploy: { kind: 'no-changes', stackId: 'i' } }],
      'pipeline-boot-dev': [{ deploy: { kind: 'no-changes', stackId: 'b' } }],
      'pipeline-user-api-dev': [
        { deploy: { kind: 'started', operation: 'update', stackId: 'a' } },
        { progress: { status: 'UPDATE_ROLLBACK_IN_PROGRESS', failureReasons: ['Resource handler returned message: "Role lanebot-x is invalid"'] } },
        { progress: { status: 'UPDATE_ROLLBACK_COMPLETE' } },
      ],
    });
    const { root, bot } = await runSetup(stacks);
    const stageFailed = await waitFor('the stack failure reply', () => bot.stub.thread(root).find((m) => m.text.includes('Stack *pipeline-user-api-dev* failed')));
    expect(stageFailed.text).toContain('Role lanebot-x is invalid');
    await waitFor('the final reply', () => bot.stub.thread(root).find((m) => m.text.includes('`/lane setup` failed')));
  });

  it('ends with what to set when AWS denies the stack call and no stack role is configured', async () => {
    const denied = new AwsAccessDeniedError('cloudformation:CreateChangeSet for stack `pipeline-infra-dev`', new Error('not authorized'));
    const stacks = new ScriptedStacks({
      'pipeline-infra-dev': [{ fail: denied }],
      'pipeline-boot-dev': [{ deploy: { kind: 'no-changes', stackId: 'b' } }],
      'pipeline-user-api-dev': [{ deploy: { kind: 'no-changes', stackId: 'a' } }],
    });
    t = await startTestBot({ config: CONFIG.replace(/  stackRoleArn: .*\n/, ''), overrides: { stacks } });
    await t.command('setup', { user: ADMIN });
    const root = await waitFor('the setup root message', () => t!.stub.rootMentioning('pipeline setup'));
    const final = await waitFor('the final reply', () => t!.stub.thread(root).find((m) => m.text.includes('could not run')));
    expect(final.text).toContain('may not call cloudformation:CreateChangeSet');
    expect(final.text).toContain('`setup.stackRoleArn`');
    expect(final.text).toContain('templates/iam/pipeline-stack-role.yaml');
  });

  it('answers a non-admin at once and queues nothing', async () => {
    const stacks = new ScriptedStacks({});
    t = await startTestBot({ config: CONFIG, overrides: { stacks } });
    const sent = await t.command('setup', { user: 'U0ALICE' });
    const reply = JSON.parse(sent.body) as { text: string };
    expect(reply.text).toContain('only lanebot admins');
    expect(await t.bot.queues.operations.getJobCounts()).toMatchObject({ waiting: 0, active: 0, delayed: 0 });
    expect(stacks.calls).toEqual([]);
  });
});
