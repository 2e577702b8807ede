// The simulator's CloudFormation: the StacksPort against a simulated account kept in Redis, so every
// bot process (and the sandbox console) sees the same stacks. This file is the service's front: it
// answers the port's calls and the simulator's own controls, and leaves the rest to its parts:
//  - sim-stack-store.ts      where stacks, token answers and armed failures are kept;
//  - sim-stack-operation.ts  an operation's whole course, decided and recorded when it starts;
//  - sim-stack-state.ts      a stack's status, parameters and resources at a moment, read from that;
//  - sim-stack-resources.ts  what each family's template creates and publishes;
//  - sim-lane-rules.ts       the lanes' listener rules and their priorities;
//  - sim-stack-template.ts   the checks a template body must pass.
// SIM_TIME_SCALE divides every duration.
//
// Faithful where the bot depends on CloudFormation's behaviour: one operation at a time per stack
// (`busy`), "No updates are to be performed" (`no-changes`), ROLLBACK_COMPLETE stacks that can only be
// deleted (`replacing`), template format errors (`rejected`), idempotency by client request token,
// and ALB listener rules derived from the lane stacks (and the canary's weighted rule): two stacks of
// one service/env cannot hold the same rule priority (ELBv2's "Priority 'N' is currently in use"), and
// deleting a lane stack frees its priority. The canary stack (templates/canary-stack.yaml) is told
// from a lane stack by its parameters (sim-stack-families.ts) and has resources and outputs of its own. A delete can be made to fail (DELETE_FAILED, with the resources it could not remove
// left in place, the listener rule among them if it came after); deleting again finishes the job.
// Where the AWS adapter (aws/cloudformation.adapter.ts) turns CloudFormation's answers into port
// values, this answers the same situations with the same values.
import type { RedisClient } from '../../redis/redis-connection';
import type { Clock } from '../../clock';
import {
  isStackOperationFinished,
  isStackOperationSucceeded,
  missingStackReason,
  notUpdatableReason,
  stackFailureReasons,
  unknownParametersReason,
  type DeleteStackResult,
  type DeployStackInput,
  type DeployStackResult,
  type StackEvent,
  type StackProgress,
  type StacksPort,
  type StackView,
  type UpdateStackParametersInput,
  type UpdateStackParametersResult,
} from '../stacks.port';
import { loadBalancerNames, sha256, stackIdFor, targetGroupOf } from './sim-account';
import type { SimFaultCheck } from './sim-faults';
import { laneRuleOf, priorityInUse, type LaneRule } from './sim-lane-rules';
import { sameConfig, SIM_STACK_SECONDS, stackFamily, type OperationKind, type PlannedFailure, type StackConfig, type StackFamily } from './sim-stack-families';
import { buildOperation, type OperationRecord } from './sim-stack-operation';
import { plannedFailureOf, resourcesOf } from './sim-stack-resources';
import { deletedAt, heldRule, outcomeOf, stateAt, viewOf, type SimOperationOutcome, type StackRecord, type StackState } from './sim-stack-state';
import { SimStackStore } from './sim-stack-store';
import { templateProblem } from './sim-stack-template';

export type { SimOperationOutcome, StackRecord } from './sim-stack-state';

/** States whose stack only a delete moves on: CloudFormation refuses to update it (the adapter's set too). */
const NOT_UPDATABLE = new Set(['ROLLBACK_COMPLETE', 'ROLLBACK_FAILED', 'DELETE_FAILED']);

/** deployStack's answer plus what the simulator knows beyond the port (used by SimPipelines). */
export interface SimDeployResult {
  result: DeployStackResult;
  stackId?: string;
  /** The operation started (or the delete, for `replacing`). */
  operation?: SimOperationOutcome;
}

export interface SimListenerRule {
  priority: number;
  lane: string;
  stackName: string;
  listenerArn: string;
  targetGroupArn: string;
}

export type SimStackListing = StackView & {
  family: StackFamily;
  lastOperation?: Omit<SimOperationOutcome, 'failureReasons'> & { finished: boolean };
  /** When a stack of this name was last deleted for good (it may have been created again since). */
  deletedAt?: number;
};

export interface SimStacksOptions {
  redis: RedisClient;
  /** Key prefix of the simulated account, e.g. `lanebot:sim`. */
  prefix: string;
  clock: Clock;
  timeScale: number;
  /**
   * Transport faults armed in the simulated account (sim-faults.ts). Only the StacksPort methods
   * consume them; the simulator's own paths (deployStackAt, list, …) never fail this way.
   */
  faults?: SimFaultCheck;
}

export class SimStacks implements StacksPort {
  private readonly store: SimStackStore;

  constructor(private readonly options: SimStacksOptions) {
    this.store = new SimStackStore({ redis: options.redis, prefix: options.prefix });
  }

  /**
   * Checks templates ahead of their first deploy. A first parse of a real template blocks the event
   * loop for tens of milliseconds, which the bot's Slack receiver (same process) would feel as a
   * late ack; done at start, later deploys of the same text reuse the verdict.
   */
  prepareTemplates(bodies: Iterable<string>): void {
    for (const body of bodies) templateProblem(body);
  }

  // ---------------------------------------------------------------------------------------------
  // StacksPort

  async deployStack(input: DeployStackInput): Promise<DeployStackResult> {
    await this.checkFault('CreateChangeSet', input.stackName);
    return (await this.deployStackAt(input, this.options.clock.now())).result;
  }

  async describeStack(stackName: string): Promise<StackView | undefined> {
    await this.checkFault('DescribeStacks', stackName);
    const record = await this.store.load(stackName);
    const state = record && stateAt(record, this.options.clock.now());
    return state?.exists ? viewOf(stackName, state) : undefined;
  }

  async progress(stackName: string, since?: string): Promise<StackProgress> {
    await this.checkFault('DescribeStackEvents', stackName);
    const record = await this.store.load(stackName);
    const now = this.options.clock.now();
    const state = record && stateAt(record, now);
    if (!record || !state) return { status: 'DELETE_COMPLETE', finished: true, succeeded: true, events: [], failureReasons: [], cursor: since };
    // A cursor is `<operation seq>.<events of it already seen>`; without one, the current operation from its start.
    const from = parseCursor(since) ?? { seq: state.op.seq, seen: 0 };
    const events: StackEvent[] = [];
    let cursor = `${from.seq}.${from.seen}`;
    for (const op of record.operations) {
      if (op.seq < from.seq) continue;
      op.events.forEach((event, index) => {
        if ((op.seq === from.seq && index < from.seen) || event.timestamp > now) return;
        events.push(event);
        cursor = `${op.seq}.${index + 1}`;
      });
    }
    return {
      status: state.status,
      finished: isStackOperationFinished(state.status),
      succeeded: isStackOperationSucceeded(state.status),
      events,
      // Worded as the adapter words them (`LogicalId: reason`), so a thread reads the same on either cloud.
      failureReasons: stackFailureReasons(events),
      cursor,
    };
  }

  async deleteStack(stackName: string, clientRequestToken: string): Promise<DeleteStackResult> {
    await this.checkFault('DeleteStack', stackName);
    return this.store.locked(async () => {
      const earlier = await this.store.answered<DeleteStackResult>(stackName, clientRequestToken);
      if (earlier) return earlier;
      const record = await this.store.load(stackName);
      const now = this.options.clock.now();
      const state = record && stateAt(record, now);
      // CloudFormation's DeleteStack is idempotent: a stack that is not there is already deleted.
      if (!record || !state?.exists) return { kind: 'gone' };
      let result: DeleteStackResult;
      if (state.status === 'DELETE_IN_PROGRESS') {
        // DeleteStack accepts a stack already being deleted and starts nothing: report the running delete, as the adapter does.
        result = { kind: 'started', eventCursor: `${state.op.seq}.0` };
      } else if (!isStackOperationFinished(state.status)) {
        return { kind: 'busy', status: state.status };
      } else {
        const op = await this.startDelete(record, state, now, { armed: true });
        result = { kind: 'started', eventCursor: `${op.seq}.0` };
      }
      await this.store.answer(stackName, clientRequestToken, result);
      return result;
    });
  }

  /** Fails the port call if a CloudFormation fault is armed, named as the AWS adapter names it. */
  private async checkFault(operation: string, stackName: string): Promise<void> {
    await this.options.faults?.check('cloudformation', operation, stackName);
  }

  // ---------------------------------------------------------------------------------------------
  // Simulator controls and views (the sandbox, tests, SimPipelines)

  /**
   * deployStack as of `at` (not before the stack's last operation started): SimPipelines starts a
   * Deploy action's stack operation when the action started, even if the execution is read later.
   * `fail` makes this create/update fail (with `fail.reason`, default the family's usual failure)
   * instead of consuming a failNextOperation plan. `refuseFailedStack` answers a ROLLBACK_COMPLETE
   * stack as CloudFormation's UpdateStack does (rejected) instead of starting its replacement, like
   * CodePipeline's CREATE_UPDATE action mode.
   */
  async deployStackAt(
    input: DeployStackInput,
    atTime: number,
    options: { fail?: { reason?: string }; refuseFailedStack?: boolean } = {},
  ): Promise<SimDeployResult> {
    const { stackName, clientRequestToken } = input;
    return this.store.locked(async () => {
      const earlier = await this.store.answered<DeployStackResult>(stackName, clientRequestToken);
      const record = await this.store.load(stackName);
      if (earlier) {
        // Like CloudFormation: the same token reports the operation it started first.
        const seq = earlier.kind === 'started' ? parseCursor(earlier.eventCursor)?.seq : undefined;
        const op = record?.operations.find((o) => o.seq === seq);
        return { result: earlier, stackId: op?.stackId, operation: op && outcomeOf(stackName, op) };
      }

      const problem = templateProblem(input.templateBody);
      if (problem) return { result: { kind: 'rejected', reason: problem } };

      const at = Math.max(atTime, record?.operations.at(-1)?.startedAt ?? atTime);
      const state = record && stateAt(record, at);
      const exists = !!state?.exists;
      if (state && exists) {
        if (!isStackOperationFinished(state.status)) return { result: { kind: 'busy', status: state.status }, stackId: state.op.stackId };
        // A stack whose delete failed can only be deleted again; CreateChangeSet says so (a ValidationError the adapter reports as rejected).
        if ((state.status === 'ROLLBACK_COMPLETE' && options.refuseFailedStack) || state.status === 'DELETE_FAILED') {
          const reason = notUpdatableReason(state.op.stackId, state.status);
          return { result: { kind: 'rejected', reason }, stackId: state.op.stackId };
        }
        if (state.status === 'ROLLBACK_COMPLETE') {
          // A stack whose first create failed can only be deleted; start that, the caller creates again after.
          const op = await this.startDelete(record, state, at);
          return { result: { kind: 'replacing', status: 'ROLLBACK_COMPLETE' }, stackId: op.stackId, operation: outcomeOf(stackName, op) };
        }
      }

      const after: StackConfig = {
        templateHash: sha256(input.templateBody),
        parameters: { ...input.parameters },
        tags: { ...(input.tags ?? {}) },
        // An update without a role keeps the stack's (CloudFormation's rule for RoleARN).
        roleArn: input.roleArn ?? (exists ? state?.config?.roleArn : undefined),
      };
      if (state && exists && sameConfig(state.config, after)) return { result: { kind: 'no-changes', stackId: state.op.stackId } };

      return this.startChange(stackName, clientRequestToken, record, exists ? state : undefined, after, at, options.fail);
    });
  }

  /**
   * updateStackParameters as the adapter does it: the stack's previous template (the simulator keeps
   * its hash, which is all a template is to it) and tags, its other parameters unchanged, the given
   * ones set. The update is an operation like any other, so the lane's outputs, ECS deployment and
   * health follow as for a pipeline's deploy.
   */
  async updateStackParameters(input: UpdateStackParametersInput): Promise<UpdateStackParametersResult> {
    await this.checkFault('CreateChangeSet', input.stackName);
    const { stackName, clientRequestToken } = input;
    return this.store.locked(async () => {
      const earlier = await this.store.answered<UpdateStackParametersResult>(stackName, clientRequestToken);
      if (earlier) return earlier;
      const record = await this.store.load(stackName);
      const at = Math.max(this.options.clock.now(), record?.operations.at(-1)?.startedAt ?? 0);
      const state = record && stateAt(record, at);
      if (!record || !state?.exists || !state.config) return { kind: 'rejected', reason: missingStackReason(stackName) };
      if (!isStackOperationFinished(state.status)) return { kind: 'busy', status: state.status };
      if (NOT_UPDATABLE.has(state.status)) return { kind: 'rejected', reason: notUpdatableReason(state.op.stackId, state.status) };
      const config = state.config;
      const unknown = Object.keys(input.parameters).filter((name) => !Object.hasOwn(config.parameters, name));
      if (unknown.length > 0) return { kind: 'rejected', reason: unknownParametersReason(stackName, unknown) };

      const after: StackConfig = {
        templateHash: config.templateHash,
        parameters: { ...config.parameters, ...input.parameters },
        tags: { ...config.tags },
        roleArn: input.roleArn ?? config.roleArn,
      };
      if (sameConfig(config, after)) return { kind: 'no-changes', stackId: state.op.stackId };
      const { result } = await this.startChange(stackName, clientRequestToken, record, state, after, at);
      return result;
    });
  }

  /** Records the create (no `existing` state) or update to `after` and answers the token with it. Under the lock. */
  private async startChange(
    stackName: string,
    clientRequestToken: string,
    record: StackRecord | undefined,
    existing: StackState | undefined,
    after: StackConfig,
    at: number,
    fail?: { reason?: string },
  ): Promise<SimDeployResult & { result: { kind: 'started' } }> {
    const current = record ?? { stackName, seq: 0, operations: [] };
    const seq = current.seq + 1;
    const kind: OperationKind = existing ? 'update' : 'create';
    const stackId = existing ? existing.op.stackId : stackIdFor(stackName, seq);
    const before = existing ? existing.live ?? existing.config : undefined;

    // What fails, if anything: a listener rule priority held by another lane stack, else a planned failure.
    const failure = (await this.priorityConflict(stackName, before, after, at)) ?? (await this.plannedFailure(stackName, after, kind, fail));

    const op = buildOperation({ stackName, stackId, seq, kind, at, before, after, failure, durationMs: this.durationMs(stackName, after, kind) });
    await this.store.save(current, op);
    const result = { kind: 'started', operation: kind, stackId, eventCursor: `${seq}.0` } as const;
    await this.store.answer(stackName, clientRequestToken, result);
    return { result, stackId, operation: outcomeOf(stackName, op) };
  }

  /**
   * Makes the stack's next create, update or delete fail with `reason` (default: the family's usual
   * failure for that kind of operation). A delete with nothing to remove (a ROLLBACK_COMPLETE stack)
   * cannot fail, and leaves the plan for the operation after it.
   */
  async failNextOperation(stackName: string, reason?: string): Promise<void> {
    await this.store.armFailure(stackName, reason);
  }

  /** Every stack of the simulated account (deleted ones with `includeDeleted`), by name. */
  async list(options: { includeDeleted?: boolean } = {}): Promise<SimStackListing[]> {
    return this.listingOf(await this.store.loadAll(), options);
  }

  /** The stacks named (deleted ones with `includeDeleted`; none for a name never created), by name: one round trip for those only. */
  async listNamed(stackNames: readonly string[], options: { includeDeleted?: boolean } = {}): Promise<SimStackListing[]> {
    const records = await this.store.loadMany([...new Set(stackNames)]);
    return this.listingOf(
      records.filter((record): record is StackRecord => record !== undefined),
      options,
    );
  }

  private listingOf(records: StackRecord[], options: { includeDeleted?: boolean }): SimStackListing[] {
    const now = this.options.clock.now();
    const listing: SimStackListing[] = [];
    for (const record of records) {
      const state = stateAt(record, now);
      if (!state || (!state.exists && !options.includeDeleted)) continue;
      const { failureReasons: _, ...outcome } = outcomeOf(record.stackName, state.op);
      const deleted = deletedAt(record, now);
      listing.push({
        ...viewOf(record.stackName, state),
        family: stackFamily(record.stackName, (state.config ?? state.op.after ?? state.op.before)?.parameters),
        lastOperation: { ...outcome, finished: isStackOperationFinished(state.status) },
        ...(deleted === undefined ? {} : { deletedAt: deleted }),
      });
    }
    // Stack names are ASCII letters, digits and hyphens: code-unit order is their order. localeCompare
    // asks ICU's collation on every comparison, which made this sort most of a listing's cost (the
    // alarm pass lists every stack each time).
    return listing.sort((a, b) => (a.stackName < b.stackName ? -1 : a.stackName > b.stackName ? 1 : 0));
  }

  /**
   * The recorded operations of the stacks named (undefined for one never created), for what the
   * simulator derives from a stack's history: the traffic its target group served (sim-traffic.ts).
   */
  async records(stackNames: readonly string[]): Promise<(StackRecord | undefined)[]> {
    return this.store.loadMany(stackNames);
  }

  /** Every stack's recorded operations (one round trip, but every stack: for what cannot be found by name). */
  async allRecords(): Promise<StackRecord[]> {
    return this.store.loadAll();
  }

  /** The listener rules of a service/env's ALB listener: one per lane stack but `default`, by priority. */
  async listenerRules(service: string, env: string): Promise<SimListenerRule[]> {
    const now = this.options.clock.now();
    const rules: SimListenerRule[] = [];
    for (const record of await this.store.loadListener(service, env)) {
      const state = stateAt(record, now);
      const held = state && heldRule(record.stackName, state);
      if (!held || held.service !== service || held.env !== env) continue;
      rules.push({
        priority: held.priority,
        lane: held.lane,
        stackName: record.stackName,
        listenerArn: loadBalancerNames(service, env).listenerArn,
        targetGroupArn: targetGroupOf(record.stackName, state.op.stackId, held.targetGroupLogicalId).arn,
      });
    }
    return rules.sort((a, b) => a.priority - b.priority);
  }

  // ---------------------------------------------------------------------------------------------

  private durationMs(stackName: string, config: StackConfig | undefined, kind: OperationKind): number {
    return (SIM_STACK_SECONDS[stackFamily(stackName, config?.parameters)][kind] * 1000) / this.options.timeScale;
  }

  /** Starts deleting the stack's resources; `armed` lets a failure armed for the stack fail it. */
  private async startDelete(record: StackRecord, state: StackState, at: number, options: { armed?: boolean } = {}): Promise<OperationRecord> {
    const { stackName } = record;
    // A ROLLBACK_COMPLETE stack shows its parameters but has no resources left to delete; after a
    // failed delete, only what it could not remove is left.
    const all = state.status === 'ROLLBACK_COMPLETE' || !state.live ? [] : resourcesOf(stackName, state.live);
    const existing = state.resources ? all.filter((r) => state.resources!.includes(r.logicalId)) : all;
    const config = state.live ?? state.config;
    const failure = options.armed && existing.length > 0 ? await this.plannedFailure(stackName, config, 'delete') : undefined;
    const op = buildOperation({
      stackName,
      stackId: state.op.stackId,
      seq: record.seq + 1,
      kind: 'delete',
      at,
      existing,
      failure,
      durationMs: this.durationMs(stackName, config, 'delete'),
    });
    op.before = state.config;
    op.live = state.live;
    if (state.resources) op.startedWith = state.resources;
    await this.store.save(record, op);
    return op;
  }

  /** ELBv2 refuses a second rule with the same priority on a listener; CloudFormation rolls back. */
  private async priorityConflict(stackName: string, before: StackConfig | undefined, after: StackConfig, at: number): Promise<PlannedFailure | undefined> {
    const wanted = laneRuleOf(stackName, after.parameters);
    if (!wanted) return undefined;
    const had = before && laneRuleOf(stackName, before.parameters);
    if (had && had.priority === wanted.priority) return undefined; // the stack's own rule, unchanged
    const held: LaneRule[] = [];
    for (const other of await this.store.loadListener(wanted.service, wanted.env)) {
      if (other.stackName === stackName) continue;
      const state = stateAt(other, at);
      const rule = state && heldRule(other.stackName, state);
      if (rule) held.push(rule);
    }
    return priorityInUse(wanted, held);
  }

  /** `fail` (a failing Deploy stage) if given, else a failure armed for the stack's next operation, if any. */
  private async plannedFailure(stackName: string, config: StackConfig | undefined, kind: OperationKind, fail?: { reason?: string }): Promise<PlannedFailure | undefined> {
    const planned = fail ?? (await this.store.takeFailure(stackName));
    return planned && plannedFailureOf(stackFamily(stackName, config?.parameters), kind, planned.reason);
  }
}

function parseCursor(cursor: string | undefined): { seq: number; seen: number } | undefined {
  const match = cursor ? /^(\d+)\.(\d+)$/.exec(cursor) : null;
  return match ? { seq: Number(match[1]), seen: Number(match[2]) } : undefined;
}
