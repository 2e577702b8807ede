// Users as the page shows them: names, initials and avatar colors.
import { h } from './dom';
import { BOT_USER, state } from './state';
import type { PageMessage } from './types';

const AVATAR_COLORS = ['#2f7d6d', '#b4543a', '#5b5fc7', '#b0387a', '#2b7bb9', '#7a5a2b', '#4c7a2b', '#8a4fb5', '#c0392b', '#1f8a9e'] as const;

export interface AvatarInfo {
  display: string;
  initials: string;
  color: string;
}

export interface SenderInfo extends AvatarInfo {
  id: string;
  bot: boolean;
  title?: string;
}

function hashString(text: string): number {
  let hash = 0;
  for (const ch of String(text)) hash = (hash * 31 + (ch.codePointAt(0) ?? 0)) >>> 0;
  return hash;
}

export function isBot(msg: PageMessage): boolean {
  return msg.user === BOT_USER || msg.username === 'lanebot' || Boolean(msg.bot_id);
}

export function userInfo(msg: PageMessage): SenderInfo {
  if (isBot(msg)) return { id: BOT_USER, display: msg.username || 'lanebot', initials: 'lb', color: '#264a66', bot: true };
  const user = state.usersById.get(msg.user);
  const display = user?.realName || user?.name || msg.username || msg.user || 'unknown';
  return { id: msg.user, display, initials: initialsOf(user?.realName || user?.name || msg.username || msg.user || '?'), color: colorOf(msg.user), bot: false, title: user?.title };
}

export function initialsOf(name: string): string {
  const parts = String(name).trim().split(/[\s._-]+/).filter(Boolean);
  const [first, second] = parts;
  if (first === undefined) return '?';
  if (second === undefined) return first.slice(0, 2).toUpperCase();
  return ((first[0] ?? '') + (second[0] ?? '')).toUpperCase();
}

export function colorOf(id: string | null | undefined): string {
  return AVATAR_COLORS[hashString(id ?? '') % AVATAR_COLORS.length]!;
}

export function avatar(info: AvatarInfo, size = ''): HTMLSpanElement {
  return h('span', { class: `avatar ${size}`.trim(), style: `background:${info.color}`, 'aria-hidden': 'true', title: info.display }, info.initials);
}

/** The avatar of a user id (a thread's participants, a channel's members). */
export function avatarOf(id: string): AvatarInfo {
  if (id === BOT_USER) return { color: '#264a66', initials: 'lb', display: 'lanebot' };
  return { color: colorOf(id), initials: initialsOf(state.usersById.get(id)?.realName || id), display: userName(id) };
}

export function userName(id: string | null): string {
  if (id === BOT_USER) return 'lanebot';
  const user = id === null ? undefined : state.usersById.get(id);
  return user ? user.name : String(id);
}
