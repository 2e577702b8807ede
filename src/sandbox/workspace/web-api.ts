// The Slack Web API as the sandbox answers it: one handler per method lanebot calls (chat.*,
// conversations.*, users.info, auth.test, usergroups.*, views.open), Slack's error codes and limits, and the
// failures a test can inject (429 with Retry-After, 500). Every call is recorded in `calls`.
import type { Logger } from 'pino';
import type { SlackTeam } from '../slack-signing';
import type { WorkspaceDirectory } from './directory';
import type { MessageStore } from './message-store';
import type { ModalStore } from './modals';
import {
  booleanParam,
  checkText,
  limitParam,
  messageContent,
  optionalString,
  pageAfterCursor,
  parseBlocks,
  parseMetadata,
  requiredString,
  timeWindow,
} from './slack-params';
import {
  SlackApiError,
  type Answer,
  type ApiCall,
  type BotIdentity,
  type Channel,
  type Failure,
  type Params,
  type User,
  type UserGroup,
  type WebApiResponse,
} from './types';
import type { SlackRateLimits } from './slack-rate-limits';

const HISTORY_LIMIT = { default: 100, max: 999 };
const REPLIES_LIMIT = { default: 1000, max: 1000 };

export interface WebApiDeps {
  directory: WorkspaceDirectory;
  store: MessageStore;
  /** Trigger ids and open modals (views.open). */
  modals: ModalStore;
  bot: BotIdentity;
  team: SlackTeam;
  consoleUrl: () => string;
  /** Where a message is shown in the console (chat.getPermalink). */
  permalink: (channel: string, ts: string) => string;
  /** Channels named by the bot that do not exist are created (the tests' stub), through this. */
  autoCreateChannel?: (id: string) => Channel;
  /** The bot's direct message channel with a user (chat.postMessage to a user id opens it). */
  openDm: (user: User) => Channel;
  logger?: Logger;
}

export class WebApi {
  /** Every Web API call, in order, with the HTTP status it got. */
  readonly calls: ApiCall[] = [];
  private readonly failures: Failure[] = [];
  /** Scopes the app was not granted (e.g. channels:history): the methods needing them answer missing_scope. */
  private readonly missingScopes = new Set<string>();
  private readonly directory: WorkspaceDirectory;
  private readonly store: MessageStore;
  private readonly bot: BotIdentity;
  /** Slack's limits, when enforced (429 with Retry-After beyond them); none by default. */
  private rateLimits?: SlackRateLimits;

  constructor(private readonly deps: WebApiDeps) {
    this.directory = deps.directory;
    this.store = deps.store;
    this.bot = deps.bot;
  }

  /** The next Web API calls fail like this, in order. */
  failNext(...failures: Failure[]): void {
    this.failures.push(...failures);
  }

  /** Enforces Slack's rate limits from now on (undefined: none, the default). */
  enforceRateLimits(limits: SlackRateLimits | undefined): void {
    this.rateLimits = limits;
  }

  /** Takes a scope from the app (`granted` false) or gives it back. */
  setScope(scope: string, granted: boolean): void {
    if (granted) this.missingScopes.delete(scope);
    else this.missingScopes.add(scope);
  }

  /** One Slack Web API call (`method` as in the URL, e.g. chat.postMessage) with its parameters. */
  handle(method: string, params: Params): WebApiResponse {
    // The first failure meant for this call: any method, or this one.
    const index = this.failures.findIndex((f) => f.method === undefined || f.method === method);
    const failure = index >= 0 ? this.failures.splice(index, 1)[0] : undefined;
    if (failure) {
      this.calls.push({ method, body: params, status: failure.status });
      this.deps.logger?.debug({ method, status: failure.status }, 'injected Slack failure');
      // Slack did the work, then the answer was lost: the caller cannot tell whether it happened.
      if (failure.status === 500 && failure.afterApplying) this.answer(method, params);
      if (failure.status === 429) {
        return { status: 429, headers: { 'retry-after': String(failure.retryAfterSeconds) }, body: { ok: false, error: 'ratelimited' } };
      }
      return { status: 500, headers: { 'content-type': 'text/plain' }, body: 'internal error' };
    }
    const limited = this.rateLimits?.take(method, params);
    if (limited) {
      this.calls.push({ method, body: params, status: 429 });
      return { status: 429, headers: { 'retry-after': String(limited.retryAfterSeconds) }, body: { ok: false, error: 'ratelimited' } };
    }
    this.calls.push({ method, body: params, status: 200 });
    const body = this.answer(method, params);
    if (body.ok === false) this.deps.logger?.debug({ method, error: body.error }, 'Slack Web API call refused');
    return { status: 200, headers: {}, body };
  }

  private answer(method: string, params: Params): Answer {
    const handler = this.methods[method];
    if (!handler) return { ok: false, error: 'unknown_method', req_method: method };
    try {
      return handler(params);
    } catch (error) {
      if (error instanceof SlackApiError) {
        return { ok: false, error: error.code, ...(error.detail ? { response_metadata: { messages: [`[ERROR] ${error.detail}`] } } : {}) };
      }
      throw error;
    }
  }

  private readonly methods: Record<string, (params: Params) => Answer> = {
    'auth.test': () => ({
      ok: true,
      url: `${this.deps.consoleUrl()}/`,
      team: this.deps.team.domain,
      user: this.bot.name,
      team_id: this.deps.team.id,
      user_id: this.bot.userId,
      bot_id: this.bot.botId,
      is_enterprise_install: false,
    }),
    'chat.postMessage': (p) => this.chatPostMessage(p),
    'chat.update': (p) => this.chatUpdate(p),
    'chat.delete': (p) => this.chatDelete(p),
    'chat.postEphemeral': (p) => this.chatPostEphemeral(p),
    'chat.getPermalink': (p) => this.chatGetPermalink(p),
    'conversations.history': (p) => this.conversationsHistory(p),
    'conversations.replies': (p) => this.conversationsReplies(p),
    'conversations.info': (p) => ({ ok: true, channel: this.channelInfo(this.channelParam(p)) }),
    'users.info': (p) => ({ ok: true, user: this.userInfo(this.userParam(p)) }),
    'usergroups.list': (p) => this.usergroupsList(p),
    'usergroups.users.list': (p) => this.usergroupsUsersList(p),
    'views.open': (p) => this.deps.modals.open(p),
  };

  private chatPostMessage(p: Params): Answer {
    const channel = this.channelParam(p, { dm: true });
    this.requireBotMember(channel);
    const { text, blocks } = messageContent(p);
    const metadata = parseMetadata(p.metadata);
    const threadParam = optionalString(p.thread_ts);
    // A reply to a reply lands in the same thread, as in Slack; an unknown parent is kept as given.
    const threadTs = threadParam ? (this.store.threadRootTs(channel.id, threadParam) ?? threadParam) : undefined;
    // reply_broadcast shows a reply in the channel too; Slack ignores it outside a thread.
    const broadcast = threadTs !== undefined && booleanParam(p.reply_broadcast) ? true : undefined;
    const message = this.store.append({ channel: channel.id, user: this.bot.userId, text, blocks, metadata, thread_ts: threadTs, broadcast, edits: 0 });
    return { ok: true, channel: channel.id, ts: message.ts, message: this.store.toApiMessage(message, true) };
  }

  private chatUpdate(p: Params): Answer {
    const channel = this.channelParam(p);
    this.requireBotMember(channel);
    const ts = requiredString(p, 'ts');
    const message = this.store.message(channel.id, ts);
    if (!message || message.ephemeralFor) throw new SlackApiError('message_not_found');
    if (message.user !== this.bot.userId) throw new SlackApiError('cant_update_message');
    const hasText = typeof p.text === 'string';
    const blocks = parseBlocks(p.blocks);
    if (!hasText && p.blocks === undefined) throw new SlackApiError('no_text');
    if (hasText) message.text = checkText(String(p.text));
    // Blocks not sent with a new text are dropped, as the old blocks would contradict the text.
    if (p.blocks !== undefined || hasText) message.blocks = blocks?.length ? blocks : undefined;
    if (p.metadata !== undefined) message.metadata = parseMetadata(p.metadata);
    this.store.markEdited(message, this.bot.userId);
    return { ok: true, channel: channel.id, ts, text: message.text, message: this.store.toApiMessage(message, true) };
  }

  private chatDelete(p: Params): Answer {
    const channel = this.channelParam(p);
    const ts = requiredString(p, 'ts');
    const message = this.store.message(channel.id, ts);
    if (!message || message.ephemeralFor) throw new SlackApiError('message_not_found');
    if (message.user !== this.bot.userId) throw new SlackApiError('cant_delete_message');
    this.store.remove(message);
    return { ok: true, channel: channel.id, ts };
  }

  private chatPostEphemeral(p: Params): Answer {
    const channel = this.channelParam(p);
    const user = this.directory.user(requiredString(p, 'user'));
    if (!user) throw new SlackApiError('user_not_found');
    if (!channel.members.includes(user.id)) throw new SlackApiError('user_not_in_channel');
    const { text, blocks } = messageContent(p);
    const threadParam = optionalString(p.thread_ts);
    const threadTs = threadParam ? (this.store.threadRootTs(channel.id, threadParam) ?? threadParam) : undefined;
    const message = this.store.append({ channel: channel.id, user: this.bot.userId, text, blocks, thread_ts: threadTs, edits: 0, ephemeralFor: user.id });
    return { ok: true, message_ts: message.ts };
  }

  private chatGetPermalink(p: Params): Answer {
    const channel = this.channelParam(p);
    const ts = requiredString(p, 'message_ts');
    const message = this.store.message(channel.id, ts);
    if (!message || message.ephemeralFor) throw new SlackApiError('message_not_found');
    return { ok: true, channel: channel.id, permalink: this.deps.permalink(channel.id, ts) };
  }

  private conversationsHistory(p: Params): Answer {
    const channel = this.channelParam(p);
    this.requireHistory(channel);
    const window = timeWindow(p);
    const limit = limitParam(p, HISTORY_LIMIT);
    const withMetadata = booleanParam(p.include_all_metadata);
    // Newest first, as Slack pages history backwards in time. Replies broadcast to the channel are
    // part of its history, as in Slack (subtype thread_broadcast).
    const candidates = this.store.channelMessages(channel.id)
      .filter((m) => !m.ephemeralFor && (!m.thread_ts || m.broadcast) && window.includes(m.ts))
      .reverse();
    const page = pageAfterCursor(candidates, p.cursor, limit);
    return {
      ok: true,
      messages: page.items.map((m) => this.store.toApiMessage(m, withMetadata)),
      has_more: page.hasMore,
      pin_count: 0,
      response_metadata: { next_cursor: page.nextCursor },
    };
  }

  private conversationsReplies(p: Params): Answer {
    const channel = this.channelParam(p);
    this.requireHistory(channel);
    const ts = requiredString(p, 'ts');
    const rootTs = this.store.threadRootTs(channel.id, ts);
    const root = rootTs ? this.store.message(channel.id, rootTs) : undefined;
    if (!root) throw new SlackApiError('thread_not_found');
    const window = timeWindow(p);
    const limit = limitParam(p, REPLIES_LIMIT);
    const withMetadata = booleanParam(p.include_all_metadata);
    const replies = this.store.channelMessages(channel.id).filter((m) => !m.ephemeralFor && m.thread_ts === root.ts && window.includes(m.ts));
    // The parent comes first whatever the window, as Slack does.
    const page = pageAfterCursor([root, ...replies], p.cursor, limit);
    return {
      ok: true,
      messages: page.items.map((m) => this.store.toApiMessage(m, withMetadata)),
      has_more: page.hasMore,
      response_metadata: { next_cursor: page.nextCursor },
    };
  }

  private channelInfo(channel: Channel): Answer {
    return {
      id: channel.id,
      name: channel.name,
      is_channel: !channel.im,
      is_im: channel.im,
      is_private: channel.im,
      is_archived: false,
      is_member: channel.botMember,
      num_members: channel.members.length,
      topic: { value: channel.binding ? `${channel.binding.service}/${channel.binding.env}` : '' },
    };
  }

  private userInfo(user: User): Answer {
    return {
      id: user.id,
      team_id: this.deps.team.id,
      name: user.name,
      real_name: user.realName,
      is_bot: user.isBot,
      deleted: false,
      profile: { real_name: user.realName, display_name: user.name, title: user.title },
    };
  }

  // ---- parameters ---------------------------------------------------------------------------------

  /** Slack refuses a bot's posts and edits in a channel it is not a member of. */
  private requireBotMember(channel: Channel): void {
    if (!channel.botMember) throw new SlackApiError('not_in_channel');
  }

  /** Reading a channel's messages needs the history scope and, for a bot, membership. */
  private requireHistory(channel: Channel): void {
    if (this.missingScopes.has(channel.im ? 'im:history' : 'channels:history')) throw new SlackApiError('missing_scope');
    if (!channel.botMember) throw new SlackApiError('not_in_channel');
  }

  /**
   * The channel a call names, by id or by #name; unknown ones fail as in Slack (or appear, see
   * autoCreateChannels). With `dm`, a user id names the bot's direct message channel with that user.
   */
  private channelParam(p: Params, options: { dm?: boolean } = {}): Channel {
    const value = optionalString(p.channel);
    if (!value) throw new SlackApiError('channel_not_found');
    if (options.dm && /^[UW][A-Z0-9]+$/.test(value)) {
      const user = this.directory.user(value);
      if (!user || user.isBot) throw new SlackApiError('channel_not_found');
      return this.deps.openDm(user);
    }
    const found = this.directory.channel(value) ?? [...this.directory.allChannels()].find((c) => c.name === value.replace(/^#/, ''));
    if (found) return found;
    if (this.deps.autoCreateChannel && /^[CDG][A-Z0-9]+$/.test(value)) return this.deps.autoCreateChannel(value);
    throw new SlackApiError('channel_not_found');
  }

  private userParam(p: Params): User {
    const user = this.directory.user(optionalString(p.user) ?? '');
    if (!user) throw new SlackApiError('user_not_found');
    return user;
  }

  // ---- user groups --------------------------------------------------------------------------------

  private usergroupsList(p: Params): Answer {
    const withUsers = booleanParam(p.include_users);
    const withCount = booleanParam(p.include_count);
    return { ok: true, usergroups: this.directory.listUserGroups().map((g) => this.userGroupInfo(g, { withUsers, withCount })) };
  }

  private usergroupsUsersList(p: Params): Answer {
    const group = this.directory.userGroup(requiredString(p, 'usergroup'));
    if (!group) throw new SlackApiError('no_such_subteam');
    return { ok: true, users: [...group.users] };
  }

  private userGroupInfo(group: UserGroup, options: { withUsers: boolean; withCount: boolean }): Answer {
    return {
      id: group.id,
      team_id: this.deps.team.id,
      is_usergroup: true,
      is_subteam: true,
      name: group.name,
      description: group.description,
      handle: group.handle,
      is_external: false,
      date_create: group.dateCreate,
      date_update: group.dateUpdate,
      date_delete: 0,
      auto_type: null,
      created_by: this.bot.userId,
      updated_by: this.bot.userId,
      deleted_by: null,
      prefs: { channels: [], groups: [] },
      ...(options.withUsers ? { users: [...group.users] } : {}),
      ...(options.withCount ? { user_count: group.users.length } : {}),
    };
  }
}
