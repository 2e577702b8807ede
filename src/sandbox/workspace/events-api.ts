// Events API deliveries, as Slack makes them: an `event_callback` envelope posted as JSON to the
// app's request URL, signed like every other request (v0 HMAC over the raw body). The console uses
// it to tell the bot that a user group's members changed (subteam_members_changed).
import { randomBytes } from 'node:crypto';
import { DEFAULT_API_APP_ID, DEFAULT_TEAM, DEFAULT_VERIFICATION_TOKEN, signSlackRequest, type SignedPostResult, type SlackTeam } from '../slack-signing';
import type { BotIdentity, BotMembershipChange, UserGroupChange } from './types';

export interface EnvelopeFields {
  team?: SlackTeam;
  apiAppId?: string;
  /** The installation the event is for: the bot user it was delivered to. */
  botUserId: string;
  token?: string;
  /** When the event happened (epoch ms). */
  at?: number;
}

/** The `event_callback` envelope Slack wraps every Events API event in. */
export function eventCallbackEnvelope(event: Record<string, unknown>, fields: EnvelopeFields): Record<string, unknown> {
  const team = fields.team ?? DEFAULT_TEAM;
  const at = fields.at ?? Date.now();
  return {
    token: fields.token ?? DEFAULT_VERIFICATION_TOKEN,
    team_id: team.id,
    context_team_id: team.id,
    context_enterprise_id: null,
    api_app_id: fields.apiAppId ?? DEFAULT_API_APP_ID,
    event,
    type: 'event_callback',
    event_id: `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
    event_time: Math.floor(at / 1000),
    authorizations: [{ enterprise_id: null, team_id: team.id, user_id: fields.botUserId, is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
  };
}

/** Slack's subteam_members_changed event for a change of a group's members. */
export function subteamMembersChangedEvent(change: UserGroupChange, team: SlackTeam = DEFAULT_TEAM): Record<string, unknown> {
  const event: Record<string, unknown> = {
    type: 'subteam_members_changed',
    subteam_id: change.group.id,
    team_id: team.id,
    date_previous_update: change.datePreviousUpdate,
    date_update: change.group.dateUpdate,
    event_ts: `${change.group.dateUpdate}.000000`,
  };
  // Slack leaves out the lists that are empty (and sends the counts as strings).
  if (change.added.length > 0) Object.assign(event, { added_users: change.added, added_users_count: String(change.added.length) });
  if (change.removed.length > 0) Object.assign(event, { removed_users: change.removed, removed_users_count: String(change.removed.length) });
  return event;
}

/** The JSON body of a subteam_members_changed delivery to `bot`. */
export function subteamMembersChangedBody(change: UserGroupChange, bot: BotIdentity, team: SlackTeam = DEFAULT_TEAM): string {
  return JSON.stringify(eventCallbackEnvelope(subteamMembersChangedEvent(change, team), { team, apiAppId: bot.appId, botUserId: bot.userId }));
}

/** POSTs a signed Events API body (JSON) to `url`, the bot's /slack/events, and returns its answer. */
export async function postSignedEvent(url: string, body: string, signingSecret: string, options: { timeoutMs?: number } = {}): Promise<SignedPostResult> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...signSlackRequest(body, signingSecret), 'content-type': 'application/json' },
    body,
    signal: options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs),
  });
  return { status: response.status, body: await response.text(), contentType: response.headers.get('content-type') ?? '' };
}

/**
 * What Slack sends the bot when it is added to a channel (member_joined_channel, with `user` the bot
 * user) or removed from one (channel_left: Slack tells the removed member, not member_left_channel).
 */
export function botMembershipEvent(change: BotMembershipChange, bot: BotIdentity, team: SlackTeam = DEFAULT_TEAM, at = Date.now()): Record<string, unknown> {
  const eventTs = `${Math.floor(at / 1000)}.${String((at % 1000) * 1000).padStart(6, '0')}`;
  if (change.member) {
    return {
      type: 'member_joined_channel',
      user: bot.userId,
      channel: change.channel.id,
      channel_type: 'C',
      team: team.id,
      ...(change.by ? { inviter: change.by } : {}),
      event_ts: eventTs,
    };
  }
  return { type: 'channel_left', channel: change.channel.id, ...(change.by ? { actor_id: change.by } : {}), event_ts: eventTs };
}

/** The JSON body of a member_joined_channel / channel_left delivery to `bot`. */
export function botMembershipBody(change: BotMembershipChange, bot: BotIdentity, team: SlackTeam = DEFAULT_TEAM): string {
  return JSON.stringify(eventCallbackEnvelope(botMembershipEvent(change, bot, team), { team, apiAppId: bot.appId, botUserId: bot.userId }));
}
