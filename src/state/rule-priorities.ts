// ALB listener rule priorities, one per lane. Every lane but `default` gets a listener rule on its
// service/env's one listener, and ALB refuses two rules with the same priority on a listener, so the
// priority is allocated here (unique per service/env), kept for the lane's life, and passed to the
// pipeline as RULE_PRIORITY on every deploy of the lane. A deleted lane's priority is free again.
// The last priority ALB allows is not a lane's: it is the canary's catch-all weighted rule
// (templates/canary-stack.yaml), which must be evaluated after every lane rule.
import type { RedisClient } from '../redis/redis-connection';
import { DEFAULT_LANE, type LaneRef } from '../domain/names';
import { LanebotError } from '../errors';
import type { RedisKeys } from './keys';
import { LuaScript } from '../redis/lua-script';

/** ALB rule priorities run from 1 to 50000 per listener (the lowest number is evaluated first). */
export const MAX_RULE_PRIORITY = 50_000;

/**
 * The priority of the canary's weighted rule (templates/canary-stack.yaml, parameter RulePriority's
 * default): the last one, so a request a lane rule matches keeps going to its lane during a canary.
 */
export const CANARY_RULE_PRIORITY = MAX_RULE_PRIORITY;

/** Lanes get priorities 1 to 49999; CANARY_RULE_PRIORITY is never handed to a lane. */
export const MAX_LANE_RULE_PRIORITY = CANARY_RULE_PRIORITY - 1;

// KEYS: the service/env's priority hash. ARGV: lane, highest priority.
// Returns the lane's priority, allocating the lowest free one the first time; 0 when all are taken.
// One script, so two processes allocating at once never hand out the same priority.
const ALLOCATE_SCRIPT = new LuaScript(`
local mine = redis.call('HGET', KEYS[1], ARGV[1])
if mine then return tonumber(mine) end
local used = {}
for _, p in ipairs(redis.call('HVALS', KEYS[1])) do used[tonumber(p)] = true end
for p = 1, tonumber(ARGV[2]) do
  if not used[p] then
    redis.call('HSET', KEYS[1], ARGV[1], p)
    return p
  end
end
return 0`);

export class RulePriorityExhaustedError extends LanebotError {
  constructor(ref: LaneRef) {
    super(
      'RULE_PRIORITIES_EXHAUSTED',
      `All ${MAX_LANE_RULE_PRIORITY} listener rule priorities for lanes of ${ref.service}/${ref.env} are taken, so lane ${ref.lane} cannot get a rule. ` +
        'Delete lanes that are no longer used, then deploy again.',
    );
    this.name = 'RulePriorityExhaustedError';
  }
}

export class RulePriorities {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /**
   * The lane's rule priority, allocated on first use; the same number on every later call. Lane
   * `default` has no rule (it is the listener's default action): 0.
   */
  async allocate(ref: LaneRef): Promise<number> {
    if (ref.lane === DEFAULT_LANE) return 0;
    const priority = Number(await ALLOCATE_SCRIPT.run(this.redis, 1, this.keys.rulePriorities(ref), ref.lane, MAX_LANE_RULE_PRIORITY));
    if (priority === 0) throw new RulePriorityExhaustedError(ref);
    return priority;
  }

  /** Frees the lane's priority once its stack (and with it the rule) is deleted. */
  async release(ref: LaneRef): Promise<void> {
    await this.redis.hdel(this.keys.rulePriorities(ref), ref.lane);
  }

  /** Lane → priority for a service/env. */
  async all(ref: Omit<LaneRef, 'lane'>): Promise<Record<string, number>> {
    const hash = await this.redis.hgetall(this.keys.rulePriorities(ref));
    return Object.fromEntries(Object.entries(hash).map(([lane, p]) => [lane, Number(p)]));
  }
}
