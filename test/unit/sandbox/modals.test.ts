// The sandbox's modals without HTTP: the view_submission payload Slack sends, and what each kind of
// answer from the app (empty, errors, clear, update, push, nonsense) does to the person's views.
import { SlackWorkspace, type ConsoleModal, type ModalChange } from '../../../src/sandbox/slack-workspace';

const NOW = Date.UTC(2026, 10, 23, 9, 0, 0);

function workspace(): { ws: SlackWorkspace; changes: ModalChange[] } {
  const ws = new SlackWorkspace({ users: [{ id: 'U0BOB', name: 'bob' }], channels: [], now: () => NOW });
  const changes: ModalChange[] = [];
  ws.on('modal', (change) => changes.push(change));
  return { ws, changes };
}

function view(title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'modal',
    callback_id: 'cb',
    title: { type: 'plain_text', text: title },
    submit: { type: 'plain_text', text: 'Send' },
    blocks: [
      { type: 'input', block_id: 'reason', label: { type: 'plain_text', text: 'Why?' }, element: { type: 'plain_text_input', action_id: 'text' } },
      { type: 'input', block_id: 'note', optional: true, label: { type: 'plain_text', text: 'Note' }, element: { type: 'plain_text_input', action_id: 'n' } },
    ],
    ...extra,
  };
}

function open(ws: SlackWorkspace, extra: Record<string, unknown> = {}): ConsoleModal {
  const answer = ws.handleWebApi('views.open', { trigger_id: ws.issueTrigger('U0BOB'), view: JSON.stringify(view('First', extra)) });
  expect(answer.body).toMatchObject({ ok: true, view: { type: 'modal', callback_id: 'cb' } });
  return ws.listModals('U0BOB')[0]!;
}

describe('the view_submission payload', () => {
  it('is Slack\'s: team, user, a fresh trigger, the view with its id, hash and every input in state.values', () => {
    const { ws } = workspace();
    const modal = open(ws, { private_metadata: 'meta' });
    const prepared = ws.prepareViewSubmission('U0BOB', modal.id, { reason: { text: 'because' } });
    if (!prepared.ok) throw new Error('refused');
    expect(prepared.payload).toMatchObject({
      type: 'view_submission',
      team: { id: 'T1', domain: 'example' },
      user: { id: 'U0BOB', username: 'bob', name: 'bob', team_id: 'T1' },
      api_app_id: 'A1',
      trigger_id: expect.stringMatching(/^\d+\.\d+\.[0-9a-f]+$/),
      response_urls: [],
      view: {
        id: modal.id,
        type: 'modal',
        callback_id: 'cb',
        private_metadata: 'meta',
        hash: modal.hash,
        root_view_id: modal.id,
        previous_view_id: null,
        state: { values: { reason: { text: { type: 'plain_text_input', value: 'because' } }, note: { n: { type: 'plain_text_input', value: null } } } },
      },
    });
  });
});

describe('the app\'s answer to a submission', () => {
  it('closes the view on an empty body or one without response_action', () => {
    const { ws, changes } = workspace();
    const modal = open(ws);
    expect(ws.applyViewSubmissionAnswer('U0BOB', modal.id, '')).toEqual({ outcome: 'closed', modal: undefined });
    expect(ws.listModals('U0BOB')).toEqual([]);
    expect(changes.map((c) => c.kind)).toEqual(['opened', 'closed']);
    const again = open(ws);
    expect(ws.applyViewSubmissionAnswer('U0BOB', again.id, '{}').outcome).toBe('closed');
  });

  it('keeps the view open with errors that name its input blocks, and refuses errors naming anything else', () => {
    const { ws } = workspace();
    const modal = open(ws);
    expect(ws.applyViewSubmissionAnswer('U0BOB', modal.id, JSON.stringify({ response_action: 'errors', errors: { reason: 'Too short' } }))).toMatchObject({
      outcome: 'errors',
      errors: { reason: 'Too short' },
    });
    expect(ws.listModals('U0BOB')[0]!.errors).toEqual({ reason: 'Too short' });
    expect(ws.applyViewSubmissionAnswer('U0BOB', modal.id, JSON.stringify({ response_action: 'errors', errors: { nope: 'x' } }))).toMatchObject({ outcome: 'failed' });
    expect(ws.applyViewSubmissionAnswer('U0BOB', modal.id, 'thanks')).toMatchObject({ outcome: 'failed' });
    expect(ws.listModals('U0BOB')).toHaveLength(1);
  });

  it('updates the view in place, pushes a view on top (then closing returns to the first), and clears them all', () => {
    const { ws } = workspace();
    const modal = open(ws);
    const updated = ws.applyViewSubmissionAnswer('U0BOB', modal.id, JSON.stringify({ response_action: 'update', view: view('Second') }));
    expect(updated).toMatchObject({ outcome: 'updated', modal: { id: modal.id, view: { title: { text: 'Second' } } } });
    expect(updated.modal!.hash).not.toBe(modal.hash);

    const pushed = ws.applyViewSubmissionAnswer('U0BOB', modal.id, JSON.stringify({ response_action: 'push', view: view('Third') }));
    expect(pushed).toMatchObject({ outcome: 'pushed', modal: { rootViewId: modal.id, previousViewId: modal.id } });
    expect(ws.listModals('U0BOB').map((m) => m.view.title.text)).toEqual(['Second', 'Third']);
    expect(ws.closeModal('U0BOB', pushed.modal!.id).closed.map((m) => m.id)).toEqual([pushed.modal!.id]);
    expect(ws.listModals('U0BOB').map((m) => m.id)).toEqual([modal.id]);

    ws.applyViewSubmissionAnswer('U0BOB', modal.id, JSON.stringify({ response_action: 'push', view: view('Third') }));
    const top = ws.listModals('U0BOB')[1]!;
    expect(ws.applyViewSubmissionAnswer('U0BOB', top.id, JSON.stringify({ response_action: 'clear' })).outcome).toBe('cleared');
    expect(ws.listModals('U0BOB')).toEqual([]);
  });

  it('refuses an update to a view Slack would not show', () => {
    const { ws } = workspace();
    const modal = open(ws);
    const outcome = ws.applyViewSubmissionAnswer('U0BOB', modal.id, JSON.stringify({ response_action: 'update', view: view('x'.repeat(25)) }));
    expect(outcome).toMatchObject({ outcome: 'failed', error: 'response_action update needs a valid modal view' });
  });
});
