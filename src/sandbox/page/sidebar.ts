// The sidebar (who is typing, the channels) and the channel header.
import { byId, h } from './dom';
import { avatar, colorOf, initialsOf, userName } from './people';
import { state } from './state';
import { requestChannel } from './view-requests';

export function renderUsers(): void {
  const select = byId<HTMLSelectElement>('user-switcher');
  select.replaceChildren(...state.users.map((u) => h('option', { value: u.id }, `${u.name}${u.title ? ` — ${u.title}` : ''}`)));
  select.value = state.me ?? '';
  renderMe();
}

export function renderMe(): void {
  const user = state.me === null ? undefined : state.usersById.get(state.me);
  const el = byId('me-avatar');
  el.textContent = initialsOf(user?.realName || user?.name || '?');
  el.style.background = colorOf(state.me);
  el.title = user?.realName ?? '';
}

export function renderChannels(): void {
  byId('channel-list').replaceChildren(...state.channels.map((ch) => {
    const unread = state.unread.get(ch.id) ?? 0;
    const member = !Array.isArray(ch.members) || (state.me !== null && ch.members.includes(state.me));
    return h('li', null, h('a', {
      href: `#/channel/${encodeURIComponent(ch.id)}`,
      class: `channel${ch.id === state.channelId ? ' active' : ''}${unread ? ' unread' : ''}${member ? '' : ' not-member'}`,
      'data-testid': `channel-${ch.id}`,
      'aria-current': ch.id === state.channelId ? 'page' : null,
      title: member ? null : `${userName(state.me)} is not a member of #${ch.name}`,
      onclick: (event) => {
        event.preventDefault();
        requestChannel(ch.id);
      },
    },
    h('span', { class: 'hash', 'aria-hidden': 'true' }, '#'),
    h('span', { class: 'channel-text' },
      h('span', { class: 'channel-name' }, ch.name),
      ch.binding ? h('span', { class: 'channel-binding' }, `${ch.binding.service}/${ch.binding.env}`) : null),
    unread ? h('span', { class: 'badge' }, String(unread)) : null));
  }));
}

export function renderChannelHeader(): void {
  const ch = state.channelId === null ? undefined : state.channelsById.get(state.channelId);
  byId('ch-name').textContent = ch ? `# ${ch.name}` : '';
  const binding = byId('ch-binding');
  if (ch?.binding) {
    binding.replaceChildren(h('span', { class: 'pill' }, `${ch.binding.service}`, h('span', { class: 'pill-sep' }, ' / '), `${ch.binding.env}`));
    binding.title = `/lane commands here act on ${ch.binding.service}/${ch.binding.env}`;
  } else {
    binding.replaceChildren(h('span', { class: 'muted small' }, 'not bound to a service'));
    binding.title = '';
  }
  const members = Array.isArray(ch?.members) ? ch.members : [];
  byId('ch-members').replaceChildren(
    h('span', { class: 'stack' }, members.slice(0, 4).map((id) => avatar({ color: colorOf(id), initials: initialsOf(state.usersById.get(id)?.realName || id), display: userName(id) }, 'avatar-xs'))),
    members.length ? `${members.length} member${members.length === 1 ? '' : 's'}` : '');
  document.title = ch ? `#${ch.name} · lanebot sandbox` : 'lanebot sandbox';
}
