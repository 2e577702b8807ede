// Which Slack requests were already taken, shared through Redis so every bot process agrees: a
// replayed request (same signature) or a Slack retry of a delivery already taken is answered
// without acting.
import { createHash } from 'node:crypto';
import { LuaScript } from '../../redis/lua-script';
import type { RedisClient } from '../../redis/redis-connection';
import type { RedisKeys } from '../../state/keys';

export interface RequestLedger {
  /**
   * Records `key` for `ttlMs`; true if it was not recorded yet (the first sighting).
   * Rejects when the ledger cannot answer.
   */
  firstSighting(key: string, ttlMs: number): Promise<boolean>;
  /** Several at once (one round trip), each answered as firstSighting would, in order. */
  firstSightings(sightings: readonly { key: string; ttlMs: number }[]): Promise<boolean[]>;
}

// KEYS: one per sighting; ARGV: each one's time to live, ms. Returns 1 (first sighting) or 0 per key.
// One script rather than a pipeline of SETs: the request path runs it for every request, and an
// ioredis pipeline copies every script the connection has defined (BullMQ's, dozens) when built.
const SIGHT_SCRIPT = new LuaScript(`
local first = {}
for i, key in ipairs(KEYS) do
  first[i] = redis.call('SET', key, '1', 'PX', ARGV[i], 'NX') and 1 or 0
end
return first`);

/** One Redis key per sighting: `SET <prefix>:seen-request:<sha256 of key> 1 NX PX ttl`. */
export class RedisRequestLedger implements RequestLedger {
  constructor(
    private readonly redis: Pick<RedisClient, 'set' | 'evalsha' | 'eval'>,
    private readonly keys: RedisKeys,
  ) {}

  async firstSighting(key: string, ttlMs: number): Promise<boolean> {
    const answer = await this.redis.set(this.keyOf(key), '1', 'PX', Math.ceil(ttlMs), 'NX');
    return answer === 'OK';
  }

  async firstSightings(sightings: readonly { key: string; ttlMs: number }[]): Promise<boolean[]> {
    if (sightings.length === 0) return [];
    // One command for all: every key carries the bot's prefix (one slot in a cluster).
    const firsts = (await SIGHT_SCRIPT.run(
      this.redis,
      sightings.length,
      ...sightings.map(({ key }) => this.keyOf(key)),
      ...sightings.map(({ ttlMs }) => Math.ceil(ttlMs)),
    )) as number[];
    return firsts.map((first) => first === 1);
  }

  private keyOf(key: string): string {
    return this.keys.seenRequest(createHash('sha256').update(key).digest('hex'));
  }
}

/** A ledger in this process only: tests and the bench. */
export class MemoryRequestLedger implements RequestLedger {
  private readonly seen = new Map<string, number>();
  constructor(private readonly now: () => number = Date.now) {}

  async firstSighting(key: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    const until = this.seen.get(key);
    if (until !== undefined && until > now) return false;
    this.seen.set(key, now + ttlMs);
    return true;
  }

  async firstSightings(sightings: readonly { key: string; ttlMs: number }[]): Promise<boolean[]> {
    const answers: boolean[] = [];
    for (const { key, ttlMs } of sightings) answers.push(await this.firstSighting(key, ttlMs));
    return answers;
  }
}
