// ChatPort over @slack/web-api's WebClient. Rate limits and transient failures are not retried
// here: the narrator re-schedules its job instead of holding a worker while it waits.
import { ErrorCode, WebClient, type WebAPICallError } from '@slack/web-api';
import { ChatNotSentError, ChatRateLimitedError, ChatRejectedError, type ChannelInfo, type ChatMessage, type ChatPort, type ModalView, type PostMarker } from './chat.port';

/** Slack message metadata event type of everything lanebot posts. */
const MARKER_EVENT_TYPE = 'lanebot_message';

/** Slack errors that retrying cannot fix, with what to do about them. */
const PERMANENT_ERRORS: Record<string, string> = {
  channel_not_found: 'Check the channel id in lanebot.yml and that the bot can see the channel.',
  not_in_channel: 'Invite the bot to the channel (/invite @lanebot).',
  is_archived: 'The channel is archived; bind the service to another channel in lanebot.yml.',
  invalid_auth: 'SLACK_BOT_TOKEN is not valid; reinstall the app and update the token.',
  not_authed: 'SLACK_BOT_TOKEN is missing.',
  account_inactive: 'The bot token belongs to a deleted user or app; reinstall the app.',
  token_revoked: 'The bot token was revoked; reinstall the app and update SLACK_BOT_TOKEN.',
  missing_scope: 'The app lacks a scope it needs (chat:write); add it and reinstall.',
  message_not_found: 'The message was deleted in Slack.',
  cant_update_message: 'The message can no longer be edited.',
  invalid_blocks: 'lanebot built a message Slack rejects; please report this.',
  msg_too_long: 'lanebot built a message that is too long; please report this.',
};

/** views.open refusals (besides the ones above), with what they mean; none is fixed by retrying. */
const MODAL_ERRORS: Record<string, string> = {
  ...PERMANENT_ERRORS,
  expired_trigger_id: 'The click is more than 3 seconds old; Slack lets an app open a modal only right after it. Click again.',
  exchanged_trigger_id: 'This click already opened a modal; click again.',
  invalid_trigger_id: 'Slack does not know this trigger_id (not from a click or command of this app).',
  invalid_arguments: 'lanebot built a modal Slack rejects; please report this.',
  view_too_large: 'lanebot built a modal larger than Slack allows (250 KB); please report this.',
  duplicate_external_id: 'A modal with this external_id is already open.',
};

/** What Slack answers a response_url post with when it will not take it; none is fixed by retrying. */
const RESPONSE_URL_ERRORS: Record<string, string> = {
  expired_url: 'The command is more than 30 minutes old; Slack takes no more answers to it. Run it again.',
  used_url: 'Slack takes at most 5 answers to one command; this one had them. Run it again.',
  no_active_hooks: 'Slack does not know this response_url (not from a command of this app, or too old).',
  invalid_blocks: 'lanebot built a message Slack rejects; please report this.',
  invalid_payload: 'lanebot built an answer Slack cannot read; please report this.',
  no_text: 'lanebot built an empty answer; please report this.',
  msg_too_long: 'lanebot built a message that is too long; please report this.',
};

/** Socket errors that happen before a request is sent. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

/** How long a response_url post may take; the calling job tries again after a surely failed one. */
const RESPONSE_URL_TIMEOUT_MS = 10_000;

export function createSlackWebClient(token: string, slackApiUrl: string): WebClient {
  return new WebClient(token, {
    slackApiUrl,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: 10_000,
  });
}

export class SlackChatAdapter implements ChatPort {
  constructor(private readonly client: WebClient) {}

  async post(channel: string, message: ChatMessage, options: { threadTs?: string; marker?: PostMarker } = {}): Promise<{ ts: string }> {
    const metadata = options.marker
      ? { event_type: MARKER_EVENT_TYPE, event_payload: { deploy_id: options.marker.operationId, entry: options.marker.entry } }
      : undefined;
    // reply_broadcast means something only in a thread (Slack ignores it elsewhere): sent only there.
    const thread = options.threadTs
      ? { thread_ts: options.threadTs, ...(message.broadcast ? { reply_broadcast: true } : {}) }
      : {};
    const result = await this.call(() =>
      this.client.chat.postMessage({
        channel,
        text: message.text,
        blocks: message.blocks,
        ...thread,
        unfurl_links: false,
        metadata,
      }),
    );
    if (!result.ts) throw new Error('chat.postMessage returned no ts');
    return { ts: result.ts };
  }

  async dm(userId: string, message: ChatMessage): Promise<void> {
    await this.call(() => this.client.chat.postMessage({ channel: userId, text: message.text, blocks: message.blocks, unfurl_links: false }));
  }

  async channelInfo(channel: string): Promise<ChannelInfo | undefined> {
    try {
      const result = await this.call(() => this.client.conversations.info({ channel }));
      return { isMember: result.channel?.is_member === true, isArchived: result.channel?.is_archived === true };
    } catch (error) {
      if (error instanceof ChatRejectedError && error.slackError === 'channel_not_found') return undefined;
      throw error;
    }
  }

  async findPosted(channel: string, marker: PostMarker, options: { threadTs?: string; since: number }): Promise<string | undefined> {
    const oldest = (options.since / 1000).toFixed(6);
    const page = options.threadTs
      ? await this.call(() =>
          this.client.conversations.replies({ channel, ts: options.threadTs!, oldest, include_all_metadata: true, limit: 200 }),
        )
      : await this.call(() => this.client.conversations.history({ channel, oldest, include_all_metadata: true, limit: 200 }));
    const found = (page.messages ?? []).find((m) => {
      const meta = (m as { metadata?: { event_type?: string; event_payload?: Record<string, unknown> } }).metadata;
      return meta?.event_type === MARKER_EVENT_TYPE && meta.event_payload?.deploy_id === marker.operationId && meta.event_payload?.entry === marker.entry;
    });
    return found?.ts;
  }

  async update(channel: string, ts: string, message: ChatMessage): Promise<void> {
    await this.call(() => this.client.chat.update({ channel, ts, text: message.text, blocks: message.blocks ?? [] }));
  }

  async permalink(channel: string, ts: string): Promise<string | undefined> {
    const result = await this.call(() => this.client.chat.getPermalink({ channel, message_ts: ts }));
    return result.permalink;
  }

  async openModal(triggerId: string, view: ModalView): Promise<void> {
    await this.call(() => this.client.views.open({ trigger_id: triggerId, view }), MODAL_ERRORS);
  }

  async respond(responseUrl: string, message: ChatMessage): Promise<void> {
    const body = { response_type: 'ephemeral', replace_original: false, text: message.text, blocks: message.blocks };
    let response: Response;
    try {
      // A response_url is a webhook, not a Web API method: WebClient has no call for it.
      response = await fetch(responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(RESPONSE_URL_TIMEOUT_MS),
      });
    } catch (error) {
      // fetch puts the socket's error in `cause`; only a refused or unresolved connection surely did nothing.
      const code = (error as { cause?: { code?: string } }).cause?.code;
      if (code && NOT_SENT_CODES.has(code)) throw new ChatNotSentError(error);
      throw error;
    }
    const answer = await response.text().catch(() => '');
    const slackError = responseUrlError(answer);
    if (response.ok && slackError === undefined) return;
    if (response.status === 429) throw new ChatRateLimitedError(Number(response.headers.get('retry-after') ?? 1) * 1000);
    // fetch resolves whatever the status; a 5xx may or may not have been shown: the caller decides.
    if (response.status >= 500) throw new Error(`Slack answered HTTP ${response.status} to a response_url post`);
    const code = slackError ?? `http_${response.status}`;
    throw new ChatRejectedError(code, RESPONSE_URL_ERRORS[code] ?? `Slack refused the answer (HTTP ${response.status}).`);
  }

  private async call<T>(fn: () => Promise<T>, permanent: Record<string, string> = PERMANENT_ERRORS): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw slackCallError(error, permanent);
    }
  }
}

/**
 * The error code in a response_url answer: Slack answers `{"ok":false,"error":"expired_url"}`, or
 * the bare code as text; a success is `ok` or `{"ok":true}`. Undefined when the answer is a success.
 */
function responseUrlError(answer: string): string | undefined {
  const text = answer.trim();
  if (text === '' || text === 'ok') return undefined;
  try {
    const parsed = JSON.parse(text) as { ok?: boolean; error?: string };
    return parsed.ok === false ? (parsed.error ?? 'unknown_error') : undefined;
  } catch {
    return /^[a-z_]+$/.test(text) ? text : undefined;
  }
}

/**
 * What a failed Web API call becomes: a 429 is ChatRateLimitedError (wait Retry-After), an error
 * listed in `permanent` is ChatRejectedError with its hint (retrying cannot fix it), anything else
 * is returned as it is (transient: the calling job retries).
 */
export function slackCallError(error: unknown, permanent: Record<string, string>, hintPrefix = ''): unknown {
  const apiError = error as Partial<WebAPICallError>;
  if (apiError.code === ErrorCode.RateLimitedError) {
    return new ChatRateLimitedError(((apiError as { retryAfter?: number }).retryAfter ?? 1) * 1000);
  }
  if (apiError.code === ErrorCode.RequestError) {
    // The request never got an answer: only a refused or unresolved connection surely did nothing.
    const original = (apiError as { original?: { code?: string } }).original;
    if (original?.code && NOT_SENT_CODES.has(original.code)) return new ChatNotSentError(error);
  }
  if (apiError.code === ErrorCode.PlatformError) {
    const data = (apiError as { data?: { error?: string; response_metadata?: { messages?: unknown } } }).data;
    const slackError = data?.error ?? 'unknown_error';
    const hint = permanent[slackError];
    // Slack names what it disliked in a block or view here ("[ERROR] must be less than 25 characters [json-pointer:/view/title/text]").
    const messages = data?.response_metadata?.messages;
    const detail = Array.isArray(messages) && messages.length > 0 ? ` (${messages.map(String).join('; ')})` : '';
    if (hint) return new ChatRejectedError(slackError, `${hintPrefix}${hint}${detail}`);
  }
  return error;
}
