// The sandbox console: a small Slack look-alike in which a newcomer drives lanebot the way a team
// does in Slack. Bundled by esbuild (src/sandbox/page-bundle.ts) into the /app.js that index.html
// loads; no dependencies at run time, no network beyond this origin.
import { api, errorText } from './api';
import { wireComposer } from './composer';
import { byId, h } from './dom';
import { connectEvents, setConnection } from './events';
import { keepPinned } from './messages';
import { closeThread, onHashChange, openThread, parseHash, selectChannel, setUser } from './navigation';
import { renderUsers } from './sidebar';
import { fillSimForms, setSimOpen, wireSim } from './simulator';
import { state, STORAGE } from './state';
import type { Channel, ConsoleUser } from './types';
import { handleViewRequests } from './view-requests';

async function loadDirectory(): Promise<void> {
  const [users, channels] = await Promise.all([api<ConsoleUser[]>('GET', '/users'), api<Channel[]>('GET', '/channels')]);
  state.users = Array.isArray(users) ? users : [];
  state.channels = Array.isArray(channels) ? channels : [];
  state.usersById = new Map(state.users.map((u) => [u.id, u]));
  state.channelsById = new Map(state.channels.map((c) => [c.id, c]));
}

async function start(): Promise<void> {
  // The one place the views learn what their clicks do (they cannot import navigation, which renders them).
  handleViewRequests({ openThread, selectChannel: (channelId) => void selectChannel(channelId) });
  wireComposer(byId<HTMLTextAreaElement>('composer'), byId<HTMLFormElement>('composer-form'), 'composer-error', () => null);
  wireComposer(byId<HTMLTextAreaElement>('thread-composer'), byId<HTMLFormElement>('thread-form'), 'thread-error', () => state.threadTs);
  byId('thread-close').addEventListener('click', closeThread);
  keepPinned(byId('messages'));
  keepPinned(byId('thread-body'));
  byId<HTMLSelectElement>('user-switcher').addEventListener('change', (event) => setUser((event.target as HTMLSelectElement).value));
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && state.threadTs && byId('modal').hidden && byId('view-modal').hidden && document.activeElement?.id !== 'composer') closeThread();
  });
  // Permalinks and channel chips inside messages navigate in place.
  document.addEventListener('click', (event) => {
    const a = event.target instanceof Element ? event.target.closest('a[href^="#/channel/"]') : null;
    if (!a || event.defaultPrevented || event.metaKey || event.ctrlKey) return;
    event.preventDefault();
    location.hash = a.getAttribute('href') ?? '';
  });
  window.addEventListener('hashchange', onHashChange);
  wireSim();

  for (let attempt = 0; ; attempt++) {
    try {
      await loadDirectory();
      break;
    } catch (error) {
      setConnection('down', 'server unreachable');
      byId('message-list').replaceChildren(h('div', { class: 'empty' },
        h('div', { class: 'empty-title' }, 'Cannot reach the sandbox server'),
        h('div', null, `${errorText(error)}. Retrying…`)));
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** attempt, 10_000)));
    }
  }

  const target = parseHash();
  const storedUser = localStorage.getItem(STORAGE.user);
  const storedChannel = localStorage.getItem(STORAGE.channel);
  state.me = [target?.user, storedUser].find((id): id is string => Boolean(id) && state.usersById.has(id!)) ?? state.users[0]?.id ?? null;
  const firstBound = state.channels.find((c) => c.binding)?.id;
  const channel = [target?.channel, storedChannel].find((id): id is string => Boolean(id) && state.channelsById.has(id!)) ?? firstBound ?? state.channels[0]?.id;

  renderUsers();
  fillSimForms();
  if (localStorage.getItem(STORAGE.sim) === '1') setSimOpen(true);
  if (channel) {
    if (target?.ts && target.channel === channel) state.flashTs = target.ts;
    await selectChannel(channel, { threadTs: target?.channel === channel ? target.ts : null });
  }
  connectEvents();
}

void start();
