// Which Slack requests were already taken, shared through Redis so every bot process agrees: a
// replayed request (same signature) or a Slack retry of a delivery already taken is answered
// without acting.
import { createHash } from 'node:crypto';
import type { RedisClient } from '../../redis/redis-connection';
import type { RedisKeys } from '../../state/keys';

export interface RequestLedger {
  /**
   * Records `key` for `ttlMs`; true if it was not recorded yet (the first sighting).
   * Rejects when the ledger cannot answer.
   */
  firstSighting(key: string, ttlMs: number): Promise<boolean>;
}

/** One Redis key per sighting: `SET <prefix>:seen-request:<sha256 of key> 1 NX PX ttl`. */
export class RedisRequestLedger implements RequestLedger {
  /** Only SET is used. */
  constructor(
    private readonly redis: Pick<RedisClient, 'set'>,
    private readonly keys: RedisKeys,
  ) {}

  async firstSighting(key: string, ttlMs: number): Promise<boolean> {
    const digest = createHash('sha256').update(key).digest('hex');
    const answer = await this.redis.set(this.keys.seenRequest(digest), '1', 'PX', Math.ceil(ttlMs), 'NX');
    return answer === 'OK';
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
}
