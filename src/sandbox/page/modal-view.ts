// The modal the bot opened for me (views.open), as Slack shows it: title, blocks, input blocks with
// their plain_text_input (one line or multiline), the submit and close buttons. Submitting goes
// through the console API, which sends the bot a signed view_submission; its answer keeps the modal
// open with errors under their inputs, or closes it. Each person has a stack of views; the top one
// is shown. Kept current by GET /sandbox/modals and the `modal` events of the event stream.
import { api, errorText, isRefusal } from './api';
import { renderBlocks } from './block-kit';
import { byId, h } from './dom';
import { emojify } from './mrkdwn';
import { BOT_USER, state } from './state';
import { toast } from './toast';
import type { ConsoleModal, KnownBlock, ModalChange, PageMessage } from './types';

/** My open views, bottom first (the last is shown). */
let stack: ConsoleModal[] = [];
/** What the shown modal was rendered from; re-rendered only when it changes, so typing survives. */
let renderedSig = '';
let busy = false;

interface SubmitAnswer {
  ok: boolean;
  sent?: boolean;
  outcome?: 'closed' | 'cleared' | 'updated' | 'pushed' | 'errors';
  errors?: Record<string, string>;
  error?: string;
}

/** Fetches my open modals (at start, after switching user, after a reconnect) and shows the top one. */
export async function loadModals(): Promise<void> {
  const me = state.me;
  if (!me) return;
  try {
    const modals = await api<ConsoleModal[]>('GET', `/modals?user=${encodeURIComponent(me)}`);
    if (me !== state.me) return;
    stack = Array.isArray(modals) ? modals : [];
    renderModal();
  } catch (error) {
    toast(`Could not load your open modals: ${errorText(error)}`, 'error');
  }
}

/** A `modal` event of the event stream: someone's modal opened, changed or closed. */
export function onModalEvent(payload: unknown): void {
  const { kind, modal } = (payload ?? {}) as Partial<ModalChange>;
  if (!kind || !modal || modal.user !== state.me) return;
  const index = stack.findIndex((m) => m.id === modal.id);
  if (kind === 'closed') {
    if (index >= 0) stack.splice(index, 1);
  } else if (index >= 0) {
    stack[index] = modal;
  } else if (kind === 'opened') {
    // views.open replaces what was open; a push comes on top of its previous view.
    if (!modal.previousViewId) stack = [];
    stack.push(modal);
  }
  renderModal();
}

function renderModal(): void {
  const host = byId('view-modal');
  const modal = stack.at(-1);
  if (!modal) {
    host.hidden = true;
    host.replaceChildren();
    renderedSig = '';
    return;
  }
  const sig = JSON.stringify([modal.id, modal.hash, modal.errors]);
  if (sig === renderedSig && !host.hidden) return;
  // Typing in a view that is only re-rendered (its errors changed) is kept.
  const typed = modal.id === host.dataset.viewId ? currentValues(host) : {};
  renderedSig = sig;
  host.dataset.viewId = modal.id;
  const { view } = modal;
  // Blocks other than inputs render like a message's; their buttons are not wired to the view.
  const asMessage = { channel: '', ts: '', user: BOT_USER, text: '' } as unknown as PageMessage;
  const form = h('form', { class: 'modal view-modal', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'view-modal-title', novalidate: true },
    h('div', { class: 'view-head' },
      h('h2', { class: 'modal-title', id: 'view-modal-title', 'data-testid': 'view-modal-title' }, emojify(view.title.text)),
      h('button', { type: 'button', class: 'icon-btn', title: 'Close', 'aria-label': 'Close', onclick: () => void close(modal) }, '✕')),
    h('div', { class: 'view-body' }, view.blocks.map((block) =>
      block.type === 'input' ? inputBlock(block, modal, typed) : renderBlocks([block as unknown as KnownBlock], asMessage))),
    h('div', { class: 'modal-actions' },
      h('button', { type: 'button', class: 'btn', 'data-testid': 'view-close', onclick: () => void close(modal) }, emojify(view.close?.text ?? 'Cancel')),
      view.submit ? h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'view-submit' }, emojify(view.submit.text)) : null));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void submit(modal, form);
  });
  host.replaceChildren(form);
  host.hidden = false;
  const firstError = form.querySelector<HTMLElement>('[aria-invalid="true"]');
  (firstError ?? form.querySelector<HTMLElement>('textarea, input'))?.focus();
}

function inputBlock(block: Record<string, unknown>, modal: ConsoleModal, typed: Record<string, string>): HTMLElement {
  const blockId = String(block.block_id);
  const element = (block.element ?? {}) as Record<string, unknown>;
  const label = (block.label ?? {}) as { text?: string };
  const hint = block.hint as { text?: string } | undefined;
  const error = modal.errors[blockId];
  const actionId = String(element.action_id ?? '');
  const value = typed[blockId] ?? modal.values[blockId]?.[actionId] ?? (typeof element.initial_value === 'string' ? element.initial_value : '');
  const fieldId = `view-input-${blockId}`;
  if (element.type !== 'plain_text_input') {
    return h('div', { class: 'view-input' }, h('div', { class: 'view-label' }, label.text ?? ''), h('div', { class: 'bk-unsupported' }, `[unsupported input: ${String(element.type)}]`));
  }
  const placeholder = (element.placeholder as { text?: string } | undefined)?.text ?? null;
  const attrs = {
    id: fieldId,
    name: blockId,
    'data-testid': fieldId,
    'data-block-id': blockId,
    placeholder,
    maxlength: typeof element.max_length === 'number' ? element.max_length : null,
    'aria-invalid': error ? 'true' : null,
    'aria-describedby': error ? `view-error-${blockId}` : null,
  };
  const field = element.multiline ? h('textarea', { ...attrs, rows: 4 }) : h('input', { ...attrs, type: 'text' });
  field.value = value;
  return h('div', { class: `view-input${error ? ' has-error' : ''}` },
    h('label', { class: 'view-label', for: fieldId }, label.text ?? '', block.optional === true ? h('span', { class: 'muted' }, ' (optional)') : null),
    field,
    hint?.text ? h('div', { class: 'view-hint muted small' }, hint.text) : null,
    error ? h('div', { class: 'view-error', id: `view-error-${blockId}`, 'data-testid': `view-error-${blockId}`, role: 'alert' }, error) : null);
}

/** What is typed in the shown view: block_id → text. */
function currentValues(root: ParentNode): Record<string, string> {
  const values: Record<string, string> = {};
  for (const field of root.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>('[data-block-id]')) values[field.dataset.blockId!] = field.value;
  return values;
}

async function submit(modal: ConsoleModal, form: HTMLFormElement): Promise<void> {
  if (busy) return;
  busy = true;
  const button = form.querySelector<HTMLButtonElement>('[data-testid="view-submit"]');
  if (button) button.disabled = true;
  try {
    const answer = await api<SubmitAnswer>('POST', '/modals/submit', { user: modal.user, viewId: modal.id, values: currentValues(form) });
    if (isRefusal(answer) || !answer) {
      // Slack says this inside the modal and keeps it open.
      toast(`We had some trouble connecting: ${(answer as { error?: string } | null)?.error ?? 'no answer'}`, 'error');
      return;
    }
    // The events bring the same change; applying the answer now does not wait for them.
    if (answer.outcome === 'errors' && answer.errors) {
      const shown = stack.find((m) => m.id === modal.id);
      if (shown) shown.errors = answer.errors;
      renderModal();
    } else if (answer.outcome === 'closed' || answer.outcome === 'cleared') {
      await loadModals();
    }
  } catch (error) {
    toast(errorText(error), 'error');
  } finally {
    busy = false;
    if (button?.isConnected) button.disabled = false;
  }
}

async function close(modal: ConsoleModal): Promise<void> {
  try {
    const answer = await api<{ ok: boolean }>('POST', '/modals/close', { user: modal.user, viewId: modal.id });
    if (isRefusal(answer)) toast(answer.error ?? 'Could not close the modal', 'error');
  } catch (error) {
    toast(errorText(error), 'error');
  }
  await loadModals();
}
