// The messages this tab knows, per channel: loaded snapshots merged with live events.
import { api, errorText } from './api';
import { state } from './state';
import { cmpTs } from './time';
import { toast } from './toast';
import { fromServer, type ChangeKind, type PageChange, type PageMessage } from './types';
import type { ConsoleMessage } from '../slack-workspace';

export function storeFor(channel: string): Map<string, PageMessage> {
  let map = state.store.get(channel);
  if (!map) {
    map = new Map();
    state.store.set(channel, map);
  }
  return map;
}

export function isTopLevel(msg: PageMessage): boolean {
  return !msg.thread_ts || msg.thread_ts === msg.ts;
}

export function visibleToMe(msg: PageMessage): boolean {
  if (state.dismissed.has(`${msg.channel}:${msg.ts}`)) return false;
  if (!msg.ephemeral) return true;
  const to = msg.visibleTo;
  if (to === undefined || to === null) return true;
  return Array.isArray(to) ? state.me !== null && to.includes(state.me) : to === state.me;
}

export function applyEvent(kind: ChangeKind, msg: PageMessage): void {
  const map = storeFor(msg.channel);
  if (kind === 'deleted') map.delete(msg.ts);
  // Every event carries the whole message, and a field it lacks is gone (a replace_original with
  // text only drops the blocks, buttons and all): replace, never merge over the old copy.
  else map.set(msg.ts, msg);
}

export function sortedMessages(channel: string): PageMessage[] {
  return [...storeFor(channel).values()].sort((a, b) => cmpTs(a.ts, b.ts));
}

export function repliesOf(channel: string, rootTs: string): PageMessage[] {
  return sortedMessages(channel).filter((m) => m.thread_ts === rootTs && m.ts !== rootTs && visibleToMe(m));
}

/** Fetches a channel's messages as the current user sees them; true when it is the open channel and the snapshot was applied. */
export async function loadChannel(channel: string): Promise<boolean> {
  // Each load buffers the live events that arrive while it is in flight and replays them over its
  // snapshot. Loads may overlap (a reconnect during a channel switch): an older one never
  // overwrites what a newer one applied.
  const seq = ++state.channelLoadSeq;
  const buffer: PageChange[] = [];
  let buffers = state.pendingEvents.get(channel);
  if (!buffers) state.pendingEvents.set(channel, (buffers = new Set()));
  buffers.add(buffer);
  const asUser = state.me;
  try {
    const list = await api<ConsoleMessage[]>('GET', `/messages?channel=${encodeURIComponent(channel)}&user=${encodeURIComponent(asUser ?? '')}`);
    if ((state.appliedLoad.get(channel) ?? 0) > seq) return false;
    state.appliedLoad.set(channel, seq);
    const map = new Map<string, PageMessage>();
    // Keep this tab's own local notes (command acks) across refetches.
    for (const m of storeFor(channel).values()) if (m.local) map.set(m.ts, m);
    // Ephemerals come back filtered for the user asked about: remember whose they are, so that
    // switching users hides them at once.
    for (const m of Array.isArray(list) ? list.map(fromServer) : []) {
      map.set(m.ts, m.ephemeral && (m.visibleTo === undefined || m.visibleTo === null) ? { ...m, channel: m.channel ?? channel, visibleTo: asUser } : { ...m, channel: m.channel ?? channel });
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
