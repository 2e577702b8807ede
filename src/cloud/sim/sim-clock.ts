// The simulator's clock: real time plus an offset that the sandbox can move forward ("advance the
// clock by a day") to reach what happens days later. The offset lives in Redis, so every process of
// one sandbox agrees; each process reads it once a second and reads `now()` from memory, because
// Clock.now() must stay synchronous and cheap.
import type { RedisClient } from '../../redis/redis-connection';
import type { Clock } from '../../clock';

/** How often a process picks up an offset another process set. */
const REFRESH_MS = 1_000;
/** One jump may move the clock at most this far. */
export const MAX_ADVANCE_MS = 60 * 24 * 3_600_000;

export class SimClock implements Clock {
  private offsetMs = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
  ) {}

  now(): number {
    return Date.now() + this.offsetMs;
  }

  get offset(): number {
    return this.offsetMs;
  }

  /** Loads the shared offset (waiting at most a second: Redis may be down), then keeps it fresh. */
  async start(): Promise<void> {
    let timeout: NodeJS.Timeout | undefined;
    const giveUp = new Promise<void>((resolve) => (timeout = setTimeout(resolve, REFRESH_MS)));
    await Promise.race([this.refresh().catch(() => undefined), giveUp]);
    clearTimeout(timeout);
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async refresh(): Promise<void> {
    this.offsetMs = Number((await this.redis.get(this.key)) ?? 0);
  }

  /** Moves simulated time forward by `ms` for every process of this sandbox; returns the new offset. */
  async advance(ms: number): Promise<number> {
    if (!Number.isFinite(ms) || ms <= 0 || ms > MAX_ADVANCE_MS) {
      throw new RangeError(`the clock moves forward by more than 0 and at most ${MAX_ADVANCE_MS / 86_400_000} days at a time`);
    }
    this.offsetMs = await this.redis.incrby(this.key, Math.round(ms));
    return this.offsetMs;
  }
}
