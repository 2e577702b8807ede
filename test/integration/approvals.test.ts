// The approval gate of a protected environment, driven as Slack would: signed commands, clicks on the
// root message's Approve and Reject buttons, and the reason modal's signed view_submission.
import { randomUUID } from 'node:crypto';
import { blockActionsBody, postSignedRequest } from '../../src/sandbox/slack-signing';
import { APPROVE_DEPLOY_ACTION_ID, REJECT_DEPLOY_ACTION_ID } from '../../src/slack/actions/approve-deploy';
import { APPROVE_PIPELINE_ACTION_ID, REJECT_PIPELINE_REASON_CALLBACK_ID } from '../../src/slack/actions/pipeline-approval';
import { REJECT_REASON_CALLBACK_ID } from '../../src/slack/actions/reject-deploy';
import { deletePrefix, SIGNING_SECRET, startTestBot, waitFor, type TestBot } from '../support/harness';
import { SlackStub, type StubMessage } from '../support/slack-stub';
import { TEST_CONFIG } from '../support/test-config';

const CHANNEL = 'C0USERAPIDEV';
const PROD = { service: 'user-api', env: 'prod' };
const FULL_RUN_MS = 400_000;
const GROUP = 'S0PRODAPPROVERS';
const CONFIG = TEST_CONFIG.replace('    approvers: [U0APPROVER1]', `    approvers: [U0APPROVER1, ${GROUP}]\n    approval: { approvalTimeout: 30m }`);

describe('the approval gate of a protected environment', () => {
  let t: TestBot;
  let stub: SlackStub;

  beforeEach(async () => {
    stub = await new SlackStub({ userGroups: [{ id: GROUP, handle: 'prod-approvers', users: ['U0BOB'] }] }).start();
    t = await startTestBot({ stub, config: CONFIG });
    stub.setBotUrl(t.url);
    await waitFor('the group copy', async () => (await t.bot.userGroups.refreshedAt(GROUP)) !== undefined);
  });

  afterEach(async () => {
    await t.stop();
    await stub.stop();
    await deletePrefix(t.prefix);
  });

  async function request(lane: string, branch: string, user = 'U0ALICE'): Promise<StubMessage> {
    const sent = await t.command(`deploy ${lane} ${branch} --env prod`, { user });
    expect(JSON.parse(sent.body).text).toContain('Queued the deploy');
    const root = await waitFor('the root', () => stub.roots(CHANNEL).find((m) => m.text.includes(`lane ${lane} ← ${branch}`)));
    await waitFor('the approval buttons', () => (JSON.stringify(root.blocks).includes(APPROVE_DEPLOY_ACTION_ID) ? true : undefined));
    return root;
  }

  /** A click on the root's Approve or Reject as `user`; resolves with the ephemeral answer, if any. */
  async function click(root: StubMessage, user: string, actionId = APPROVE_DEPLOY_ACTION_ID): Promise<string | undefined> {
    const response = await fetch(`${stub.url}/sandbox/actions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user, channel: CHANNEL, ts: root.ts, actionId }),
    });
    const answer = (await response.json()) as { ok: boolean; responseUrl: string; error?: string };
    if (!answer.ok) throw new Error(`the click was not delivered: ${JSON.stringify(answer)}`);
    const id = answer.responseUrl.split('/').pop()!;
    return (await waitFor('the answer to the click', () => stub.responsesFor(id)[0], 10_000).catch(() => undefined))?.body.text as string | undefined;
  }

  /**
   * A click on a button the message no longer shows (a client that has not refreshed yet): signed
   * like Slack's, with the value the button had.
   */
  async function lateClick(root: StubMessage, user: string, operationId: string, actionId = APPROVE_DEPLOY_ACTION_ID): Promise<string> {
    const id = `late-${randomUUID().slice(0, 8)}`;
    const responseUrl = stub.workspace.responseUrl(stub.workspace.registerResponseUrl({ user, channel: CHANNEL, messageTs: root.ts }, id));
    const body = blockActionsBody({
      user: { id: user, username: user.toLowerCase(), name: user.toLowerCase() },
      channel: { id: CHANNEL, name: 'user-api-dev' },
      message: { ts: root.ts, text: root.text, blocks: root.blocks },
      button: { actionId, blockId: 'approval', value: JSON.stringify({ v: 1, operationId }), text: { type: 'plain_text', text: 'Approve' } },
      responseUrl,
    });
    expect((await postSignedRequest(`${t.url}/slack/events`, body, SIGNING_SECRET)).status).toBe(200);
    return (await waitFor('the answer to the late click', () => stub.responsesFor(id)[0])).body.text as string;
  }

  /** The latest deploy operation of a lane, from the audit log. */
  const operationOf = async (lane: string) =>
    (await t.bot.audit.recent({ ...PROD, lane }, 100)).find((e) => e.action === 'operation:deploy')!.operationId!;

  async function statusOf(lane: string) {
    const ops = await t.bot.audit.recent({ ...PROD, lane }, 50);
    return ops.find((e) => e.action === 'operation:deploy')?.outcome;
  }

  it('waits for an approver, refuses the requester and non-approvers, and starts once approved', async () => {
    // bob is an approver (through the group) who asks for a deploy himself.
    const root = await request('gray', 'release/1.2.3', 'U0BOB');
    expect(root.text).toContain('awaiting approval');
    const mention = await waitFor('the approvers mentioned', () => stub.thread(root).find((m) => m.text.includes('needs an approval')));
    expect(mention.text).toContain('<@U0APPROVER1>');
    expect(mention.text).toContain(`<!subteam^${GROUP}>`);
    expect(await t.bot.sim!.executionIds('user-api-prod')).toEqual([]);

    expect(await click(root, 'U0BOB')).toContain('You asked for this deploy, so you cannot approve it yourself');
    expect(await click(root, 'U0ALICE')).toContain(`Only prod's approvers (<@U0APPROVER1>, <!subteam^${GROUP}>) may approve there`);
    expect(await t.bot.sim!.executionIds('user-api-prod')).toEqual([]);

    expect(await click(root, 'U0APPROVER1')).toContain('Approved: the deploy of `release/1.2.3` to lane *gray* of user-api/prod starts now.');
    await waitFor('the pipeline to start', async () => ((await t.bot.sim!.executionIds('user-api-prod')).length === 1 ? true : undefined));
    await waitFor('the root to say approved', () => (JSON.stringify(root.blocks).includes('Approved by <@U0APPROVER1>') ? true : undefined));
    expect(JSON.stringify(root.blocks)).not.toContain(APPROVE_DEPLOY_ACTION_ID);
    expect(await lateClick(root, 'U0APPROVER1', await operationOf('gray'))).toContain('already approved'); // answered, not acted on
    const history = await t.bot.audit.recent({ ...PROD, lane: 'gray' }, 50);
    expect(history.map((e) => e.outcome)).toEqual(expect.arrayContaining(['awaiting_approval', 'approved', 'refused']));
  });

  it('accepts a member of an approver user group', async () => {
    const root = await request('blue', 'release/2.0.0');
    expect(await click(root, 'U0BOB')).toContain('Approved');
    await waitFor('the pipeline to start', async () => ((await t.bot.sim!.executionIds('user-api-prod')).length === 1 ? true : undefined));
  });

  it('makes one decision when two approvers click at once', async () => {
    const root = await request('teal', 'release/3.0.0');
    const answers = await Promise.all([click(root, 'U0APPROVER1'), click(root, 'U0BOB')]);
    expect(answers.filter((a) => a?.startsWith(':white_check_mark: Approved:'))).toHaveLength(1);
    expect(answers.filter((a) => a?.includes('already approved'))).toHaveLength(1);
    await waitFor('the pipeline to start', async () => ((await t.bot.sim!.executionIds('user-api-prod')).length === 1 ? true : undefined));
    t.clock.advance(FULL_RUN_MS);
    expect((await t.bot.sim!.executionIds('user-api-prod')).length).toBe(1);
  });

  it('expires after approvalTimeout: the root and the thread say so, and nothing starts', async () => {
    const root = await request('gray', 'release/4.0.0');
    t.clock.advance(31 * 60_000);
    await waitFor('the expiry', () => stub.thread(root).find((m) => m.text.includes('Nobody approved the deploy')), 15_000);
    await waitFor('the root to say expired', () => (root.text.includes('approval expired') ? true : undefined));
    expect(await lateClick(root, 'U0APPROVER1', await operationOf('gray'))).toContain('expired');
    expect(await t.bot.sim!.executionIds('user-api-prod')).toEqual([]);
  });

  it('lets a newer request to the same lane supersede one still waiting for approval', async () => {
    const older = await request('gray', 'release/5.0.0');
    const newer = await request('gray', 'release/5.0.1');
    await waitFor('the older to say replaced', () => stub.thread(older).find((m) => m.text.includes('replaced this one while it waited for approval')));
    const olderId = (await t.bot.audit.recent({ ...PROD, lane: 'gray' }, 100)).filter((e) => e.action === 'operation:deploy' && e.outcome === 'superseded')[0]!.operationId!;
    expect(await lateClick(older, 'U0APPROVER1', olderId)).toContain('A newer request to this lane replaced this deploy');
    expect(await click(newer, 'U0APPROVER1')).toContain('Approved');
    await waitFor('one pipeline run', async () => ((await t.bot.sim!.executionIds('user-api-prod')).length === 1 ? true : undefined));
    expect(await statusOf('gray')).toBeDefined();
  });

  it('rejects with a reason from the modal, which is required', async () => {
    const root = await request('gray', 'release/6.0.0');
    const op = (await t.bot.approvalsPending(PROD))[0]!;
    const submit = (reason: string, user = 'U0APPROVER1') => submitReason(REJECT_REASON_CALLBACK_ID, { v: 1, operationId: op.id }, reason, user);
    const empty = await submit('   ');
    expect(JSON.parse(empty.body)).toEqual({ response_action: 'errors', errors: { reason: expect.stringContaining('Say why') } });
    const bySelf = await submit('no', 'U0ALICE');
    expect(JSON.parse(bySelf.body).errors.reason).toContain('You asked for this deploy');

    const done = await submit('the change window is closed');
    expect(done).toMatchObject({ status: 200 });
    expect(done.body).toBe('');
    await waitFor('the rejection in the thread', () => stub.thread(root).find((m) => m.text.includes('rejected the deploy')));
    expect(stub.thread(root).some((m) => m.text.includes('the change window is closed'))).toBe(true);
    await waitFor('the root to say rejected', () => (root.text.includes('rejected') ? true : undefined));
    expect(await t.bot.sim!.executionIds('user-api-prod')).toEqual([]);
    expect(await lateClick(root, 'U0BOB', op.id, REJECT_DEPLOY_ACTION_ID)).toContain('already rejected');
  });
  /** A signed view_submission of a reason modal, as Slack sends it when the approver submits. */
  function submitReason(callbackId: string, metadata: object, reason: string, user: string) {
    const payload = {
      type: 'view_submission',
      team: { id: 'T0SANDBOX', domain: 'sandbox' },
      user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0SANDBOX' },
      api_app_id: 'A0LANEBOT',
      token: 'unused',
      trigger_id: `${Date.now()}.${randomUUID().slice(0, 8)}`,
      view: {
        id: `V${randomUUID().slice(0, 8).toUpperCase()}`,
        team_id: 'T0SANDBOX',
        type: 'modal',
        callback_id: callbackId,
        private_metadata: JSON.stringify(metadata),
        state: { values: { reason: { reason: { type: 'plain_text_input', value: reason } } } },
        hash: 'h',
        title: { type: 'plain_text', text: 'Reject' },
        blocks: [],
      },
    };
    return postSignedRequest(`${t.url}/slack/events`, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), SIGNING_SECRET);
  }

  /** alice's prod deploy, approved by the gate, running until its pipeline waits at its manual approval. */
  async function atPipelineApproval(lane: string, branch: string): Promise<StubMessage> {
    const root = await request(lane, branch);
    expect(await click(root, 'U0APPROVER1')).toContain('Approved');
    await waitFor('the pipeline to run', async () => ((await t.bot.sim!.executionIds('user-api-prod')).length > 0 ? true : undefined));
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the pipeline approval buttons', () => (JSON.stringify(root.blocks).includes(APPROVE_PIPELINE_ACTION_ID) ? true : undefined));
    const mention = await waitFor('the approvers mentioned', () => stub.thread(root).find((m) => m.text.includes('waits for a manual approval')));
    expect(mention.text).toContain('<@U0APPROVER1>');
    return root;
  }

  it('approves the pipeline\'s own manual approval from Slack: PutApprovalResult, then the deploy goes on', async () => {
    const root = await atPipelineApproval('gray', 'release/7.0.0');
    expect(await click(root, 'U0ALICE', APPROVE_PIPELINE_ACTION_ID)).toContain('cannot approve its pipeline yourself');
    expect(await click(root, 'U0BOB', APPROVE_PIPELINE_ACTION_ID)).toContain('Approved: lanebot sends it to CodePipeline now');
    await waitFor('the decision in the thread', () => stub.thread(root).find((m) => m.text.includes('<@U0BOB> approved *Approval*')));
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the deploy to succeed', () => stub.thread(root).find((m) => m.text.includes('now runs `release/7.0.0`')));
    expect(JSON.stringify(root.blocks)).not.toContain(APPROVE_PIPELINE_ACTION_ID);
  });

  it('rejects the pipeline\'s manual approval with a reason from the modal: the deploy fails there', async () => {
    const root = await atPipelineApproval('blue', 'release/7.1.0');
    const op = (await t.bot.operations.get((await t.bot.audit.recent({ ...PROD, lane: 'blue' }, 50)).find((e) => e.action === 'operation:deploy')!.operationId!))!;
    const metadata = { v: 1, operationId: op.id, token: op.pipelineApproval!.token };
    expect(JSON.parse((await submitReason(REJECT_PIPELINE_REASON_CALLBACK_ID, metadata, ' ', 'U0BOB')).body).errors.reason).toContain('Say why');
    const done = await submitReason(REJECT_PIPELINE_REASON_CALLBACK_ID, metadata, 'smoke tests are red', 'U0BOB');
    expect(done.body).toBe('');
    await waitFor('the rejection in the thread', () => stub.thread(root).find((m) => m.text.includes('<@U0BOB> rejected *Approval*') && m.text.includes('smoke tests are red')));
    await waitFor('the deploy to fail', () => stub.thread(root).find((m) => m.text.includes('failed')));
  });

  it('notices a pipeline approval decided in the AWS console meanwhile, and a late click is told so', async () => {
    const root = await atPipelineApproval('teal', 'release/7.2.0');
    const [waiting] = await t.bot.sim!.waitingApprovals();
    await t.bot.sim!.approve(waiting!.executionId, true, 'approved in the console');
    await waitFor('the thread to say so', () => stub.thread(root).find((m) => m.text.includes('was approved outside Slack')));
    const op = (await t.bot.operations.get((await t.bot.audit.recent({ ...PROD, lane: 'teal' }, 50)).find((e) => e.action === 'operation:deploy')!.operationId!))!;
    const id = `late-${randomUUID().slice(0, 8)}`;
    const responseUrl = stub.workspace.responseUrl(stub.workspace.registerResponseUrl({ user: 'U0BOB', channel: CHANNEL, messageTs: root.ts }, id));
    const body = blockActionsBody({
      user: { id: 'U0BOB', username: 'bob', name: 'bob' },
      channel: { id: CHANNEL, name: 'user-api-dev' },
      message: { ts: root.ts, text: root.text, blocks: root.blocks },
      button: { actionId: APPROVE_PIPELINE_ACTION_ID, blockId: 'pipeline_approval', value: JSON.stringify({ v: 1, operationId: op.id, token: op.pipelineApproval!.token }), text: { type: 'plain_text', text: 'Approve' } },
      responseUrl,
    });
    await postSignedRequest(`${t.url}/slack/events`, body, SIGNING_SECRET);
    expect((await waitFor('the answer', () => stub.responsesFor(id)[0])).body.text).toContain('already decided');
  });
});
