// Modals against the sandbox's Slack over loopback HTTP: the Slack adapter's openModal (views.open)
// exchanges a click's trigger_id, which the stand-in honours once and for 3 seconds, and Slack's
// checks of a view come back as ChatRejectedError; the console API lists modals, streams their
// changes, and refuses a submission Slack's own client would not send. (The submission round trip
// through a real bot is in modal-round-trip.test.ts.)
import type { ModalView } from '@slack/web-api';
import { ChatRejectedError } from '../../src/chat/chat.port';
import { createSlackWebClient, SlackChatAdapter } from '../../src/chat/slack-chat.adapter';
import { startConsoleServer, type ConsoleServer } from '../../src/sandbox/console-server';
import { SlackWorkspace, TRIGGER_TTL_MS, type ConsoleModal } from '../../src/sandbox/slack-workspace';
import { SIGNING_SECRET } from '../support/harness';

const USERS = [
  { id: 'U0ALICE', name: 'alice' },
  { id: 'U0BOB', name: 'bob' },
];

let now = Date.UTC(2026, 10, 23, 9, 0, 0);
let workspace: SlackWorkspace;
let sandbox: ConsoleServer;

beforeEach(async () => {
  workspace = new SlackWorkspace({ users: USERS, channels: [{ id: 'C0DEV', name: 'dev' }], now: () => now });
  sandbox = await startConsoleServer({ workspace, signingSecret: SIGNING_SECRET, port: 0 });
});

afterEach(async () => {
  await sandbox.close();
});

function chat(): SlackChatAdapter {
  return new SlackChatAdapter(createSlackWebClient('xoxb-test', sandbox.apiUrl));
}

function reasonModal(overrides: Partial<ModalView> = {}): ModalView {
  return {
    type: 'modal',
    callback_id: 'reject_reason',
    private_metadata: JSON.stringify({ v: 1, request: 'apr-1' }),
    title: { type: 'plain_text', text: 'Reject the deploy' },
    submit: { type: 'plain_text', text: 'Reject' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      { type: 'section', block_id: 'what', text: { type: 'mrkdwn', text: 'Rejecting *release/1.2.3* to `default`' } },
      {
        type: 'input',
        block_id: 'reason',
        label: { type: 'plain_text', text: 'Why?' },
        element: { type: 'plain_text_input', action_id: 'text', multiline: true, max_length: 500 },
      },
    ],
    ...overrides,
  };
}

async function modalsOf(user: string): Promise<ConsoleModal[]> {
  return (await (await fetch(`${sandbox.url}/sandbox/modals?user=${user}`)).json()) as ConsoleModal[];
}

async function postJson(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${sandbox.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function refusal(promise: Promise<unknown>): Promise<ChatRejectedError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ChatRejectedError);
  return error as ChatRejectedError;
}

describe('SlackChatAdapter.openModal against the sandbox', () => {
  it('opens the modal for the user whose click carried the trigger, as views.open', async () => {
    const trigger = workspace.issueTrigger('U0BOB');
    await chat().openModal(trigger, reasonModal());

    expect(workspace.calls.at(-1)).toMatchObject({ method: 'views.open', status: 200, body: { trigger_id: trigger } });
    expect(await modalsOf('U0ALICE')).toEqual([]);
    const [modal] = await modalsOf('U0BOB');
    expect(modal).toMatchObject({
      id: expect.stringMatching(/^V[0-9A-F]+$/),
      user: 'U0BOB',
      errors: {},
      view: {
        type: 'modal',
        callback_id: 'reject_reason',
        private_metadata: '{"v":1,"request":"apr-1"}',
        title: { type: 'plain_text', text: 'Reject the deploy' },
        submit: { type: 'plain_text', text: 'Reject' },
      },
    });
    expect(modal!.view.blocks.map((b) => b.block_id)).toEqual(['what', 'reason']);
  });

  it('refuses a trigger older than 3 seconds with expired_trigger_id, one used already with exchanged_trigger_id', async () => {
    const late = workspace.issueTrigger('U0BOB');
    now += TRIGGER_TTL_MS + 1;
    const expired = await refusal(chat().openModal(late, reasonModal()));
    expect(expired.slackError).toBe('expired_trigger_id');
    expect(expired.message).toContain('Click again');

    const trigger = workspace.issueTrigger('U0BOB');
    now += TRIGGER_TTL_MS; // the last millisecond still counts
    await chat().openModal(trigger, reasonModal());
    expect((await refusal(chat().openModal(trigger, reasonModal()))).slackError).toBe('exchanged_trigger_id');
    expect(await modalsOf('U0BOB')).toHaveLength(1);
  });

  it('refuses a trigger it never issued, or one not in Slack\'s format, with invalid_trigger_id', async () => {
    expect((await refusal(chat().openModal('12345.98765.abcd2358fdea', reasonModal()))).slackError).toBe('invalid_trigger_id');
    expect((await refusal(chat().openModal('not-a-trigger', reasonModal()))).slackError).toBe('invalid_trigger_id');
  });

  it.each<[string, Partial<ModalView> | Record<string, unknown>, string]>([
    ['a title over 24 characters', { title: { type: 'plain_text', text: 'Reject the deploy of 1.2.3' } }, '/view/title/text'],
    ['a submit label over 24 characters', { submit: { type: 'plain_text', text: 'Reject this deploy right now' } }, '/view/submit/text'],
    ['an input block without a submit button', { submit: undefined }, '/view/submit'],
    ['more than 100 blocks', { blocks: Array.from({ length: 101 }, () => ({ type: 'divider' })) }, '/view/blocks'],
    ['a callback_id over 255 characters', { callback_id: 'x'.repeat(256) }, '/view/callback_id'],
    ['private_metadata over 3000 characters', { private_metadata: 'x'.repeat(3001) }, '/view/private_metadata'],
    ['another view type', { type: 'home' }, '/view/type'],
    ['two blocks with one block_id', { blocks: [{ type: 'divider', block_id: 'a' }, { type: 'divider', block_id: 'a' }] }, '/view/blocks/1/block_id'],
    ['an input block without a label', { blocks: [{ type: 'input', block_id: 'r', element: { type: 'plain_text_input', action_id: 't' } }] }, '/view/blocks/0/label'],
  ])('refuses %s with invalid_arguments naming the field, and opens nothing', async (_what, overrides, pointer) => {
    const error = await refusal(chat().openModal(workspace.issueTrigger('U0BOB'), { ...reasonModal(), ...overrides } as ModalView));
    expect(error.slackError).toBe('invalid_arguments');
    expect(error.message).toContain(`[json-pointer:${pointer}]`);
    expect(await modalsOf('U0BOB')).toEqual([]);
  });

  it('takes 24 characters of title, 100 blocks and 3000 characters of private_metadata', async () => {
    await chat().openModal(workspace.issueTrigger('U0BOB'), {
      type: 'modal',
      title: { type: 'plain_text', text: 'x'.repeat(24) },
      private_metadata: 'm'.repeat(3000),
      blocks: Array.from({ length: 100 }, () => ({ type: 'divider' })),
    });
    const [modal] = await modalsOf('U0BOB');
    // Slack gives blocks without a block_id one of its own.
    expect(new Set(modal!.view.blocks.map((b) => b.block_id)).size).toBe(100);
  });
});

describe('the console API of modals', () => {
  it('streams a modal\'s opening to its user\'s event stream only', async () => {
    const events = (user: string) => fetch(`${sandbox.url}/sandbox/events?user=${user}`);
    const [alice, bob] = await Promise.all([events('U0ALICE'), events('U0BOB')]);
    await chat().openModal(workspace.issueTrigger('U0BOB'), reasonModal());
    await chat().dm('U0ALICE', { text: 'after the modal' });

    const bobSaw = await readUntil(bob, 'event: modal');
    expect(bobSaw).toContain('"kind":"opened"');
    expect(bobSaw).toContain('"callback_id":"reject_reason"');
    // Alice's stream carries the DM posted after the modal opened, and no modal before it.
    const aliceSaw = await readUntil(alice, 'after the modal');
    expect(aliceSaw).not.toContain('event: modal');
  });

  it('keeps a submission Slack\'s client refuses (a required input left empty) from the bot, with the error under the input', async () => {
    await chat().openModal(workspace.issueTrigger('U0BOB'), reasonModal());
    const [modal] = await modalsOf('U0BOB');
    // No bot URL is set: a submission that got as far as sending would answer 503.
    const answer = await postJson('/sandbox/modals/submit', { user: 'U0BOB', viewId: modal!.id, values: { reason: '' } });
    expect(answer).toMatchObject({ status: 200, body: { ok: true, sent: false, outcome: 'errors', errors: { reason: 'Please complete this required field.' } } });
    expect((await modalsOf('U0BOB'))[0]!.errors).toEqual({ reason: 'Please complete this required field.' });

    const tooLong = await postJson('/sandbox/modals/submit', { user: 'U0BOB', viewId: modal!.id, values: { reason: 'x'.repeat(501) } });
    expect(tooLong.body).toMatchObject({ sent: false, errors: { reason: 'Must be at most 500 characters.' } });
  });

  it('answers 4xx naming the problem: another user\'s modal, an unknown block, a missing field', async () => {
    await chat().openModal(workspace.issueTrigger('U0BOB'), reasonModal());
    const [modal] = await modalsOf('U0BOB');
    expect(await postJson('/sandbox/modals/submit', { user: 'U0ALICE', viewId: modal!.id, values: {} })).toEqual({
      status: 404,
      body: { ok: false, error: `U0ALICE has no open modal ${modal!.id}` },
    });
    expect(await postJson('/sandbox/modals/submit', { user: 'U0BOB', viewId: modal!.id, values: { nope: 'x' } })).toEqual({
      status: 400,
      body: { ok: false, error: `view ${modal!.id} has no input block "nope"` },
    });
    expect((await postJson('/sandbox/modals/submit', { user: 'U0BOB', values: {} })).status).toBe(400);
  });

  it('closes a modal with POST /sandbox/modals/close', async () => {
    await chat().openModal(workspace.issueTrigger('U0BOB'), reasonModal());
    const [modal] = await modalsOf('U0BOB');
    expect(await postJson('/sandbox/modals/close', { user: 'U0BOB', viewId: modal!.id })).toEqual({ status: 200, body: { ok: true, closed: [modal!.id] } });
    expect(await modalsOf('U0BOB')).toEqual([]);
    expect((await postJson('/sandbox/modals/close', { user: 'U0BOB', viewId: modal!.id })).status).toBe(404);
  });
});

/** Reads an event stream until `needle` shows up, then stops reading; resolves with what came. */
async function readUntil(response: Response, needle: string): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (!text.includes(needle)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel();
  }
  return text;
}
