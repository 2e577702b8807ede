// A modal end to end through the real bot: a click in the sandbox reaches the bot's Bolt app with a
// fresh trigger_id, a throwaway action listener opens a modal with chat.openModal (views.open),
// the person submits it from the console, the bot's receiver takes the signed view_submission, and
// a throwaway `app.view` listener answers with response_action errors (the modal stays open, the
// errors under their input) or with an empty ack (the modal closes). A replayed view_submission is
// answered without running the listener again.
import type { SlackActionMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction, BlockAction, ButtonAction } from '@slack/bolt';
import { createSlackWebClient, SlackChatAdapter } from '../../src/chat/slack-chat.adapter';
import { interactionBody, signSlackRequest } from '../../src/sandbox/slack-signing';
import type { ConsoleModal } from '../../src/sandbox/slack-workspace';
import { deletePrefix, SIGNING_SECRET, startTestBot, waitFor, type TestBot } from '../support/harness';

const CHANNEL = 'C0USERAPIDEV';
const OPEN_ACTION = 'test_open_modal';
const CALLBACK_ID = 'test_modal';

interface Submission {
  user: string;
  privateMetadata: string;
  values: ViewSubmitAction['view']['state']['values'];
}

let t: TestBot;
let submissions: Submission[];
let openFailures: unknown[];

beforeEach(async () => {
  t = await startTestBot();
  t.stub.setBotUrl(t.url);
  submissions = [];
  openFailures = [];
  const chat = new SlackChatAdapter(createSlackWebClient('xoxb-test', t.stub.apiUrl));
  const { app } = t.bot.slack;
  // The bot's catch-all for unknown action ids acks this click (a second ack would throw), so this
  // listener only opens the modal, at once: the trigger is good for 3 seconds.
  app.action<BlockAction<ButtonAction>>(OPEN_ACTION, async ({ body, action }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>>) => {
    await chat
      .openModal(body.trigger_id, {
        type: 'modal',
        callback_id: CALLBACK_ID,
        private_metadata: JSON.stringify({ v: 1, request: action.value }),
        title: { type: 'plain_text', text: 'Reject the deploy' },
        submit: { type: 'plain_text', text: 'Reject' },
        close: { type: 'plain_text', text: 'Cancel' },
        blocks: [
          {
            type: 'input',
            block_id: 'reason',
            label: { type: 'plain_text', text: 'Why?' },
            element: { type: 'plain_text_input', action_id: 'text', multiline: true },
          },
        ],
      })
      .catch((error: unknown) => openFailures.push(error));
  });
  app.view<ViewSubmitAction>(CALLBACK_ID, async ({ ack, body, view }: SlackViewMiddlewareArgs<ViewSubmitAction>) => {
    const reason = view.state.values.reason?.text?.value ?? '';
    submissions.push({ user: body.user.id, privateMetadata: view.private_metadata, values: view.state.values });
    if (!reason.trim()) {
      await ack({ response_action: 'errors', errors: { reason: 'Say why you reject it.' } });
      return;
    }
    await ack();
  });
});

afterEach(async () => {
  await t.stop();
  await deletePrefix(t.prefix);
});

async function postJson(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${t.stub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function modalsOf(user: string): Promise<ConsoleModal[]> {
  return (await (await fetch(`${t.stub.url}/sandbox/modals?user=${user}`)).json()) as ConsoleModal[];
}

/** The bot posts a message with the button; `user` clicks it in the sandbox; resolves with the modal it opened. */
async function clickOpen(user: string): Promise<ConsoleModal> {
  const chat = new SlackChatAdapter(createSlackWebClient('xoxb-test', t.stub.apiUrl));
  const { ts } = await chat.post(CHANNEL, {
    text: 'approve or reject',
    blocks: [{ type: 'actions', block_id: 'decide', elements: [{ type: 'button', action_id: OPEN_ACTION, value: 'apr-7', text: { type: 'plain_text', text: 'Reject' } }] }],
  });
  const click = await postJson('/sandbox/actions', { user, channel: CHANNEL, ts, actionId: OPEN_ACTION });
  expect(click.body).toMatchObject({ ok: true, status: 200 });
  const [modal] = await waitFor('the modal', async () => {
    const open = await modalsOf(user);
    return open.length > 0 || openFailures.length > 0 ? open : undefined;
  });
  expect(openFailures).toEqual([]);
  return modal!;
}

describe('a modal through the bot', () => {
  it('opens on a click, keeps the bot\'s errors under the input, and closes when the bot takes the submission', async () => {
    const modal = await clickOpen('U0BOB');
    expect(modal).toMatchObject({ user: 'U0BOB', view: { callback_id: CALLBACK_ID, private_metadata: '{"v":1,"request":"apr-7"}' } });

    // Whitespace passes Slack's client (the input is filled); the bot refuses it.
    const blank = await postJson('/sandbox/modals/submit', { user: 'U0BOB', viewId: modal.id, values: { reason: '   ' } });
    expect(blank).toEqual({
      status: 200,
      body: expect.objectContaining({ ok: true, sent: true, status: 200, outcome: 'errors', errors: { reason: 'Say why you reject it.' } }),
    });
    expect(await modalsOf('U0BOB')).toEqual([expect.objectContaining({ id: modal.id, errors: { reason: 'Say why you reject it.' } })]);

    const valid = await postJson('/sandbox/modals/submit', { user: 'U0BOB', viewId: modal.id, values: { reason: 'the change log is missing' } });
    expect(valid).toEqual({ status: 200, body: { ok: true, sent: true, status: 200, outcome: 'closed', modal: null } });
    expect(await modalsOf('U0BOB')).toEqual([]);

    expect(submissions).toEqual([
      { user: 'U0BOB', privateMetadata: '{"v":1,"request":"apr-7"}', values: { reason: { text: { type: 'plain_text_input', value: '   ' } } } },
      { user: 'U0BOB', privateMetadata: '{"v":1,"request":"apr-7"}', values: { reason: { text: { type: 'plain_text_input', value: 'the change log is missing' } } } },
    ]);
  });

  it('takes a view_submission once when the same signed request comes twice', async () => {
    const modal = await clickOpen('U0ALICE');
    const prepared = t.stub.workspace.prepareViewSubmission('U0ALICE', modal.id, { reason: 'not today' });
    if (!prepared.ok) throw new Error('the stand-in refused the submission');
    const body = interactionBody(prepared.payload);
    const headers = signSlackRequest(body, SIGNING_SECRET);
    const send = async () => {
      const response = await fetch(`${t.url}/slack/events`, { method: 'POST', headers, body });
      return { status: response.status, body: await response.text() };
    };
    expect(await send()).toEqual({ status: 200, body: '' });
    expect(await send()).toEqual({ status: 200, body: '' });
    expect(submissions.map((s) => s.values.reason?.text?.value)).toEqual(['not today']);
  });
});
