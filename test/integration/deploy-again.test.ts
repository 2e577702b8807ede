// "Deploy again" end to end: a deploy fails, its final thread reply carries the button, and clicks
// reach the real Bolt receiver signed as Slack sends them — through the sandbox console's
// POST /sandbox/actions (which only clicks buttons that exist), or hand-built with blockActionsBody
// for payloads Slack itself would never send (tampered values).
import { randomUUID } from 'node:crypto';
import { blockActionsBody, postSignedRequest } from '../../src/sandbox/slack-signing';
import { DEPLOY_AGAIN_ACTION_ID } from '../../src/slack/actions/deploy-again';
import { deletePrefix, SIGNING_SECRET, startTestBot, waitFor, type TestBot } from '../support/harness';
import { TEST_CONFIG } from '../support/test-config';
import type { StubMessage, StubResponse } from '../support/slack-stub';

const FULL_RUN_MS = 400_000; // longer than the simulated Source + Build + Deploy
const CHANNEL = 'C0USERAPIDEV';
const BRANCH = 'feature/sim-fail-build';

interface Click {
  /** The response_url id the bot answers through. */
  id: string;
  status: number;
}

describe('Deploy again button', () => {
  let t: TestBot;

  beforeEach(async () => {
    t = await startTestBot();
    t.stub.setBotUrl(t.url);
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  /** Runs `/lane deploy <lane> BRANCH` (plus `flags`) to its failure; the root and the final reply. */
  async function failedDeploy(lane: string, options: { user?: string; env?: string } = {}): Promise<{ root: StubMessage; final: StubMessage }> {
    const env = options.env ?? 'dev';
    const flags = options.env ? ` --env ${options.env}` : '';
    await t.command(`deploy${flags} ${lane} ${BRANCH}`, { user: options.user });
    const root = await waitFor('the root message', () => t.stub.roots(CHANNEL).find((m) => m.text.includes(`${env} · lane ${lane} ← ${BRANCH}`)));
    const ref = { service: 'user-api', env, lane };
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get(ref))?.last?.status === 'running');
    if (env === 'prod') {
      // Protected: the pipeline waits at its manual approval (approve buttons are not lanebot's yet).
      t.clock.advance(FULL_RUN_MS);
      const [pending] = await waitFor('the approval to be pending', () => t.bot.sim!.waitingApprovals().then((p) => (p.length > 0 ? p : undefined)));
      await t.bot.sim!.approve(pending!.executionId, true, 'approved by the test');
    }
    t.clock.advance(FULL_RUN_MS);
    const final = await waitFor('the final reply', () => t.stub.thread(root).find((m) => m.text.includes('failed at stage *Build*')));
    return { root, final };
  }

  /** A person clicks the message's "Deploy again" button in the sandbox's Slack. */
  async function click(message: StubMessage, user: string, channel = message.channel): Promise<Click> {
    const response = await fetch(`${t.stub.url}/sandbox/actions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user, channel, ts: message.ts, actionId: DEPLOY_AGAIN_ACTION_ID }),
    });
    const answer = (await response.json()) as { ok: boolean; status: number; ack: unknown; responseUrl: string; error?: string };
    expect(answer).toMatchObject({ ok: true, status: 200, ack: null }); // a click's ack carries no message
    return { id: answer.responseUrl.split('/').pop()!, status: answer.status };
  }

  /** A signed click whose button value is `value`: what a forged or corrupted payload looks like. */
  async function clickWithValue(message: StubMessage, user: string, value: string): Promise<Click> {
    const id = `tampered-${randomUUID().slice(0, 8)}`;
    const context = { user, channel: message.channel, threadTs: message.threadTs, messageTs: message.ts };
    const responseUrl = t.stub.workspace.responseUrl(t.stub.workspace.registerResponseUrl(context, id));
    const body = blockActionsBody({
      user: { id: user, username: user.toLowerCase(), name: user.toLowerCase() },
      channel: { id: message.channel, name: 'user-api-dev' },
      message: { ts: message.ts, text: message.text, thread_ts: message.threadTs, blocks: message.blocks },
      button: { actionId: DEPLOY_AGAIN_ACTION_ID, blockId: 'deploy_again', value, text: { type: 'plain_text', text: 'Deploy again' }, style: 'primary' },
      responseUrl,
    });
    const { status } = await postSignedRequest(`${t.url}/slack/events`, body, SIGNING_SECRET);
    return { id, status };
  }

  async function answerTo(clicked: Click): Promise<StubResponse> {
    return waitFor('the answer to the click', () => t.stub.responsesFor(clicked.id)[0]);
  }

  /**
   * Ids of every deploy request ever queued, from BullMQ's event stream: request jobs are removed once
   * done, but their "added" event stays. The listener answers only after queuing, so once the answer
   * is here this list is final for that click.
   */
  async function queuedRequests(): Promise<string[]> {
    const entries = await t.bot.redis.xrange(t.bot.queues.operations.keys.events!, '-', '+');
    return entries.flatMap(([, fields]) => {
      const event: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) event[fields[i]!] = fields[i + 1]!;
      return event.event === 'added' && event.name === 'request' ? [event.jobId!] : [];
    });
  }

  function buttonOf(message: StubMessage): Record<string, unknown> | undefined {
    const actions = (message.blocks ?? []) as { type: string; elements?: Record<string, unknown>[] }[];
    return actions.find((b) => b.type === 'actions')?.elements?.find((e) => e.action_id === DEPLOY_AGAIN_ACTION_ID);
  }

  it('puts the button on the failure reply; a click queues the same deploy for whoever clicked', async () => {
    const { root, final } = await failedDeploy('blue');
    const first = (await t.bot.lanes.get({ service: 'user-api', env: 'dev', lane: 'blue' }))!.last!;
    expect(first).toMatchObject({ status: 'failed', requester: 'U0ALICE', params: { branch: BRANCH } });
    expect(buttonOf(final)).toMatchObject({
      type: 'button',
      style: 'primary',
      text: { type: 'plain_text', text: 'Deploy again' },
      value: JSON.stringify({ v: 1, deployId: first.id }),
      confirm: { text: { type: 'mrkdwn', text: `Deploy \`${BRANCH}\` to lane *blue* again?` } },
    });
    expect(buttonOf(t.stub.thread(root).find((m) => m.text.includes('Stage *Build* failed'))!)).toBeUndefined();
    expect(await queuedRequests()).toHaveLength(1);

    const clicked = await click(final, 'U0BOB');
    const answer = await answerTo(clicked);
    expect(answer.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    // The same words as the ack of `/lane deploy blue feature/sim-fail-build`.
    expect(answer.body.text).toBe(
      `:inbox_tray: Queued the deploy of \`${BRANCH}\` to lane *blue* of user-api/dev. lanebot posts its progress in a thread in this channel.`,
    );
    const seenByBob = t.stub.workspace.consoleMessages(CHANNEL, 'U0BOB').find((m) => m.ephemeral && m.text === answer.body.text);
    expect(seenByBob).toMatchObject({ visibleTo: 'U0BOB', thread_ts: root.ts });
    expect(t.stub.workspace.consoleMessages(CHANNEL, 'U0ALICE').some((m) => m.text === answer.body.text)).toBe(false);

    const again = await waitFor('the new deploy root', () => t.stub.roots(CHANNEL).find((m) => m.ts !== root.ts && m.text.includes(BRANCH)));
    expect(again.text).toContain(`user-api · dev · lane blue ← ${BRANCH}, requested by <@U0BOB>`);
    const requests = await queuedRequests();
    expect(requests).toHaveLength(2);
    const second = await t.bot.operations.get(requests[1]!.replace(/^request-/, ''));
    expect(second).toMatchObject({
      service: 'user-api',
      env: 'dev',
      lane: 'blue',
      params: { branch: BRANCH, pipeline: first.params.pipeline },
      channel: CHANNEL,
      requester: 'U0BOB',
    });
    expect(second!.id).not.toBe(first.id);
  });

  it('answers a tampered value with an error and queues nothing', async () => {
    const { final } = await failedDeploy('blue');
    const cases: [string, string][] = [
      ['not JSON', 'deploy blue please'],
      ['a newer version', JSON.stringify({ v: 2, deployId: 'whatever' })],
      ['a deploy id reaching for other keys', JSON.stringify({ v: 1, deployId: 'x:lane:user-api:dev:blue' })],
    ];
    for (const [label, value] of cases) {
      const clicked = await clickWithValue(final, 'U0BOB', value);
      expect(clicked.status).toBe(200);
      const answer = await answerTo(clicked);
      expect({ label, body: answer.body }).toMatchObject({
        label,
        body: { response_type: 'ephemeral', text: expect.stringContaining('This button is broken or outdated') },
      });
      expect(answer.body.text).toContain('type `/lane deploy <lane> <branch>` instead');
    }

    // Well-formed, but no such deploy (expired, or made up).
    const unknown = await answerTo(await clickWithValue(final, 'U0BOB', JSON.stringify({ v: 1, deployId: 'zzzz-000000000000' })));
    expect(unknown.body.text).toContain('That deploy is no longer known to lanebot');

    expect(await queuedRequests()).toHaveLength(1);
    expect(t.stub.roots(CHANNEL).filter((m) => m.text.includes(BRANCH))).toHaveLength(1);
  });

  it('refuses a click on the button in another channel', async () => {
    const { final } = await failedDeploy('blue');
    // The same message, buttons and all, in #orders-dev (as a copy or a forged payload would put it).
    const copy = t.stub.workspace.handleWebApi('chat.postMessage', { channel: 'C0ORDERSDEV', text: final.text, blocks: JSON.stringify(final.blocks) });
    const ts = (copy.body as { ts: string }).ts;
    const copied = await waitFor('the copy', () => t.stub.messages.find((m) => m.channel === 'C0ORDERSDEV' && m.ts === ts));
    expect(buttonOf(copied)).toBeDefined();

    const answer = await answerTo(await click(copied, 'U0BOB'));
    expect(answer.body.response_type).toBe('ephemeral');
    expect(answer.body.text).toContain('This button belongs to a deploy of another channel');
    expect(answer.body.text).not.toContain(BRANCH); // nothing about a deploy the clicker may not see
    expect(await queuedRequests()).toHaveLength(1);
    expect(t.stub.roots('C0ORDERSDEV').filter((m) => m.ts !== copied.ts && m.text.includes(BRANCH))).toHaveLength(0);
  });

  it("checks the clicker, not the requester, against the environment's deployers", async () => {
    const previous = t;
    await previous.stop();
    await deletePrefix(previous.prefix);
    t = await startTestBot({ config: TEST_CONFIG.replace('  dev:\n', '  dev:\n    deployers: [U0APPROVER1]\n') });
    t.stub.setBotUrl(t.url);
    const { root, final } = await failedDeploy('blue', { user: 'U0APPROVER1' });

    const refused = await answerTo(await click(final, 'U0BOB'));
    expect(refused.body.text).toContain(':no_entry: Only its deployers (<@U0APPROVER1>)');
    expect(await queuedRequests()).toHaveLength(1);

    const allowed = await answerTo(await click(final, 'U0APPROVER1'));
    expect(allowed.body.text).toContain(`Queued the deploy of \`${BRANCH}\` to lane *blue* of user-api/dev`);
    const again = await waitFor('the new deploy root', () => t.stub.roots(CHANNEL).find((m) => m.ts !== root.ts && m.text.includes(BRANCH)));
    expect(again.text).toContain(`user-api · dev · lane blue ← ${BRANCH}, requested by <@U0APPROVER1>`);
    expect(await queuedRequests()).toHaveLength(2);
  });
});
