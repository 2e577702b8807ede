// Block Kit text objects (`plain_text`, `mrkdwn`) → DOM and plain strings: what the blocks and the
// confirm dialog both show, kept apart from block-kit.ts so the dialog needs nothing from it.
import type { MrkdwnElement, PlainTextElement } from '@slack/web-api';
import { h } from './dom';
import { emojify, mrkdwn } from './mrkdwn';

export type TextObject = PlainTextElement | MrkdwnElement;

export function textObject(obj: TextObject | string | null | undefined, extraClass = ''): HTMLDivElement | null {
  if (obj === undefined || obj === null) return null;
  if (typeof obj === 'string') return h('div', { class: `mk ${extraClass}`.trim() }, mrkdwn(obj));
  if (obj.type === 'mrkdwn') return h('div', { class: `mk ${extraClass}`.trim() }, mrkdwn(obj.text));
  return h('div', { class: `plain ${extraClass}`.trim() }, obj.emoji === false ? String(obj.text ?? '') : emojify(String(obj.text ?? '')));
}

export function plainText(obj: TextObject | string | null | undefined): string {
  if (!obj) return '';
  return typeof obj === 'string' ? obj : String(obj.text ?? '');
}
