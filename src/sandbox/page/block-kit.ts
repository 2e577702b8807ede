// Block Kit → DOM: the blocks and elements lanebot posts (and the common ones Slack clients send),
// legacy attachments, and what a button click does. Anything else shows as "[unsupported …]".
import type {
  ActionsBlockElement,
  Button,
  ContextBlockElement,
  KnownBlock,
  MessageAttachment,
  RichTextBlock,
  RichTextBlockElement,
  RichTextElement,
  SectionBlockAccessory,
} from '@slack/web-api';
import { api, errorText, isRefusal } from './api';
import { confirmDialog } from './dialog';
import { h } from './dom';
import { EMOJI } from './emoji';
import { dateNode, emojify, link, mrkdwn, safeUrl, special } from './mrkdwn';
import { state } from './state';
import { plainText, textObject } from './text-object';
import { toast } from './toast';
import type { PageMessage } from './types';

function unsupported(kind: string, type: unknown): HTMLDivElement {
  return h('div', { class: 'bk-unsupported' }, `[unsupported ${kind}: ${typeof type === 'string' ? type : 'unknown'}]`);
}

/** The `type` of something that should be a block or element, for the unsupported note. */
function typeOf(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
}

export function renderBlocks(blocks: readonly KnownBlock[], msg: PageMessage): HTMLElement[] {
  return blocks.map((block) => {
    try {
      return renderBlock(block, msg);
    } catch (error) {
      // The page's log is the browser's console (there is no pino here); one bad block must not hide the message.
      // eslint-disable-next-line no-console
      console.warn('could not render block', block, error);
      return unsupported('block', typeOf(block));
    }
  });
}

function renderBlock(block: KnownBlock, msg: PageMessage): HTMLElement {
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
      return h('div', { class: 'bk-context' }, (block.elements ?? []).map((el) => contextElement(el)));
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
      return unsupported('block', typeOf(block));
  }
}

function contextElement(el: ContextBlockElement): HTMLElement | null {
  if (el.type === 'image') return h('span', { class: 'bk-context-img', title: el.alt_text ?? '' }, el.alt_text ? `[${el.alt_text}]` : '[image]');
  const node = textObject(el);
  if (node) node.classList.add('bk-context-item');
  return node;
}

function renderElement(el: SectionBlockAccessory | ActionsBlockElement, msg: PageMessage): HTMLElement {
  if (el?.type === 'button') return renderButton(el, msg);
  if (el?.type === 'image') return h('span', { class: 'bk-context-img' }, `[${el.alt_text || 'image'}]`);
  return unsupported('element', typeOf(el));
}

function renderButton(el: Button, msg: PageMessage): HTMLButtonElement {
  const style = el.style === 'primary' ? ' bk-btn-primary' : el.style === 'danger' ? ' bk-btn-danger' : '';
  const button = h('button', {
    type: 'button',
    class: `bk-btn${style}`,
    'data-testid': el.action_id ? `button-${el.action_id}` : null,
    'data-action-id': el.action_id ?? null,
    title: el.url ? el.url : null,
  }, emojify(plainText(el.text)), el.url ? h('span', { class: 'ext', 'aria-hidden': 'true' }, ' ↗') : null);
  button.addEventListener('click', () => void clickButton(button, el, msg));
  return button;
}

/** A click: the URL opens, the confirm dialog asks, then the console sends the bot a block_actions payload. */
async function clickButton(button: HTMLButtonElement, el: Button, msg: PageMessage): Promise<void> {
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
    const result = await api<unknown>('POST', '/actions', { user: state.me, channel: msg.channel, ts: msg.ts, actionId: el.action_id, value: el.value });
    if (isRefusal(result) && !el.url) toast(result.error || 'the action failed', 'error');
  } catch (error) {
    if (!el.url) toast(errorText(error), 'error');
  } finally {
    // The message is usually re-rendered by an `updated` event; this matters when it is not.
    button.disabled = false;
    button.classList.remove('busy');
  }
}

// rich_text blocks: what Slack clients send for typed messages; rendered in the basic form.
function renderRichText(block: RichTextBlock): HTMLDivElement {
  return h('div', { class: 'mk rich' }, (block.elements ?? []).map(richContainer));
}

function richContainer(el: RichTextBlockElement): HTMLElement {
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
      return unsupported('element', typeOf(el));
  }
}

interface RichTextStyle {
  bold?: boolean;
  italic?: boolean;
  strike?: boolean;
  code?: boolean;
}

function richInline(el: RichTextElement): Node {
  let node: Node | null;
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
    case 'date':
      node = dateNode({ epochMs: Number(el.timestamp) * 1000, format: el.format, fallback: el.fallback ?? '', ...(el.url ? { link: el.url } : {}) });
      break;
    case 'emoji':
      node = h('span', { class: 'emoji', title: `:${el.name}:` }, el.unicode
        ? String.fromCodePoint(...el.unicode.split('-').map((x) => Number.parseInt(x, 16)))
        : EMOJI[el.name] ?? `:${el.name}:`);
      break;
    default:
      return unsupported('element', typeOf(el));
  }
  const style: RichTextStyle = (el as { style?: RichTextStyle }).style ?? {};
  if (style.code) node = h('code', { class: 'mk-code' }, node);
  if (style.bold) node = h('b', null, node);
  if (style.italic) node = h('i', null, node);
  if (style.strike) node = h('s', null, node);
  // special() answers every mention token with a node; the fallback keeps the type honest.
  return node ?? document.createTextNode('');
}

const ATTACHMENT_COLORS: Readonly<Record<string, string>> = { good: '#2eb67d', danger: '#e01e5a', warning: '#ecb22e' };

/** Legacy attachments: colored bar, optional blocks/text/fields. */
export function renderAttachments(attachments: readonly MessageAttachment[], msg: PageMessage): HTMLElement[] {
  return attachments.map((att) => {
    const raw = att.color ?? '';
    const color = /^#?[0-9a-f]{3,8}$/i.test(raw) ? (raw.startsWith('#') ? raw : `#${raw}`) : ATTACHMENT_COLORS[raw] ?? '#dddddd';
    const titleHref = att.title_link ? safeUrl(att.title_link) : null;
    const body = h('div', { class: 'att-body' },
      att.pretext ? h('div', { class: 'mk' }, mrkdwn(att.pretext)) : null,
      att.title ? h('div', { class: 'att-title' }, titleHref ? link(titleHref, att.title) : att.title) : null,
      // Attachments may hold any block; the renderer checks each block's type.
      Array.isArray(att.blocks) ? renderBlocks(att.blocks as KnownBlock[], msg) : null,
      att.text ? h('div', { class: 'mk' }, mrkdwn(att.text)) : null,
      Array.isArray(att.fields) && att.fields.length > 0
        ? h('div', { class: 'bk-fields' }, att.fields.map((f) => h('div', { class: 'bk-field' }, h('b', null, f.title ?? ''), h('div', { class: 'mk' }, mrkdwn(f.value ?? '')))))
        : null,
      att.footer ? h('div', { class: 'bk-context' }, h('div', { class: 'mk' }, mrkdwn(att.footer))) : null);
    return h('div', { class: 'attachment', style: `border-left-color:${color}` }, body);
  });
}
