// An operation's course, decided when it starts. Nothing in the simulator runs on timers: a create,
// update or delete is recorded at once as the timestamped events CloudFormation would emit over its
// duration (the stack's and each resource's, success or failure and rollback), and the stack's state
// at any later moment is read from them (sim-stack-state.ts).
import type { StackEvent } from '../stacks.port';
import { resourcesOf, type ResourceSpec } from './sim-stack-resources';
import { sameRecord, STACK_RESOURCE, type OperationKind, type PlannedFailure, type StackConfig } from './sim-stack-families';

export interface OperationRecord {
  seq: number;
  kind: OperationKind;
  stackId: string;
  startedAt: number;
  endsAt: number;
  /** The stack's configuration before the operation (update, delete). */
  before?: StackConfig;
  /** What the operation applies (create, update). */
  after?: StackConfig;
  /** A delete: the configuration whose resources it removes (none for a ROLLBACK_COMPLETE stack). */
  live?: StackConfig;
  events: StackEvent[];
  finalStatus: string;
  /** When the operation failed: the rollback started (create, update), or the delete stopped. */
  failedAt?: number;
  failureReason?: string;
  /** A delete of a stack an earlier delete left half-deleted: the resources (logical ids) still there at its start. */
  startedWith?: string[];
  /** A failed delete: the resources (logical ids) it left, which the next delete removes. */
  remaining?: string[];
}

export interface OperationPlan {
  stackName: string;
  stackId: string;
  seq: number;
  kind: OperationKind;
  at: number;
  durationMs: number;
  before?: StackConfig;
  after?: StackConfig;
  failure?: PlannedFailure;
  /** Resources a delete removes (default: those of `before`). */
  existing?: ResourceSpec[];
}

interface Step {
  spec: ResourceSpec;
  /** The resource-status verb: CREATE, UPDATE or DELETE. */
  verb: 'CREATE' | 'UPDATE' | 'DELETE';
  startReason?: string;
}

/** Events with timestamps clamped to the operation's span, so a fractional start or end stays exact. */
class Timeline {
  readonly events: StackEvent[] = [];
  constructor(
    private readonly plan: OperationPlan,
    private readonly end: number,
  ) {}

  push(time: number, logicalId: string, type: string, status: string, reason?: string): void {
    const timestamp = time === this.plan.at || time === this.end ? time : Math.min(this.end, Math.max(this.plan.at, Math.round(time)));
    const index = this.events.length;
    this.events.push({
      eventId: `${this.plan.seq}-${index}-${logicalId}-${status}`,
      timestamp,
      logicalResourceId: logicalId,
      resourceType: type,
      status,
      ...(reason ? { reason } : {}),
    });
  }

  stack(time: number, status: string, reason?: string): void {
    this.push(time, this.plan.stackName, STACK_RESOURCE, status, reason);
  }

  /**
   * Runs `steps` one after another over [from, to], each taking its weight's share; stops after the
   * step at `failAt` (reported _FAILED with `reason`) and returns when that failure happened.
   */
  run(steps: Step[], from: number, to: number, fail?: { index: number; reason: string }): number {
    const total = steps.reduce((sum, s) => sum + s.spec.weight, 0) || 1;
    let done = 0;
    for (const [index, step] of steps.entries()) {
      const start = from + ((to - from) * done) / total;
      done += step.spec.weight;
      const end = from + ((to - from) * done) / total;
      this.push(start, step.spec.logicalId, step.spec.type, `${step.verb}_IN_PROGRESS`, step.startReason);
      if (fail?.index === index) {
        this.push(end, step.spec.logicalId, step.spec.type, `${step.verb}_FAILED`, fail.reason);
        return end;
      }
      this.push(end, step.spec.logicalId, step.spec.type, `${step.verb}_COMPLETE`);
    }
    return to;
  }
}

const REPLACEMENT_REASON = 'Requested update requires the creation of a new physical resource; hence creating one.';

export function buildOperation(plan: OperationPlan): OperationRecord {
  const { stackName, kind, at, durationMs: d, before, after, failure } = plan;
  const base = { seq: plan.seq, kind, stackId: plan.stackId, startedAt: at, before, after };

  if (kind === 'delete') {
    const end = at + d;
    const tl = new Timeline(plan, end);
    tl.stack(at, 'DELETE_IN_PROGRESS', 'User Initiated');
    const existing = plan.existing ?? (before ? resourcesOf(stackName, before) : []);
    const steps = [...existing].reverse().map((spec) => ({ spec, verb: 'DELETE' as const }));
    const failIndex = failure ? steps.findIndex((s) => s.spec.logicalId === failure.logicalId) : -1;
    if (failIndex < 0) {
      tl.run(steps, at, at + d * 0.95);
      tl.stack(end, 'DELETE_COMPLETE');
      return { ...base, endsAt: end, events: tl.events, finalStatus: 'DELETE_COMPLETE' };
    }
    // CloudFormation stops at the resource it could not delete: it and those after it remain, and
    // the stack waits in DELETE_FAILED for another delete (nothing is rolled back).
    const failedAt = Math.max(at, Math.round(tl.run(steps, at, at + d * 0.95, { index: failIndex, reason: failure!.reason })));
    const failureReason = `The following resource(s) failed to delete: [${failure!.logicalId}].`;
    tl.stack(failedAt, 'DELETE_FAILED', failureReason);
    const remaining = steps.slice(failIndex).map((s) => s.spec.logicalId);
    return { ...base, endsAt: failedAt, events: tl.events, finalStatus: 'DELETE_FAILED', failedAt, failureReason, remaining };
  }

  const target = resourcesOf(stackName, after!);
  let steps: Step[];
  let added: ResourceSpec[] = [];
  let replaced: ResourceSpec[] = [];
  let removed: ResourceSpec[] = [];
  if (kind === 'create') {
    steps = target.map((spec) => ({ spec, verb: 'CREATE' }));
  } else {
    const old = resourcesOf(stackName, before!);
    const changed = changedKeys(before!.parameters, after!.parameters);
    // A new template or new tags touch every resource; otherwise only those that use a changed parameter.
    const everything = before!.templateHash !== after!.templateHash || !sameRecord(before!.tags, after!.tags);
    added = target.filter((spec) => !old.some((o) => o.logicalId === spec.logicalId));
    removed = old.filter((o) => !target.some((spec) => spec.logicalId === o.logicalId));
    const modified = target.filter(
      (spec) => !added.includes(spec) && (everything || spec.params.some((p) => changed.has(p)) || spec.logicalId === failure?.logicalId),
    );
    replaced = modified.filter((spec) => spec.replaces);
    steps = target
      .filter((spec) => added.includes(spec) || modified.includes(spec))
      .map((spec) =>
        added.includes(spec) ? { spec, verb: 'CREATE' } : { spec, verb: 'UPDATE', startReason: spec.replaces ? REPLACEMENT_REASON : undefined },
      );
  }
  const failIndex = failure ? steps.findIndex((s) => s.spec.logicalId === failure.logicalId) : -1;
  const verb = kind === 'create' ? 'CREATE' : 'UPDATE';

  if (failIndex < 0) {
    const end = at + d;
    const tl = new Timeline(plan, end);
    tl.stack(at, `${verb}_IN_PROGRESS`, 'User Initiated');
    if (kind === 'create') {
      tl.run(steps, at, at + d * 0.95);
    } else {
      tl.run(steps, at, at + d * 0.85);
      tl.stack(at + d * 0.85, 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
      // Old physical resources of replaced resources, and resources the new configuration dropped.
      tl.run([...replaced, ...removed].map((spec) => ({ spec, verb: 'DELETE' as const })), at + d * 0.85, at + d * 0.98);
    }
    const finalStatus = `${verb}_COMPLETE`;
    tl.stack(end, finalStatus);
    return { ...base, endsAt: end, events: tl.events, finalStatus };
  }

  // A failure: the forward part runs in the first 70% of the time, the rollback takes 30% more.
  const failed = steps[failIndex]!;
  const provisional = new Timeline(plan, Number.POSITIVE_INFINITY);
  const failedAt = Math.max(at, Math.round(provisional.run(steps, at, at + d * 0.7, { index: failIndex, reason: failure!.reason })));
  const end = failedAt + d * 0.3;
  const tl = new Timeline(plan, end);
  tl.stack(at, `${verb}_IN_PROGRESS`, 'User Initiated');
  tl.run(steps, at, at + d * 0.7, { index: failIndex, reason: failure!.reason });
  const reached = steps.slice(0, failIndex + 1);
  const failureReason = `The following resource(s) failed to ${failed.verb.toLowerCase()}: [${failed.spec.logicalId}]. ${
    kind === 'create' ? 'Rollback requested by user.' : ''
  }`.trim();
  let finalStatus: string;
  if (kind === 'create') {
    tl.stack(failedAt, 'ROLLBACK_IN_PROGRESS', failureReason);
    tl.run([...reached].reverse().map((s) => ({ spec: s.spec, verb: 'DELETE' as const })), failedAt, failedAt + d * 0.3 * 0.95);
    finalStatus = 'ROLLBACK_COMPLETE';
  } else {
    tl.stack(failedAt, 'UPDATE_ROLLBACK_IN_PROGRESS', failureReason);
    const back = [...reached].reverse().filter((s) => s.verb === 'UPDATE');
    tl.run(back.map((s) => ({ spec: s.spec, verb: 'UPDATE' as const })), failedAt, failedAt + d * 0.3 * 0.7);
    tl.stack(failedAt + d * 0.3 * 0.7, 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS');
    // What the failed update created (new resources, new physical replacements) is deleted again.
    const undo = reached.filter((s) => s.verb === 'CREATE' || s.spec.replaces).map((s) => ({ spec: s.spec, verb: 'DELETE' as const }));
    tl.run(undo, failedAt + d * 0.3 * 0.7, failedAt + d * 0.3 * 0.95);
    finalStatus = 'UPDATE_ROLLBACK_COMPLETE';
  }
  tl.stack(end, finalStatus);
  return { ...base, endsAt: end, events: tl.events, finalStatus, failedAt, failureReason };
}

function changedKeys(a: Record<string, string>, b: Record<string, string>): Set<string> {
  return new Set([...Object.keys(a), ...Object.keys(b)].filter((k) => a[k] !== b[k]));
}
