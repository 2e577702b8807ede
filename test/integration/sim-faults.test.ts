// Transport faults armed in the simulated account, through the real bot: the deploy job rides out
// throttling and gives up, saying why, on access denied. And the pipelines port's manual-approval
// answers while the real bot runs the deploy: a decision releases it, a second one is a value.
import { ApprovalStore } from '../../src/state/approvals';
import { deletePrefix, startTestBot, waitFor, type TestBot } from '../support/harness';

const FULL_RUN_MS = 400_000; // longer than the simulated Source + Build + Deploy
const GRAY = { service: 'user-api', env: 'dev', lane: 'gray' };

describe('simulated AWS faults', () => {
  let t: TestBot;

  beforeEach(async () => {
    t = await startTestBot();
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  it('retries a throttled StartPipelineExecution and the deploy still succeeds', async () => {
    await t.bot.simFaults!.inject({ service: 'codepipeline', fault: 'throttled', count: 2 });

    await t.command('deploy gray release/1.2.3');
    const root = await waitFor('the root message', () => t.stub.rootMentioning('release/1.2.3'));
    // Both faults fail the start (the first CodePipeline calls); the job re-delays itself and starts on its third try.
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get(GRAY))?.last?.status === 'running');
    expect(await t.bot.simFaults!.pending()).toEqual([]);
    t.clock.advance(FULL_RUN_MS);

    const done = await waitFor('the success reply', () => t.stub.thread(root).find((m) => m.text.includes('now runs')));
    expect(done.text).toContain('Lane *gray* of user-api/dev now runs `release/1.2.3`');
    expect(await t.bot.sim!.executionIds('user-api-dev')).toHaveLength(1);
    expect(t.stub.thread(root).some((m) => m.text.includes('could not run'))).toBe(false);
  });

  it('ends the deploy on access denied at start, and the thread says which call and which policy', async () => {
    await t.bot.simFaults!.inject({ service: 'codepipeline', fault: 'access-denied' });

    await t.command('deploy gray release/1.2.3');
    const root = await waitFor('the root message', () => t.stub.rootMentioning('release/1.2.3'));
    const reply = await waitFor('the error reply', () => t.stub.thread(root).find((m) => m.text.includes('could not run')));
    expect(reply.text).toContain('codepipeline:StartPipelineExecution');
    expect(reply.text).toContain('templates/iam/bot-policy.json');

    const last = (await t.bot.lanes.get(GRAY))?.last;
    expect(last?.status).toBe('error');
    expect(await t.bot.sim!.executionIds('user-api-dev')).toEqual([]);
    expect(await t.bot.simFaults!.pending()).toEqual([]);
  });

  it('answers a prod pipeline\'s manual approval through the port: recorded once, then already-decided; the deploy goes on', async () => {
    const PROD = { service: 'user-api', env: 'prod', lane: 'gray' };
    await t.command('deploy --env prod gray release/1.2.3', { user: 'U0ALICE' });
    const root = await waitFor('the root message', () => t.stub.roots('C0USERAPIDEV').find((m) => m.text.includes('prod · lane gray')));
    // lanebot's own approval gate first (approvals.test.ts drives it through its buttons); here it is
    // passed directly, as an approver's click would.
    const [request] = await waitFor('the approval request', async () => {
      const pending = await t.bot.approvalsPending({ service: 'user-api', env: 'prod' });
      return pending.length > 0 ? pending : undefined;
    });
    expect((await new ApprovalStore(t.bot.redis, t.bot.keys, t.bot.operations).decide(request!, 'approve', 'U0APPROVER1', t.clock.now())).outcome).toBe('approved');
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get(PROD))?.last?.status === 'running');
    const [executionId] = await t.bot.sim!.executionIds('user-api-prod');
    t.clock.advance(FULL_RUN_MS);
    const [approval] = await waitFor('the approval to wait', () =>
      t.bot.sim!.pendingApprovals('user-api-prod', executionId!).then((p) => (p.length > 0 ? p : undefined)),
    );
    expect(approval).toMatchObject({ stageName: 'Approval', actionName: 'ManualApproval', customMessage: 'Deploy release/1.2.3 to lane gray' });

    const decision = { pipelineName: 'user-api-prod', stageName: approval!.stageName, actionName: approval!.actionName, token: approval!.token, summary: 'Approved by <@U0APPROVER1> in Slack' };
    await expect(t.bot.sim!.putApprovalResult({ ...decision, approved: true })).resolves.toEqual({ kind: 'recorded' });
    await expect(t.bot.sim!.putApprovalResult({ ...decision, approved: false })).resolves.toEqual({ kind: 'already-decided' });
    await expect(t.bot.sim!.pendingApprovals('user-api-prod', executionId!)).resolves.toEqual([]);

    t.clock.advance(FULL_RUN_MS);
    const done = await waitFor('the success reply', () => t.stub.thread(root).find((m) => m.text.includes('now runs')));
    expect(done.text).toContain('Lane *gray* of user-api/prod now runs `release/1.2.3`');
  });
});
