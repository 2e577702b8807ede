// Lane expiry, the rules (no Redis, no Slack): a lane idle for `warnAfter` is warned, and deleted at
// `deleteAfter` unless someone renews it or deploys to it. The lane's clock is its expiry base: the
// time of its last activity (a deploy requested or finished, a renew), or, after a renew for longer
// than `deleteAfter`, the moment that puts the deletion at the end of the renewal. lane-registry.ts
// keeps the base in an index the sweep reads (lane-expiry.ts); config.ts says each lane's window
// (expiryWindowOf).

export interface ExpiryWindow {
  warnAfter: number;
  deleteAfter: number;
  /** The longest renewal `/lane renew` and the buttons give. */
  maxRenewal: number;
}

/** What renewing a lane came to (expiry/lane-expiry.ts; the command and the buttons word it). */
export type RenewResult = { ok: true; until: number; withdrewWarning: boolean; text: string } | { ok: false; problem: string };

/** When the lane is warned and deleted, from its expiry base. */
export function expiryTimes(base: number, window: ExpiryWindow): { warnAt: number; deleteAt: number } {
  return { warnAt: base + window.warnAfter, deleteAt: base + window.deleteAfter };
}

/**
 * The expiry base that a renewal for `durationMs` from `now` gives: the deletion falls at its end
 * (now + duration), the warning `deleteAfter - warnAfter` before.
 */
export function renewedBase(now: number, durationMs: number, window: ExpiryWindow): number {
  return now + durationMs - window.deleteAfter;
}

/** Slack's date formatting, so each reader sees their own time zone; `fallback` for clients that cannot. */
export function slackDate(epochMs: number, format = '{date_long} at {time}'): string {
  const fallback = new Date(epochMs).toUTCString().replace(/:\d\d GMT$/, ' UTC');
  return `<!date^${Math.floor(epochMs / 1000)}^${format}|${fallback}>`;
}

/**
 * What `/lane list` and `/lane status` say of a lane's expiry: it never expires, it expires at `at`
 * (its base + deleteAfter, which after a renew is the renewal's end), or it was warned and is
 * deleted at `at` unless renewed.
 */
export type LaneExpiryState = { kind: 'never' } | { kind: 'expires'; at: number } | { kind: 'pending-deletion'; at: number };

/** What a lane's registry view holds about its expiry (state/lane-registry.ts LaneView). */
export interface LaneExpiryFields {
  state?: 'active' | 'deleting';
  expiryBase?: number;
  deleteAt?: number;
}

/**
 * The lane's expiry as a reader should see it; undefined when there is nothing true to say: the lane
 * is being deleted already, or it is not in the expiry index (a lane of an environment that became
 * expiring since: its next deploy puts it there).
 */
export function laneExpiryState(window: ExpiryWindow | undefined, lane: LaneExpiryFields): LaneExpiryState | undefined {
  if (lane.state === 'deleting') return undefined;
  // No window: the lane never expires (config.ts expiryWindowOf: default, `expiry: never`).
  if (!window) return { kind: 'never' };
  if (lane.deleteAt !== undefined) return { kind: 'pending-deletion', at: lane.deleteAt };
  if (lane.expiryBase === undefined) return undefined;
  return { kind: 'expires', at: expiryTimes(lane.expiryBase, window).deleteAt };
}
