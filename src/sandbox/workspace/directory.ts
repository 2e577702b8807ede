// Who and where: the workspace's users (people, the bot, Slackbot), its channels with their
// members, and its user groups. The console changes them; the Web API reads them.
import {
  WorkspaceError,
  type BotIdentity,
  type Channel,
  type User,
  type UserGroup,
  type UserGroupChange,
  type WorkspaceChannelData,
  type WorkspaceUserData,
  type WorkspaceUserGroupData,
} from './types';

export const SLACKBOT: User = { id: 'USLACKBOT', name: 'slackbot', realName: 'Slackbot', title: '', isBot: true };

const USER_GROUP_ID = /^S[A-Z0-9]{2,}$/;

export class WorkspaceDirectory {
  private readonly users = new Map<string, User>();
  private readonly channels = new Map<string, Channel>();
  private readonly userGroups = new Map<string, UserGroup>();

  constructor(
    bot: BotIdentity,
    /** Slack's clock in epoch seconds, for user groups' date_create/date_update. */
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    this.users.set(bot.userId, { id: bot.userId, name: bot.name, realName: bot.name, title: 'bot', isBot: true });
    this.users.set(SLACKBOT.id, SLACKBOT);
  }

  // ---- users and channels -------------------------------------------------------------------------

  addUser(data: WorkspaceUserData): User {
    if (!data.id || !data.name) throw new Error('a workspace user needs an id and a name');
    const user: User = { id: data.id, name: data.name, realName: data.realName ?? data.name, title: data.title ?? '', isBot: false };
    this.users.set(user.id, user);
    return user;
  }

  addChannel(data: WorkspaceChannelData): Channel {
    if (!data.id || !data.name) throw new Error('a workspace channel needs an id and a name');
    const members = data.members ?? this.humans().map((u) => u.id);
    const unknown = members.filter((id) => !this.users.has(id));
    if (unknown.length > 0) throw new Error(`channel ${data.id} lists unknown members: ${unknown.join(', ')}`);
    const channel: Channel = {
      id: data.id,
      name: data.name.replace(/^#/, ''),
      binding: data.binding ?? null,
      members: [...members],
      botMember: data.bot ?? true,
      im: data.im ?? false,
    };
    this.channels.set(channel.id, channel);
    return channel;
  }

  /** Adds the bot to a channel or removes it; undefined when nothing changed. */
  setBotMember(channelId: string, member: boolean): Channel | undefined {
    const channel = this.channels.get(channelId);
    if (!channel) throw new WorkspaceError(404, `no channel with id ${channelId}`);
    if (channel.im) throw new WorkspaceError(400, `${channelId} is a direct message channel; the bot is always in it`);
    if (channel.botMember === member) return undefined;
    channel.botMember = member;
    return channel;
  }

  /** The people of the workspace (not the bot, not Slackbot). */
  humans(): User[] {
    return [...this.users.values()].filter((u) => !u.isBot);
  }

  listChannels(): Channel[] {
    return [...this.channels.values()].map((c) => ({ ...c, members: [...c.members] }));
  }

  allChannels(): Iterable<Channel> {
    return this.channels.values();
  }

  user(id: string): User | undefined {
    return this.users.get(id);
  }

  channel(id: string): Channel | undefined {
    return this.channels.get(id);
  }

  /** Checks that `user` may act in `channel` (both exist, the user is a member) and returns them. */
  requireMember(userId: string, channelId: string): { user: User; channel: Channel } {
    const user = this.users.get(userId);
    if (!user || user.isBot) throw new WorkspaceError(404, `no user with id ${userId}`);
    const channel = this.channels.get(channelId);
    if (!channel) throw new WorkspaceError(404, `no channel with id ${channelId}`);
    if (!channel.members.includes(user.id)) throw new WorkspaceError(403, `${user.name} (${user.id}) is not a member of #${channel.name}`);
    return { user, channel };
  }

  // ---- user groups ----------------------------------------------------------------------------------

  addUserGroup(data: WorkspaceUserGroupData): UserGroup {
    if (!USER_GROUP_ID.test(data.id)) throw new Error(`a user group id looks like S0PRODAPPROVERS, not ${JSON.stringify(data.id)}`);
    if (!data.handle) throw new Error(`user group ${data.id} needs a handle`);
    const users = this.checkMembers(data.users ?? [], (unknown) => new Error(`user group ${data.id} lists unknown users: ${unknown.join(', ')}`));
    const now = this.nowSeconds();
    const group: UserGroup = {
      id: data.id,
      handle: data.handle,
      name: data.name ?? data.handle,
      description: data.description ?? '',
      users,
      dateCreate: now,
      dateUpdate: now,
    };
    this.userGroups.set(group.id, group);
    return group;
  }

  listUserGroups(): UserGroup[] {
    return [...this.userGroups.values()].map((g) => ({ ...g, users: [...g.users] }));
  }

  userGroup(id: string): UserGroup | undefined {
    return this.userGroups.get(id);
  }

  /** Sets a group's members (as an admin does in Slack) and says who was added and removed. */
  setUserGroupMembers(id: string, users: readonly string[]): UserGroupChange {
    const group = this.userGroups.get(id);
    if (!group) throw new WorkspaceError(404, `no user group with id ${id}`);
    const next = this.checkMembers(users, (unknown) => new WorkspaceError(400, `not users of the workspace: ${unknown.join(', ')}`));
    const added = next.filter((u) => !group.users.includes(u));
    const removed = group.users.filter((u) => !next.includes(u));
    const datePreviousUpdate = group.dateUpdate;
    group.users = next;
    // Slack's dates are in seconds; keep date_update moving even for two changes in one second.
    group.dateUpdate = Math.max(this.nowSeconds(), datePreviousUpdate + 1);
    return { group: { ...group, users: [...group.users] }, added, removed, datePreviousUpdate };
  }

  /** Known human users, each once, in the order given. */
  private checkMembers(users: readonly string[], fail: (unknown: string[]) => Error): string[] {
    const unique = [...new Set(users)];
    const unknown = unique.filter((id) => this.users.get(id)?.isBot !== false);
    if (unknown.length > 0) throw fail(unknown);
    return unique;
  }
}
