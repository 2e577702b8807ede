// Lane expiry, the rules (no Redis, no Slack): a lane idle for `warnAfter` is warned, and deleted at
// `deleteAfter` unless someone renews it or deploys to it. The lane's clock is its expiry base: the
// time of its last activity (a deploy requested or finished, a renew), or, after a renew for longer
// than `deleteAfter`, the moment that puts the deletion at the end of the renewal. lane-registry.ts
// keeps the base in an index the sweep reads (lane-expiry.ts).
import type { LanebotConfig } from '../config';
import { DEFAULT_LANE, type LaneRef } from './names';

export interface ExpiryWindow {
  warnAfter: number;
  deleteAfter: number;
  /** The longest renewal `/lane renew` and the buttons give. */
  maxRenewal: number;
}

/**
 * The expiry window of a lane, or undefined when it never expires: the baseline lane `default`,
 * an environment (or the whole config) with `expiry: never`, and anything not in the config.
 */
export function expiryWindowOf(config: LanebotConfig, ref: LaneRef): ExpiryWindow | undefined {
  if (ref.lane === DEFAULT_LANE || !Object.hasOwn(config.services, ref.service)) return undefined;
  return environmentWindow(config, ref.env);
}

/** An environment's expiry window (undefined: its lanes never expire). */
function environmentWindow(config: LanebotConfig, envName: string): ExpiryWindow | undefined {
  const env = Object.hasOwn(config.environments, envName) ? config.environments[envName] : undefined;
  if (!env) return undefined;
  const global = config.expiry;
  if (env.expiry?.never) return undefined;
  if (global.never && !env.expiry) return undefined;
  return {
    warnAfter: env.expiry?.warnAfter ?? global.warnAfter,
    deleteAfter: env.expiry?.deleteAfter ?? global.deleteAfter,
    maxRenewal: global.maxRenewal,
  };
}

/** The shortest warnAfter of any environment: lanes idle for less can be skipped by the sweep. */
export function shortestWarnAfter(config: LanebotConfig): number | undefined {
  const windows = Object.keys(config.environments)
    .map((env) => environmentWindow(config, env))
    .filter((w): w is ExpiryWindow => w !== undefined);
  return windows.length > 0 ? Math.min(...windows.map((w) => w.warnAfter)) : undefined;
}

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
export function slackDate(epochMs: number, format = '{date_short_pretty} {time}'): string {
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
export function laneExpiryState(config: LanebotConfig, ref: LaneRef, lane: LaneExpiryFields): LaneExpiryState | undefined {
  if (lane.state === 'deleting') return undefined;
  const window = expiryWindowOf(config, ref);
  if (!window) return { kind: 'never' };
  if (lane.deleteAt !== undefined) return { kind: 'pending-deletion', at: lane.deleteAt };
  if (lane.expiryBase === undefined) return undefined;
  return { kind: 'expires', at: expiryTimes(lane.expiryBase, window).deleteAt };
}
