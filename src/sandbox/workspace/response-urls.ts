// response_urls: where the bot answers a slash command or a click after its ack. Each id remembers
// who asked where (and, for a click, which message), so that an answer lands as Slack shows it:
// ephemeral to that person, in the channel, or as a change of the message with the button.
import { randomUUID } from 'node:crypto';
import type { MessageStore } from './message-store';
import { parseBlocks } from './slack-params';
import { SlackApiError, type BotIdentity, type ResponseContext, type ResponseUrlBody, type ResponseUrlPost, type WebApiResponse } from './types';

/** Slack takes at most this many posts to one response_url… */
export const RESPONSE_URL_MAX_POSTS = 5;
/** …within this long of the command or click. */
export const RESPONSE_URL_TTL_MS = 30 * 60_000;

interface Registration {
  context: ResponseContext | null;
  /** Wall-clock ms. */
  issuedAt: number;
  posts: number;
}

export class ResponseUrls {
  /** Every accepted response_url post, in order. */
  readonly posts: ResponseUrlPost[] = [];
  private readonly registrations = new Map<string, Registration>();

  constructor(
    private readonly store: MessageStore,
    private readonly bot: BotIdentity,
    private readonly consoleUrl: () => string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A new response_url id. Answers posted to it go to `context`; without a context they are only
   * recorded (the tests' commands, which do not come from a console user).
   */
  register(context?: ResponseContext, id: string = randomUUID()): string {
    const known = this.registrations.get(id);
    if (!known) this.registrations.set(id, { context: context ?? null, issuedAt: this.now(), posts: 0 });
    else if (context) known.context = context;
    return id;
  }

  url(id: string): string {
    return `${this.consoleUrl()}/response/${id}`;
  }

  /** A post to a response_url, as Slack handles it. */
  handle(id: string, body: ResponseUrlBody): WebApiResponse {
    const registration = this.registrations.get(id);
    if (registration === undefined) return { status: 404, headers: {}, body: { ok: false, error: 'no_active_hooks' } };
    // Slack's limits: a worker answering late, or too often, meets them here as it would in Slack.
    if (this.now() - registration.issuedAt > RESPONSE_URL_TTL_MS) return { status: 404, headers: {}, body: { ok: false, error: 'expired_url' } };
    if (registration.posts >= RESPONSE_URL_MAX_POSTS) return { status: 404, headers: {}, body: { ok: false, error: 'used_url' } };
    registration.posts += 1;
    const context = registration.context;
    this.posts.push({ id, body });
    if (context) {
      const error = this.apply(context, body);
      if (error) return { status: 400, headers: {}, body: { ok: false, error } };
    }
    return { status: 200, headers: {}, body: { ok: true } };
  }

  /**
   * What the user sees of an answer to their command or click (the ack body or a response_url
   * post): ephemeral by default, in_channel as a normal message, or a change of the original.
   * Returns Slack's error code when the answer is unusable.
   */
  apply(context: ResponseContext, body: ResponseUrlBody): string | undefined {
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
    this.store.append(body.response_type === 'in_channel' ? base : { ...base, ephemeralFor: context.user });
    return undefined;
  }

  private replaceOriginal(context: ResponseContext, text: string, blocks: unknown[] | undefined): string | undefined {
    const original = this.store.message(context.channel, context.messageTs ?? '');
    if (!original) return 'message_not_found';
    original.text = text;
    original.blocks = blocks?.length ? blocks : undefined;
    this.store.markEdited(original, this.bot.userId);
    return undefined;
  }

  private deleteOriginal(context: ResponseContext): string | undefined {
    const original = this.store.message(context.channel, context.messageTs ?? '');
    if (!original) return 'message_not_found';
    this.store.remove(original);
    return undefined;
  }
}
