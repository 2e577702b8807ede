// What lanebot needs from Slack's Web API to narrate a deploy. The Slack adapter implements it;
// tests and the sandbox reach the same adapter through SLACK_API_URL.
import type { KnownBlock } from '@slack/web-api';

export interface ChatMessage {
  /** Plain-text fallback, shown in notifications and by clients that cannot render blocks. */
  text: string;
  blocks?: KnownBlock[];
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

export interface ChatPort {
  post(channel: string, message: ChatMessage, options?: { threadTs?: string; marker?: PostMarker }): Promise<{ ts: string }>;
  /** The ts of a message this bot posted with `marker` since `since` (epoch ms), if there is one. */
  findPosted(channel: string, marker: PostMarker, options: { threadTs?: string; since: number }): Promise<string | undefined>;
  update(channel: string, ts: string, message: ChatMessage): Promise<void>;
  permalink(channel: string, ts: string): Promise<string | undefined>;
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
