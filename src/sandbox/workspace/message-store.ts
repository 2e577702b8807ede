// The workspace's messages: per channel, in ts order, with threads, edits and ephemerals; Slack's
// ts clock; and the two ways a message is shown (the console's view and the Web API's). Every
// change is reported through `onChange`, which the workspace turns into its `change` event.
import type { SlackTeam } from '../slack-signing';
import type { WorkspaceDirectory } from './directory';
import { withoutUndefined } from './slack-params';
import type { Answer, BotIdentity, ChangeKind, ConsoleMessage, WorkspaceMessage } from './types';

export class MessageStore {
  /** Per channel, in ts order (ts only grows, so appending keeps the order). */
  private readonly messages = new Map<string, WorkspaceMessage[]>();
  private lastTsMicros = 0;

  constructor(
    private readonly directory: WorkspaceDirectory,
    private readonly bot: BotIdentity,
    private readonly team: SlackTeam,
    private readonly onChange: (kind: ChangeKind, message: ConsoleMessage) => void,
  ) {}

  /** Makes room for a channel's messages (a new channel has none). */
  openChannel(channel: string): void {
    if (!this.messages.has(channel)) this.messages.set(channel, []);
  }

  message(channel: string, ts: string): WorkspaceMessage | undefined {
    return this.messages.get(channel)?.find((m) => m.ts === ts);
  }

  channelMessages(channel: string): WorkspaceMessage[] {
    return this.messages.get(channel) ?? [];
  }

  /** The ts of the thread root that `ts` belongs to (itself for a root), if the message exists. */
  threadRootTs(channel: string, ts: string): string | undefined {
    const message = this.message(channel, ts);
    if (!message || message.ephemeralFor) return undefined;
    return message.thread_ts ?? message.ts;
  }

  append(fields: Omit<WorkspaceMessage, 'ts'>): WorkspaceMessage {
    const message: WorkspaceMessage = { ...withoutUndefined(fields), ts: this.nextTs() };
    const list = this.messages.get(message.channel);
    if (!list) throw new Error(`no channel ${message.channel}`);
    list.push(message);
    this.emitChange('posted', message);
    // The root's reply count changed: clients showing it need the new one.
    if (message.thread_ts && !message.ephemeralFor) this.emitRootChanged(message.channel, message.thread_ts);
    return message;
  }

  remove(message: WorkspaceMessage): void {
    const list = this.channelMessages(message.channel);
    const index = list.indexOf(message);
    if (index >= 0) list.splice(index, 1);
    this.emitChange('deleted', message);
    if (message.thread_ts && !message.ephemeralFor) this.emitRootChanged(message.channel, message.thread_ts);
  }

  markEdited(message: WorkspaceMessage, by: string): void {
    message.edits += 1;
    message.edited = { user: by, ts: this.nextTs() };
    this.emitChange('updated', message);
  }

  private emitRootChanged(channel: string, rootTs: string): void {
    const root = this.message(channel, rootTs);
    if (root) this.emitChange('updated', root);
  }

  private emitChange(kind: ChangeKind, message: WorkspaceMessage): void {
    this.onChange(kind, this.toConsoleMessage(message));
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
    const author = this.directory.user(message.user);
    const replyCount = this.replyCount(message);
    return withoutUndefined({
      channel: message.channel,
      ts: message.ts,
      thread_ts: message.thread_ts,
      broadcast: message.broadcast,
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
      subtype: message.broadcast ? 'thread_broadcast' : undefined,
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
      // A broadcast reply carries its thread's parent, as Slack's history shows it.
      root: message.broadcast && message.thread_ts ? this.rootOf(message) : undefined,
    });
  }

  private rootOf(reply: WorkspaceMessage): Answer | undefined {
    const root = reply.thread_ts ? this.message(reply.channel, reply.thread_ts) : undefined;
    return root && !root.broadcast ? this.toApiMessage(root) : undefined;
  }
}
