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
export type RenewResult = { ok: true; until: number; withdrewWarning: boolean } | { ok: false; problem: string };

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
