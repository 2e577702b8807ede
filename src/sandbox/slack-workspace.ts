// An in-memory Slack workspace: users, channels, messages (threads, edits, ephemerals) and the
// Slack Web API methods lanebot calls, with Slack's semantics and error codes. The sandbox console
// serves it to the bot (SLACK_API_URL) and to the web page; the integration tests' Slack stub is a
// thin view over it, so there is one Slack stand-in, not two.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { DEFAULT_TEAM, type SlackTeam } from './slack-signing';

export interface ChannelBinding {
  service: string;
  env: string;
}

export interface WorkspaceUserData {
  id: string;
  /** The handle (Slack's `name`, shown as @name). */
  name: string;
  realName?: string;
  title?: string;
}

export interface WorkspaceChannelData {
  id: string;
  name: string;
  /** The lanebot.yml binding of the channel, shown by the console; Slack itself knows nothing of it. */
  binding?: ChannelBinding | null;
  /** User ids; all users of the workspace when left out. The bot is in every channel. */
  members?: string[];
}

export interface BotIdentity {
  userId: string;
  botId: string;
  appId: string;
  name: string;
}

export interface SlackWorkspaceOptions {
  users: WorkspaceUserData[];
  channels: WorkspaceChannelData[];
  /** Base URL of the console, for permalinks and response_urls; when left out, the console server sets it when it listens. */
  consoleUrl?: string;
  bot?: Partial<BotIdentity>;
  team?: SlackTeam;
  /**
   * Channels the bot names that are not in `channels` come into being on first use instead of
   * failing with channel_not_found. The tests' stub uses it: it accepts any channel, as it always has.
   */
  autoCreateChannels?: boolean;
  logger?: Logger;
}

export interface User {
  id: string;
  name: string;
  realName: string;
  title: string;
  isBot: boolean;
}

export interface Channel {
  id: string;
  name: string;
  binding: ChannelBinding | null;
  members: string[];
}

export interface MessageMetadata {
  event_type: string;
  event_payload: Record<string, unknown>;
}

export interface WorkspaceMessage {
  channel: string;
  ts: string;
  /** Set on thread replies only (the root's ts); a root keeps none even when it has replies. */
  thread_ts?: string;
  user: string;
  text: string;
  blocks?: unknown[];
  metadata?: MessageMetadata;
  edited?: { user: string; ts: string };
  /** How many times the message was edited (chat.update, replace_original). */
  edits: number;
  /** The only user who sees this ephemeral message; unset for normal messages. */
  ephemeralFor?: string;
}

/** A message as the console API and its events show it. */
export interface ConsoleMessage {
  channel: string;
  ts: string;
  /** Thread replies only: the root's ts. */
  thread_ts?: string;
  user: string;
  username: string;
  isBot: boolean;
  text: string;
  blocks?: unknown[];
  metadata?: MessageMetadata;
  edited: boolean;
  edits: number;
  ephemeral: boolean;
  /** Ephemeral messages only: the one user who sees it. */
  visibleTo?: string;
  /** Roots with replies: how many. */
  reply_count?: number;
}

export type ChangeKind = 'posted' | 'updated' | 'deleted';

export interface MessageChange {
  kind: ChangeKind;
  message: ConsoleMessage;
}

export interface WorkspaceEvents {
  change: [MessageChange];
}

export type Failure = { status: 429; retryAfterSeconds: number } | { status: 500 };

export interface ApiCall {
  method: string;
  body: Record<string, unknown>;
  status: number;
}

export interface ResponseUrlBody {
  text?: string;
  response_type?: string;
  [key: string]: unknown;
}

export interface ResponseUrlPost {
  id: string;
  body: ResponseUrlBody;
}

/** Where a response_url's answers go: the user, channel and (for actions) message it came from. */
export interface ResponseContext {
  user: string;
  channel: string;
  /** Set when the command or button was in a thread. */
  threadTs?: string;
  /** Actions only: the message holding the button, for replace_original / delete_original. */
  messageTs?: string;
}

export interface WebApiResponse {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown> | string;
}

/** A console request that cannot be carried out; `status` is the HTTP status to answer with. */
export class WorkspaceError extends Error {
  constructor(readonly status: 400 | 403 | 404, message: string) {
    super(message);
    this.name = 'WorkspaceError';
  }
}

/** Slack refuses the Web API call with this error code. */
class SlackApiError extends Error {
  constructor(readonly code: string, readonly detail?: string) {
    super(code);
    this.name = 'SlackApiError';
  }
}

type Params = Record<string, unknown>;
type Answer = Record<string, unknown>;

const DEFAULT_BOT: BotIdentity = { userId: 'UBOT', botId: 'BBOT', appId: 'A1', name: 'lanebot' };
const SLACKBOT: User = { id: 'USLACKBOT', name: 'slackbot', realName: 'Slackbot', title: '', isBot: true };
/** Slack's limits that lanebot's messages could run into. */
const MAX_TEXT_LENGTH = 40_000;
const MAX_BLOCKS = 50;
const HISTORY_LIMIT = { default: 100, max: 999 };
const REPLIES_LIMIT = { default: 1000, max: 1000 };

export class SlackWorkspace extends EventEmitter<WorkspaceEvents> {
  readonly bot: BotIdentity;
  readonly team: SlackTeam;
  /** Every Web API call, in order, with the HTTP status it got. */
  readonly calls: ApiCall[] = [];
  /** Every accepted response_url post, in order. */
  readonly responses: ResponseUrlPost[] = [];
  /** Base URL of the console ('' until the console server listens, unless given). */
  consoleUrl: string;
  private readonly users = new Map<string, User>();
  private readonly channels = new Map<string, Channel>();
  /** Per channel, in ts order (ts only grows, so appending keeps the order). */
  private readonly messages = new Map<string, WorkspaceMessage[]>();
  private readonly responseContexts = new Map<string, ResponseContext | null>();
  private readonly failures: Failure[] = [];
  private readonly autoCreateChannels: boolean;
  private readonly logger?: Logger;
  private lastTsMicros = 0;

  constructor(options: SlackWorkspaceOptions) {
    super();
    // One listener per open console page; there is no leak to warn about.
    this.setMaxListeners(0);
    this.bot = { ...DEFAULT_BOT, ...options.bot };
    this.team = options.team ?? DEFAULT_TEAM;
    this.consoleUrl = options.consoleUrl?.replace(/\/+$/, '') ?? '';
    this.autoCreateChannels = options.autoCreateChannels ?? false;
    this.logger = options.logger?.child({ component: 'slack-workspace' });
    for (const user of options.users) this.addUser(user);
    this.users.set(this.bot.userId, { id: this.bot.userId, name: this.bot.name, realName: this.bot.name, title: 'bot', isBot: true });
    this.users.set(SLACKBOT.id, SLACKBOT);
    for (const channel of options.channels) this.addChannel(channel);
  }

  // ---- people and places ----------------------------------------------------------------------

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
    const channel: Channel = { id: data.id, name: data.name.replace(/^#/, ''), binding: data.binding ?? null, members: [...members] };
    this.channels.set(channel.id, channel);
    if (!this.messages.has(channel.id)) this.messages.set(channel.id, []);
    return channel;
  }

  /** The people of the workspace (not the bot, not Slackbot). */
  humans(): User[] {
    return [...this.users.values()].filter((u) => !u.isBot);
  }

  listChannels(): Channel[] {
    return [...this.channels.values()].map((c) => ({ ...c, members: [...c.members] }));
  }

  user(id: string): User | undefined {
    return this.users.get(id);
  }

  channel(id: string): Channel | undefined {
    return this.channels.get(id);
  }

  message(channel: string, ts: string): WorkspaceMessage | undefined {
    return this.messages.get(channel)?.find((m) => m.ts === ts);
  }

  // ---- the console's side -----------------------------------------------------------------------

  /** Messages of a channel as `viewer` sees them: all normal ones and the viewer's ephemerals, by ts. */
  consoleMessages(channel: string, viewer?: string): ConsoleMessage[] {
    if (!this.channels.has(channel)) throw new WorkspaceError(404, `no channel with id ${channel}`);
    return this.channelMessages(channel)
      .filter((m) => !m.ephemeralFor || m.ephemeralFor === viewer)
      .map((m) => this.toConsoleMessage(m));
  }

  /** A person posts a plain message (the console's composer, for anything that is not a command). */
  postAsUser(input: { user: string; channel: string; text: string; threadTs?: string }): ConsoleMessage {
    const { channel } = this.requireMember(input.user, input.channel);
    if (!input.text.trim()) throw new WorkspaceError(400, 'text is empty');
    const threadTs = input.threadTs ? this.threadRootTs(channel.id, input.threadTs) : undefined;
    if (input.threadTs && !threadTs) throw new WorkspaceError(404, `no message ${input.threadTs} in ${channel.id} to reply to`);
    const message = this.append({ channel: channel.id, user: input.user, text: input.text, thread_ts: threadTs, edits: 0 });
    return this.toConsoleMessage(message);
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

  /**
   * A new response_url id. Answers posted to it go to `context`; without a context they are only
   * recorded (the tests' commands, which do not come from a console user).
   */
  registerResponseUrl(context?: ResponseContext, id: string = randomUUID()): string {
    if (!this.responseContexts.has(id) || context) this.responseContexts.set(id, context ?? null);
    return id;
  }

  responseUrl(id: string): string {
    return `${this.consoleUrl}/response/${id}`;
  }

  /** A post to a response_url, as Slack handles it. */
  handleResponseUrl(id: string, body: ResponseUrlBody): WebApiResponse {
    const context = this.responseContexts.get(id);
    if (context === undefined) return { status: 404, headers: {}, body: { ok: false, error: 'no_active_hooks' } };
    this.responses.push({ id, body });
    if (context) {
      const error = this.applyResponse(context, body);
      if (error) return { status: 400, headers: {}, body: { ok: false, error } };
    }
    return { status: 200, headers: {}, body: { ok: true } };
  }

  /**
   * What the user sees of an answer to their command or click (the ack body or a response_url
   * post): ephemeral by default, in_channel as a normal message, or a change of the original.
   * Returns Slack's error code when the answer is unusable.
   */
  applyResponse(context: ResponseContext, body: ResponseUrlBody): string | undefined {
    if (context.messageTs && body.delete_original === true) return this.deleteOriginal(context);
    const text = typeof body.text === 'string' ? body.text : '';
    let blocks: unknown[] | undefined;
    try {
      blocks = parseBlocks(body.blocks);
    } catch (error) {
      return error instanceof SlackApiError ? error.code : 'invalid_blocks';
    }
    if (!text && !blocks?.length) return 'no_text';
    if (context.messageTs && body.replace_original === true) return this.replaceOriginal(context, text, blocks);
    const threadTs = typeof body.thread_ts === 'string' ? body.thread_ts : context.threadTs;
    const base = { channel: context.channel, user: this.bot.userId, text, blocks, thread_ts: threadTs, edits: 0 };
    this.append(body.response_type === 'in_channel' ? base : { ...base, ephemeralFor: context.user });
    return undefined;
  }

  /** Slackbot tells one user something (e.g. that the app did not answer a command). */
  slackbotSays(user: string, channel: string, text: string, threadTs?: string): ConsoleMessage {
    return this.toConsoleMessage(this.append({ channel, user: SLACKBOT.id, text, thread_ts: threadTs, edits: 0, ephemeralFor: user }));
  }

  // ---- the bot's side: the Web API --------------------------------------------------------------

  /** The next Web API calls fail like this, in order. */
  failNext(...failures: Failure[]): void {
    this.failures.push(...failures);
  }

  /** One Slack Web API call (`method` as in the URL, e.g. chat.postMessage) with its parameters. */
  handleWebApi(method: string, params: Params): WebApiResponse {
    const failure = this.failures.shift();
    if (failure) {
      this.calls.push({ method, body: params, status: failure.status });
      this.logger?.debug({ method, status: failure.status }, 'injected Slack failure');
      if (failure.status === 429) {
        return { status: 429, headers: { 'retry-after': String(failure.retryAfterSeconds) }, body: { ok: false, error: 'ratelimited' } };
      }
      return { status: 500, headers: { 'content-type': 'text/plain' }, body: 'internal error' };
    }
    this.calls.push({ method, body: params, status: 200 });
    const body = this.answer(method, params);
    if (body.ok === false) this.logger?.debug({ method, error: body.error }, 'Slack Web API call refused');
    return { status: 200, headers: {}, body };
  }

  private answer(method: string, params: Params): Answer {
    const handler = this.webApi[method];
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

  private readonly webApi: Record<string, (params: Params) => Answer> = {
    'auth.test': () => ({
      ok: true,
      url: `${this.consoleUrl}/`,
      team: this.team.domain,
      user: this.bot.name,
      team_id: this.team.id,
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
  };

  private chatPostMessage(p: Params): Answer {
    const channel = this.channelParam(p);
    const { text, blocks } = messageContent(p);
    const metadata = parseMetadata(p.metadata);
    const threadParam = optionalString(p.thread_ts);
    // A reply to a reply lands in the same thread, as in Slack; an unknown parent is kept as given.
    const threadTs = threadParam ? (this.threadRootTs(channel.id, threadParam) ?? threadParam) : undefined;
    const message = this.append({ channel: channel.id, user: this.bot.userId, text, blocks, metadata, thread_ts: threadTs, edits: 0 });
    return { ok: true, channel: channel.id, ts: message.ts, message: this.toApiMessage(message, true) };
  }

  private chatUpdate(p: Params): Answer {
    const channel = this.channelParam(p);
    const ts = requiredString(p, 'ts');
    const message = this.message(channel.id, ts);
    if (!message || message.ephemeralFor) throw new SlackApiError('message_not_found');
    if (message.user !== this.bot.userId) throw new SlackApiError('cant_update_message');
    const hasText = typeof p.text === 'string';
    const blocks = parseBlocks(p.blocks);
    if (!hasText && p.blocks === undefined) throw new SlackApiError('no_text');
    if (hasText) message.text = checkText(String(p.text));
    // Blocks not sent with a new text are dropped, as the old blocks would contradict the text.
    if (p.blocks !== undefined || hasText) message.blocks = blocks?.length ? blocks : undefined;
    if (p.metadata !== undefined) message.metadata = parseMetadata(p.metadata);
    this.markEdited(message, this.bot.userId);
    return { ok: true, channel: channel.id, ts, text: message.text, message: this.toApiMessage(message, true) };
  }

  private chatDelete(p: Params): Answer {
    const channel = this.channelParam(p);
    const ts = requiredString(p, 'ts');
    const message = this.message(channel.id, ts);
    if (!message || message.ephemeralFor) throw new SlackApiError('message_not_found');
    if (message.user !== this.bot.userId) throw new SlackApiError('cant_delete_message');
    this.remove(message);
    return { ok: true, channel: channel.id, ts };
  }

  private chatPostEphemeral(p: Params): Answer {
    const channel = this.channelParam(p);
    const user = this.users.get(requiredString(p, 'user'));
    if (!user) throw new SlackApiError('user_not_found');
    if (!channel.members.includes(user.id)) throw new SlackApiError('user_not_in_channel');
    const { text, blocks } = messageContent(p);
    const threadParam = optionalString(p.thread_ts);
    const threadTs = threadParam ? (this.threadRootTs(channel.id, threadParam) ?? threadParam) : undefined;
    const message = this.append({ channel: channel.id, user: this.bot.userId, text, blocks, thread_ts: threadTs, edits: 0, ephemeralFor: user.id });
    return { ok: true, message_ts: message.ts };
  }

  private chatGetPermalink(p: Params): Answer {
    const channel = this.channelParam(p);
    const ts = requiredString(p, 'message_ts');
    const message = this.message(channel.id, ts);
    if (!message || message.ephemeralFor) throw new SlackApiError('message_not_found');
    return { ok: true, channel: channel.id, permalink: this.permalink(channel.id, ts) };
  }

  /** Where the console shows a message. */
  permalink(channel: string, ts: string): string {
    return `${this.consoleUrl}/#/channel/${channel}/${ts}`;
  }

  private conversationsHistory(p: Params): Answer {
    const channel = this.channelParam(p);
    const window = timeWindow(p);
    const limit = limitParam(p, HISTORY_LIMIT);
    const withMetadata = booleanParam(p.include_all_metadata);
    // Newest first, as Slack pages history backwards in time.
    const candidates = this.channelMessages(channel.id)
      .filter((m) => !m.ephemeralFor && !m.thread_ts && window.includes(m.ts))
      .reverse();
    const page = pageAfterCursor(candidates, p.cursor, limit);
    return {
      ok: true,
      messages: page.items.map((m) => this.toApiMessage(m, withMetadata)),
      has_more: page.hasMore,
      pin_count: 0,
      response_metadata: { next_cursor: page.nextCursor },
    };
  }

  private conversationsReplies(p: Params): Answer {
    const channel = this.channelParam(p);
    const ts = requiredString(p, 'ts');
    const rootTs = this.threadRootTs(channel.id, ts);
    const root = rootTs ? this.message(channel.id, rootTs) : undefined;
    if (!root) throw new SlackApiError('thread_not_found');
    const window = timeWindow(p);
    const limit = limitParam(p, REPLIES_LIMIT);
    const withMetadata = booleanParam(p.include_all_metadata);
    const replies = this.channelMessages(channel.id).filter((m) => !m.ephemeralFor && m.thread_ts === root.ts && window.includes(m.ts));
    // The parent comes first whatever the window, as Slack does.
    const page = pageAfterCursor([root, ...replies], p.cursor, limit);
    return {
      ok: true,
      messages: page.items.map((m) => this.toApiMessage(m, withMetadata)),
      has_more: page.hasMore,
      response_metadata: { next_cursor: page.nextCursor },
    };
  }

  private channelInfo(channel: Channel): Answer {
    return {
      id: channel.id,
      name: channel.name,
      is_channel: true,
      is_private: false,
      is_archived: false,
      is_member: true,
      num_members: channel.members.length,
      topic: { value: channel.binding ? `${channel.binding.service}/${channel.binding.env}` : '' },
    };
  }

  private userInfo(user: User): Answer {
    return {
      id: user.id,
      team_id: this.team.id,
      name: user.name,
      real_name: user.realName,
      is_bot: user.isBot,
      deleted: false,
      profile: { real_name: user.realName, display_name: user.name, title: user.title },
    };
  }

  // ---- parameters ---------------------------------------------------------------------------------

  /** The channel a call names, by id or by #name; unknown ones fail as in Slack (or appear, see autoCreateChannels). */
  private channelParam(p: Params): Channel {
    const value = optionalString(p.channel);
    if (!value) throw new SlackApiError('channel_not_found');
    const found = this.channels.get(value) ?? [...this.channels.values()].find((c) => c.name === value.replace(/^#/, ''));
    if (found) return found;
    if (this.autoCreateChannels && /^[CDG][A-Z0-9]+$/.test(value)) return this.addChannel({ id: value, name: value.toLowerCase() });
    throw new SlackApiError('channel_not_found');
  }

  private userParam(p: Params): User {
    const user = this.users.get(optionalString(p.user) ?? '');
    if (!user) throw new SlackApiError('user_not_found');
    return user;
  }

  // ---- messages -----------------------------------------------------------------------------------

  private channelMessages(channel: string): WorkspaceMessage[] {
    return this.messages.get(channel) ?? [];
  }

  /** The ts of the thread root that `ts` belongs to (itself for a root), if the message exists. */
  private threadRootTs(channel: string, ts: string): string | undefined {
    const message = this.message(channel, ts);
    if (!message || message.ephemeralFor) return undefined;
    return message.thread_ts ?? message.ts;
  }

  private append(fields: Omit<WorkspaceMessage, 'ts'>): WorkspaceMessage {
    const message: WorkspaceMessage = { ...withoutUndefined(fields), ts: this.nextTs() };
    const list = this.messages.get(message.channel);
    if (!list) throw new Error(`no channel ${message.channel}`);
    list.push(message);
    this.emitChange('posted', message);
    // The root's reply count changed: clients showing it need the new one.
    if (message.thread_ts && !message.ephemeralFor) this.emitRootChanged(message.channel, message.thread_ts);
    return message;
  }

  private remove(message: WorkspaceMessage): void {
    const list = this.channelMessages(message.channel);
    const index = list.indexOf(message);
    if (index >= 0) list.splice(index, 1);
    this.emitChange('deleted', message);
    if (message.thread_ts && !message.ephemeralFor) this.emitRootChanged(message.channel, message.thread_ts);
  }

  private markEdited(message: WorkspaceMessage, by: string): void {
    message.edits += 1;
    message.edited = { user: by, ts: this.nextTs() };
    this.emitChange('updated', message);
  }

  private replaceOriginal(context: ResponseContext, text: string, blocks: unknown[] | undefined): string | undefined {
    const original = this.message(context.channel, context.messageTs ?? '');
    if (!original) return 'message_not_found';
    original.text = text;
    original.blocks = blocks?.length ? blocks : undefined;
    this.markEdited(original, this.bot.userId);
    return undefined;
  }

  private deleteOriginal(context: ResponseContext): string | undefined {
    const original = this.message(context.channel, context.messageTs ?? '');
    if (!original) return 'message_not_found';
    this.remove(original);
    return undefined;
  }

  private emitRootChanged(channel: string, rootTs: string): void {
    const root = this.message(channel, rootTs);
    if (root) this.emitChange('updated', root);
  }

  private emitChange(kind: ChangeKind, message: WorkspaceMessage): void {
    this.emit('change', { kind, message: this.toConsoleMessage(message) });
  }

  /** Slack's ts: seconds.microseconds of the real time, strictly increasing across the workspace. */
  private nextTs(): string {
    const micros = Math.max(Date.now() * 1000, this.lastTsMicros + 1);
    this.lastTsMicros = micros;
    return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
  }

  private replyCount(message: WorkspaceMessage): number {
    if (message.thread_ts || message.ephemeralFor) return 0;
    return this.channelMessages(message.channel).filter((m) => m.thread_ts === message.ts && !m.ephemeralFor).length;
  }

  toConsoleMessage(message: WorkspaceMessage): ConsoleMessage {
    const author = this.users.get(message.user);
    const replyCount = this.replyCount(message);
    return withoutUndefined({
      channel: message.channel,
      ts: message.ts,
      thread_ts: message.thread_ts,
      user: message.user,
      username: author?.name ?? message.user,
      isBot: author?.isBot ?? false,
      text: message.text,
      blocks: message.blocks,
      metadata: message.metadata,
      edited: message.edits > 0,
      edits: message.edits,
      ephemeral: Boolean(message.ephemeralFor),
      visibleTo: message.ephemeralFor,
      reply_count: replyCount > 0 ? replyCount : undefined,
    });
  }

  /** A message as Slack's Web API returns it (history, replies, postMessage, interaction payloads). */
  toApiMessage(message: WorkspaceMessage, withMetadata = false): Answer {
    const isBot = message.user === this.bot.userId;
    const replies = this.channelMessages(message.channel).filter((m) => m.thread_ts === message.ts && !m.ephemeralFor && !message.thread_ts);
    const lastReply = replies[replies.length - 1];
    return withoutUndefined({
      type: 'message',
      ts: message.ts,
      user: message.user,
      text: message.text,
      blocks: message.blocks,
      bot_id: isBot ? this.bot.botId : undefined,
      app_id: isBot ? this.bot.appId : undefined,
      team: this.team.id,
      thread_ts: message.thread_ts ?? (lastReply ? message.ts : undefined),
      parent_user_id: message.thread_ts ? this.message(message.channel, message.thread_ts)?.user : undefined,
      reply_count: lastReply ? replies.length : undefined,
      latest_reply: lastReply?.ts,
      edited: message.edited,
      metadata: withMetadata ? message.metadata : undefined,
    });
  }
}

// ---- helpers: Slack's parameter rules ---------------------------------------------------------------

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function requiredString(p: Params, name: string): string {
  const value = optionalString(p[name]);
  if (!value) throw new SlackApiError('invalid_arguments', `missing required field: ${name}`);
  return value;
}

/** Form bodies carry booleans as strings. */
function booleanParam(value: unknown): boolean {
  return value === true || value === 'true' || value === '1' || value === 1;
}

function checkText(text: string): string {
  if (text.length > MAX_TEXT_LENGTH) throw new SlackApiError('msg_too_long');
  return text;
}

/** `text` and `blocks` of a new message; one of them is required. */
function messageContent(p: Params): { text: string; blocks?: unknown[] } {
  const text = checkText(typeof p.text === 'string' ? p.text : '');
  const blocks = parseBlocks(p.blocks);
  if (!text && !blocks?.length) throw new SlackApiError('no_text');
  return { text, blocks: blocks?.length ? blocks : undefined };
}

/** Blocks arrive as a JSON string (form bodies) or an array (JSON bodies). */
function parseBlocks(value: unknown): unknown[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const parsed = parseJsonParam(value, 'invalid_blocks_format');
  if (!Array.isArray(parsed)) throw new SlackApiError('invalid_blocks_format');
  if (parsed.length > MAX_BLOCKS) throw new SlackApiError('invalid_blocks', `no more than ${MAX_BLOCKS} items allowed`);
  if (!parsed.every(isBlock)) throw new SlackApiError('invalid_blocks', 'every block needs a type');
  return parsed.map(withBlockId);
}

/** Structured parameters arrive as JSON strings (form bodies) or as values (JSON bodies). */
function parseJsonParam(value: unknown, errorCode: string): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw new SlackApiError(errorCode);
  }
}

/** Slack gives every block without a block_id one of its own when the message is stored. */
function withBlockId(block: unknown, index: number): unknown {
  const record = block as Record<string, unknown>;
  if (typeof record.block_id === 'string') return block;
  return { ...record, block_id: `b${index}${randomUUID().slice(0, 4)}` };
}

function isBlock(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

function parseMetadata(value: unknown): MessageMetadata | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const parsed = parseJsonParam(value, 'invalid_metadata_format');
  const candidate = parsed as { event_type?: unknown; event_payload?: unknown };
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.event_type !== 'string') {
    throw new SlackApiError('invalid_metadata_format');
  }
  const payload = candidate.event_payload;
  if (payload !== undefined && (typeof payload !== 'object' || payload === null || Array.isArray(payload))) {
    throw new SlackApiError('invalid_metadata_format');
  }
  return { event_type: candidate.event_type, event_payload: (payload ?? {}) as Record<string, unknown> };
}

/** A Slack ts ("seconds.micros") as an integer of microseconds, exact where Number(ts) is not. */
export function tsMicros(ts: string): number | undefined {
  const match = /^(\d+)(?:\.(\d{0,6})\d*)?$/.exec(ts);
  if (!match) return undefined;
  return Number(match[1]) * 1_000_000 + Number((match[2] ?? '').padEnd(6, '0'));
}

interface TimeWindow {
  includes(ts: string): boolean;
}

/** `oldest` / `latest` / `inclusive` of history and replies: exclusive bounds unless inclusive. */
function timeWindow(p: Params): TimeWindow {
  const bound = (name: 'oldest' | 'latest'): number | undefined => {
    const raw = p[name];
    if (raw === undefined || raw === '') return undefined;
    const micros = tsMicros(String(raw));
    if (micros === undefined) throw new SlackApiError(`invalid_ts_${name}`);
    return micros;
  };
  const oldest = bound('oldest');
  const latest = bound('latest');
  const inclusive = booleanParam(p.inclusive);
  return {
    includes(ts) {
      const t = tsMicros(ts) ?? 0;
      if (oldest !== undefined && (inclusive ? t < oldest : t <= oldest)) return false;
      if (latest !== undefined && (inclusive ? t > latest : t >= latest)) return false;
      return true;
    },
  };
}

function limitParam(p: Params, limits: { default: number; max: number }): number {
  if (p.limit === undefined || p.limit === '') return limits.default;
  const limit = Number(p.limit);
  if (!Number.isInteger(limit) || limit < 0) throw new SlackApiError('invalid_limit');
  // Slack treats 0 as "the default" and caps the rest.
  return limit === 0 ? limits.default : Math.min(limit, limits.max);
}

/** One page of `items` after an opaque cursor (the ts the previous page ended at). */
function pageAfterCursor(items: WorkspaceMessage[], cursor: unknown, limit: number): { items: WorkspaceMessage[]; hasMore: boolean; nextCursor: string } {
  let start = 0;
  if (typeof cursor === 'string' && cursor !== '') {
    const afterTs = Buffer.from(cursor, 'base64').toString('utf8').replace(/^next_ts:/, '');
    const index = items.findIndex((m) => m.ts === afterTs);
    if (index < 0) throw new SlackApiError('invalid_cursor');
    start = index + 1;
  }
  const page = items.slice(start, start + limit);
  const hasMore = start + limit < items.length;
  const last = page[page.length - 1];
  return { items: page, hasMore, nextCursor: hasMore && last ? Buffer.from(`next_ts:${last.ts}`).toString('base64') : '' };
}

/** Drops undefined fields so that JSON answers and events carry only what is set. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
