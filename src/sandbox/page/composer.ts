// The message composers (channel and thread): messages, /lane commands with their hints, and the
// command's ack shown as Slack shows it (an ephemeral message only the sender sees).
import { api, errorText, HttpError, isRefusal } from './api';
import { byId, h } from './dom';
import { rerender } from './messages';
import { BOT_USER, state } from './state';
import { applyEvent, storeFor, visibleToMe } from './store';
import { cmpTs } from './time';
import type { Ack, KnownBlock, PageMessage } from './types';

/** The /lane subcommands the hint lists: name, arguments, what it does. */
const LANE_COMMANDS: ReadonlyArray<readonly [string, string, string]> = [
  ['deploy', '<lane> <branch>', 'Deploy a branch to a lane'],
  ['status', '[<lane>]', 'Where a lane stands'],
  ['list', '', 'Lanes of this channel’s service'],
  ['delete', '<lane>', 'Delete a lane'],
  ['renew', '<lane>', 'Keep a lane from expiring'],
  ['promote', '<lane>', 'Promote a lane'],
  ['rollback', '<lane> [<tag>]', 'Roll a lane back'],
  ['help', '', 'What lanebot can do'],
];

/** POST /sandbox/messages answers the posted message. */
interface PostedMessage {
  ok: true;
  ts: string;
  message?: PageMessage;
}

/** POST /sandbox/commands answers the bot's HTTP status and its ack. */
interface CommandAnswer {
  ok: true;
  status?: number;
  ack?: unknown;
  error?: string;
}

export function showComposerError(id: string, text: string): void {
  const el = byId(id);
  el.replaceChildren(h('span', { 'aria-hidden': 'true' }, '⚠️ '), text);
  el.hidden = false;
}

export function clearComposerError(id: string): void {
  byId(id).hidden = true;
}

function autosize(textarea: HTMLTextAreaElement): void {
  textarea.style.height = 'auto';
  textarea.style.height = `${Math.min(textarea.scrollHeight, 220)}px`;
}

async function submit(textarea: HTMLTextAreaElement, errorId: string, threadTs: string | null): Promise<void> {
  const raw = textarea.value;
  const text = raw.trim();
  if (!text) return;
  clearComposerError(errorId);
  const channel = state.channelId;
  if (channel === null) return;
  if (text.startsWith('/')) {
    const m = /^\/lane(?:\s+([\s\S]*))?$/.exec(text);
    if (!m) {
      showComposerError(errorId, 'only /lane is installed in this workspace');
      return;
    }
    textarea.value = '';
    autosize(textarea);
    renderSlashHint();
    await runCommand(channel, (m[1] ?? '').trim(), textarea, raw, errorId);
    return;
  }
  textarea.value = '';
  autosize(textarea);
  renderSlashHint();
  try {
    const body: Record<string, string> = { user: state.me ?? '', channel, text };
    if (threadTs) body.thread_ts = threadTs;
    const result = await api<PostedMessage>('POST', '/messages', body);
    if (isRefusal(result)) throw new Error(result.error || 'not sent');
    const posted = result?.message ?? (result?.ts ? (result as unknown as PageMessage) : null);
    if (posted?.ts) {
      applyEvent('posted', { ...posted, channel });
      rerender(channel);
    }
  } catch (error) {
    textarea.value = raw;
    autosize(textarea);
    showComposerError(errorId, `Not sent: ${error instanceof HttpError ? errorText(error) : (error as Error).message}`);
  }
}

async function runCommand(channel: string, text: string, textarea: HTMLTextAreaElement, raw: string, errorId: string): Promise<void> {
  const startedAt = Date.now();
  try {
    const result = await api<CommandAnswer>('POST', '/commands', { user: state.me, channel, text, command: '/lane' });
    if (!result || isRefusal(result) || (typeof result.status === 'number' && result.status >= 400 && !result.ack)) {
      textarea.value = raw;
      autosize(textarea);
      const status = result && !isRefusal(result) ? result.status : undefined;
      showComposerError(errorId, result?.error || `lanebot did not take the command${status ? ` (HTTP ${status})` : ''}`);
      return;
    }
    const ack = normalizeAck(result.ack);
    if (ack) {
      // Slack shows a command's ack as an ephemeral message. If the server also posts it as one,
      // show that; otherwise show the ack locally, once.
      setTimeout(() => {
        const already = [...storeFor(channel).values()].some((m) => m.ephemeral && !m.local && visibleToMe(m)
          && (m.text === ack.text || (m.receivedAt ?? 0) >= startedAt));
        if (!already) addLocalEphemeral(channel, ack);
      }, 700);
    }
  } catch (error) {
    textarea.value = raw;
    autosize(textarea);
    showComposerError(errorId, `Command not sent: ${errorText(error)}`);
  }
}

function normalizeAck(ack: unknown): Ack | null {
  if (!ack) return null;
  if (typeof ack === 'string') return { text: ack };
  if (typeof ack !== 'object') return null;
  const { text, blocks } = ack as { text?: string; blocks?: unknown };
  if (text || (Array.isArray(blocks) && blocks.length)) {
    return { text: text ?? '', blocks: Array.isArray(blocks) ? (blocks as KnownBlock[]) : undefined };
  }
  return null;
}

function addLocalEphemeral(channel: string, ack: Ack): void {
  const map = storeFor(channel);
  let ts = `${Math.floor(Date.now() / 1000)}.${String(Date.now() % 1000).padStart(3, '0')}000`;
  const latest = [...map.keys()].sort(cmpTs).pop();
  if (latest && cmpTs(latest, ts) >= 0) ts = `${latest}${++state.localSeq}`;
  ts = `${ts}-local${++state.localSeq}`;
  map.set(ts, { channel, ts, user: BOT_USER, username: 'lanebot', text: ack.text, blocks: ack.blocks, ephemeral: true, visibleTo: state.me, local: true });
  rerender(channel);
}

function renderSlashHint(): void {
  const box = byId('slash-hint');
  const value = byId<HTMLTextAreaElement>('composer').value;
  if (!value.startsWith('/') || value.includes('\n')) {
    box.hidden = true;
    return;
  }
  const typed = value.replace(/\s+/g, ' ');
  const entries = LANE_COMMANDS.filter(([sub]) => {
    const cmd = `/lane ${sub}`;
    return cmd.startsWith(typed) || typed.startsWith(`${cmd} `) || typed === cmd;
  });
  if (entries.length === 0 || (typed.startsWith('/lane ') && entries.length === LANE_COMMANDS.length && typed.length > 6)) {
    box.hidden = true;
    return;
  }
  box.replaceChildren(
    h('div', { class: 'slash-title' }, h('span', { class: 'avatar avatar-xs', style: 'background:#264a66' }, 'lb'), ' lanebot'),
    ...entries.map(([sub, args, what]) => h('button', {
      type: 'button',
      class: 'slash-item',
      onmousedown: (event) => event.preventDefault(),
      onclick: () => {
        const composer = byId<HTMLTextAreaElement>('composer');
        composer.value = `/lane ${sub} `;
        composer.focus();
        renderSlashHint();
      },
    }, h('span', { class: 'slash-cmd' }, `/lane ${sub}`), args ? h('span', { class: 'slash-args' }, ` ${args}`) : null, h('span', { class: 'slash-what' }, what))));
  box.hidden = false;
}

/** Enter sends, Shift+Enter breaks the line; the channel composer also completes /lane subcommands with Tab. */
export function wireComposer(textarea: HTMLTextAreaElement, form: HTMLFormElement, errorId: string, getThreadTs: () => string | null): void {
  textarea.addEventListener('keydown', (event) => {
    const hint = byId('slash-hint');
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      void submit(textarea, errorId, getThreadTs());
    } else if (event.key === 'Tab' && textarea.id === 'composer' && !hint.hidden) {
      const first = hint.querySelector('.slash-item');
      const cmd = first?.querySelector('.slash-cmd')?.textContent;
      if (cmd && !textarea.value.startsWith(`${cmd} `)) {
        event.preventDefault();
        textarea.value = `${cmd} `;
        renderSlashHint();
      }
    } else if (event.key === 'Escape' && textarea.id === 'composer') {
      hint.hidden = true;
    }
  });
  textarea.addEventListener('input', () => {
    clearComposerError(errorId);
    autosize(textarea);
    if (textarea.id === 'composer') renderSlashHint();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void submit(textarea, errorId, getThreadTs());
  });
}
