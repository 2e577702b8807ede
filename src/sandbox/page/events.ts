// Live message and modal changes from GET /sandbox/events (Server-Sent Events), with reconnects.
import { byId } from './dom';
import { renderChannel, renderThread, rerender } from './messages';
import { loadModals, onModalEvent } from './modal-view';
import { renderChannels } from './sidebar';
import { API, state } from './state';
import { applyEvent, isTopLevel, loadChannel, storeFor, visibleToMe } from './store';
import type { PageChange, PageMessage } from './types';

const KINDS: ReadonlySet<string> = new Set(['posted', 'updated', 'deleted']);

function onServerEvent(payload: unknown): void {
  const { kind, message: msg } = (payload ?? {}) as Partial<PageChange>;
  if (!msg || !msg.channel || !msg.ts || !kind || !KINDS.has(kind)) return;
  const stamped: PageMessage = { ...msg, receivedAt: Date.now() };
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

export function setConnection(status: 'connecting' | 'live' | 'down', label: string): void {
  const el = byId('conn');
  el.dataset.state = status;
  const text = el.querySelector('.conn-label');
  if (text) text.textContent = label;
}

export function connectEvents(): void {
  let retryMs = 1000;
  const open = (): void => {
    const source = new EventSource(`${API}/events`);
    source.addEventListener('open', () => {
      retryMs = 1000;
      setConnection('live', 'live');
      // Anything missed while disconnected (or before the first connect) comes back with a refetch.
      void loadModals();
      const channel = state.channelId;
      if (channel) {
        void loadChannel(channel).then((fresh) => {
          if (fresh) {
            renderChannel();
            renderThread();
          }
        });
      }
    });
    source.addEventListener('message', (event) => {
      try {
        onServerEvent(JSON.parse(event.data as string));
      } catch (error) {
        // The page's log is the browser's console (there is no pino here).
        // eslint-disable-next-line no-console
        console.warn('bad event from the sandbox server', event.data, error);
      }
    });
    source.addEventListener('modal', (event) => {
      try {
        onModalEvent(JSON.parse((event as MessageEvent<string>).data));
      } catch (error) {
        // eslint-disable-next-line no-console
        console.warn('bad modal event from the sandbox server', (event as MessageEvent<string>).data, error);
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
