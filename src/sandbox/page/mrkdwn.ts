// Slack mrkdwn → DOM: bold, italic, strike, code, ```pre```, > quotes, emoji shortcodes, and the
// <…> tokens (mentions, channels, dates, links). Text nodes only (see dom.ts).
import { append, h, type Child } from './dom';
import { EMOJI } from './emoji';
import { parseSlackDate, slackDateText, type SlackDateToken } from './slack-date';
import { BOT_USER, state } from './state';

export function decodeEntities(text: string): string {
  // &amp; last, so that "&amp;lt;" reads "&lt;" as Slack shows it.
  return String(text).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

const isWordChar = (ch: string | undefined): boolean => ch !== undefined && /[\p{L}\p{N}]/u.test(ch);
const isSpace = (ch: string | undefined): boolean => ch === undefined || /\s/.test(ch);

/** Renders Slack mrkdwn into a DocumentFragment. */
export function mrkdwn(text: string | null | undefined): DocumentFragment {
  const frag = document.createDocumentFragment();
  const source = String(text ?? '');
  const fence = /```([\s\S]*?)```/g;
  let last = 0;
  for (let m = fence.exec(source); m; m = fence.exec(source)) {
    appendLines(frag, source.slice(last, m.index), true, m.index > 0);
    const body = (m[1] ?? '').replace(/^\n/, '').replace(/\n$/, '');
    frag.append(h('pre', { class: 'mk-pre' }, inline(body, { plain: true })));
    last = fence.lastIndex;
  }
  appendLines(frag, source.slice(last), last === 0, false);
  return frag;
}

/** Lines of text, with runs of "&gt; " lines as block quotes. Trims newlines that touch blocks. */
function appendLines(frag: DocumentFragment, text: string, atStart: boolean, beforeBlock: boolean): void {
  if (!text) return;
  let body = text;
  if (!atStart) body = body.replace(/^\n/, '');
  if (beforeBlock) body = body.replace(/\n$/, '');
  if (!body) return;
  const groups: Array<{ quoted: boolean; lines: string[] }> = [];
  for (const line of body.split('\n')) {
    const quoted = /^(&gt;|>)\s?/.test(line);
    const content = quoted ? line.replace(/^(&gt;|>)\s?/, '') : line;
    const prev = groups[groups.length - 1];
    if (prev && prev.quoted === quoted) prev.lines.push(content);
    else groups.push({ quoted, lines: [content] });
  }
  for (const group of groups) {
    const nodes = inline(group.lines.join('\n'));
    if (group.quoted) frag.append(h('blockquote', { class: 'mk-quote' }, nodes));
    else append(frag, [nodes]);
  }
}

/** Index of the closing `ch` of a span opened at `start`, or -1. Skips <…> and `code`. */
function findClose(s: string, start: number, ch: string): number {
  for (let j = start + 1; j < s.length; j++) {
    const c = s[j];
    if (c === '\n') return -1;
    if (c === '<') {
      const end = s.indexOf('>', j + 1);
      if (end > j && !s.slice(j, end).includes('\n')) { j = end; continue; }
    }
    if (c === '`' && ch !== '`') {
      const end = s.indexOf('`', j + 1);
      if (end > j && !s.slice(j, end).includes('\n')) { j = end; continue; }
    }
    if (c === ch && j > start + 1 && !isSpace(s[j - 1]) && !isWordChar(s[j + 1])) return j;
  }
  return -1;
}

const FORMAT_TAG: Readonly<Record<string, 'b' | 'i' | 's'>> = { '*': 'b', _: 'i', '~': 's' };

/** Inline mrkdwn. `plain`: only links and mentions (inside ```pre```), no formatting or emoji. */
function inline(s: string, opts: { plain?: boolean } = {}): Node[] {
  const out: Node[] = [];
  let buf = '';
  const flush = (): void => {
    if (buf) out.push(document.createTextNode(decodeEntities(buf)));
    buf = '';
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\n' && !opts.plain) {
      flush();
      out.push(h('br'));
      i++;
      continue;
    }
    if (c === '<') {
      const end = s.indexOf('>', i + 1);
      const inner = end > i ? s.slice(i + 1, end) : '';
      if (end > i + 1 && !/[\n<]/.test(inner)) {
        const node = special(inner);
        if (node) {
          flush();
          out.push(node);
          i = end + 1;
          continue;
        }
      }
    }
    if (!opts.plain) {
      if (c === '`') {
        const end = s.indexOf('`', i + 1);
        if (end > i + 1 && !s.slice(i + 1, end).includes('\n')) {
          flush();
          out.push(h('code', { class: 'mk-code' }, decodeEntities(s.slice(i + 1, end))));
          i = end + 1;
          continue;
        }
      }
      const tag = FORMAT_TAG[c];
      if (tag && !isWordChar(s[i - 1]) && !isSpace(s[i + 1]) && s[i + 1] !== c) {
        const end = findClose(s, i, c);
        if (end > 0) {
          flush();
          out.push(h(tag, { class: `mk-${tag}` }, inline(s.slice(i + 1, end), opts)));
          i = end + 1;
          continue;
        }
      }
      if (c === ':') {
        const m = /^:([a-z0-9_+'-]{1,60}):/i.exec(s.slice(i, i + 64));
        if (m) {
          const name = m[1]!;
          const emoji = EMOJI[name.toLowerCase()];
          if (emoji) {
            flush();
            out.push(h('span', { class: 'emoji', title: m[0], role: 'img', 'aria-label': name }, emoji));
          } else {
            buf += m[0];
          }
          i += m[0].length;
          continue;
        }
      }
    }
    buf += c;
    i++;
  }
  flush();
  return out;
}

/** Plain text with emoji shortcodes (plain_text objects with emoji: true, Slack's default). */
export function emojify(text: string): Array<string | HTMLElement> {
  const out: Array<string | HTMLElement> = [];
  const re = /:([a-z0-9_+'-]{1,60}):/gi;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const emoji = EMOJI[m[1]!.toLowerCase()];
    if (!emoji) continue;
    out.push(text.slice(last, m.index), h('span', { class: 'emoji', title: m[0] }, emoji));
    last = re.lastIndex;
  }
  out.push(text.slice(last));
  return out.filter((x) => x !== '');
}

/** The URL when it is safe to link (http(s), mailto, this page); null otherwise. */
export function safeUrl(raw: string): string | null {
  const url = decodeEntities(raw).trim();
  if (/^(https?:|mailto:)/i.test(url) || url.startsWith('/') || url.startsWith('#')) return url;
  return null;
}

/** `<…>` tokens: mentions, channels, special mentions, dates, links. null: not a token. */
export function special(inner: string): Node | null {
  const bar = inner.indexOf('|');
  const target = bar >= 0 ? inner.slice(0, bar) : inner;
  const label = bar >= 0 ? inner.slice(bar + 1) : '';
  if (target.startsWith('@')) {
    const id = target.slice(1);
    const name = state.usersById.get(id)?.name ?? (id === BOT_USER ? 'lanebot' : label ? decodeEntities(label).replace(/^@/, '') : id);
    return h('span', { class: `mention${id === state.me ? ' mention-me' : ''}`, title: state.usersById.get(id)?.realName ?? id }, `@${name}`);
  }
  if (target.startsWith('#') && !target.startsWith('#/')) {
    const id = target.slice(1);
    const name = state.channelsById.get(id)?.name ?? (label ? decodeEntities(label) : id);
    const known = state.channelsById.has(id);
    return h('a', {
      class: 'mention mention-channel',
      href: known ? `#/channel/${encodeURIComponent(id)}` : null,
      title: id,
    }, `#${name}`);
  }
  if (target.startsWith('!')) {
    const what = target.slice(1);
    if (what === 'here' || what === 'channel' || what === 'everyone') return h('span', { class: 'mention mention-broadcast' }, `@${what}`);
    if (what.startsWith('subteam^')) {
      const group = label ? decodeEntities(label).replace(/^@/, '') : 'group';
      return h('span', { class: 'mention', title: what.slice('subteam^'.length) }, `@${group}`);
    }
    if (what.startsWith('date^')) return dateNode(parseSlackDate(decodeEntities(inner))!);
    return document.createTextNode(decodeEntities(label || `@${what}`));
  }
  // Slack links only URLs with a scheme; a relative link is accepted only as a console permalink.
  if (!/^[a-z][a-z0-9+.-]*:|^\/?#\/channel\//i.test(target)) return null;
  const href = safeUrl(target);
  const text = decodeEntities(label || target.replace(/^mailto:/i, ''));
  if (!href) return document.createTextNode(text);
  return link(href, label ? emojify(text) : text);
}

/**
 * A date token as the reader's time zone shows it (slack-date.ts), in a <time> whose title is the
 * author's fallback; the fallback itself when the page cannot format it. Relative words (today,
 * tomorrow, ago) count from the simulated clock once the Simulator panel has read it.
 */
export function dateNode(token: SlackDateToken): Node {
  const { text, formatted } = slackDateText(token, { now: Date.now() + state.simOffsetMs });
  const node = h('time', {
    class: `mk-date${formatted ? '' : ' mk-date-fallback'}`,
    'data-testid': 'slack-date',
    datetime: Number.isFinite(token.epochMs) ? new Date(token.epochMs).toISOString() : null,
    title: token.fallback || null,
  }, text);
  const href = token.link ? safeUrl(token.link) : null;
  return href ? link(href, node) : node;
}

export function link(href: string, children: Child): HTMLAnchorElement {
  const internal = internalRoute(href);
  return h('a', {
    class: 'mk-link',
    href: internal ? internal : href,
    target: internal ? null : '_blank',
    rel: internal ? null : 'noopener noreferrer',
  }, children);
}

/** A permalink into this console (`…#/channel/C/ts`): navigated in place, not in a new tab. */
function internalRoute(href: string): string | null {
  try {
    const url = new URL(href, location.href);
    if (url.origin === location.origin && url.hash.startsWith('#/channel/')) return url.hash;
  } catch {
    // not a URL: treat as external
  }
  return null;
}
