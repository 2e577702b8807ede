// The simulator's SQS queue of alarm state changes (AlarmEventsPort): a Redis list that
// sim-lane-health.ts appends EventBridge-shaped events to, read like SQS does: a received message is
// invisible until acknowledged or until its visibility timeout passes, then it is delivered again
// (at least once, as SQS). Bodies are parsed by the same function as the SQS adapter's.
//
// The simulator evaluates alarms only when asked, so a receive first has lane health evaluate every
// lane (`evaluate`), as CloudWatch evaluates continuously. A long poll waits in short real-time
// steps, never with a blocking Redis command: the connection is shared with everything else.
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../redis/redis-connection';
import type { Clock } from '../../clock';
import { parseAlarmStateChange, type AlarmEventsPort, type AlarmStateChange } from '../alarm-events.port';
import { realSleep } from '../aws/aws-call';
import { LuaScript } from '../../redis/lua-script';

export interface SimAlarmEventsOptions {
  redis: RedisClient;
  /** Key prefix of the simulated account, e.g. `lanebot:sim`. */
  prefix: string;
  clock: Clock;
  /** Brings the alarms up to date, emitting their state changes (SimLaneHealth.evaluateAll). */
  evaluate: () => Promise<void>;
  /** How long a received message stays invisible (clock milliseconds); SQS's default is 30 s. */
  visibilityTimeoutMs?: number;
  /** Real milliseconds between looks while long-polling. */
  pollIntervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** The Redis list the lane health's recording script appends events to. */
export function simAlarmEventsKey(prefix: string): string {
  return `${prefix}:health:alarm-events`;
}

const MAX_MESSAGES = 10;
const MAX_WAIT_SECONDS = 20;

/**
 * Moves up to #ARGV - 3 messages from the queue (KEYS[1]) to in-flight: KEYS[2] zset receipt → visible
 * again at, KEYS[3] hash receipt → body; first returns expired in-flight messages to the queue's head.
 * ARGV[1] unused, ARGV[2] now, ARGV[3] visible-again-at, ARGV[4..] one fresh receipt per message wanted. Returns receipt, body pairs.
 */
const RECEIVE_SCRIPT = new LuaScript(`
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
for i = #expired, 1, -1 do
  local body = redis.call('HGET', KEYS[3], expired[i])
  if body then redis.call('LPUSH', KEYS[1], body) end
  redis.call('HDEL', KEYS[3], expired[i])
  redis.call('ZREM', KEYS[2], expired[i])
end
local out = {}
for i = 4, #ARGV do
  local body = redis.call('LPOP', KEYS[1])
  if not body then break end
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[i])
  redis.call('HSET', KEYS[3], ARGV[i], body)
  table.insert(out, ARGV[i])
  table.insert(out, body)
end
return out
`);

export class SimAlarmEvents implements AlarmEventsPort {
  constructor(private readonly options: SimAlarmEventsOptions) {}

  private keys(): [string, string, string] {
    const queue = simAlarmEventsKey(this.options.prefix);
    return [queue, `${queue}:inflight`, `${queue}:bodies`];
  }

  async receive(maxMessages: number, waitSeconds: number, signal?: AbortSignal): Promise<AlarmStateChange[]> {
    const max = Math.min(MAX_MESSAGES, Math.max(1, Math.floor(maxMessages) || 1));
    const deadline = Date.now() + Math.min(MAX_WAIT_SECONDS, Math.max(0, waitSeconds)) * 1000;
    const sleep = this.options.sleep ?? realSleep;
    for (;;) {
      await this.options.evaluate();
      const changes = await this.take(max);
      if (changes.length > 0 || Date.now() >= deadline || signal?.aborted) return changes;
      await sleep(this.options.pollIntervalMs ?? 250);
    }
  }

  async acknowledge(receipts: string[]): Promise<void> {
    if (receipts.length === 0) return;
    const [, inflight, bodies] = this.keys();
    await this.options.redis.multi().zrem(inflight, ...receipts).hdel(bodies, ...receipts).exec();
  }

  /** Messages in the queue now (not in flight): for the sandbox and tests. */
  async depth(): Promise<number> {
    return this.options.redis.llen(this.keys()[0]);
  }

  private async take(max: number): Promise<AlarmStateChange[]> {
    const now = this.options.clock.now();
    const visibleAt = now + (this.options.visibilityTimeoutMs ?? 30_000);
    const receipts = Array.from({ length: max }, () => randomUUID());
    const flat = (await RECEIVE_SCRIPT.run(this.options.redis, 3, ...this.keys(), String(now), String(now), String(visibleAt), ...receipts)) as string[];
    const changes: AlarmStateChange[] = [];
    const junk: string[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const change = parseAlarmStateChange(flat[i + 1]!, flat[i]!);
      if (change) changes.push(change);
      else junk.push(flat[i]!);
    }
    if (junk.length > 0) await this.acknowledge(junk);
    return changes;
  }
}
