// Requests to the bot exactly as Slack sends them: form-encoded bodies signed with the app's signing
// secret (v0 HMAC-SHA256 over "v0:{timestamp}:{body}"), for slash commands, block_actions and view_submission. The
// sandbox console and the tests build their requests here so that both speak the same Slack.
import { createHmac, randomBytes } from 'node:crypto';

/** Team fields every payload carries; the sandbox has one workspace. */
export interface SlackTeam {
  id: string;
  domain: string;
}

export const DEFAULT_TEAM: SlackTeam = { id: 'T1', domain: 'example' };
/** The app id Slack puts into every payload for this app. */
export const DEFAULT_API_APP_ID = 'A1';
/** Slack's deprecated verification token; still sent, Bolt ignores it in favour of the signature. */
export const DEFAULT_VERIFICATION_TOKEN = 'legacy-verification-token';

/** The headers Slack sends with a signed request whose body is `body`. */
export function signSlackRequest(body: string, signingSecret: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': signature,
  };
}

/** A trigger_id in Slack's shape ("<seconds>.<digits>.<hex>"); the bot only passes them back. */
export function newTriggerId(): string {
  return `${Math.floor(Date.now() / 1000)}.${Math.floor(Math.random() * 1e12)}.${randomBytes(16).toString('hex')}`;
}

export interface SlashCommandFields {
  text: string;
  command?: string;
  userId: string;
  userName: string;
  channelId: string;
  channelName: string;
  responseUrl: string;
  team?: SlackTeam;
  apiAppId?: string;
  token?: string;
  triggerId?: string;
}

/** The form-encoded body of a slash command invocation. */
export function slashCommandBody(fields: SlashCommandFields): string {
  const team = fields.team ?? DEFAULT_TEAM;
  return new URLSearchParams({
    token: fields.token ?? DEFAULT_VERIFICATION_TOKEN,
    team_id: team.id,
    team_domain: team.domain,
    channel_id: fields.channelId,
    channel_name: fields.channelName,
    user_id: fields.userId,
    user_name: fields.userName,
    command: fields.command ?? '/lane',
    text: fields.text,
    api_app_id: fields.apiAppId ?? DEFAULT_API_APP_ID,
    is_enterprise_install: 'false',
    response_url: fields.responseUrl,
    trigger_id: fields.triggerId ?? newTriggerId(),
  }).toString();
}

/** The message a block_actions payload is about, as Slack renders it into the payload. */
export interface ActionMessage {
  ts: string;
  text: string;
  user?: string;
  bot_id?: string;
  thread_ts?: string;
  blocks?: unknown[];
  [key: string]: unknown;
}

/** The button that was clicked, as found in the message's blocks. */
export interface ClickedButton {
  actionId: string;
  blockId: string;
  value?: string;
  /** The button's label (a plain_text object in the block). */
  text: unknown;
  style?: string;
}

export interface BlockActionsFields {
  user: { id: string; username: string; name: string };
  channel: { id: string; name: string };
  /** The message holding the button. Slack leaves it out of the payload for ephemeral messages. */
  message: ActionMessage;
  isEphemeral?: boolean;
  button: ClickedButton;
  responseUrl: string;
  team?: SlackTeam;
  apiAppId?: string;
  token?: string;
  triggerId?: string;
  /** When the click happened (epoch ms); Slack's action_ts has microseconds. */
  clickedAt?: number;
}

/** The JSON payload of a button click (type `block_actions`) as Slack builds it. */
export function blockActionsPayload(fields: BlockActionsFields): Record<string, unknown> {
  const team = fields.team ?? DEFAULT_TEAM;
  const isEphemeral = fields.isEphemeral ?? false;
  const clickedAt = fields.clickedAt ?? Date.now();
  const { button } = fields;
  return {
    type: 'block_actions',
    user: { id: fields.user.id, username: fields.user.username, name: fields.user.name, team_id: team.id },
    api_app_id: fields.apiAppId ?? DEFAULT_API_APP_ID,
    token: fields.token ?? DEFAULT_VERIFICATION_TOKEN,
    container: { type: 'message', message_ts: fields.message.ts, channel_id: fields.channel.id, is_ephemeral: isEphemeral },
    trigger_id: fields.triggerId ?? newTriggerId(),
    team: { id: team.id, domain: team.domain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: fields.channel.id, name: fields.channel.name },
    ...(isEphemeral ? {} : { message: { type: 'message', ...fields.message } }),
    state: { values: {} },
    response_url: fields.responseUrl,
    actions: [
      {
        action_id: button.actionId,
        block_id: button.blockId,
        text: button.text,
        ...(button.value === undefined ? {} : { value: button.value }),
        ...(button.style === undefined ? {} : { style: button.style }),
        type: 'button',
        action_ts: (clickedAt / 1000).toFixed(6),
      },
    ],
  };
}

/** The form-encoded body of a button click: `payload=<json>`, as Slack posts interactions. */
export function blockActionsBody(fields: BlockActionsFields): string {
  return new URLSearchParams({ payload: JSON.stringify(blockActionsPayload(fields)) }).toString();
}

/**
 * The form-encoded body of any interaction payload (`payload=<json>`), e.g. a view_submission
 * built by the workspace's modals.
 */
export function interactionBody(payload: Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export interface SignedPostResult {
  status: number;
  body: string;
  contentType: string;
}

/** POSTs a signed form body to `url` (the bot's /slack/events) and returns its answer. */
export async function postSignedRequest(
  url: string,
  body: string,
  signingSecret: string,
  options: { timeoutMs?: number } = {},
): Promise<SignedPostResult> {
  const response = await fetch(url, {
    method: 'POST',
    headers: signSlackRequest(body, signingSecret),
    body,
    signal: options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs),
  });
  return { status: response.status, body: await response.text(), contentType: response.headers.get('content-type') ?? '' };
}
