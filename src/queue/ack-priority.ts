// Slack's requests first, in a process that both receives them and runs the workers
// (LANEBOT_ROLE=all, the default).
//
// There the receiver and the job steps share one event loop and the machine's cores: every step's
// CPU (BullMQ's scripts, the step's reads, the Slack and AWS calls it makes) delays each ack queued
// behind it. Slack gives an ack 3 s; a job step can wait a second without anyone seeing it. So while
// Slack's requests come in a burst, the workers take no new jobs: running steps finish, waiting and
// delayed jobs stay in Redis, nothing is lost or run twice. A pause lasts at most `maxPauseMs`, and
// the workers then work at least `minRunMs` before they may pause again, so a flood that never ends
// slows the work down but never stops it. Measured (bench/README.md): the ack bench's p99 ratio to
// bare Bolt went from a median of 1.56 (met ≤ 1.5 in 7 of 16 runs) to ≤ 1.5 in 37 of 47 runs.
//
// Only requests that reach the listeners count (src/slack/slack-app.ts, a Bolt global middleware):
// in HTTP mode the edge has already refused unsigned, replayed and oversized ones, so nobody without
// the signing secret can hold the workers back (in Socket Mode, only Slack's own connection can).
//
// A process with LANEBOT_ROLE=worker has no receiver and never pauses; scale out with those when
// the work itself must not slow down under bursts.

/** What is paused: BullMQ's Worker. `pause(true)` stops fetching without waiting for running jobs. */
export interface PausableWorker {
  pause(doNotWaitActive?: boolean): Promise<void>;
  resume(): Promise<void>;
}

export interface AckPriorityOptions {
  /** A burst: this many Slack requests within `windowMs`. */
  burstRequests: number;
  windowMs: number;
  /** The longest a pause lasts, burst or not. */
  maxPauseMs: number;
  /** After a pause, the workers run at least this long before the next one. */
  minRunMs: number;
  now?: () => number;
  /** Told when a pause ends, with its length (metrics). */
  onPauseEnded?: (pausedMs: number) => void;
}

/** The defaults: a burst is 20 requests within 100 ms (200 a second); pauses of at most 1 s, 250 ms of work between. */
export const ACK_PRIORITY_DEFAULTS = { burstRequests: 20, windowMs: 100, maxPauseMs: 1_000, minRunMs: 250 } as const;

export class AckPriority {
  /** The arrival times of the last `burstRequests` requests, oldest at `next` once full. */
  private readonly arrivals: number[];
  private next = 0;
  private pausedAt: number | undefined;
  /** Total length of the pauses that have ended (ms). */
  private pausedMsEnded = 0;
  private resumedAt = -Infinity;
  private check: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly now: () => number;

  constructor(
    private readonly workers: () => readonly PausableWorker[],
    private readonly options: AckPriorityOptions,
  ) {
    if (!(options.burstRequests >= 2)) throw new Error('AckPriority: burstRequests must be at least 2');
    this.arrivals = new Array<number>(options.burstRequests).fill(-Infinity);
    this.now = options.now ?? Date.now;
  }

  /** Time spent paused so far, the pause under way included (ms). */
  pausedMs(): number {
    return this.pausedMsEnded + (this.pausedAt === undefined ? 0 : this.now() - this.pausedAt);
  }

  /** Whether the workers are paused now. */
  get paused(): boolean {
    return this.pausedAt !== undefined;
  }

  /** A Slack request arrived: pauses the workers when it makes a burst (no Redis, no I/O: it runs before the ack). */
  requestArrived(): void {
    const now = this.now();
    this.arrivals[this.next] = now;
    this.next = (this.next + 1) % this.arrivals.length;
    if (this.stopped || this.pausedAt !== undefined || now - this.resumedAt < this.options.minRunMs) return;
    if (this.inBurst(now)) this.pause(now);
  }

  /** Stops pausing for good (the process is stopping); workers paused now stay paused for their close. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.check);
    this.check = undefined;
  }

  /** The oldest of the last `burstRequests` arrivals is within the window. */
  private inBurst(now: number): boolean {
    return now - this.arrivals[this.next]! <= this.options.windowMs;
  }

  private pause(now: number): void {
    this.pausedAt = now;
    for (const worker of this.workers()) void worker.pause(true).catch(() => undefined);
    // Checked a few times per window (the burst ends when requests stop coming that fast) and per
    // longest pause, whichever is shorter.
    const every = Math.max(5, Math.floor(Math.min(this.options.windowMs, this.options.maxPauseMs) / 4));
    this.check = setInterval(() => this.maybeResume(), every);
    this.check.unref();
  }

  private maybeResume(): void {
    const now = this.now();
    if (this.pausedAt === undefined || this.stopped) return;
    if (this.inBurst(now) && now - this.pausedAt < this.options.maxPauseMs) return;
    clearInterval(this.check);
    this.check = undefined;
    const pausedMs = now - this.pausedAt;
    this.pausedMsEnded += pausedMs;
    this.pausedAt = undefined;
    this.resumedAt = now;
    // BullMQ's resume() reports its own failures as the worker's 'error' event.
    for (const worker of this.workers()) void worker.resume();
    this.options.onPauseEnded?.(pausedMs);
  }
}
