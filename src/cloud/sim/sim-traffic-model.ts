// The arithmetic of the simulator's traffic (sim-traffic.ts), kept free of Redis and clocks so it can
// be checked on its own: which configuration each stack had at each moment, read from its recorded
// operations, and how many requests a target group served over a window, integrated piece by piece
// between the moments something changed.
//
// A stack's configuration (its parameters: the canary's weights, a lane's DesiredCount) takes effect
// when the operation that applies it completes, as a person reading CloudFormation would date it: a
// create or update at its end, a delete at its start (the service drains and the rule goes). A failed
// create or update changes nothing (it rolled back), nor does a failed delete (what it could not
// remove, the ECS service first of all, is still there). Operations are recorded when they start with
// the moment they will end, so the history also knows a change that is still to come; a window never
// reaches past the present, so it never sees one.
import type { StackConfig } from './sim-stack-families';
import type { StackRecord } from './sim-stack-state';

/** From `at` on, the stack had `config` (its resources existing), or nothing (before a create, after a delete). */
export interface ConfigChange {
  at: number;
  stackId: string;
  config?: StackConfig;
}

/**
 * The stack's configurations over time, oldest first; the first entry holds from the beginning of
 * time. Only the operations the simulator keeps (the latest ten) are known: what came before the
 * oldest of them is taken to be what that one started from.
 */
export function configHistory(record: StackRecord | undefined): ConfigChange[] {
  const ops = record?.operations ?? [];
  const first = ops[0];
  if (!first) return [{ at: Number.NEGATIVE_INFINITY, stackId: '' }];
  const history: ConfigChange[] = [
    first.kind === 'create' ? { at: Number.NEGATIVE_INFINITY, stackId: first.stackId } : { at: Number.NEGATIVE_INFINITY, stackId: first.stackId, config: first.before },
  ];
  for (const op of ops) {
    if (op.kind === 'delete') {
      if (op.finalStatus === 'DELETE_COMPLETE') history.push({ at: op.startedAt, stackId: op.stackId });
    } else if (op.finalStatus === 'CREATE_COMPLETE' || op.finalStatus === 'UPDATE_COMPLETE') {
      history.push({ at: op.endsAt, stackId: op.stackId, config: op.after });
    }
  }
  // A stack's operations never overlap (one at a time), so the changes are in order already.
  return history;
}

/** The configuration in force at `t`. */
export function configAt(history: readonly ConfigChange[], t: number): ConfigChange {
  let current = history[0]!;
  for (const change of history) {
    if (change.at > t) break;
    current = change;
  }
  return current;
}

/** A piece of a window during which no history changed. */
export interface Segment {
  from: number;
  to: number;
  /** Per history given, the change in force during the piece. */
  configs: ConfigChange[];
}

/** Cuts [start, end) at every change of the histories. */
export function segmentsOf(start: number, end: number, histories: readonly (readonly ConfigChange[])[]): Segment[] {
  if (!(end > start)) return [];
  const cuts = new Set<number>([start, end]);
  for (const history of histories) for (const change of history) if (change.at > start && change.at < end) cuts.add(change.at);
  const points = [...cuts].sort((a, b) => a - b);
  const segments: Segment[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const from = points[i]!;
    segments.push({ from, to: points[i + 1]!, configs: histories.map((history) => configAt(history, from)) });
  }
  return segments;
}

/** A lane's (or the canary's) ECS service runs tasks under this configuration: it serves its target group. */
export function serves(change: ConfigChange | undefined): boolean {
  if (!change?.config) return false;
  const desired = change.config.parameters.DesiredCount;
  // The templates' DesiredCount default is 1.
  return desired === undefined || desired === '' || Math.floor(Number(desired)) > 0;
}

/** How the listener splits the untagged traffic: shares of the default target group and of the canary's (0 without a canary). */
export function untaggedShares(weights: { canary: number; baseline: number } | undefined): { baseline: number; canary: number } {
  if (!weights) return { baseline: 1, canary: 0 };
  const total = weights.canary + weights.baseline;
  // ALB refuses a forward action whose weights are all 0 (the template's rule says so too).
  if (!(total > 0)) return { baseline: 1, canary: 0 };
  return { baseline: weights.baseline / total, canary: weights.canary / total };
}

/** Simulated (cloud) minutes in a span of the simulator's clock, which runs `timeScale` times faster. */
export function cloudMinutes(wallMs: number, timeScale: number): number {
  return (wallMs * timeScale) / 60_000;
}
