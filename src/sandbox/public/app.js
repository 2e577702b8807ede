// The sandbox console: a small Slack look-alike in which a newcomer drives lanebot the way a team
// does in Slack. Plain ES2022, no build step, no dependencies, no network beyond this origin.
//
// Safety rule for the whole file: no server data ever goes through innerHTML. Everything is built
// with createElement/textContent, so Slack-escaped text (&amp; &lt; &gt;) is decoded into text
// nodes only, and `<script>` in a message can never become markup.

const API = '/sandbox';
const BOT_USER = 'UBOT';
const STORAGE = { user: 'lanebot.sandbox.user', channel: 'lanebot.sandbox.channel', sim: 'lanebot.sandbox.simOpen' };

/** Emoji shortcodes the bot uses, plus a few common ones. Unknown ones stay as `:name:`. */
const EMOJI = {
  white_check_mark: '✅', heavy_check_mark: '✔️', x: '❌', warning: '⚠️', inbox_tray: '📥',
  outbox_tray: '📤', hourglass_flowing_sand: '⏳', hourglass: '⌛', double_vertical_bar: '⏸️',
  arrow_forward: '▶️', arrows_counterclockwise: '🔄', octagonal_sign: '🛑', fast_forward: '⏩',
  rewind: '⏪', no_entry_sign: '🚫', no_entry: '⛔', boom: '💥', large_green_circle: '🟢',
  large_blue_circle: '🔵', large_yellow_circle: '🟡', large_orange_circle: '🟠', red_circle: '🔴',
  white_circle: '⚪', black_circle: '⚫', rocket: '🚀', bell: '🔔', no_bell: '🔕', clock3: '🕒',
  alarm_clock: '⏰', stopwatch: '⏱️', calendar: '📅', wastebasket: '🗑️', recycle: '♻️',
  lock: '🔒', unlock: '🔓', key: '🔑', eyes: '👀', tada: '🎉', '+1': '👍', thumbsup: '👍',
  '-1': '👎', thumbsdown: '👎', wave: '👋', point_right: '👉', information_source: 'ℹ️',
  question: '❓', exclamation: '❗', bangbang: '‼️', fire: '🔥', sparkles: '✨', link: '🔗',
  mag: '🔍', memo: '📝', package: '📦', gear: '⚙️', hammer_and_wrench: '🛠️', construction: '🚧',
  traffic_light: '🚥', vertical_traffic_light: '🚦', chart_with_upwards_trend: '📈',
  chart_with_downwards_trend: '📉', rotating_light: '🚨', ambulance: '🚑', zap: '⚡', bug: '🐛',
  leftwards_arrow_with_hook: '↩️', arrow_right: '➡️', arrow_left: '⬅️', arrow_up: '⬆️',
  arrow_down: '⬇️', twisted_rightwards_arrows: '🔀', repeat: '🔁', hand: '✋', raised_hand: '✋',
  ok_hand: '👌', thinking_face: '🤔', smile: '😄', slightly_smiling_face: '🙂', robot_face: '🤖',
  speech_balloon: '💬', thread: '🧵', test_tube: '🧪', label: '🏷️', pushpin: '📌',
  heavy_plus_sign: '➕', heavy_minus_sign: '➖', checkered_flag: '🏁', green_heart: '💚',
  broken_heart: '💔', skull: '💀', ghost: '👻', sunny: '☀️', zzz: '💤', new: '🆕', up: '🆙',
};

const LANE_COMMANDS = [
  ['deploy', '<lane> <branch>', 'Deploy a branch to a lane'],
  ['status', '[<lane>]', 'Where a lane stands'],
  ['list', '', 'Lanes of this channel’s service'],
  ['delete', '<lane>', 'Delete a lane'],
  ['renew', '<lane>', 'Keep a lane from expiring'],
  ['promote', '<lane>', 'Promote a lane'],
  ['rollback', '<lane> [<tag>]', 'Roll a lane back'],
  ['help', '', 'What lanebot can do'],
];

// ---------------------------------------------------------------------------------------------
// State

const state = {
  users: [],
  usersById: new Map(),
  channels: [],
  channelsById: new Map(),
  me: null,
  channelId: null,
  threadTs: null,
  /** channel id → Map(ts → message) */
  store: new Map(),
  /** channel id → Set of buffers of events received while a fetch of it is in flight. */
  pendingEvents: new Map(),
  /** channel id → seq of the newest load applied. */
  appliedLoad: new Map(),
  unread: new Map(),
  /** `${channel}:${ts}` of ephemerals dismissed in this tab. */
  dismissed: new Set(),
  flashTs: null,
  localSeq: 0,
  channelLoadSeq: 0,
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------------
// DOM helpers

/** createElement with attributes and children; strings become text nodes (never markup). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'text') el.textContent = value;
      else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// ---------------------------------------------------------------------------------------------
// Time and ordering

/** Compares Slack timestamps ("1712345678.000100") exactly, without float rounding. */
function cmpTs(a, b) {
  const [ai, af = ''] = String(a).split('.');
  const [bi, bf = ''] = String(b).split('.');
  if (ai.length !== bi.length) return ai.length - bi.length;
  if (ai !== bi) return ai < bi ? -1 : 1;
  const fa = af.padEnd(6, '0');
  const fb = bf.padEnd(6, '0');
  return fa < fb ? -1 : fa > fb ? 1 : 0;
}

function tsDate(ts) {
  return new Date(Number.parseFloat(ts) * 1000);
}

function toDate(value) {
  if (value === undefined || value === null || value === '') return null;
  const date = typeof value === 'number' ? new Date(value) : new Date(Date.parse(value));
  return Number.isNaN(date.getTime()) ? null : date;
}

const pad2 = (n) => String(n).padStart(2, '0');
const hhmm = (date) => `${pad2(date.getHours())}:${pad2(date.getMinutes())}`;
const hhmmss = (date) => `${hhmm(date)}:${pad2(date.getSeconds())}`;

function dayKey(date) {
  return `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}`;
}

function dayLabel(date) {
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (dayKey(date) === dayKey(today)) return 'Today';
  if (dayKey(date) === dayKey(yesterday)) return 'Yesterday';
  return date.toLocaleDateString(undefined, { weekday: 'long', month: 'long', day: 'numeric' });
}

function fullTime(date) {
  return date.toLocaleString(undefined, { weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

function ago(date, now = Date.now()) {
  const s = Math.max(0, Math.round((now - date.getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

// ---------------------------------------------------------------------------------------------
// Users, avatars

const AVATAR_COLORS = ['#2f7d6d', '#b4543a', '#5b5fc7', '#b0387a', '#2b7bb9', '#7a5a2b', '#4c7a2b', '#8a4fb5', '#c0392b', '#1f8a9e'];

function hashString(text) {
  let hash = 0;
  for (const ch of String(text)) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return hash;
}

function isBot(msg) {
  return msg.user === BOT_USER || msg.username === 'lanebot' || Boolean(msg.bot_id);
}

function userInfo(msg) {
  if (isBot(msg)) return { id: BOT_USER, display: msg.username || 'lanebot', initials: 'lb', color: '#264a66', bot: true };
  const user = state.usersById.get(msg.user);
  const display = user?.realName || user?.name || msg.username || msg.user || 'unknown';
  return { id: msg.user, display, initials: initialsOf(user?.realName || user?.name || msg.username || msg.user || '?'), color: colorOf(msg.user), bot: false, title: user?.title };
}

function initialsOf(name) {
  const parts = String(name).trim().split(/[\s._-]+/).filter(Boolean);
  if (parts.length === 0) return '?';
  if (parts.length === 1) return parts[0].slice(0, 2).toUpperCase();
  return (parts[0][0] + parts[1][0]).toUpperCase();
}

function colorOf(id) {
  return AVATAR_COLORS[hashString(id ?? '') % AVATAR_COLORS.length];
}

function avatar(info, size = '') {
  return h('span', { class: `avatar ${size}`.trim(), style: `background:${info.color}`, 'aria-hidden': 'true', title: info.display }, info.initials);
}

function userName(id) {
  if (id === BOT_USER) return 'lanebot';
  const user = state.usersById.get(id);
  return user ? user.name : id;
}

// ---------------------------------------------------------------------------------------------
// mrkdwn → DOM

function decodeEntities(text) {
  // &amp; last, so that "&amp;lt;" reads "&lt;" as Slack shows it.
  return String(text).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

const isWordChar = (ch) => ch !== undefined && /[\p{L}\p{N}]/u.test(ch);
const isSpace = (ch) => ch === undefined || /\s/.test(ch);

/** Renders Slack mrkdwn into a DocumentFragment. */
function mrkdwn(text) {
  const frag = document.createDocumentFragment();
  const source = String(text ?? '');
  const fence = /```([\s\S]*?)```/g;
  let last = 0;
  for (let m = fence.exec(source); m; m = fence.exec(source)) {
    appendLines(frag, source.slice(last, m.index), true, m.index > 0);
    const body = m[1].replace(/^\n/, '').replace(/\n$/, '');
    frag.append(h('pre', { class: 'mk-pre' }, inline(body, { plain: true })));
    last = fence.lastIndex;
  }
  appendLines(frag, source.slice(last), last === 0, false);
  return frag;
}

/** Lines of text, with runs of "&gt; " lines as block quotes. Trims newlines that touch blocks. */
function appendLines(frag, text, atStart, beforeBlock) {
  if (!text) return;
  let body = text;
  if (!atStart) body = body.replace(/^\n/, '');
  if (beforeBlock) body = body.replace(/\n$/, '');
  if (!body) return;
  const lines = body.split('\n');
  const groups = [];
  for (const line of lines) {
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
function findClose(s, start, ch) {
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

const FORMAT_TAG = { '*': 'b', _: 'i', '~': 's' };

/** Inline mrkdwn. `plain`: only links and mentions (inside ```pre```), no formatting or emoji. */
function inline(s, opts = {}) {
  const out = [];
  let buf = '';
  const flush = () => {
    if (buf) out.push(document.createTextNode(decodeEntities(buf)));
    buf = '';
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i];
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
      if (FORMAT_TAG[c] && !isWordChar(s[i - 1]) && !isSpace(s[i + 1]) && s[i + 1] !== c) {
        const end = findClose(s, i, c);
        if (end > 0) {
          flush();
          out.push(h(FORMAT_TAG[c], { class: `mk-${FORMAT_TAG[c]}` }, inline(s.slice(i + 1, end), opts)));
          i = end + 1;
          continue;
        }
      }
      if (c === ':') {
        const m = /^:([a-z0-9_+'-]{1,60}):/i.exec(s.slice(i, i + 64));
        if (m) {
          const emoji = EMOJI[m[1].toLowerCase()];
          if (emoji) {
            flush();
            out.push(h('span', { class: 'emoji', title: m[0], role: 'img', 'aria-label': m[1] }, emoji));
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
function emojify(text) {
  const out = [];
  const re = /:([a-z0-9_+'-]{1,60}):/gi;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const emoji = EMOJI[m[1].toLowerCase()];
    if (!emoji) continue;
    out.push(text.slice(last, m.index), h('span', { class: 'emoji', title: m[0] }, emoji));
    last = re.lastIndex;
  }
  out.push(text.slice(last));
  return out.filter((x) => x !== '');
}

function safeUrl(raw) {
  const url = decodeEntities(raw).trim();
  if (/^(https?:|mailto:)/i.test(url) || url.startsWith('/') || url.startsWith('#')) return url;
  return null;
}

/** `<…>` tokens: mentions, channels, special mentions, dates, links. null: not a token. */
function special(inner) {
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
    if (what.startsWith('date^')) return document.createTextNode(decodeEntities(label || what));
    return document.createTextNode(decodeEntities(label || `@${what}`));
  }
  // Slack links only URLs with a scheme; a relative link is accepted only as a console permalink.
  if (!/^[a-z][a-z0-9+.-]*:|^\/?#\/channel\//i.test(target)) return null;
  const href = safeUrl(target);
  const text = decodeEntities(label || target.replace(/^mailto:/i, ''));
  if (!href) return document.createTextNode(text);
  return link(href, label ? emojify(text) : text);
}

function link(href, children) {
  const internal = internalRoute(href);
  return h('a', {
    class: 'mk-link',
    href: internal ? internal : href,
    target: internal ? null : '_blank',
    rel: internal ? null : 'noopener noreferrer',
  }, children);
}

/** A permalink into this console (`…#/channel/C/ts`): navigated in place, not in a new tab. */
function internalRoute(href) {
  try {
    const url = new URL(href, location.href);
    if (url.origin === location.origin && url.hash.startsWith('#/channel/')) return url.hash;
  } catch {
    // not a URL: treat as external
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Block Kit → DOM

function textObject(obj, extraClass = '') {
  if (obj === undefined || obj === null) return null;
  if (typeof obj === 'string') return h('div', { class: `mk ${extraClass}`.trim() }, mrkdwn(obj));
  if (obj.type === 'mrkdwn') return h('div', { class: `mk ${extraClass}`.trim() }, mrkdwn(obj.text));
  return h('div', { class: `plain ${extraClass}`.trim() }, obj.emoji === false ? String(obj.text ?? '') : emojify(String(obj.text ?? '')));
}

function plainText(obj) {
  if (!obj) return '';
  return typeof obj === 'string' ? obj : String(obj.text ?? '');
}

function unsupported(kind, type) {
  return h('div', { class: 'bk-unsupported' }, `[unsupported ${kind}: ${type ?? 'unknown'}]`);
}

function renderBlocks(blocks, msg) {
  return blocks.map((block) => {
    try {
      return renderBlock(block, msg);
    } catch (error) {
      console.warn('could not render block', block, error);
      return unsupported('block', block?.type);
    }
  });
}

function renderBlock(block, msg) {
  switch (block?.type) {
    case 'header':
      return h('div', { class: 'bk-header' }, emojify(plainText(block.text)));
    case 'section': {
      const main = h('div', { class: 'bk-section-main' }, textObject(block.text));
      if (Array.isArray(block.fields) && block.fields.length > 0) {
        main.append(h('div', { class: 'bk-fields' }, block.fields.map((f) => textObject(f, 'bk-field'))));
      }
      const accessory = block.accessory ? h('div', { class: 'bk-accessory' }, renderElement(block.accessory, msg)) : null;
      return h('div', { class: 'bk-section' }, main, accessory);
    }
    case 'context':
      return h('div', { class: 'bk-context' }, (block.elements ?? []).map((el) => {
        if (el.type === 'image') return h('span', { class: 'bk-context-img', title: el.alt_text ?? '' }, el.alt_text ? `[${el.alt_text}]` : '[image]');
        const node = textObject(el);
        if (node) node.classList.add('bk-context-item');
        return node;
      }));
    case 'divider':
      return h('hr', { class: 'bk-divider' });
    case 'actions':
      return h('div', { class: 'bk-actions' }, (block.elements ?? []).map((el) => renderElement(el, msg)));
    case 'image':
      return h('div', { class: 'bk-image' },
        block.title ? h('div', { class: 'bk-image-title' }, plainText(block.title)) : null,
        h('div', { class: 'bk-image-ph' }, h('span', { 'aria-hidden': 'true' }, '🖼️ '), block.alt_text || 'image'));
    case 'rich_text':
      return renderRichText(block);
    default:
      return unsupported('block', block?.type);
  }
}

function renderElement(el, msg) {
  if (el?.type === 'button') return renderButton(el, msg);
  if (el?.type === 'image') return h('span', { class: 'bk-context-img' }, `[${el.alt_text || 'image'}]`);
  return unsupported('element', el?.type);
}

function renderButton(el, msg) {
  const style = el.style === 'primary' ? ' bk-btn-primary' : el.style === 'danger' ? ' bk-btn-danger' : '';
  const button = h('button', {
    type: 'button',
    class: `bk-btn${style}`,
    'data-testid': el.action_id ? `button-${el.action_id}` : null,
    'data-action-id': el.action_id ?? null,
    title: el.url ? el.url : null,
  }, emojify(plainText(el.text)), el.url ? h('span', { class: 'ext', 'aria-hidden': 'true' }, ' ↗') : null);
  button.addEventListener('click', () => clickButton(button, el, msg));
  return button;
}

async function clickButton(button, el, msg) {
  if (el.url) {
    const href = safeUrl(el.url);
    if (href) window.open(href, '_blank', 'noopener,noreferrer');
  }
  if (el.confirm && !(await confirmDialog(el.confirm))) return;
  if (msg.local) {
    toast('This message exists only in your browser; its buttons do nothing.', 'error');
    return;
  }
  button.disabled = true;
  button.classList.add('busy');
  try {
    const result = await api('POST', '/actions', { user: state.me, channel: msg.channel, ts: msg.ts, actionId: el.action_id, value: el.value });
    if (result && result.ok === false && !el.url) toast(result.error || 'the action failed', 'error');
  } catch (error) {
    if (!el.url) toast(errorText(error), 'error');
  } finally {
    // The message is usually re-rendered by an `updated` event; this matters when it is not.
    button.disabled = false;
    button.classList.remove('busy');
  }
}

// rich_text blocks: what Slack clients send for typed messages; rendered in the basic form.
function renderRichText(block) {
  return h('div', { class: 'mk rich' }, (block.elements ?? []).map(richContainer));
}

function richContainer(el) {
  switch (el?.type) {
    case 'rich_text_section':
      return h('span', null, (el.elements ?? []).map(richInline));
    case 'rich_text_preformatted':
      return h('pre', { class: 'mk-pre' }, (el.elements ?? []).map(richInline));
    case 'rich_text_quote':
      return h('blockquote', { class: 'mk-quote' }, (el.elements ?? []).map(richInline));
    case 'rich_text_list':
      return h(el.style === 'ordered' ? 'ol' : 'ul', { class: 'mk-list' }, (el.elements ?? []).map((item) => h('li', null, richContainer(item))));
    default:
      return unsupported('element', el?.type);
  }
}

function richInline(el) {
  let node;
  switch (el?.type) {
    case 'text': {
      const parts = String(el.text ?? '').split('\n');
      node = h('span', null, parts.flatMap((part, i) => (i === 0 ? [part] : [h('br'), part])));
      break;
    }
    case 'link': {
      const href = safeUrl(el.url ?? '');
      node = href ? link(href, el.text || el.url) : document.createTextNode(el.text || el.url || '');
      break;
    }
    case 'user':
      node = special(`@${el.user_id}`);
      break;
    case 'usergroup':
      node = special(`!subteam^${el.usergroup_id}`);
      break;
    case 'channel':
      node = special(`#${el.channel_id}`);
      break;
    case 'broadcast':
      node = special(`!${el.range}`);
      break;
    case 'emoji':
      node = h('span', { class: 'emoji', title: `:${el.name}:` }, el.unicode
        ? String.fromCodePoint(...el.unicode.split('-').map((x) => Number.parseInt(x, 16)))
        : EMOJI[el.name] ?? `:${el.name}:`);
      break;
    default:
      return unsupported('element', el?.type);
  }
  const style = el.style ?? {};
  if (style.code) node = h('code', { class: 'mk-code' }, node);
  if (style.bold) node = h('b', null, node);
  if (style.italic) node = h('i', null, node);
  if (style.strike) node = h('s', null, node);
  return node;
}

/** Legacy attachments: colored bar, optional blocks/text/fields. */
function renderAttachments(attachments, msg) {
  return attachments.map((att) => {
    const color = /^#?[0-9a-f]{3,8}$/i.test(att.color ?? '') ? (att.color.startsWith('#') ? att.color : `#${att.color}`)
      : att.color === 'good' ? '#2eb67d' : att.color === 'danger' ? '#e01e5a' : att.color === 'warning' ? '#ecb22e' : '#dddddd';
    const body = h('div', { class: 'att-body' },
      att.pretext ? h('div', { class: 'mk' }, mrkdwn(att.pretext)) : null,
      att.title ? h('div', { class: 'att-title' }, att.title_link && safeUrl(att.title_link) ? link(safeUrl(att.title_link), att.title) : att.title) : null,
      Array.isArray(att.blocks) ? renderBlocks(att.blocks, msg) : null,
      att.text ? h('div', { class: 'mk' }, mrkdwn(att.text)) : null,
      Array.isArray(att.fields) && att.fields.length > 0
        ? h('div', { class: 'bk-fields' }, att.fields.map((f) => h('div', { class: 'bk-field' }, h('b', null, f.title ?? ''), h('div', { class: 'mk' }, mrkdwn(f.value ?? '')))))
        : null,
      att.footer ? h('div', { class: 'bk-context' }, h('div', { class: 'mk' }, mrkdwn(att.footer))) : null);
    return h('div', { class: 'attachment', style: `border-left-color:${color}` }, body);
  });
}

// ---------------------------------------------------------------------------------------------
// Confirm dialog

function confirmDialog(confirm) {
  const modal = $('modal');
  const title = $('modal-title');
  const text = $('modal-text');
  const ok = $('modal-confirm');
  const deny = $('modal-deny');
  title.textContent = plainText(confirm.title) || 'Are you sure?';
  text.replaceChildren(textObject(confirm.text) ?? document.createTextNode(''));
  ok.replaceChildren(...emojify(plainText(confirm.confirm) || 'Yes'));
  deny.replaceChildren(...emojify(plainText(confirm.deny) || 'Cancel'));
  ok.className = `btn ${confirm.style === 'danger' ? 'btn-danger' : 'btn-primary'}`;
  const previousFocus = document.activeElement;
  modal.hidden = false;
  ok.focus();
  return new Promise((resolve) => {
    const done = (answer) => {
      modal.hidden = true;
      ok.removeEventListener('click', onOk);
      deny.removeEventListener('click', onDeny);
      modal.removeEventListener('click', onBackdrop);
      document.removeEventListener('keydown', onKey, true);
      if (previousFocus instanceof HTMLElement) previousFocus.focus();
      resolve(answer);
    };
    const onOk = () => done(true);
    const onDeny = () => done(false);
    const onBackdrop = (event) => { if (event.target === modal) done(false); };
    const onKey = (event) => {
      if (event.key === 'Escape') { event.stopPropagation(); done(false); }
    };
    ok.addEventListener('click', onOk);
    deny.addEventListener('click', onDeny);
    modal.addEventListener('click', onBackdrop);
    document.addEventListener('keydown', onKey, true);
  });
}

// ---------------------------------------------------------------------------------------------
// Toasts

function toast(text, kind = 'info') {
  const el = h('div', { class: `toast toast-${kind}`, 'data-testid': 'toast', role: kind === 'error' ? 'alert' : 'status' },
    h('span', { class: 'toast-icon', 'aria-hidden': 'true' }, kind === 'error' ? '⚠️' : kind === 'ok' ? '✅' : 'ℹ️'),
    h('span', null, text));
  $('toasts').append(el);
  setTimeout(() => {
    el.classList.add('leaving');
    setTimeout(() => el.remove(), 300);
  }, kind === 'error' ? 6000 : 3500);
}

// ---------------------------------------------------------------------------------------------
// HTTP

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const response = await fetch(`${API}${path}`, {
    method,
    headers: body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  // fetch resolves whatever the status; a JSON {ok:false,error} body is an answer, not a fault.
  // A 404 stays an error even with such a body: it means the endpoint does not exist (yet).
  if (!response.ok) {
    if (data && typeof data === 'object' && data.ok === false && response.status !== 404) return data;
    throw new HttpError(response.status, data?.error || `HTTP ${response.status}`);
  }
  return data;
}

function errorText(error, { notFound } = {}) {
  if (error instanceof HttpError) return error.status === 404 && notFound ? notFound : error.message;
  return `cannot reach the sandbox server (${error?.message ?? error})`;
}

// ---------------------------------------------------------------------------------------------
// Message store

function storeFor(channel) {
  let map = state.store.get(channel);
  if (!map) {
    map = new Map();
    state.store.set(channel, map);
  }
  return map;
}

function isTopLevel(msg) {
  return !msg.thread_ts || msg.thread_ts === msg.ts;
}

function visibleToMe(msg) {
  if (state.dismissed.has(`${msg.channel}:${msg.ts}`)) return false;
  if (!msg.ephemeral) return true;
  const to = msg.visibleTo;
  if (to === undefined || to === null) return true;
  return Array.isArray(to) ? to.includes(state.me) : to === state.me;
}

function applyEvent(kind, msg) {
  const map = storeFor(msg.channel);
  if (kind === 'deleted') map.delete(msg.ts);
  else map.set(msg.ts, { ...map.get(msg.ts), ...msg });
}

function sortedMessages(channel) {
  return [...storeFor(channel).values()].sort((a, b) => cmpTs(a.ts, b.ts));
}

function repliesOf(channel, rootTs) {
  return sortedMessages(channel).filter((m) => m.thread_ts === rootTs && m.ts !== rootTs && visibleToMe(m));
}

async function loadChannel(channel) {
  // Each load buffers the live events that arrive while it is in flight and replays them over its
  // snapshot. Loads may overlap (a reconnect during a channel switch): an older one never
  // overwrites what a newer one applied.
  const seq = ++state.channelLoadSeq;
  const buffer = [];
  let buffers = state.pendingEvents.get(channel);
  if (!buffers) state.pendingEvents.set(channel, (buffers = new Set()));
  buffers.add(buffer);
  const asUser = state.me;
  try {
    const list = await api('GET', `/messages?channel=${encodeURIComponent(channel)}&user=${encodeURIComponent(asUser)}`);
    if ((state.appliedLoad.get(channel) ?? 0) > seq) return false;
    state.appliedLoad.set(channel, seq);
    const map = new Map();
    // Keep this tab's own local notes (command acks) across refetches.
    for (const m of storeFor(channel).values()) if (m.local) map.set(m.ts, m);
    // Ephemerals come back filtered for the user asked about: remember whose they are, so that
    // switching users hides them at once.
    for (const m of Array.isArray(list) ? list : []) {
      map.set(m.ts, m.ephemeral && (m.visibleTo === undefined || m.visibleTo === null) ? { channel, ...m, visibleTo: asUser } : { channel, ...m });
    }
    state.store.set(channel, map);
    for (const { kind, message } of buffer) applyEvent(kind, message);
    return channel === state.channelId;
  } catch (error) {
    toast(`Could not load #${state.channelsById.get(channel)?.name ?? channel}: ${errorText(error)}`, 'error');
    return false;
  } finally {
    buffers.delete(buffer);
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering: sidebar

function renderUsers() {
  const select = $('user-switcher');
  select.replaceChildren(...state.users.map((u) => h('option', { value: u.id }, `${u.name}${u.title ? ` — ${u.title}` : ''}`)));
  select.value = state.me;
  renderMe();
}

function renderMe() {
  const user = state.usersById.get(state.me);
  const el = $('me-avatar');
  el.textContent = initialsOf(user?.realName || user?.name || '?');
  el.style.background = colorOf(state.me);
  el.title = user?.realName ?? '';
}

function renderChannels() {
  $('channel-list').replaceChildren(...state.channels.map((ch) => {
    const unread = state.unread.get(ch.id) ?? 0;
    const member = !Array.isArray(ch.members) || ch.members.includes(state.me);
    return h('li', null, h('a', {
      href: `#/channel/${encodeURIComponent(ch.id)}`,
      class: `channel${ch.id === state.channelId ? ' active' : ''}${unread ? ' unread' : ''}${member ? '' : ' not-member'}`,
      'data-testid': `channel-${ch.id}`,
      'aria-current': ch.id === state.channelId ? 'page' : null,
      title: member ? null : `${userName(state.me)} is not a member of #${ch.name}`,
      onclick: (event) => {
        event.preventDefault();
        selectChannel(ch.id);
      },
    },
    h('span', { class: 'hash', 'aria-hidden': 'true' }, '#'),
    h('span', { class: 'channel-text' },
      h('span', { class: 'channel-name' }, ch.name),
      ch.binding ? h('span', { class: 'channel-binding' }, `${ch.binding.service}/${ch.binding.env}`) : null),
    unread ? h('span', { class: 'badge' }, String(unread)) : null));
  }));
}

function renderChannelHeader() {
  const ch = state.channelsById.get(state.channelId);
  $('ch-name').textContent = ch ? `# ${ch.name}` : '';
  const binding = $('ch-binding');
  if (ch?.binding) {
    binding.replaceChildren(h('span', { class: 'pill' }, `${ch.binding.service}`, h('span', { class: 'pill-sep' }, ' / '), `${ch.binding.env}`));
    binding.title = `/lane commands here act on ${ch.binding.service}/${ch.binding.env}`;
  } else {
    binding.replaceChildren(h('span', { class: 'muted small' }, 'not bound to a service'));
    binding.title = '';
  }
  const members = Array.isArray(ch?.members) ? ch.members : [];
  $('ch-members').replaceChildren(
    h('span', { class: 'stack' }, members.slice(0, 4).map((id) => avatar({ color: colorOf(id), initials: initialsOf(state.usersById.get(id)?.realName || id), display: userName(id) }, 'avatar-xs'))),
    members.length ? `${members.length} member${members.length === 1 ? '' : 's'}` : '');
  document.title = ch ? `#${ch.name} · lanebot sandbox` : 'lanebot sandbox';
}

// ---------------------------------------------------------------------------------------------
// Rendering: messages

/** Thread replies visible to me, grouped by root ts, computed once per render. */
function repliesByRoot(messages) {
  const byRoot = new Map();
  for (const m of messages) {
    if (isTopLevel(m) || !visibleToMe(m)) continue;
    let list = byRoot.get(m.thread_ts);
    if (!list) byRoot.set(m.thread_ts, (list = []));
    list.push(m);
  }
  return byRoot;
}

function replySummary(msg, byRoot) {
  if (!isTopLevel(msg)) return null;
  const replies = (byRoot.get(msg.ts) ?? []).filter((r) => !r.ephemeral);
  const count = replies.length > 0 ? replies.length : Number(msg.reply_count ?? 0);
  if (!count) return null;
  const people = [...new Set(replies.map((r) => (isBot(r) ? BOT_USER : r.user)))].slice(0, 4);
  const lastTs = replies.length ? replies[replies.length - 1].ts : msg.latest_reply;
  return { count, people, lastTs };
}

function renderMessage(msg, { compact = false, role = 'message', inThread = false, summary = null } = {}) {
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

  const content = h('div', { class: 'msg-content' });
  if (Array.isArray(msg.blocks) && msg.blocks.length > 0) append(content, renderBlocks(msg.blocks, msg));
  else content.append(h('div', { class: 'mk' }, mrkdwn(msg.text ?? '')));
  if (Array.isArray(msg.attachments) && msg.attachments.length > 0) append(content, renderAttachments(msg.attachments, msg));
  if (msg.edited) {
    const marker = h('span', { class: 'edited', title: typeof msg.edited === 'object' && msg.edited.ts ? fullTime(tsDate(msg.edited.ts)) : null }, ' (edited)');
    editedHost(content).append(marker);
  }
  body.append(content);

  if (summary && !inThread) {
    body.append(h('button', {
      type: 'button',
      class: 'replies-link',
      'data-testid': 'thread-replies-link',
      onclick: () => openThread(msg.ts),
    },
    h('span', { class: 'stack' }, summary.people.map((id) => avatar(id === BOT_USER
      ? { color: '#264a66', initials: 'lb', display: 'lanebot' }
      : { color: colorOf(id), initials: initialsOf(state.usersById.get(id)?.realName || id), display: userName(id) }, 'avatar-xs'))),
    h('span', { class: 'replies-count' }, `${summary.count} ${summary.count === 1 ? 'reply' : 'replies'}`),
    summary.lastTs ? h('span', { class: 'replies-last' }, `Last reply ${dayLabel(tsDate(summary.lastTs)).toLowerCase() === 'today' ? 'today' : dayLabel(tsDate(summary.lastTs))} at ${hhmm(tsDate(summary.lastTs))}`) : null,
    h('span', { class: 'replies-view' }, 'View thread ›')));
  }
  el.append(gutter, body);

  if (!msg.local) {
    const tools = h('div', { class: 'msg-tools' });
    if (!inThread && isTopLevel(msg) && !msg.ephemeral) {
      tools.append(h('button', { type: 'button', class: 'tool', title: 'Reply in thread', 'data-testid': 'reply-in-thread', onclick: () => openThread(msg.ts) }, '💬'));
    }
    tools.append(h('button', { type: 'button', class: 'tool', title: 'Copy link', onclick: () => copyLink(msg) }, '🔗'));
    el.append(tools);
  }
  return el;
}

/** Where "(edited)" goes: at the end of the last text, as Slack shows it, else on its own line. */
function editedHost(content) {
  const last = content.lastElementChild;
  if (!last) return content;
  if (last.matches('.mk, .plain')) return last;
  if (last.matches('.bk-section')) return last.querySelector('.bk-section-main > .mk:last-child, .bk-section-main > .plain:last-child') ?? content;
  if (last.matches('.bk-context')) return last.querySelector('.bk-context-item:last-child') ?? last;
  return content;
}

function copyLink(msg) {
  const root = isTopLevel(msg) ? msg.ts : msg.thread_ts;
  const hash = `#/channel/${encodeURIComponent(msg.channel)}/${encodeURIComponent(msg.ts === root ? root : msg.ts)}`;
  const url = `${location.origin}${location.pathname}${hash}`;
  navigator.clipboard?.writeText(url).then(() => toast('Link copied', 'ok'), () => toast(url));
  if (!navigator.clipboard) toast(url);
}

/** Replaces a container's children by keyed items, re-rendering only items whose signature changed. */
function reconcile(container, items) {
  const existing = new Map();
  for (const child of container.children) existing.set(child.dataset.key, child);
  const keep = new Set();
  let prev = null;
  for (const item of items) {
    let el = existing.get(item.key);
    if (!el || el._sig !== item.sig) {
      const fresh = item.render();
      fresh.dataset.key = item.key;
      fresh._sig = item.sig;
      if (el) el.replaceWith(fresh);
      el = fresh;
    }
    keep.add(item.key);
    const wanted = prev ? prev.nextSibling : container.firstChild;
    if (el !== wanted) container.insertBefore(el, wanted);
    prev = el;
  }
  for (const [key, el] of existing) if (!keep.has(key)) el.remove();
}

/** Keeps a scroller pinned to the bottom across layout changes (panels opening, late fonts). */
function keepPinned(scroller) {
  let pinned = true;
  scroller.addEventListener('scroll', () => { pinned = nearBottom(scroller); }, { passive: true });
  new ResizeObserver(() => { if (pinned) scroller.scrollTop = scroller.scrollHeight; }).observe(scroller);
}

function nearBottom(scroller) {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
}

function renderChannel({ toBottom = false } = {}) {
  const scroller = $('messages');
  const stick = toBottom || nearBottom(scroller);
  const list = $('message-list');
  const channel = state.channelId;
  const all = channel ? sortedMessages(channel) : [];
  const byRoot = repliesByRoot(all);
  const messages = all.filter((m) => isTopLevel(m) && visibleToMe(m));
  const items = [];
  if (messages.length === 0) {
    const ch = state.channelsById.get(channel);
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
  let prev = null;
  let prevSummary = null;
  let lastDay = null;
  for (const msg of messages) {
    const date = tsDate(msg.ts);
    const day = dayKey(date);
    if (day !== lastDay) {
      items.push({ key: `day-${day}`, sig: `day-${day}-${dayLabel(date)}`, render: () => h('div', { class: 'day-divider' }, h('span', null, dayLabel(date))) });
      lastDay = day;
      prev = null;
    }
    const summary = replySummary(msg, byRoot);
    const compact = Boolean(prev && !prev.ephemeral && !msg.ephemeral && !prevSummary
      && (isBot(prev) ? isBot(msg) : prev.user === msg.user && !isBot(msg))
      && tsDate(msg.ts) - tsDate(prev.ts) < 5 * 60 * 1000);
    const sig = JSON.stringify([msg, compact, summary, state.me, summary ? dayLabel(new Date()) : '']);
    items.push({ key: `m-${msg.ts}`, sig, render: () => renderMessage(msg, { compact, summary }) });
    prev = msg;
    prevSummary = summary;
  }
  reconcile(list, items);
  if (stick) scroller.scrollTop = scroller.scrollHeight;
  flash();
}

function renderThread({ toBottom = false } = {}) {
  const panel = $('thread-panel');
  if (!state.threadTs) {
    panel.hidden = true;
    document.body.classList.remove('thread-open');
    return;
  }
  panel.hidden = false;
  document.body.classList.add('thread-open');
  const ch = state.channelsById.get(state.channelId);
  $('thread-sub').textContent = ch ? `#${ch.name}` : '';
  const scroller = $('thread-body');
  const stick = toBottom || nearBottom(scroller);
  const root = storeFor(state.channelId).get(state.threadTs);
  const rootBox = $('thread-root');
  if (root) {
    reconcile(rootBox, [{ key: `r-${root.ts}`, sig: JSON.stringify([root, state.me]), render: () => renderMessage(root, { role: 'thread-root', inThread: true }) }]);
  } else {
    reconcile(rootBox, [{ key: 'missing', sig: 'missing', render: () => h('div', { class: 'muted thread-missing' }, 'This message is not here (deleted, or not loaded yet).') }]);
  }
  const replies = repliesOf(state.channelId, state.threadTs);
  const countable = replies.filter((r) => !r.ephemeral).length;
  $('thread-count').replaceChildren(h('span', null, countable ? `${countable} ${countable === 1 ? 'reply' : 'replies'}` : 'No replies yet'));
  let prev = null;
  reconcile($('thread-replies'), replies.map((msg) => {
    const compact = Boolean(prev && !prev.ephemeral && !msg.ephemeral
      && (isBot(prev) ? isBot(msg) : prev.user === msg.user && !isBot(msg))
      && tsDate(msg.ts) - tsDate(prev.ts) < 5 * 60 * 1000);
    prev = msg;
    return { key: `t-${msg.ts}`, sig: JSON.stringify([msg, compact, state.me]), render: () => renderMessage(msg, { compact, role: 'thread-reply', inThread: true }) };
  }));
  if (stick) scroller.scrollTop = scroller.scrollHeight;
  flash();
}

function flash() {
  if (!state.flashTs) return;
  const els = document.querySelectorAll(`[data-ts="${CSS.escape(state.flashTs)}"]`);
  if (els.length === 0) return;
  for (const el of els) {
    el.classList.add('flash');
    el.scrollIntoView({ block: 'center' });
  }
  state.flashTs = null;
}

function renderAll() {
  renderChannels();
  renderChannelHeader();
  renderChannel();
  renderThread();
}

// ---------------------------------------------------------------------------------------------
// Navigation

function writeLocation() {
  localStorage.setItem(STORAGE.user, state.me ?? '');
  localStorage.setItem(STORAGE.channel, state.channelId ?? '');
  let hash = `#/channel/${encodeURIComponent(state.channelId ?? '')}`;
  if (state.threadTs) hash += `/${encodeURIComponent(state.threadTs)}`;
  hash += `?user=${encodeURIComponent(state.me ?? '')}`;
  if (location.hash !== hash) history.replaceState(null, '', `${location.pathname}${location.search}${hash}`);
}

function parseHash(hash = location.hash) {
  const m = /^#\/channel\/([^/?]+)(?:\/([^/?]+))?\/?(?:\?(.*))?$/.exec(hash);
  if (!m) return null;
  const params = new URLSearchParams(m[3] ?? '');
  return { channel: decodeURIComponent(m[1]), ts: m[2] ? decodeURIComponent(m[2]) : null, user: params.get('user') };
}

async function selectChannel(channelId, { threadTs = null, refetch = true } = {}) {
  if (!state.channelsById.has(channelId)) return;
  const switching = channelId !== state.channelId;
  state.channelId = channelId;
  state.unread.delete(channelId);
  state.threadTs = threadTs;
  clearComposerError('composer-error');
  writeLocation();
  renderChannels();
  renderChannelHeader();
  if (switching) $('message-list').replaceChildren();
  renderChannel({ toBottom: true });
  renderThread({ toBottom: true });
  syncSimDefaults();
  if (refetch) {
    const fresh = await loadChannel(channelId);
    if (fresh && state.channelId === channelId) {
      resolveThreadTarget();
      renderChannel({ toBottom: switching });
      renderThread({ toBottom: switching });
    }
  }
  if (!threadTs) $('composer').focus();
}

/** A permalink to a reply opens its root's thread and highlights the reply. */
function resolveThreadTarget() {
  if (!state.threadTs) return;
  const msg = storeFor(state.channelId).get(state.threadTs);
  if (msg && !isTopLevel(msg)) {
    state.flashTs = msg.ts;
    state.threadTs = msg.thread_ts;
    writeLocation();
  }
}

function openThread(ts) {
  state.threadTs = ts;
  writeLocation();
  renderThread({ toBottom: true });
  $('thread-composer').focus();
}

function closeThread() {
  state.threadTs = null;
  writeLocation();
  renderThread();
}

function onHashChange() {
  const target = parseHash();
  if (!target) return;
  if (target.user && state.usersById.has(target.user) && target.user !== state.me) {
    setUser(target.user, { reload: false });
  }
  if (target.channel !== state.channelId) {
    selectChannel(target.channel, { threadTs: target.ts });
  } else if (target.ts !== state.threadTs) {
    state.threadTs = target.ts;
    if (target.ts) state.flashTs = target.ts;
    resolveThreadTarget();
    writeLocation();
    renderChannel();
    renderThread({ toBottom: true });
  } else {
    writeLocation();
  }
}

function setUser(userId, { reload = true } = {}) {
  state.me = userId;
  $('user-switcher').value = userId;
  renderMe();
  writeLocation();
  renderAll();
  if (reload && state.channelId) {
    loadChannel(state.channelId).then((fresh) => {
      if (fresh) {
        renderChannel();
        renderThread();
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Composer

function showComposerError(id, text) {
  const el = $(id);
  el.replaceChildren(h('span', { 'aria-hidden': 'true' }, '⚠️ '), text);
  el.hidden = false;
}

function clearComposerError(id) {
  $(id).hidden = true;
}

function autosize(textarea) {
  textarea.style.height = 'auto';
  textarea.style.height = `${Math.min(textarea.scrollHeight, 220)}px`;
}

async function submit(textarea, errorId, threadTs) {
  const raw = textarea.value;
  const text = raw.trim();
  if (!text) return;
  clearComposerError(errorId);
  const channel = state.channelId;
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
    const body = { user: state.me, channel, text };
    if (threadTs) body.thread_ts = threadTs;
    const result = await api('POST', '/messages', body);
    if (result && result.ok === false) throw new Error(result.error || 'not sent');
    const posted = result?.message ?? (result?.ts ? result : null);
    if (posted?.ts) {
      applyEvent('posted', { channel, ...posted });
      rerender(channel);
    }
  } catch (error) {
    textarea.value = raw;
    autosize(textarea);
    showComposerError(errorId, `Not sent: ${error instanceof HttpError ? errorText(error) : error.message}`);
  }
}

async function runCommand(channel, text, textarea, raw, errorId) {
  const startedAt = Date.now();
  try {
    const result = await api('POST', '/commands', { user: state.me, channel, text, command: '/lane' });
    if (!result || result.ok === false || (typeof result.status === 'number' && result.status >= 400 && !result.ack)) {
      textarea.value = raw;
      autosize(textarea);
      showComposerError(errorId, result?.error || `lanebot did not take the command${result?.status ? ` (HTTP ${result.status})` : ''}`);
      return;
    }
    const ack = normalizeAck(result.ack);
    if (ack) {
      // Slack shows a command's ack as an ephemeral message. If the server also posts it as one,
      // show that; otherwise show the ack locally, once.
      setTimeout(() => {
        const already = [...storeFor(channel).values()].some((m) => m.ephemeral && !m.local && visibleToMe(m)
          && (m.text === ack.text || m.receivedAt >= startedAt));
        if (!already) addLocalEphemeral(channel, ack);
      }, 700);
    }
  } catch (error) {
    textarea.value = raw;
    autosize(textarea);
    showComposerError(errorId, `Command not sent: ${errorText(error)}`);
  }
}

function normalizeAck(ack) {
  if (!ack) return null;
  if (typeof ack === 'string') return { text: ack };
  if (typeof ack === 'object' && (ack.text || (Array.isArray(ack.blocks) && ack.blocks.length))) {
    return { text: ack.text ?? '', blocks: Array.isArray(ack.blocks) ? ack.blocks : undefined };
  }
  return null;
}

function addLocalEphemeral(channel, ack) {
  const map = storeFor(channel);
  let ts = `${Math.floor(Date.now() / 1000)}.${String(Date.now() % 1000).padStart(3, '0')}000`;
  const latest = [...map.keys()].sort(cmpTs).pop();
  if (latest && cmpTs(latest, ts) >= 0) ts = `${latest}${++state.localSeq}`;
  ts = `${ts}-local${++state.localSeq}`;
  map.set(ts, { channel, ts, user: BOT_USER, username: 'lanebot', text: ack.text, blocks: ack.blocks, ephemeral: true, visibleTo: state.me, local: true });
  rerender(channel);
}

function renderSlashHint() {
  const box = $('slash-hint');
  const value = $('composer').value;
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
        const composer = $('composer');
        composer.value = `/lane ${sub} `;
        composer.focus();
        renderSlashHint();
      },
    }, h('span', { class: 'slash-cmd' }, `/lane ${sub}`), args ? h('span', { class: 'slash-args' }, ` ${args}`) : null, h('span', { class: 'slash-what' }, what))));
  box.hidden = false;
}

function wireComposer(textarea, form, errorId, getThreadTs) {
  textarea.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      submit(textarea, errorId, getThreadTs());
    } else if (event.key === 'Tab' && textarea.id === 'composer' && !$('slash-hint').hidden) {
      const first = $('slash-hint').querySelector('.slash-item');
      const cmd = first?.querySelector('.slash-cmd')?.textContent;
      if (cmd && !textarea.value.startsWith(`${cmd} `)) {
        event.preventDefault();
        textarea.value = `${cmd} `;
        renderSlashHint();
      }
    } else if (event.key === 'Escape' && textarea.id === 'composer') {
      $('slash-hint').hidden = true;
    }
  });
  textarea.addEventListener('input', () => {
    clearComposerError(errorId);
    autosize(textarea);
    if (textarea.id === 'composer') renderSlashHint();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit(textarea, errorId, getThreadTs());
  });
}

// ---------------------------------------------------------------------------------------------
// Live events

function rerender(channel) {
  if (channel === state.channelId) {
    renderChannel();
    renderThread();
  }
}

function onServerEvent(payload) {
  const kind = payload?.kind;
  const msg = payload?.message;
  if (!msg || !msg.channel || !msg.ts || !['posted', 'updated', 'deleted'].includes(kind)) return;
  const stamped = { ...msg, receivedAt: Date.now() };
  for (const buffer of state.pendingEvents.get(msg.channel) ?? []) buffer.push({ kind, message: stamped });
  applyEvent(kind, stamped);

  // A server-side copy of a command ack replaces the local one.
  if (kind === 'posted' && msg.ephemeral && visibleToMe(msg)) {
    const map = storeFor(msg.channel);
    for (const [ts, m] of map) if (m.local && m.text === msg.text) map.delete(ts);
  }

  if (msg.channel === state.channelId) {
    rerender(msg.channel);
  } else if (kind === 'posted' && isTopLevel(msg) && visibleToMe(msg) && msg.user !== state.me) {
    state.unread.set(msg.channel, (state.unread.get(msg.channel) ?? 0) + 1);
    renderChannels();
  }
}

function setConnection(status, label) {
  const el = $('conn');
  el.dataset.state = status;
  el.querySelector('.conn-label').textContent = label;
}

function connectEvents() {
  let retryMs = 1000;
  let source = null;
  const open = () => {
    source = new EventSource(`${API}/events`);
    source.addEventListener('open', () => {
      retryMs = 1000;
      setConnection('live', 'live');
      // Anything missed while disconnected (or before the first connect) comes back with a refetch.
      if (state.channelId) {
        loadChannel(state.channelId).then((fresh) => {
          if (fresh) {
            renderChannel();
            renderThread();
          }
        });
      }
    });
    source.addEventListener('message', (event) => {
      try {
        onServerEvent(JSON.parse(event.data));
      } catch (error) {
        console.warn('bad event from the sandbox server', event.data, error);
      }
    });
    source.addEventListener('error', () => {
      setConnection('down', 'reconnecting…');
      // EventSource retries by itself unless the server refused (HTTP error): then it is CLOSED.
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        setTimeout(open, retryMs);
        retryMs = Math.min(retryMs * 2, 10_000);
      }
    });
  };
  open();
}

// ---------------------------------------------------------------------------------------------
// Simulator panel

const sim = { timer: null, unavailableToasted: false, loading: false, again: false, lastState: null };

function simOpen() {
  return $('sim-panel').dataset.open === 'true';
}

function setSimOpen(open) {
  const panel = $('sim-panel');
  panel.dataset.open = String(open);
  $('sim-collapse').setAttribute('aria-expanded', String(open));
  localStorage.setItem(STORAGE.sim, open ? '1' : '0');
  document.body.classList.toggle('sim-open', open);
  clearInterval(sim.timer);
  sim.timer = null;
  if (open) {
    sim.unavailableToasted = false;
    refreshSim();
    sim.timer = setInterval(refreshSim, 2000);
  }
}

function bindings() {
  const seen = new Map();
  for (const ch of state.channels) {
    if (ch.binding) seen.set(`${ch.binding.service}/${ch.binding.env}`, ch.binding);
  }
  return [...seen.values()];
}

function fillSimForms() {
  const list = bindings();
  $('fail-pipeline').replaceChildren(...list.map((b) => h('option', { value: `${b.service}-${b.env}` }, `${b.service}-${b.env}`)));
  $('health-binding').replaceChildren(...list.map((b) => h('option', { value: `${b.service}/${b.env}` }, `${b.service}/${b.env}`)));
  syncSimDefaults();
}

/** The forms default to the current channel's binding. */
function syncSimDefaults() {
  const binding = state.channelsById.get(state.channelId)?.binding;
  if (!binding) return;
  const pipeline = $('fail-pipeline');
  const health = $('health-binding');
  if (pipeline && [...pipeline.options].some((o) => o.value === `${binding.service}-${binding.env}`)) pipeline.value = `${binding.service}-${binding.env}`;
  if (health && [...health.options].some((o) => o.value === `${binding.service}/${binding.env}`)) health.value = `${binding.service}/${binding.env}`;
}

function statusBadge(status) {
  const s = String(status ?? '').toLowerCase();
  const tone = /fail|rollback_failed|error/.test(s) ? 'bad'
    : /progress|running|pending|starting/.test(s) ? 'busy'
      : /succeed|complete|ok|healthy/.test(s) ? 'good'
        : /stop|cancel|supersed|delete/.test(s) ? 'off' : 'neutral';
  return h('span', { class: `status status-${tone}` }, status ?? '—');
}

async function refreshSim() {
  // One at a time; a refresh asked for meanwhile (e.g. after a control) runs right after.
  if (sim.loading) {
    sim.again = true;
    return;
  }
  sim.loading = true;
  sim.again = false;
  try {
    const data = await api('GET', '/sim/state');
    $('sim-unavailable').hidden = true;
    sim.lastState = data;
    renderSimState(data ?? {});
    $('sim-updated').textContent = `updated ${hhmmss(new Date())}`;
  } catch (error) {
    if (error instanceof HttpError && error.status === 404) {
      $('sim-unavailable').hidden = false;
      $('sim-updated').textContent = '';
      if (!sim.unavailableToasted) toast('not available', 'error');
      sim.unavailableToasted = true;
    } else {
      $('sim-updated').textContent = `refresh failed: ${errorText(error)}`;
    }
  } finally {
    sim.loading = false;
    if (sim.again) refreshSim();
  }
}

function emptyRow(cols, text) {
  return h('tr', { class: 'empty-row' }, h('td', { colspan: String(cols) }, text));
}

function renderSimState(data) {
  const now = toDate(data.clock?.now)?.getTime() ?? Date.now();
  renderPipelineChoices(Array.isArray(data.pipelines) ? data.pipelines : []);
  renderFaults(Array.isArray(data.faults) ? data.faults : []);
  renderExecutions(Array.isArray(data.executions) ? [...data.executions] : [], now);
  renderStacks(Array.isArray(data.stacks) ? data.stacks : [], now);
  renderLanes(Array.isArray(data.lanes) ? data.lanes : [], now);

  const clock = data.clock;
  const clockNow = toDate(clock?.now);
  if (clockNow) {
    const offset = Number(clock.offsetMs ?? 0);
    const days = Math.floor(offset / 86_400_000);
    const hours = Math.floor((offset % 86_400_000) / 3_600_000);
    const minutes = Math.floor((offset % 3_600_000) / 60_000);
    const skew = offset > 0 ? ` (+${days ? `${days} d ` : ''}${hours ? `${hours} h ` : ''}${!days && !hours ? `${minutes} min` : ''})`.replace(/ \)$/, ')') : '';
    $('sim-clock').textContent = `🕒 sim time ${clockNow.toLocaleString(undefined, { weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })}${skew}`;
  }
}

/** Every pipeline of the simulated account (infra-{env} and boot-{env} too) can be made to fail. */
function renderPipelineChoices(names) {
  const select = $('fail-pipeline');
  const current = [...select.options].map((o) => o.value);
  if (names.length === 0 || (current.length === names.length && current.every((v, i) => v === names[i]))) return;
  const chosen = select.value;
  select.replaceChildren(...names.map((name) => h('option', { value: name }, name)));
  if (names.includes(chosen)) select.value = chosen;
}

const FAULT_LABELS = { throttled: 'throttled', 'access-denied': 'access denied', unavailable: '503 unavailable' };

/** The armed faults, in the order they will fail the bot's calls. */
function renderFaults(faults) {
  const box = $('pending-faults');
  if (faults.length === 0) {
    box.replaceChildren('No faults armed.');
    return;
  }
  box.replaceChildren('Armed:', ...faults.map((f) =>
    h('span', { class: 'status status-bad', 'data-testid': 'pending-fault' }, `${f.count} × ${FAULT_LABELS[f.fault] ?? f.fault} on ${f.service}`)));
}

// ---- executions, with Approve / Reject on those waiting at a manual approval

function renderExecutions(executions, now) {
  executions.sort((a, b) => (toDate(b.startedAt)?.getTime() ?? 0) - (toDate(a.startedAt)?.getTime() ?? 0));
  $('sim-executions').tBodies[0].replaceChildren(...(executions.length ? executions.map((e) => {
    const started = toDate(e.startedAt);
    return h('tr', { 'data-testid': 'execution-row', 'data-execution': e.executionId ?? '' },
      h('td', null, h('code', null, e.pipeline ?? '')),
      h('td', null, e.lane ?? ''),
      h('td', null, h('code', null, e.branch ?? '')),
      h('td', { title: e.statusSummary ?? '' }, statusBadge(e.status)),
      h('td', { title: started ? fullTime(started) : '' }, started ? ago(started, now) : '—'),
      h('td', { class: 'mono', title: e.executionId ?? '' }, String(e.executionId ?? '').slice(0, 8)),
      h('td', { class: 'wrap' }, e.pendingApproval ? approvalControls(e, now) : null));
  }) : [emptyRow(7, 'No pipeline executions yet. Run /lane deploy in a bound channel.')]));
  $('count-executions').textContent = String(executions.length);
  const waiting = executions.filter((e) => e.pendingApproval).length;
  $('count-executions').title = waiting ? `${waiting} waiting for approval` : '';
  $('count-executions').classList.toggle('count-alert', waiting > 0);
}

function approvalControls(execution, now) {
  const since = toDate(execution.pendingApproval.since);
  const answer = (approved) => (event) => {
    event.currentTarget.closest('.approval').classList.add('busy');
    simPost('/sim/approve', { executionId: execution.executionId, approved, summary: `${approved ? 'Approved' : 'Rejected'} in the sandbox console` },
      `${approved ? 'Approved' : 'Rejected'} ${execution.pipeline} (${execution.lane ?? 'no lane'}).`);
  };
  return h('span', { class: 'approval', title: `${execution.pendingApproval.stageName} / ${execution.pendingApproval.actionName}, as an approver would answer in the AWS console` },
    h('span', { class: 'status status-wait' }, `⏸ approval${since ? ` · ${ago(since, now)}` : ''}`),
    h('button', { type: 'button', class: 'mini-btn mini-approve', 'data-testid': 'approve', onclick: answer(true) }, 'Approve'),
    h('button', { type: 'button', class: 'mini-btn mini-reject', 'data-testid': 'reject', onclick: answer(false) }, 'Reject'));
}

// ---- stacks

function stackTone(status) {
  const s = String(status ?? '');
  if (/FAILED|ROLLBACK/.test(s)) return 'bad';
  if (/IN_PROGRESS/.test(s)) return 'busy';
  if (/COMPLETE/.test(s)) return 'good';
  return 'neutral';
}

function stackBadge(status) {
  return h('span', { class: `status status-${stackTone(status)}`, 'data-testid': 'stack-status' }, status ?? '—');
}

function lastOperationCell(op, now) {
  if (!op) return '—';
  const started = toDate(op.startedAt);
  const ends = toDate(op.endsAt);
  const outcome = !op.finished ? 'running' : op.succeeded ? 'succeeded' : 'failed';
  const when = op.finished && ends ? `ended ${ago(ends, now)}` : started ? `started ${ago(started, now)}` : '';
  return h('span', { class: 'last-op', title: op.statusReason ?? '' },
    h('b', null, op.kind ?? 'operation'), ' ', h('span', { class: `op-${outcome}` }, outcome), when ? h('span', { class: 'muted' }, ` · ${when}`) : null,
    op.statusReason ? h('div', { class: 'op-reason' }, op.statusReason) : null);
}

function renderStacks(stacks, now) {
  $('count-stacks').textContent = String(stacks.length);
  $('sim-stacks').tBodies[0].replaceChildren(...(stacks.length
    ? stacks.map((s) => h('tr', { 'data-testid': 'stack-row', 'data-stack': s.name ?? '' },
      h('td', null, h('code', null, s.name ?? ''), s.family ? h('span', { class: 'family' }, s.family) : null),
      h('td', { title: s.statusReason ?? '' }, stackBadge(s.status)),
      h('td', { class: 'wrap' }, lastOperationCell(s.lastOperation, now)),
      h('td', null, h('button', {
        type: 'button',
        class: 'mini-btn mini-reject',
        'data-testid': 'fail-next-stack',
        title: 'Make the next create or update of this stack fail and roll back',
        onclick: () => simPost('/sim/fail-next-stack', { stack: s.name }, `The next operation of ${s.name} fails.`),
      }, 'Fail next op'))))
    : [emptyRow(4, 'No stacks yet: a deploy creates its lane stack.')]));
  $('stack-names').replaceChildren(...stacks.map((s) => h('option', { value: s.name })));
}

// ---- lane health: one row per lane, updated in place so that its inputs keep focus and edits

const ALARM_LABELS = { errorRate: '5xx rate', unhealthyHosts: 'unhealthy hosts', runningTasks: 'tasks < desired' };
const ALARM_TONE = { OK: 'good', ALARM: 'bad', INSUFFICIENT_DATA: 'off' };
const laneRows = new Map();

function laneKey(l) {
  return `${l.service}/${l.env}/${l.lane}`;
}

function renderLanes(lanes, now) {
  $('count-lanes').textContent = String(lanes.length);
  const alarming = lanes.some((l) => (l.alarms ?? []).some((a) => a.state === 'ALARM'));
  $('count-lanes').classList.toggle('count-alert', alarming);
  $('lane-names').replaceChildren(...[...new Set(lanes.map((l) => l.lane).filter(Boolean))].map((lane) => h('option', { value: lane })));
  const body = $('sim-lanes').tBodies[0];
  if (!lanes.length) {
    laneRows.clear();
    body.replaceChildren(emptyRow(4, 'No lanes yet: deploy one, or set a lane’s health in the form.'));
    return;
  }
  const rows = lanes.map((l) => {
    let row = laneRows.get(laneKey(l));
    if (!row) {
      row = laneRow(l);
      laneRows.set(laneKey(l), row);
    }
    updateLaneRow(row, l, now);
    return row.tr;
  });
  for (const key of [...laneRows.keys()]) if (!lanes.some((l) => laneKey(l) === key)) laneRows.delete(key);
  // Re-attach only when the rows changed: moving a row would take the focus from its inputs.
  const current = [...body.children];
  if (current.length !== rows.length || current.some((tr, i) => tr !== rows[i])) body.replaceChildren(...rows);
}

function laneRow(l) {
  const rate = h('input', { type: 'range', min: '0', max: '20', step: '0.5', 'aria-label': `5xx rate of ${l.lane} (slider)`, 'data-testid': 'lane-5xx-slider' });
  const rateNumber = h('input', { type: 'number', min: '0', max: '100', step: '0.1', class: 'num', 'aria-label': `5xx rate of ${l.lane} in percent`, 'data-testid': 'lane-5xx' });
  const unhealthy = h('input', { type: 'number', min: '0', max: '100', step: '1', class: 'num', 'aria-label': `unhealthy targets of ${l.lane}`, 'data-testid': 'lane-unhealthy' });
  const apply = h('button', { type: 'submit', class: 'mini-btn', 'data-testid': 'lane-apply' }, 'Set');
  const form = h('form', { class: 'lane-form', autocomplete: 'off' },
    h('label', { class: 'lane-field', title: 'Share of the lane’s requests answered with a 5xx (the alarm fires above 1% over 5 minutes)' }, '5xx', rate, rateNumber, '%'),
    h('label', { class: 'lane-field', title: 'Targets failing the health check (ECS keeps replacing them, so fewer tasks run)' }, 'unhealthy', unhealthy),
    apply);
  for (const input of [rate, rateNumber, unhealthy]) input.addEventListener('input', () => { input.dataset.dirty = '1'; });
  rate.addEventListener('input', () => { rateNumber.value = rate.value; rateNumber.dataset.dirty = '1'; });
  rateNumber.addEventListener('input', () => { rate.value = String(Math.min(20, Number(rateNumber.value) || 0)); });
  // Releasing the slider applies it, as the number box does with Enter or Set.
  rate.addEventListener('change', () => form.requestSubmit());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { service: l.service, env: l.env, lane: l.lane };
    if (rateNumber.dataset.dirty) body.errorRatePercent = Number(rateNumber.value);
    if (unhealthy.dataset.dirty) body.unhealthyTargets = Number(unhealthy.value);
    if (body.errorRatePercent === undefined && body.unhealthyTargets === undefined) return;
    const ok = await simPost('/sim/lane-health', body, `Lane ${l.lane} of ${l.service}/${l.env}: ${describeHealthChange(body)}.`);
    if (ok) for (const input of [rate, rateNumber, unhealthy]) delete input.dataset.dirty;
  });
  const cells = {
    lane: h('td', null),
    targets: h('td', { class: 'wrap' }),
    settings: h('td', { class: 'wrap' }, form),
    alarms: h('td', { class: 'wrap' }),
  };
  const tr = h('tr', { 'data-testid': 'lane-row', 'data-lane': laneKey(l) }, cells.lane, cells.targets, cells.settings, cells.alarms);
  return { tr, cells, inputs: { rate, rateNumber, unhealthy } };
}

function describeHealthChange(body) {
  const parts = [];
  if (body.errorRatePercent !== undefined) parts.push(`5xx rate ${body.errorRatePercent}%`);
  if (body.unhealthyTargets !== undefined) parts.push(`${body.unhealthyTargets} unhealthy target${body.unhealthyTargets === 1 ? '' : 's'}`);
  return parts.join(', ');
}

function updateLaneRow(row, l, now) {
  row.cells.lane.replaceChildren(h('b', null, l.lane ?? ''), h('span', { class: 'muted small' }, ` ${l.service}/${l.env}`),
    h('div', { title: l.stack ?? '' }, l.stackStatus ? stackBadge(l.stackStatus) : h('span', { class: 'muted small' }, 'no lane stack')));
  row.cells.targets.replaceChildren(targetSummary(l.targetHealth),
    l.stackStatus ? h('div', { class: 'muted small' }, `${l.runningTasks ?? 0}/${l.desiredTasks ?? 0} tasks running`) : null);
  row.cells.alarms.replaceChildren((l.alarms ?? []).length ? h('span', { class: 'alarms' }, ...l.alarms.map((a) => alarmBadge(a, now))) : h('span', { class: 'muted' }, '—'));
  // The server's values, unless the person is editing them.
  const { rate, rateNumber, unhealthy } = row.inputs;
  const editing = (input) => input.dataset.dirty || document.activeElement === input;
  if (!editing(rateNumber) && !editing(rate)) {
    rateNumber.value = String(l.errorRatePercent ?? 0);
    rate.value = String(Math.min(20, Number(l.errorRatePercent ?? 0)));
  }
  if (!editing(unhealthy)) unhealthy.value = String(l.unhealthyTargets ?? 0);
  row.cells.settings.classList.toggle('warn-cell', Number(l.errorRatePercent) > 1 || Number(l.unhealthyTargets) > 0);
}

function targetSummary(health) {
  if (!health) return h('span', { class: 'muted', title: 'The lane has no target group (no lane stack yet)' }, 'no target group');
  const total = (health.targets ?? []).length;
  const parts = [
    ['healthy', 'good'], ['unhealthy', 'bad'], ['initial', 'busy'], ['draining', 'off'], ['unused', 'off'], ['unavailable', 'off'],
  ].filter(([key]) => Number(health[key]) > 0).map(([key, tone]) => h('span', { class: `status status-${tone}`, 'data-testid': `targets-${key}` }, `${health[key]} ${key}`));
  const reasons = (health.targets ?? []).filter((t) => t.reason).map((t) => `${t.id}:${t.port ?? ''} ${t.state} — ${t.description ?? t.reason}`);
  return h('span', { class: 'targets', title: reasons.join('\n') }, ...(parts.length ? parts : [h('span', { class: 'muted' }, total ? '' : 'no targets')]));
}

function alarmBadge(alarm, now) {
  const since = toDate(alarm.updatedAt);
  const label = alarm.state === 'INSUFFICIENT_DATA' ? 'no data' : alarm.state;
  return h('span', {
    class: `status status-${ALARM_TONE[alarm.state] ?? 'neutral'} alarm`,
    'data-testid': `alarm-${alarm.kind}`,
    'data-state': alarm.state,
    title: `${alarm.name}\n${alarm.state}${since ? ` since ${fullTime(since)} (${ago(since, now)})` : ''}\n${alarm.reason ?? ''}`,
  }, `${ALARM_LABELS[alarm.kind] ?? alarm.name}: ${label}`);
}

/** Posts a control; resolves true when the simulator took it. */
async function simPost(path, body, okText) {
  try {
    const result = await api('POST', path, body);
    if (result && result.ok === false) {
      toast(result.error || 'the simulator refused', 'error');
      return false;
    }
    toast(okText, 'ok');
    if (simOpen()) refreshSim();
    return true;
  } catch (error) {
    toast(errorText(error, { notFound: 'not available' }), 'error');
    return false;
  }
}

function wireSim() {
  $('sim-collapse').addEventListener('click', () => setSimOpen(!simOpen()));
  $('sim-toggle').addEventListener('click', () => setSimOpen(!simOpen()));
  $('sim-refresh').addEventListener('click', () => {
    sim.unavailableToasted = false;
    refreshSim();
  });
  $('fail-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const body = { pipeline: form.get('pipeline'), stage: form.get('stage') };
    const message = String(form.get('message') ?? '').trim();
    if (message) body.message = message;
    simPost('/sim/fail-next', body, `The next run of ${body.pipeline} fails at ${body.stage}.`);
  });
  $('stack-fail-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const body = { stack: String(form.get('stack') ?? '').trim() };
    const reason = String(form.get('reason') ?? '').trim();
    if (reason) body.reason = reason;
    simPost('/sim/fail-next-stack', body, `The next operation of ${body.stack} fails.`);
  });
  $('call-fail-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const body = { service: form.get('service'), fault: form.get('fault'), count: Number(form.get('count') ?? 1) };
    const calls = body.count === 1 ? 'call' : `${body.count} calls`;
    simPost('/sim/fail-next-call', body, `The next ${calls} to ${body.service} fail: ${FAULT_LABELS[body.fault] ?? body.fault}.`);
  });
  $('health-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const [service, env] = String(form.get('binding') ?? '').split('/');
    const body = {
      service,
      env,
      lane: String(form.get('lane') ?? '').trim(),
      errorRatePercent: Number(form.get('errorRatePercent') ?? 0),
      unhealthyTargets: Number(form.get('unhealthyTargets') ?? 0),
    };
    simPost('/sim/lane-health', body, `Lane ${body.lane} of ${service}/${env}: ${describeHealthChange(body)}.`);
  });
  for (const tab of document.querySelectorAll('.sim-tab')) {
    tab.addEventListener('click', () => {
      for (const other of document.querySelectorAll('.sim-tab')) other.setAttribute('aria-selected', String(other === tab));
      for (const panel of document.querySelectorAll('[data-tabpanel]')) panel.hidden = panel.dataset.tabpanel !== tab.dataset.tab;
    });
  }
  for (const button of document.querySelectorAll('[data-advance]')) {
    button.addEventListener('click', () => {
      const body = JSON.parse(button.dataset.advance);
      simPost('/sim/advance-clock', body, `Clock moved ${button.textContent}.`);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Start

async function loadDirectory() {
  const [users, channels] = await Promise.all([api('GET', '/users'), api('GET', '/channels')]);
  state.users = Array.isArray(users) ? users : [];
  state.channels = Array.isArray(channels) ? channels : [];
  state.usersById = new Map(state.users.map((u) => [u.id, u]));
  state.channelsById = new Map(state.channels.map((c) => [c.id, c]));
}

async function start() {
  wireComposer($('composer'), $('composer-form'), 'composer-error', () => null);
  wireComposer($('thread-composer'), $('thread-form'), 'thread-error', () => state.threadTs);
  $('thread-close').addEventListener('click', closeThread);
  keepPinned($('messages'));
  keepPinned($('thread-body'));
  $('user-switcher').addEventListener('change', (event) => setUser(event.target.value));
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && state.threadTs && $('modal').hidden && document.activeElement?.id !== 'composer') closeThread();
  });
  // Permalinks and channel chips inside messages navigate in place.
  document.addEventListener('click', (event) => {
    const a = event.target instanceof Element ? event.target.closest('a[href^="#/channel/"]') : null;
    if (!a || event.defaultPrevented || event.metaKey || event.ctrlKey) return;
    event.preventDefault();
    location.hash = a.getAttribute('href');
  });
  window.addEventListener('hashchange', onHashChange);
  wireSim();

  for (let attempt = 0; ; attempt++) {
    try {
      await loadDirectory();
      break;
    } catch (error) {
      setConnection('down', 'server unreachable');
      $('message-list').replaceChildren(h('div', { class: 'empty' },
        h('div', { class: 'empty-title' }, 'Cannot reach the sandbox server'),
        h('div', null, `${errorText(error)}. Retrying…`)));
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** attempt, 10_000)));
    }
  }

  const target = parseHash();
  const storedUser = localStorage.getItem(STORAGE.user);
  const storedChannel = localStorage.getItem(STORAGE.channel);
  state.me = [target?.user, storedUser].find((id) => id && state.usersById.has(id)) ?? state.users[0]?.id ?? null;
  const firstBound = state.channels.find((c) => c.binding)?.id;
  const channel = [target?.channel, storedChannel].find((id) => id && state.channelsById.has(id)) ?? firstBound ?? state.channels[0]?.id;

  renderUsers();
  fillSimForms();
  if (localStorage.getItem(STORAGE.sim) === '1') setSimOpen(true);
  if (channel) {
    if (target?.ts && target.channel === channel) state.flashTs = target.ts;
    await selectChannel(channel, { threadTs: target?.channel === channel ? target.ts : null });
  }
  connectEvents();
}

start();
