// What lanebot needs from Slack's Web API to narrate a deploy. The Slack adapter implements it;
// tests and the sandbox reach the same adapter through SLACK_API_URL.
import type { KnownBlock, ModalView } from '@slack/web-api';

/**
 * A modal as views.open takes it (Slack's own type: `type: 'modal'`, `title` ≤ 24 characters,
 * `submit`/`close`, ≤ 100 blocks, `callback_id` for the `app.view` listener, `private_metadata`
 * ≤ 3000 characters for what the submission must carry back).
 */
export type { ModalView };

export interface ChatMessage {
  /** Plain-text fallback, shown in notifications and by clients that cannot render blocks. */
  text: string;
  blocks?: KnownBlock[];
  /** A thread reply also shown in the channel (Slack's reply_broadcast). */
  broadcast?: boolean;
}

/**
 * Attached to every message lanebot posts (as Slack message metadata), so that a sender that died
 * between Slack's answer and recording it can be followed by one that finds the message instead of
 * posting it twice.
 */
export interface PostMarker {
  operationId: string;
  /** `root`, or the thread entry's id. */
  entry: string;
}

/** What conversations.info says of a channel, as far as posting there goes. */
export interface ChannelInfo {
  isMember: boolean;
  isArchived: boolean;
}

export interface ChatPort {
  post(channel: string, message: ChatMessage, options?: { threadTs?: string; marker?: PostMarker }): Promise<{ ts: string }>;
  /** A direct message from the app to a user (chat.postMessage to the user id opens the app's DM). */
  dm(userId: string, message: ChatMessage): Promise<void>;
  /** Whether the bot is in the channel (conversations.info); undefined when Slack does not know the channel. */
  channelInfo(channel: string): Promise<ChannelInfo | undefined>;
  /** The ts of a message this bot posted with `marker` since `since` (epoch ms), if there is one. */
  findPosted(channel: string, marker: PostMarker, options: { threadTs?: string; since: number }): Promise<string | undefined>;
  update(channel: string, ts: string, message: ChatMessage): Promise<void>;
  permalink(channel: string, ts: string): Promise<string | undefined>;
  /**
   * Opens a modal for the user whose click or command carried `triggerId` (views.open). Slack
   * honours a trigger once and for 3 seconds only, so call it before anything slow. A trigger
   * that is too old, used or malformed is a ChatRejectedError whose `slackError` is
   * `expired_trigger_id`, `exchanged_trigger_id` or `invalid_trigger_id` (see MODAL_TRIGGER_REFUSALS):
   * the caller tells the user to click again.
   */
  openModal(triggerId: string, view: ModalView): Promise<void>;
}

/** Slack answered 429: wait `retryAfterMs` before calling again. */
export class ChatRateLimitedError extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`Slack rate limited the call; retry after ${retryAfterMs} ms`);
    this.name = 'ChatRateLimitedError';
  }
}

/** Slack refused the call for a reason that trying again will not fix (channel_not_found, …). */
export class ChatRejectedError extends Error {
  constructor(readonly slackError: string, readonly hint: string) {
    super(`Slack refused the call: ${slackError}. ${hint}`);
    this.name = 'ChatRejectedError';
  }
}

/** The call never reached Slack (connection refused, DNS): nothing can have been posted. */
export class ChatNotSentError extends Error {
  constructor(override readonly cause: unknown) {
    super(`the call did not reach Slack: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'ChatNotSentError';
  }
}

/**
 * Whether a failed call surely did nothing in Slack (a 429, a refusal, a call that never left), as
 * opposed to an ambiguous outcome (a 500, a timeout, a reset) after which the message may exist.
 */
export function surelyNotPosted(error: unknown): boolean {
  return error instanceof ChatRateLimitedError || error instanceof ChatRejectedError || error instanceof ChatNotSentError;
}

/** views.open refusals that mean the click's trigger can no longer open a modal: the user clicks again. */
export const MODAL_TRIGGER_REFUSALS: ReadonlySet<string> = new Set(['expired_trigger_id', 'exchanged_trigger_id', 'invalid_trigger_id']);

/** Slack refusals that mean "lanebot cannot post in this channel at all", and what fixes them. */
export const CHANNEL_REFUSALS: ReadonlySet<string> = new Set(['not_in_channel', 'channel_not_found', 'is_archived']);
