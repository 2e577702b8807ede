// An in-memory Slack workspace: users, channels, user groups, messages (threads, edits, ephemerals)
// and the Slack Web API methods lanebot calls, with Slack's semantics and error codes. The sandbox
// console serves it to the bot (SLACK_API_URL) and to the web page; the integration tests' Slack
// stub is a thin view over it, so there is one Slack stand-in, not two.
//
// This class is the facade; each concern lives in src/sandbox/workspace/:
//   types.ts          the data shapes and errors
//   directory.ts      users, channels, user groups
//   message-store.ts  messages, threads, Slack's ts clock, the console and API views of a message
//   response-urls.ts  response_urls and how an answer to a command or click is shown
//   web-api.ts        the Web API methods, failure injection and the call log
//   slack-params.ts   Slack's parameter rules (pure)
//   modals.ts         trigger_ids, views.open, open modals, view_submission and the app's answer
//   events-api.ts     Events API envelopes the console delivers to the bot (subteam_members_changed)
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { DEFAULT_TEAM, type SlackTeam } from './slack-signing';
import { SLACKBOT, WorkspaceDirectory } from './workspace/directory';
import { MessageStore } from './workspace/message-store';
import { ModalStore, type ConsoleModal, type ModalValues, type PreparedSubmission, type SubmissionOutcome } from './workspace/modals';
import { ResponseUrls } from './workspace/response-urls';
import { WebApi } from './workspace/web-api';
import { SlackRateLimits } from './workspace/slack-rate-limits';
import {
  WorkspaceError,
  type ApiCall,
  type BotIdentity,
  type BotMembershipChange,
  type Channel,
  type ConsoleMessage,
  type Failure,
  type ResponseContext,
  type ResponseUrlBody,
  type ResponseUrlPost,
  type SlackWorkspaceOptions,
  type User,
  type UserGroup,
  type UserGroupChange,
  type WebApiResponse,
  type WorkspaceChannelData,
  type WorkspaceEvents,
  type WorkspaceMessage,
  type WorkspaceUserData,
  type WorkspaceUserGroupData,
} from './workspace/types';

export * from './workspace/types';
export { TRIGGER_TTL_MS, parseModalView } from './workspace/modals';
export type { ConsoleModal, ModalChange, ModalChangeKind, ModalValues, ModalViewData, PreparedSubmission, SubmissionOutcome } from './workspace/modals';
export { tsMicros } from './workspace/slack-params';
export { SLACK_LIMITS, scaleSlackLimits, SlackRateLimits, type BucketLimit, type SlackLimits } from './workspace/slack-rate-limits';

const DEFAULT_BOT: BotIdentity = { userId: 'UBOT', botId: 'BBOT', appId: 'A1', name: 'lanebot' };

/** The id of the bot's direct message channel with a user (Slack's are D…). */
export function dmChannelId(userId: string): string {
  return `D${userId.replace(/^[UW]/, '')}`;
}

export class SlackWorkspace extends EventEmitter<WorkspaceEvents> {
  readonly bot: BotIdentity;
  readonly team: SlackTeam;
  /** Every Web API call, in order, with the HTTP status it got. */
  readonly calls: ApiCall[];
  /** Every accepted response_url post, in order. */
  readonly responses: ResponseUrlPost[];
  /** The rate limits enforced on the Web API (their `refused` counts), if any. */
  rateLimits?: SlackRateLimits;
  /** Base URL of the console ('' until the console server listens, unless given). */
  consoleUrl: string;
  private readonly directory: WorkspaceDirectory;
  private readonly store: MessageStore;
  private readonly responseUrls: ResponseUrls;
  private readonly webApi: WebApi;
  private readonly modals: ModalStore;
  private readonly logger?: Logger;

  constructor(options: SlackWorkspaceOptions) {
    super();
    // One listener per open console page; there is no leak to warn about.
    this.setMaxListeners(0);
    this.bot = { ...DEFAULT_BOT, ...options.bot };
    this.team = options.team ?? DEFAULT_TEAM;
    this.consoleUrl = options.consoleUrl?.replace(/\/+$/, '') ?? '';
    this.logger = options.logger?.child({ component: 'slack-workspace' });
    this.directory = new WorkspaceDirectory(this.bot);
    this.store = new MessageStore(this.directory, this.bot, this.team, (kind, message) => this.emit('change', { kind, message }));
    this.modals = new ModalStore({ bot: this.bot, team: this.team, now: options.now ?? Date.now, onChange: (change) => this.emit('modal', change) });
    this.responseUrls = new ResponseUrls(this.store, this.bot, () => this.consoleUrl, options.now ?? Date.now);
    this.webApi = new WebApi({
      directory: this.directory,
      store: this.store,
      modals: this.modals,
      bot: this.bot,
      team: this.team,
      consoleUrl: () => this.consoleUrl,
      permalink: (channel, ts) => this.permalink(channel, ts),
      autoCreateChannel: options.autoCreateChannels ? (id) => this.addChannel({ id, name: id.toLowerCase() }) : undefined,
      openDm: (user) => {
        const id = dmChannelId(user.id);
        return this.directory.channel(id) ?? this.addChannel({ id, name: user.name, members: [user.id], im: true });
      },
      logger: this.logger,
    });
    this.calls = this.webApi.calls;
    if (options.rateLimits) this.enforceRateLimits(new SlackRateLimits(options.rateLimits));
    this.responses = this.responseUrls.posts;
    for (const user of options.users) this.addUser(user);
    for (const channel of options.channels) this.addChannel(channel);
    for (const group of options.userGroups ?? []) this.addUserGroup(group);
  }

  // ---- people, places and groups ------------------------------------------------------------------

  addUser(data: WorkspaceUserData): User {
    return this.directory.addUser(data);
  }

  addChannel(data: WorkspaceChannelData): Channel {
    const channel = this.directory.addChannel(data);
    this.store.openChannel(channel.id);
    return channel;
  }

  addUserGroup(data: WorkspaceUserGroupData): UserGroup {
    return this.directory.addUserGroup(data);
  }

  /** The people of the workspace (not the bot, not Slackbot). */
  humans(): User[] {
    return this.directory.humans();
  }

  listChannels(): Channel[] {
    return this.directory.listChannels();
  }

  listUserGroups(): UserGroup[] {
    return this.directory.listUserGroups();
  }

  user(id: string): User | undefined {
    return this.directory.user(id);
  }

  channel(id: string): Channel | undefined {
    return this.directory.channel(id);
  }

  userGroup(id: string): UserGroup | undefined {
    return this.directory.userGroup(id);
  }

  message(channel: string, ts: string): WorkspaceMessage | undefined {
    return this.store.message(channel, ts);
  }

  // ---- the console's side -----------------------------------------------------------------------

  /** Messages of a channel as `viewer` sees them: all normal ones and the viewer's ephemerals, by ts. */
  consoleMessages(channel: string, viewer?: string): ConsoleMessage[] {
    if (!this.directory.channel(channel)) throw new WorkspaceError(404, `no channel with id ${channel}`);
    return this.store
      .channelMessages(channel)
      .filter((m) => !m.ephemeralFor || m.ephemeralFor === viewer)
      .map((m) => this.store.toConsoleMessage(m));
  }

  /** A person posts a plain message (the console's composer, for anything that is not a command). */
  postAsUser(input: { user: string; channel: string; text: string; threadTs?: string }): ConsoleMessage {
    const { channel } = this.requireMember(input.user, input.channel);
    if (!input.text.trim()) throw new WorkspaceError(400, 'text is empty');
    const threadTs = input.threadTs ? this.store.threadRootTs(channel.id, input.threadTs) : undefined;
    if (input.threadTs && !threadTs) throw new WorkspaceError(404, `no message ${input.threadTs} in ${channel.id} to reply to`);
    const message = this.store.append({ channel: channel.id, user: input.user, text: input.text, thread_ts: threadTs, edits: 0 });
    return this.store.toConsoleMessage(message);
  }

  /** Checks that `user` may act in `channel` (both exist, the user is a member) and returns them. */
  requireMember(userId: string, channelId: string): { user: User; channel: Channel } {
    return this.directory.requireMember(userId, channelId);
  }

  /**
   * An admin changes a user group's members (the console's "edit group"). Emits `usergroup`; the
   * console server delivers Slack's subteam_members_changed event to the bot.
   */
  setUserGroupMembers(id: string, users: readonly string[]): UserGroupChange {
    const change = this.directory.setUserGroupMembers(id, users);
    this.emit('usergroup', change);
    return change;
  }

  /**
   * Someone adds the bot to a channel (`member` true, as `/invite @lanebot` does) or removes it.
   * Emits `membership` when it changed; the console server delivers member_joined_channel /
   * channel_left to the bot.
   */
  setBotMembership(channelId: string, member: boolean, by?: string): BotMembershipChange | undefined {
    const channel = this.directory.setBotMember(channelId, member);
    if (!channel) return undefined;
    const change: BotMembershipChange = { channel: { ...channel, members: [...channel.members] }, member, by };
    this.emit('membership', change);
    return change;
  }

  /** Takes a scope from the app or gives it back (e.g. channels:history: history and replies answer missing_scope). */
  setScope(scope: string, granted: boolean): void {
    this.webApi.setScope(scope, granted);
  }

  /**
   * A new response_url id. Answers posted to it go to `context`; without a context they are only
   * recorded (the tests' commands, which do not come from a console user).
   */
  registerResponseUrl(context?: ResponseContext, id?: string): string {
    return this.responseUrls.register(context, id);
  }

  responseUrl(id: string): string {
    return this.responseUrls.url(id);
  }

  /** A post to a response_url, as Slack handles it. */
  handleResponseUrl(id: string, body: ResponseUrlBody): WebApiResponse {
    return this.responseUrls.handle(id, body);
  }

  /**
   * What the user sees of an answer to their command or click (the ack body or a response_url
   * post): ephemeral by default, in_channel as a normal message, or a change of the original.
   * Returns Slack's error code when the answer is unusable.
   */
  applyResponse(context: ResponseContext, body: ResponseUrlBody): string | undefined {
    return this.responseUrls.apply(context, body);
  }

  /** Slackbot tells one user something (e.g. that the app did not answer a command). */
  slackbotSays(user: string, channel: string, text: string, threadTs?: string): ConsoleMessage {
    const message = this.store.append({ channel, user: SLACKBOT.id, text, thread_ts: threadTs, edits: 0, ephemeralFor: user });
    return this.store.toConsoleMessage(message);
  }

  /** Where the console shows a message. */
  permalink(channel: string, ts: string): string {
    return `${this.consoleUrl}/#/channel/${channel}/${ts}`;
  }

  // ---- modals -------------------------------------------------------------------------------------

  /** A trigger_id for something `user` just did (a click, a command): views.open takes it once, within 3 seconds. */
  issueTrigger(user: string): string {
    return this.modals.issueTrigger(user);
  }

  /** Open modals (each user's stack, bottom first); only `user`'s when given. */
  listModals(user?: string): ConsoleModal[] {
    return this.modals.list(user);
  }

  /**
   * `user` presses submit on the modal `viewId` they see, with `values` typed in: Slack's client's own
   * checks (required inputs, lengths), then the view_submission payload to send to the app.
   */
  prepareViewSubmission(user: string, viewId: string, values: ModalValues): PreparedSubmission {
    const person = this.directory.user(user);
    if (!person || person.isBot) throw new WorkspaceError(404, `no user with id ${user}`);
    return this.modals.prepareSubmission(user, viewId, values, person.name);
  }

  /** What the app's HTTP 200 answer (`body`) to a view_submission does to the modal. */
  applyViewSubmissionAnswer(user: string, viewId: string, body: string): SubmissionOutcome {
    return this.modals.applySubmissionAnswer(user, viewId, body);
  }

  /** `user` closes the modal they see (back to the view below it, or all of them with clear_on_close). */
  closeModal(user: string, viewId: string): { closed: ConsoleModal[] } {
    return this.modals.close(user, viewId);
  }

  /** A view as the Web API and the payloads show it. */
  apiView(modal: ConsoleModal): Record<string, unknown> {
    return this.modals.apiView(modal);
  }

  // ---- the bot's side: the Web API --------------------------------------------------------------

  /** The next Web API calls fail like this, in order. */
  failNext(...failures: Failure[]): void {
    this.webApi.failNext(...failures);
  }

  /** Enforces Slack's rate limits on the Web API from now on (undefined: none, the default). */
  enforceRateLimits(limits: SlackRateLimits | undefined): void {
    this.rateLimits = limits;
    this.webApi.enforceRateLimits(limits);
  }

  /** One Slack Web API call (`method` as in the URL, e.g. chat.postMessage) with its parameters. */
  handleWebApi(method: string, params: Record<string, unknown>): WebApiResponse {
    return this.webApi.handle(method, params);
  }

  toConsoleMessage(message: WorkspaceMessage): ConsoleMessage {
    return this.store.toConsoleMessage(message);
  }

  /** A message as Slack's Web API returns it (history, replies, postMessage, interaction payloads). */
  toApiMessage(message: WorkspaceMessage, withMetadata = false): Record<string, unknown> {
    return this.store.toApiMessage(message, withMetadata);
  }
}
