// Where the person is: channel, thread and user, kept in the URL hash (permalinks) and localStorage.
import { clearComposerError } from './composer';
import { byId } from './dom';
import { renderAll, renderChannel, renderThread } from './messages';
import { loadModals } from './modal-view';
import { renderChannelHeader, renderChannels, renderMe } from './sidebar';
import { syncSimDefaults } from './simulator';
import { state, STORAGE } from './state';
import { isTopLevel, loadChannel, storeFor } from './store';

export interface HashTarget {
  channel: string;
  ts: string | null;
  user: string | null;
}

export function writeLocation(): void {
  localStorage.setItem(STORAGE.user, state.me ?? '');
  localStorage.setItem(STORAGE.channel, state.channelId ?? '');
  let hash = `#/channel/${encodeURIComponent(state.channelId ?? '')}`;
  if (state.threadTs) hash += `/${encodeURIComponent(state.threadTs)}`;
  hash += `?user=${encodeURIComponent(state.me ?? '')}`;
  if (location.hash !== hash) history.replaceState(null, '', `${location.pathname}${location.search}${hash}`);
}

/** `#/channel/C[/ts][?user=U]`: what a permalink opens. */
export function parseHash(hash = location.hash): HashTarget | null {
  const m = /^#\/channel\/([^/?]+)(?:\/([^/?]+))?\/?(?:\?(.*))?$/.exec(hash);
  if (!m) return null;
  const params = new URLSearchParams(m[3] ?? '');
  return { channel: decodeURIComponent(m[1]!), ts: m[2] ? decodeURIComponent(m[2]) : null, user: params.get('user') };
}

export async function selectChannel(channelId: string, { threadTs = null, refetch = true }: { threadTs?: string | null; refetch?: boolean } = {}): Promise<void> {
  if (!state.channelsById.has(channelId)) return;
  const switching = channelId !== state.channelId;
  state.channelId = channelId;
  state.unread.delete(channelId);
  state.threadTs = threadTs;
  clearComposerError('composer-error');
  writeLocation();
  renderChannels();
  renderChannelHeader();
  if (switching) byId('message-list').replaceChildren();
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
  if (!threadTs) byId('composer').focus();
}

/** A permalink to a reply opens its root's thread and highlights the reply. */
function resolveThreadTarget(): void {
  if (!state.threadTs || state.channelId === null) return;
  const msg = storeFor(state.channelId).get(state.threadTs);
  if (msg && !isTopLevel(msg)) {
    state.flashTs = msg.ts;
    state.threadTs = msg.thread_ts ?? null;
    writeLocation();
  }
}

export function openThread(ts: string): void {
  state.threadTs = ts;
  writeLocation();
  renderThread({ toBottom: true });
  byId('thread-composer').focus();
}

export function closeThread(): void {
  state.threadTs = null;
  writeLocation();
  renderThread();
}

export function onHashChange(): void {
  const target = parseHash();
  if (!target) return;
  if (target.user && state.usersById.has(target.user) && target.user !== state.me) {
    setUser(target.user, { reload: false });
  }
  if (target.channel !== state.channelId) {
    void selectChannel(target.channel, { threadTs: target.ts });
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

export function setUser(userId: string, { reload = true }: { reload?: boolean } = {}): void {
  state.me = userId;
  byId<HTMLSelectElement>('user-switcher').value = userId;
  renderMe();
  writeLocation();
  renderAll();
  // Modals belong to a person: show the new user's.
  void loadModals();
  const channel = state.channelId;
  if (reload && channel) {
    void loadChannel(channel).then((fresh) => {
      if (fresh) {
        renderChannel();
        renderThread();
      }
    });
  }
}
