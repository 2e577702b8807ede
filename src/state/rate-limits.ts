// Rate limits on what queues work (commands and clicks), per Slack user and per channel, so a script
// in a loop cannot queue thousands of operations. A fixed window per key, counted in one Lua script,
// so every bot process shares the count.
import type { RedisClient } from '../redis/redis-connection';
import type { RedisKeys } from './keys';
import { LuaScript } from '../redis/lua-script';

/** N requests per window. */
export interface RateLimit {
  count: number;
  windowMs: number;
}

export type RateDecision = { allowed: true } | { allowed: false; who: 'user' | 'channel'; limit: RateLimit; retryInMs: number };

// KEYS: the user's counter, the channel's counter. ARGV: user limit, user window, channel limit,
// channel window. Returns which limit is over (0 none, 1 user, 2 channel) and the milliseconds until
// its window ends. A refused request counts against its user too (a loop that keeps knocking keeps
// its own window full), but not against the channel: one user's loop must not lock others out.
const HIT_SCRIPT = new LuaScript(`
local function count(i)
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[i * 2]) end
  return n
end
if count(1) > tonumber(ARGV[1]) then return { 1, redis.call('PTTL', KEYS[1]) } end
if count(2) > tonumber(ARGV[3]) then return { 2, redis.call('PTTL', KEYS[2]) } end
return { 0, 0 }`);

export class RateLimiter {
  constructor(
    private readonly redis: Pick<RedisClient, 'eval' | 'evalsha'>,
    private readonly keys: Pick<RedisKeys, 'rate'>,
    private readonly limits: { perUser: RateLimit; perChannel: RateLimit },
  ) {}

  async hit(userId: string, channelId: string): Promise<RateDecision> {
    const { perUser, perChannel } = this.limits;
    const [over, ttl] = (await HIT_SCRIPT.run(
      this.redis,
      2,
      this.keys.rate('user', userId),
      this.keys.rate('channel', channelId),
      perUser.count,
      perUser.windowMs,
      perChannel.count,
      perChannel.windowMs,
    )) as [number, number];
    if (over === 0) return { allowed: true };
    const who = over === 1 ? 'user' : 'channel';
    return { allowed: false, who, limit: who === 'user' ? perUser : perChannel, retryInMs: Math.max(1000, ttl) };
  }
}

/** What a refused request is told. */
export function slowDownText(decision: Extract<RateDecision, { allowed: false }>, formatWindow: (ms: number) => string): string {
  const whose = decision.who === 'user' ? 'you have' : 'this channel has';
  return (
    `:hourglass: Slow down: ${whose} asked lanebot for more than ${decision.limit.count} deploys or other changes within ${formatWindow(decision.limit.windowMs)}. ` +
    `Nothing was queued. Try again in ${Math.ceil(decision.retryInMs / 1000)} s.`
  );
}
