// Slack's rate limits as a stand-in enforces them: chat.postMessage about one message per second per
// channel, chat.update (Tier 3) about 50 a minute per workspace, both with short bursts tolerated.
// Modelled as token buckets (a bucket of `burst` tokens refilled at one per `intervalMs`): a call
// finding its bucket empty is refused with 429 and a Retry-After (whole seconds, as Slack sends it).
// Refused calls take no token. The tests' Slack stub and the load benchmark use the same class, so
// "no 429" in a test means the same as in the benchmark; scale the limits with `scaleSlackLimits`
// to run a test at many times Slack's pace.

export interface BucketLimit {
  /** One call per this many milliseconds on average. */
  intervalMs: number;
  /** How many calls may come back to back after a quiet spell. */
  burst: number;
}

export interface SlackLimits {
  /** chat.postMessage, per channel. */
  postsPerChannel: BucketLimit;
  /** chat.update, for the whole workspace (the bot's token). */
  updates: BucketLimit;
}

/** Slack's published limits: 1 post/s per channel, 50 chat.update/min (Tier 3), small bursts. */
export const SLACK_LIMITS: SlackLimits = {
  postsPerChannel: { intervalMs: 1000, burst: 3 },
  updates: { intervalMs: 1200, burst: 5 },
};

/** The same limits `factor` times faster (a test's compressed time); bursts stay as they are. */
export function scaleSlackLimits(limits: SlackLimits, factor: number): SlackLimits {
  return {
    postsPerChannel: { ...limits.postsPerChannel, intervalMs: limits.postsPerChannel.intervalMs / factor },
    updates: { ...limits.updates, intervalMs: limits.updates.intervalMs / factor },
  };
}

interface Bucket {
  tokens: number;
  at: number;
}

export class SlackRateLimits {
  private readonly buckets = new Map<string, Bucket>();
  /** Calls refused so far, by method. */
  readonly refused = new Map<string, number>();

  constructor(
    private readonly limits: SlackLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes a token for the call, or says how long to wait (Retry-After, seconds) when there is none.
   * Methods without a limit here always pass.
   */
  take(method: string, params: Record<string, unknown>): { retryAfterSeconds: number } | undefined {
    const limited = this.bucketOf(method, params);
    if (!limited) return undefined;
    const [key, limit] = limited;
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: limit.burst, at: now };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + (now - bucket.at) / limit.intervalMs);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    this.refused.set(method, (this.refused.get(method) ?? 0) + 1);
    const waitMs = (1 - bucket.tokens) * limit.intervalMs;
    return { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  private bucketOf(method: string, params: Record<string, unknown>): [string, BucketLimit] | undefined {
    if (method === 'chat.postMessage') return [`post:${String(params.channel)}`, this.limits.postsPerChannel];
    if (method === 'chat.update') return ['update', this.limits.updates];
    return undefined;
  }
}
