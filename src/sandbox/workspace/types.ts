// The sandbox workspace's data shapes: what the console, the tests and the Web API see of users,
// channels, user groups and messages, and the two errors (a console request that cannot be
// carried out; a Web API call Slack refuses). Shared by every part of src/sandbox/workspace/.
import type { Logger } from 'pino';
import type { SlackTeam } from '../slack-signing';
import type { SlackLimits } from './slack-rate-limits';

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
  /** User ids; all users of the workspace when left out. */
  members?: string[];
  /** Whether the bot is a member (default true): Slack refuses its posts elsewhere with not_in_channel. */
  bot?: boolean;
  /** A direct message channel between the bot and one user (D…), opened by chat.postMessage to a user id. */
  im?: boolean;
}

export interface WorkspaceUserGroupData {
  /** Slack's user group id, S…. */
  id: string;
  /** What people type after @ to mention the group, e.g. prod-approvers. */
  handle: string;
  /** The group's display name; the handle when left out. */
  name?: string;
  description?: string;
  /** User ids of the members. */
  users?: string[];
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
  /** User groups (Slack's "subteams"), served by usergroups.list and usergroups.users.list. */
  userGroups?: WorkspaceUserGroupData[];
  /** Base URL of the console, for permalinks and response_urls; when left out, the console server sets it when it listens. */
  consoleUrl?: string;
  bot?: Partial<BotIdentity>;
  team?: SlackTeam;
  /**
   * Channels the bot names that are not in `channels` come into being on first use instead of
   * failing with channel_not_found. The tests' stub uses it: it accepts any channel, as it always has.
   */
  autoCreateChannels?: boolean;
  /** Wall-clock ms, for trigger_id expiry (3 seconds); tests move it by hand. Default Date.now. */
  now?: () => number;
  /**
   * Slack's rate limits, enforced on the Web API (429 with Retry-After beyond them) in real time,
   * as the bot paces itself in real time. None when left out. E.g. SLACK_LIMITS.
   */
  rateLimits?: SlackLimits;
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
  /** Whether the bot is a member: it may post and read history only then. */
  botMember: boolean;
  /** A direct message channel with the one user in `members`. */
  im: boolean;
}

/** The bot joined or left a channel (the console's "add/remove the bot"); Slack sends member_joined_channel / channel_left. */
export interface BotMembershipChange {
  channel: Channel;
  member: boolean;
  /** Who added or removed the bot (a user id), when known. */
  by?: string;
}

export interface UserGroup {
  id: string;
  handle: string;
  name: string;
  description: string;
  users: string[];
  /** When the group was created and last changed, in Slack's epoch seconds. */
  dateCreate: number;
  dateUpdate: number;
}

/** A change of a group's members, as the console made it (and as subteam_members_changed reports it). */
export interface UserGroupChange {
  group: UserGroup;
  added: string[];
  removed: string[];
  /** date_update before this change (epoch seconds). */
  datePreviousUpdate: number;
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
  /** A thread reply also shown in the channel (chat.postMessage with reply_broadcast); replies only. */
  broadcast?: boolean;
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
  /** A thread reply also sent to the channel: shown in the thread and in the channel ("replied to a thread"). */
  broadcast?: boolean;
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
  /** A modal opened, changed (errors, update) or closed. */
  modal: [ModalChange];
  usergroup: [UserGroupChange];
  membership: [BotMembershipChange];
}

/**
 * A failure the next Web API call meets: a 429, a 500 before Slack did anything, or a 500 after Slack
 * carried the call out (`afterApplying`: the ambiguous outcome, e.g. a message stored but its ts lost).
 */
export type Failure = ({ status: 429; retryAfterSeconds: number } | { status: 500; afterApplying?: boolean }) & {
  /** Only a call of this method meets the failure (others pass until one does); any call when absent. */
  method?: string;
};

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

export type Params = Record<string, unknown>;
export type Answer = Record<string, unknown>;

/** A console request that cannot be carried out; `status` is the HTTP status to answer with. */
export class WorkspaceError extends Error {
  constructor(readonly status: 400 | 403 | 404, message: string) {
    super(message);
    this.name = 'WorkspaceError';
  }
}

/** Slack refuses the Web API call with this error code. */
export class SlackApiError extends Error {
  constructor(readonly code: string, readonly detail?: string) {
    super(code);
    this.name = 'SlackApiError';
  }
}

// Modals (workspace/modals.ts keeps them; here so the event map above can name them).

export interface PlainText {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}

/** A modal view as the workspace keeps it: what the app sent, checked, with block_id/action_id filled in as Slack does. */
export interface ModalViewData {
  type: 'modal';
  title: PlainText;
  submit?: PlainText;
  close?: PlainText;
  blocks: Record<string, unknown>[];
  callback_id: string;
  private_metadata: string;
  external_id: string;
  clear_on_close: boolean;
  notify_on_close: boolean;
}

/** An open modal (one view of a person's stack), as the console API and its events show it. */
export interface ConsoleModal {
  /** Slack's view id, V…. */
  id: string;
  /** Who sees it. */
  user: string;
  view: ModalViewData;
  /** Changes with every update of the view (Slack's `hash`). */
  hash: string;
  rootViewId: string;
  previousViewId: string | null;
  /** The app's answer to the last submission: block_id → message, shown under the input. */
  errors: Record<string, string>;
  /** What the person typed at the last submission: block_id → action_id → text. */
  values: Record<string, Record<string, string>>;
  /** Epoch ms. */
  openedAt: number;
}

export type ModalChangeKind = 'opened' | 'updated' | 'closed';

export interface ModalChange {
  kind: ModalChangeKind;
  modal: ConsoleModal;
}
