// Slack's events about the bot's own channel membership (subscribe to member_joined_channel,
// member_left_channel and channel_left; they need channels:read / groups:read): lanebot records
// whether it can post in the channel, so a command there can say "invite me first" before it
// promises a thread. Events about other members are ignored. The events carry only the change, and
// arrive late or twice: the store keeps the newest fact by event time (src/chat/channel-membership.ts).
import type { Logger } from 'pino';
import type { MembershipFact } from '../../chat/channel-membership';
import type { EventListeners } from './event-router';

export interface ChannelMembershipEventsDeps {
  membership: { record(channelId: string, fact: MembershipFact): Promise<boolean> };
  logger: Pick<Logger, 'debug' | 'warn'>;
}

/** Slack's event_ts ("1700000000.000100") in epoch ms. */
function eventTime(eventTs: string | undefined): number {
  const seconds = Number(eventTs);
  return Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds * 1000) : Date.now();
}

/**
 * The bot's own user id: from the authorization when it has one, else from the envelope's
 * `authorizations` (the installation the event was delivered to; lanebot's authorize skips auth.test).
 */
function botUserOf(context: { botUserId?: string }, body: unknown): string | undefined {
  return context.botUserId ?? (body as { authorizations?: { user_id?: string; is_bot?: boolean }[] }).authorizations?.find((a) => a.is_bot)?.user_id;
}

export function registerChannelMembershipEvents(app: EventListeners, deps: ChannelMembershipEventsDeps): void {
  async function record(channel: string, canPost: boolean, eventTs: string | undefined): Promise<void> {
    try {
      await deps.membership.record(channel, { canPost, at: eventTime(eventTs), source: 'event' });
      deps.logger.debug({ channel, canPost }, 'lanebot channel membership changed');
    } catch (error) {
      // Slack has its ack already; the periodic conversations.info refresh catches up.
      deps.logger.warn({ err: error, channel }, 'could not record a channel membership change; the next refresh will');
    }
  }

  app.event('member_joined_channel', async function botJoinedChannel({ event, context, body }) {
    if (event.user !== botUserOf(context, body)) return;
    await record(event.channel, true, event.event_ts);
  });
  app.event('member_left_channel', async function botLeftChannel({ event, context, body }) {
    if (event.user !== botUserOf(context, body)) return;
    await record(event.channel, false, event.event_ts);
  });
  // Sent to the member who left or was removed: the bot itself.
  app.event('channel_left', async function botRemovedFromChannel({ event }) {
    await record(event.channel, false, (event as { event_ts?: string }).event_ts);
  });
}
