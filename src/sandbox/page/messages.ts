// The channel's messages and the thread panel, rendered from the store and kept in place
// (keyed reconcile) so that scrolling, focus and open dialogs survive live updates.
import { renderAttachments, renderBlocks } from './block-kit';
import { append, byId, h } from './dom';
import { mrkdwn } from './mrkdwn';
import { avatar, avatarOf, isBot, userInfo } from './people';
import { renderChannelHeader, renderChannels } from './sidebar';
import { BOT_USER, state } from './state';
import { isTopLevel, repliesOf, sortedMessages, storeFor, visibleToMe } from './store';
import { dayKey, dayLabel, fullTime, hhmm, tsDate } from './time';
import { toast } from './toast';
import type { PageMessage } from './types';
import { requestThread } from './view-requests';

interface ReplySummary {
  count: number;
  people: string[];
  lastTs: string | undefined;
}

/** Thread replies visible to me, grouped by root ts, computed once per render. */
function repliesByRoot(messages: readonly PageMessage[]): Map<string, PageMessage[]> {
  const byRoot = new Map<string, PageMessage[]>();
  for (const m of messages) {
    if (isTopLevel(m) || !visibleToMe(m)) continue;
    const root = m.thread_ts!;
    let list = byRoot.get(root);
    if (!list) byRoot.set(root, (list = []));
    list.push(m);
  }
  return byRoot;
}

function replySummary(msg: PageMessage, byRoot: Map<string, PageMessage[]>): ReplySummary | null {
  if (!isTopLevel(msg)) return null;
  const replies = (byRoot.get(msg.ts) ?? []).filter((r) => !r.ephemeral);
  const count = replies.length > 0 ? replies.length : Number(msg.reply_count ?? 0);
  if (!count) return null;
  const people = [...new Set(replies.map((r) => (isBot(r) ? BOT_USER : r.user)))].slice(0, 4);
  const lastTs = replies.length ? replies[replies.length - 1]!.ts : msg.latest_reply;
  return { count, people, lastTs };
}

interface RenderOptions {
  compact?: boolean;
  role?: 'message' | 'thread-root' | 'thread-reply';
  inThread?: boolean;
  summary?: ReplySummary | null;
}

function renderMessage(msg: PageMessage, { compact = false, role = 'message', inThread = false, summary = null }: RenderOptions = {}): HTMLElement {
  const info = userInfo(msg);
  const date = tsDate(msg.ts);
  const classes = ['msg'];
  if (compact) classes.push('compact');
  if (msg.ephemeral) classes.push('ephemeral');
  if (info.bot) classes.push('from-bot');
  const el = h('div', { class: classes.join(' '), 'data-testid': role, 'data-ts': msg.ts, 'data-user': msg.user ?? null });

  const gutter = compact
    ? h('div', { class: 'msg-gutter' }, h('time', { class: 'msg-time-hover', datetime: date.toISOString(), title: fullTime(date) }, hhmm(date)))
    : h('div', { class: 'msg-gutter' }, avatar(info));

  const body = h('div', { class: 'msg-body' });
  if (msg.ephemeral) {
    body.append(h('div', { class: 'ephemeral-note' },
      h('span', { 'aria-hidden': 'true' }, '👁 '), 'Only visible to you',
      h('button', {
        type: 'button',
        class: 'link-btn dismiss',
        onclick: () => {
          state.dismissed.add(`${msg.channel}:${msg.ts}`);
          if (msg.local) storeFor(msg.channel).delete(msg.ts);
          renderAll();
        },
      }, 'Dismiss')));
  }
  if (!compact) {
    body.append(h('div', { class: 'msg-head' },
      h('span', { class: 'msg-name', title: info.title ?? null }, info.display),
      info.bot ? h('span', { class: 'app-badge' }, 'APP') : null,
      h('time', { class: 'msg-time', datetime: date.toISOString(), title: fullTime(date) }, hhmm(date))));
  }

  // A reply broadcast to the channel shows there with what it answers, as Slack does.
  if (msg.broadcast && !inThread && msg.thread_ts) {
    const rootTs = msg.thread_ts;
    body.append(h('div', { class: 'broadcast-note', 'data-testid': 'broadcast-note' },
      'replied to a thread: ',
      h('button', { type: 'button', class: 'link-btn broadcast-root', onclick: () => requestThread(rootTs) }, rootPreview(msg) || 'View thread')));
  }

  const content = h('div', { class: 'msg-content' });
  if (Array.isArray(msg.blocks) && msg.blocks.length > 0) append(content, renderBlocks(msg.blocks, msg));
  else content.append(h('div', { class: 'mk' }, mrkdwn(msg.text ?? '')));
  if (Array.isArray(msg.attachments) && msg.attachments.length > 0) append(content, renderAttachments(msg.attachments, msg));
  if (msg.edited) {
    const editedTs = typeof msg.edited === 'object' ? msg.edited.ts : undefined;
    const marker = h('span', { class: 'edited', title: editedTs ? fullTime(tsDate(editedTs)) : null }, ' (edited)');
    editedHost(content).append(marker);
  }
  body.append(content);
  if (msg.broadcast && inThread) body.append(h('div', { class: 'broadcast-note', 'data-testid': 'broadcast-note' }, 'Also sent to the channel'));

  if (summary && !inThread) {
    const lastTs = summary.lastTs;
    body.append(h('button', {
      type: 'button',
      class: 'replies-link',
      'data-testid': 'thread-replies-link',
      onclick: () => requestThread(msg.ts),
    },
    h('span', { class: 'stack' }, summary.people.map((id) => avatar(avatarOf(id), 'avatar-xs'))),
    h('span', { class: 'replies-count' }, `${summary.count} ${summary.count === 1 ? 'reply' : 'replies'}`),
    lastTs ? h('span', { class: 'replies-last' }, `Last reply ${dayLabel(tsDate(lastTs)).toLowerCase() === 'today' ? 'today' : dayLabel(tsDate(lastTs))} at ${hhmm(tsDate(lastTs))}`) : null,
    h('span', { class: 'replies-view' }, 'View thread ›')));
  }
  el.append(gutter, body);

  if (!msg.local) {
    const tools = h('div', { class: 'msg-tools' });
    if (!inThread && (isTopLevel(msg) || msg.broadcast) && !msg.ephemeral) {
      const threadTs = isTopLevel(msg) ? msg.ts : msg.thread_ts!;
      tools.append(h('button', { type: 'button', class: 'tool', title: 'Reply in thread', 'data-testid': 'reply-in-thread', onclick: () => requestThread(threadTs) }, '💬'));
    }
    tools.append(h('button', { type: 'button', class: 'tool', title: 'Copy link', onclick: () => copyLink(msg) }, '🔗'));
    el.append(tools);
  }
  return el;
}

/** The start of a broadcast reply's thread root, as plain text ("replied to a thread: Lane gray ← …"). */
function rootPreview(msg: PageMessage): string {
  const root = msg.thread_ts ? storeFor(msg.channel).get(msg.thread_ts) : undefined;
  if (!root) return '';
  // Links keep their label, formatting marks go: a preview, not a rendering.
  const plain = (root.text ?? '').split('\n', 1)[0]!.replace(/<[^|>]*\|([^>]*)>/g, '$1').replace(/<([^>]*)>/g, '$1').replace(/[*_~`]/g, '').trim();
  return plain.length > 60 ? `${plain.slice(0, 59)}…` : plain;
}

/** Where "(edited)" goes: at the end of the last text, as Slack shows it, else on its own line. */
function editedHost(content: HTMLElement): Element {
  const last = content.lastElementChild;
  if (!last) return content;
  if (last.matches('.mk, .plain')) return last;
  if (last.matches('.bk-section')) return last.querySelector('.bk-section-main > .mk:last-child, .bk-section-main > .plain:last-child') ?? content;
  if (last.matches('.bk-context')) return last.querySelector('.bk-context-item:last-child') ?? last;
  return content;
}

function copyLink(msg: PageMessage): void {
  const root = isTopLevel(msg) ? msg.ts : msg.thread_ts;
  const hash = `#/channel/${encodeURIComponent(msg.channel)}/${encodeURIComponent(msg.ts === root ? root : msg.ts)}`;
  const url = `${location.origin}${location.pathname}${hash}`;
  // navigator.clipboard is missing outside secure contexts (a console opened by IP address).
  const clipboard = navigator.clipboard as Clipboard | undefined;
  clipboard?.writeText(url).then(() => toast('Link copied', 'ok'), () => toast(url));
  if (!clipboard) toast(url);
}

interface KeyedItem {
  key: string;
  /** Re-rendered when this changes. */
  sig: string;
  render: () => HTMLElement;
}

/** What reconcile remembers on the elements it renders. */
type Rendered = HTMLElement & { _sig?: string };

/** Replaces a container's children by keyed items, re-rendering only items whose signature changed. */
function reconcile(container: HTMLElement, items: readonly KeyedItem[]): void {
  const existing = new Map<string | undefined, Rendered>();
  for (const child of container.children) existing.set((child as HTMLElement).dataset.key, child as Rendered);
  const keep = new Set<string>();
  let prev: Rendered | null = null;
  for (const item of items) {
    let el = existing.get(item.key);
    if (!el || el._sig !== item.sig) {
      const fresh: Rendered = item.render();
      fresh.dataset.key = item.key;
      fresh._sig = item.sig;
      if (el) el.replaceWith(fresh);
      el = fresh;
    }
    keep.add(item.key);
    const wanted: ChildNode | null = prev ? prev.nextSibling : container.firstChild;
    if (el !== wanted) container.insertBefore(el, wanted);
    prev = el;
  }
  for (const [key, el] of existing) if (key === undefined || !keep.has(key)) el.remove();
}

/** Keeps a scroller pinned to the bottom across layout changes (panels opening, late fonts). */
export function keepPinned(scroller: HTMLElement): void {
  let pinned = true;
  scroller.addEventListener('scroll', () => { pinned = nearBottom(scroller); }, { passive: true });
  new ResizeObserver(() => { if (pinned) scroller.scrollTop = scroller.scrollHeight; }).observe(scroller);
}

function nearBottom(scroller: HTMLElement): boolean {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
}

/** Whether `msg` continues `prev`'s group: same sender, within five minutes, nothing special between. */
function continues(prev: PageMessage | null, msg: PageMessage): boolean {
  return Boolean(prev && !prev.ephemeral && !msg.ephemeral
    && (isBot(prev) ? isBot(msg) : prev.user === msg.user && !isBot(msg))
    && tsDate(msg.ts).getTime() - tsDate(prev.ts).getTime() < 5 * 60 * 1000);
}

export function renderChannel({ toBottom = false }: { toBottom?: boolean } = {}): void {
  const scroller = byId('messages');
  const stick = toBottom || nearBottom(scroller);
  const list = byId('message-list');
  const channel = state.channelId;
  const all = channel ? sortedMessages(channel) : [];
  const byRoot = repliesByRoot(all);
  // Replies broadcast to the channel show there too (and in their thread).
  const messages = all.filter((m) => (isTopLevel(m) || m.broadcast) && visibleToMe(m));
  const items: KeyedItem[] = [];
  if (messages.length === 0) {
    const ch = channel === null ? undefined : state.channelsById.get(channel);
    items.push({
      key: `empty-${channel}`,
      sig: `empty-${channel}-${ch?.binding ? 1 : 0}`,
      render: () => h('div', { class: 'empty' },
        h('div', { class: 'empty-icon', 'aria-hidden': 'true' }, '#'),
        h('div', { class: 'empty-title' }, `This is the very beginning of #${ch?.name ?? ''}`),
        ch?.binding
          ? h('div', null, 'This channel is bound to ', h('b', null, `${ch.binding.service}/${ch.binding.env}`), '. Try ', h('code', { class: 'mk-code' }, '/lane help'), ' or ', h('code', { class: 'mk-code' }, '/lane deploy gray release/1.2.3'), '.')
          : h('div', null, 'No service is bound here: /lane commands need a bound channel.')),
    });
  }
  let prev: PageMessage | null = null;
  let prevSummary: ReplySummary | null = null;
  let lastDay: string | null = null;
  for (const msg of messages) {
    const date = tsDate(msg.ts);
    const day = dayKey(date);
    if (day !== lastDay) {
      items.push({ key: `day-${day}`, sig: `day-${day}-${dayLabel(date)}`, render: () => h('div', { class: 'day-divider' }, h('span', null, dayLabel(date))) });
      lastDay = day;
      prev = null;
    }
    const summary = replySummary(msg, byRoot);
    // A broadcast reply keeps its own header: its "replied to a thread" line belongs under a name.
    const compact = !prevSummary && !msg.broadcast && continues(prev, msg);
    const preview = msg.broadcast ? rootPreview(msg) : '';
    // The simulated clock's offset: dates in messages say "today" or "tomorrow" by it (mrkdwn.ts dateNode).
    const sig = JSON.stringify([msg, compact, summary, state.me, summary ? dayLabel(new Date()) : '', preview, state.simOffsetMs]);
    items.push({ key: `m-${msg.ts}`, sig, render: () => renderMessage(msg, { compact, summary }) });
    prev = msg;
    prevSummary = summary;
  }
  reconcile(list, items);
  if (stick) scroller.scrollTop = scroller.scrollHeight;
  flash();
}

export function renderThread({ toBottom = false }: { toBottom?: boolean } = {}): void {
  const panel = byId('thread-panel');
  const channel = state.channelId;
  const threadTs = state.threadTs;
  if (!threadTs || channel === null) {
    panel.hidden = true;
    document.body.classList.remove('thread-open');
    return;
  }
  panel.hidden = false;
  document.body.classList.add('thread-open');
  const ch = state.channelsById.get(channel);
  byId('thread-sub').textContent = ch ? `#${ch.name}` : '';
  const scroller = byId('thread-body');
  const stick = toBottom || nearBottom(scroller);
  const root = storeFor(channel).get(threadTs);
  const rootBox = byId('thread-root');
  if (root) {
    reconcile(rootBox, [{ key: `r-${root.ts}`, sig: JSON.stringify([root, state.me, state.simOffsetMs]), render: () => renderMessage(root, { role: 'thread-root', inThread: true }) }]);
  } else {
    reconcile(rootBox, [{ key: 'missing', sig: 'missing', render: () => h('div', { class: 'muted thread-missing' }, 'This message is not here (deleted, or not loaded yet).') }]);
  }
  const replies = repliesOf(channel, threadTs);
  const countable = replies.filter((r) => !r.ephemeral).length;
  byId('thread-count').replaceChildren(h('span', null, countable ? `${countable} ${countable === 1 ? 'reply' : 'replies'}` : 'No replies yet'));
  let prev: PageMessage | null = null;
  reconcile(byId('thread-replies'), replies.map((msg) => {
    const compact = continues(prev, msg);
    prev = msg;
    return { key: `t-${msg.ts}`, sig: JSON.stringify([msg, compact, state.me, state.simOffsetMs]), render: () => renderMessage(msg, { compact, role: 'thread-reply', inThread: true }) };
  }));
  if (stick) scroller.scrollTop = scroller.scrollHeight;
  flash();
}

/** Highlights the message a permalink named, once it is on the page. */
function flash(): void {
  if (!state.flashTs) return;
  const els = document.querySelectorAll(`[data-ts="${CSS.escape(state.flashTs)}"]`);
  if (els.length === 0) return;
  for (const el of els) {
    el.classList.add('flash');
    el.scrollIntoView({ block: 'center' });
  }
  state.flashTs = null;
}

export function renderAll(): void {
  renderChannels();
  renderChannelHeader();
  renderChannel();
  renderThread();
}

/** After a change in `channel`: re-render when it is the open one. */
export function rerender(channel: string): void {
  if (channel === state.channelId) {
    renderChannel();
    renderThread();
  }
}
