// Whether lanebot can post in a channel, as last learnt, so the command path can tell a user *before*
// promising a thread that the bot first needs an /invite. Filled from three sources, none of them on
// the ack path:
//  - Slack's events for the bot user (member_joined_channel, channel_left, member_left_channel:
//    src/slack/events/channel-membership.ts);
//  - conversations.info (`is_member`, `is_archived`), read by a job (refreshChannelMembership);
//  - a post Slack refused with not_in_channel / channel_not_found / is_archived (the narrator).
// Events arrive late, twice or out of order, so a fact only replaces one learnt earlier (by `at`).
// `canPost` is one HGET: the command path may call it within its ack budget.
import type { RedisClient } from '../redis/redis-connection';
import type { Logger } from 'pino';
import type { RedisKeys } from '../state/keys';
import type { ChatPort } from './chat.port';
import { LuaScript } from '../redis/lua-script';

export type CanPost = 'yes' | 'no' | 'unknown';

export type MembershipSource = 'event' | 'info' | 'refusal';

export interface MembershipFact {
  /** Whether the bot can post there (a member of a channel that is not archived). */
  canPost: boolean;
  /** When Slack said so (epoch ms): the event's time, or when the call was answered. */
  at: number;
  source: MembershipSource;
}

/** A fact older than this is not trusted: the answer is `unknown` (a missed event must not stick forever). */
export const MEMBERSHIP_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

// KEYS: the membership hash. ARGV: channel id, fact JSON, its `at`.
// Stores the fact unless the one stored was learnt later.
const RECORD_SCRIPT = new LuaScript(`
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local ok, fact = pcall(cjson.decode, current)
  if ok and type(fact) == 'table' and tonumber(fact.at) and tonumber(fact.at) > tonumber(ARGV[3]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`);

export class ChannelMembership {
  constructor(
    private readonly redis: Pick<RedisClient, 'hget' | 'eval' | 'evalsha'>,
    private readonly keys: RedisKeys,
  ) {}

  /** What lanebot knows of whether it can post in `channelId`: a Redis read only. */
  async canPost(channelId: string, now: number = Date.now()): Promise<CanPost> {
    const fact = await this.fact(channelId);
    if (!fact || now - fact.at > MEMBERSHIP_MAX_AGE_MS) return 'unknown';
    return fact.canPost ? 'yes' : 'no';
  }

  async fact(channelId: string): Promise<MembershipFact | undefined> {
    const raw = await this.redis.hget(this.keys.channelMembership, channelId);
    if (!raw) return undefined;
    try {
      return JSON.parse(raw) as MembershipFact;
    } catch {
      return undefined;
    }
  }

  /** Records a fact unless a later one is stored; resolves whether it was stored. */
  async record(channelId: string, fact: MembershipFact): Promise<boolean> {
    const stored = await RECORD_SCRIPT.run(this.redis, 1, this.keys.channelMembership, channelId, JSON.stringify(fact), fact.at);
    return stored === 1;
  }
}

/**
 * The job: asks Slack (conversations.info) about each channel and records the answer. A channel
 * whose call fails keeps what was known; the others go on.
 */
export async function refreshChannelMembership(
  chat: Pick<ChatPort, 'channelInfo'>,
  membership: ChannelMembership,
  channelIds: readonly string[],
  now: () => number,
  logger: Pick<Logger, 'warn' | 'debug'>,
): Promise<{ refreshed: number; failed: number }> {
  let refreshed = 0;
  let failed = 0;
  for (const channel of channelIds) {
    try {
      const info = await chat.channelInfo(channel);
      const canPost = !!info && info.isMember && !info.isArchived;
      await membership.record(channel, { canPost, at: now(), source: 'info' });
      refreshed += 1;
    } catch (error) {
      failed += 1;
      logger.warn({ err: error, channel }, 'could not read whether lanebot is in a channel (conversations.info needs channels:read); keeping what was known');
    }
  }
  logger.debug({ refreshed, failed }, 'channel membership refreshed');
  return { refreshed, failed };
}
