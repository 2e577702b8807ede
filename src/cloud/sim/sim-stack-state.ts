// A simulated stack at one moment, derived from its recorded operations (sim-stack-operation.ts): its
// status is the last stack-level event at or before that moment, and from the operation's kind and
// whether it failed follow the parameters describe-stacks shows, the resources that exist (outputs,
// listener rule) and the outcome the simulator reports.
import { isStackOperationSucceeded, type StackEvent, type StackView } from '../stacks.port';
import { laneRuleOf, type LaneRule } from './sim-lane-rules';
import { STACK_RESOURCE, type OperationKind, type StackConfig } from './sim-stack-families';
import type { OperationRecord } from './sim-stack-operation';
import { outputsOf } from './sim-stack-resources';

export interface StackRecord {
  stackName: string;
  seq: number;
  /** Oldest first; operations start in order. */
  operations: OperationRecord[];
}

/** The stack at one moment, derived from its operations. */
export interface StackState {
  op: OperationRecord;
  status: string;
  exists: boolean;
  /** What describe-stacks shows as parameters and tags. */
  config?: StackConfig;
  /** The configuration whose resources (outputs, listener rule) exist, if any. */
  live?: StackConfig;
  /** Which of `live`'s resources (logical ids) exist, when a failed delete removed some; undefined: all. */
  resources?: string[];
  /** Whether the outputs are published. */
  outputs: boolean;
  /** The operation failed and is rolling back (or has). */
  failed: boolean;
}

/** What an operation comes to, known when it starts. */
export interface SimOperationOutcome {
  kind: OperationKind;
  startedAt: number;
  endsAt: number;
  finalStatus: string;
  succeeded: boolean;
  failureReasons: string[];
  statusReason?: string;
}

export function stateAt(record: StackRecord, t: number): StackState | undefined {
  const op = record.operations.filter((o) => o.startedAt <= t).at(-1);
  if (!op) return undefined;
  let status = op.events[0]!.status;
  for (const event of op.events) {
    if (event.timestamp > t) break;
    if (event.logicalResourceId === record.stackName && event.resourceType === STACK_RESOURCE) status = event.status;
  }
  const failed = op.failedAt !== undefined && t >= op.failedAt;
  switch (op.kind) {
    case 'create':
      return { op, status, failed, exists: true, config: op.after, live: failed ? undefined : op.after, outputs: status === 'CREATE_COMPLETE' };
    case 'update':
      return { op, status, failed, exists: true, config: failed ? op.before : op.after, live: failed ? op.before : op.after, outputs: true };
    case 'delete': {
      const gone = status === 'DELETE_COMPLETE';
      const resources = failed ? op.remaining : op.startedWith;
      return { op, status, failed, exists: !gone, config: op.before, live: gone ? undefined : op.live, resources, outputs: !gone && !!op.live };
    }
  }
}

export function viewOf(stackName: string, state: StackState): StackView {
  const config = state.config;
  // During an update the outputs are still the old configuration's; after it, the new one's.
  const outputsConfig = state.op.kind === 'update' && state.status === 'UPDATE_IN_PROGRESS' ? state.op.before : state.live;
  return {
    stackName,
    stackId: state.op.stackId,
    status: state.status,
    statusReason: state.failed ? state.op.failureReason : undefined,
    parameters: { ...(config?.parameters ?? {}) },
    outputs: state.outputs && outputsConfig ? outputsOf(stackName, state.op.stackId, outputsConfig) : {},
    tags: { ...(config?.tags ?? {}) },
    roleArn: config?.roleArn,
  };
}

export function outcomeOf(stackName: string, op: OperationRecord): SimOperationOutcome {
  return {
    kind: op.kind,
    startedAt: op.startedAt,
    endsAt: op.endsAt,
    finalStatus: op.finalStatus,
    succeeded: isStackOperationSucceeded(op.finalStatus),
    failureReasons: failureReasonsOf(op.events),
    statusReason: op.failureReason,
  };
}

export function failureReasonsOf(events: StackEvent[]): string[] {
  return events.filter((e) => e.status.endsWith('_FAILED') && e.reason).map((e) => e.reason!);
}

/** The rule a lane (or canary) stack holds at a moment: from the start of its create until a delete removed it. */
export function heldRule(stackName: string, state: StackState): LaneRule | undefined {
  if (!state.exists || !state.live) return undefined;
  const rule = laneRuleOf(stackName, state.live.parameters);
  return rule && (!state.resources || state.resources.includes(rule.logicalId)) ? rule : undefined;
}

/** When the stack was last deleted for good, if that is among its kept operations and done by `t`. */
export function deletedAt(record: StackRecord, t: number): number | undefined {
  return record.operations.filter((o) => o.kind === 'delete' && o.finalStatus === 'DELETE_COMPLETE' && o.endsAt <= t).at(-1)?.endsAt;
}
