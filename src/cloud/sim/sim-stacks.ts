// The simulator's CloudFormation: the StacksPort against a simulated account kept in Redis, so every
// bot process (and the sandbox console) sees the same stacks.
//
// Like SimPipelines, nothing runs on timers. When an operation starts, its whole course is decided
// and recorded as a list of timestamped events (stack-level and per resource, success or failure and
// rollback); a stack's status at any moment is its last stack-level event at or before that moment.
// SIM_TIME_SCALE divides every duration.
//
// Faithful where the bot depends on CloudFormation's behaviour: one operation at a time per stack
// (`busy`), "No updates are to be performed" (`no-changes`), ROLLBACK_COMPLETE stacks that can only be
// deleted (`replacing`), template format errors (`rejected`), idempotency by client request token,
// and ALB listener rules derived from the lane stacks: two lane stacks of one service/env cannot hold
// the same rule priority (ELBv2's "Priority 'N' is currently in use"), and deleting a lane stack frees
// its priority.
import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { parseDocument } from 'yaml';
import type { Clock } from '../../clock';
import { LanebotError } from '../../errors';
import {
  isStackOperationFinished,
  isStackOperationSucceeded,
  type DeleteStackResult,
  type DeployStackInput,
  type DeployStackResult,
  type StackEvent,
  type StackProgress,
  type StacksPort,
  type StackView,
} from '../stacks.port';
import type { SimFaultCheck } from './sim-faults';

/** The simulated account and region every sim ARN carries. */
export const SIM_ACCOUNT = '000000000000';
export const SIM_REGION = 'sim-1';

/** Stack families, by name prefix (see DESIGN.md, "three stack layers", plus the pipeline stacks). */
export type StackFamily = 'lane' | 'boot' | 'infra' | 'pipeline' | 'other';

export function stackFamily(stackName: string): StackFamily {
  if (stackName.startsWith('app-')) return 'lane';
  if (stackName.startsWith('boot-')) return 'boot';
  if (stackName.startsWith('infra-environment-')) return 'infra';
  if (stackName.startsWith('pipeline-')) return 'pipeline';
  return 'other';
}

type OperationKind = 'create' | 'update' | 'delete';

/** Simulated seconds per operation (before SIM_TIME_SCALE); a failed operation takes about as long. */
export const SIM_STACK_SECONDS: Record<StackFamily, Record<OperationKind, number>> = {
  lane: { create: 90, update: 60, delete: 30 },
  boot: { create: 180, update: 60, delete: 90 },
  infra: { create: 240, update: 90, delete: 180 },
  pipeline: { create: 30, update: 20, delete: 20 },
  other: { create: 60, update: 45, delete: 30 },
};

/** How long a stack's state is kept after its last operation. */
const RECORD_TTL_SECONDS = 30 * 24 * 3600;
/** Operations kept per stack (events of older ones are no longer listed). */
const OPERATIONS_KEPT = 10;
const STACK_RESOURCE = 'AWS::CloudFormation::Stack';

interface ResourceSpec {
  logicalId: string;
  type: string;
  /** Share of the operation's time this resource takes. */
  weight: number;
  /** Parameters whose change updates the resource. */
  params: string[];
  /** An update replaces it: a new physical resource, the old one deleted at cleanup. */
  replaces?: boolean;
}

/** What a stack was created or updated with. */
interface StackConfig {
  templateHash: string;
  parameters: Record<string, string>;
  tags: Record<string, string>;
}

interface OperationRecord {
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
  /** When the rollback started, for a failed create or update. */
  failedAt?: number;
  failureReason?: string;
}

interface StackRecord {
  stackName: string;
  seq: number;
  /** Oldest first; operations start in order. */
  operations: OperationRecord[];
}

/** The stack at one moment, derived from its operations. */
interface StackState {
  op: OperationRecord;
  status: string;
  exists: boolean;
  /** What describe-stacks shows as parameters and tags. */
  config?: StackConfig;
  /** The configuration whose resources (outputs, listener rule) exist, if any. */
  live?: StackConfig;
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
};

export interface SimStacksOptions {
  redis: Redis;
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

/** Releases the account lock only if we still hold it. */
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export class SimStacks implements StacksPort {
  constructor(private readonly options: SimStacksOptions) {}

  /**
   * Checks templates ahead of their first deploy. A first parse of a real template blocks the event
   * loop for tens of milliseconds, which the bot's Slack receiver (same process) would feel as a
   * late ack; done at start, later deploys of the same text reuse the verdict.
   */
  prepareTemplates(bodies: Iterable<string>): void {
    for (const body of bodies) templateProblem(body);
  }

  private key(...parts: string[]): string {
    return [this.options.prefix, 'cfn', ...parts].join(':');
  }

  // ---------------------------------------------------------------------------------------------
  // StacksPort

  async deployStack(input: DeployStackInput): Promise<DeployStackResult> {
    await this.checkFault('CreateChangeSet', input.stackName);
    return (await this.deployStackAt(input, this.options.clock.now())).result;
  }

  async describeStack(stackName: string): Promise<StackView | undefined> {
    await this.checkFault('DescribeStacks', stackName);
    const record = await this.load(stackName);
    const state = record && stateAt(record, this.options.clock.now());
    return state?.exists ? viewOf(stackName, state) : undefined;
  }

  async progress(stackName: string, since?: string): Promise<StackProgress> {
    await this.checkFault('DescribeStackEvents', stackName);
    const record = await this.load(stackName);
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
      failureReasons: failureReasonsOf(events),
      cursor,
    };
  }

  async deleteStack(stackName: string, clientRequestToken: string): Promise<DeleteStackResult> {
    await this.checkFault('DeleteStack', stackName);
    return this.locked(async () => {
      const tokenKey = this.key('token', stackName, clientRequestToken);
      const earlier = await this.options.redis.get(tokenKey);
      if (earlier) return JSON.parse(earlier) as DeleteStackResult;
      const record = await this.load(stackName);
      const now = this.options.clock.now();
      const state = record && stateAt(record, now);
      if (!record || !state?.exists) return { kind: 'gone' };
      if (!isStackOperationFinished(state.status)) return { kind: 'busy', status: state.status };
      const op = await this.startDelete(record, state, now);
      const result: DeleteStackResult = { kind: 'started', eventCursor: `${op.seq}.0` };
      await this.options.redis.set(tokenKey, JSON.stringify(result), 'EX', RECORD_TTL_SECONDS);
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
    return this.locked(async () => {
      const { redis } = this.options;
      const tokenKey = this.key('token', stackName, clientRequestToken);
      const earlier = await redis.get(tokenKey);
      const record = await this.load(stackName);
      if (earlier) {
        // Like CloudFormation: the same token reports the operation it started first.
        const result = JSON.parse(earlier) as DeployStackResult;
        const seq = result.kind === 'started' ? parseCursor(result.eventCursor)?.seq : undefined;
        const op = record?.operations.find((o) => o.seq === seq);
        return { result, stackId: op?.stackId, operation: op && outcomeOf(stackName, op) };
      }

      const problem = templateProblem(input.templateBody);
      if (problem) return { result: { kind: 'rejected', reason: problem } };

      const at = Math.max(atTime, record?.operations.at(-1)?.startedAt ?? atTime);
      const state = record && stateAt(record, at);
      const exists = !!state?.exists;
      if (state && exists) {
        if (!isStackOperationFinished(state.status)) return { result: { kind: 'busy', status: state.status }, stackId: state.op.stackId };
        if (state.status === 'ROLLBACK_COMPLETE' && options.refuseFailedStack) {
          const reason = `Stack:${state.op.stackId} is in ROLLBACK_COMPLETE state and can not be updated.`;
          return { result: { kind: 'rejected', reason }, stackId: state.op.stackId };
        }
        if (state.status === 'ROLLBACK_COMPLETE') {
          // A stack whose first create failed can only be deleted; start that, the caller creates again after.
          const op = await this.startDelete(record, state, at);
          return { result: { kind: 'replacing', status: 'ROLLBACK_COMPLETE' }, stackId: op.stackId, operation: outcomeOf(stackName, op) };
        }
      }

      const after: StackConfig = { templateHash: sha256(input.templateBody), parameters: { ...input.parameters }, tags: { ...(input.tags ?? {}) } };
      if (state && exists && sameConfig(state.config, after)) return { result: { kind: 'no-changes', stackId: state.op.stackId } };

      const current = record ?? { stackName, seq: 0, operations: [] };
      const seq = current.seq + 1;
      const kind: OperationKind = exists ? 'update' : 'create';
      const stackId = exists ? state!.op.stackId : stackIdFor(stackName, seq);
      const before = exists ? state!.live ?? state!.config : undefined;

      // What fails, if anything: a listener rule priority held by another lane stack, else a planned failure.
      const failure = (await this.priorityConflict(stackName, before, after, at)) ?? (await this.plannedFailure(stackName, options.fail));

      const op = buildOperation({ stackName, stackId, seq, kind, at, before, after, failure, durationMs: this.durationMs(stackName, kind) });
      await this.save(current, op);
      const result: DeployStackResult = { kind: 'started', operation: kind, stackId, eventCursor: `${seq}.0` };
      await redis.set(tokenKey, JSON.stringify(result), 'EX', RECORD_TTL_SECONDS);
      return { result, stackId, operation: outcomeOf(stackName, op) };
    });
  }

  /** Makes the stack's next create or update fail with `reason` (default: the family's usual failure). */
  async failNextOperation(stackName: string, reason?: string): Promise<void> {
    await this.options.redis.rpush(this.key('fail-next', stackName), JSON.stringify({ reason }));
  }

  /** Every stack of the simulated account (deleted ones with `includeDeleted`), by name. */
  async list(options: { includeDeleted?: boolean } = {}): Promise<SimStackListing[]> {
    const now = this.options.clock.now();
    const listing: SimStackListing[] = [];
    for (const record of await this.loadAll()) {
      const state = stateAt(record, now);
      if (!state || (!state.exists && !options.includeDeleted)) continue;
      const { failureReasons: _, ...outcome } = outcomeOf(record.stackName, state.op);
      listing.push({
        ...viewOf(record.stackName, state),
        family: stackFamily(record.stackName),
        lastOperation: { ...outcome, finished: isStackOperationFinished(state.status) },
      });
    }
    return listing.sort((a, b) => a.stackName.localeCompare(b.stackName));
  }

  /** The listener rules of a service/env's ALB listener: one per lane stack but `default`, by priority. */
  async listenerRules(service: string, env: string): Promise<SimListenerRule[]> {
    const now = this.options.clock.now();
    const rules: SimListenerRule[] = [];
    for (const record of await this.loadAll()) {
      const state = stateAt(record, now);
      const held = state && ruleOf(record.stackName, state);
      if (!held || held.service !== service || held.env !== env) continue;
      const lane = held.lane;
      rules.push({
        priority: held.priority,
        lane,
        stackName: record.stackName,
        listenerArn: loadBalancerNames(service, env).listenerArn,
        targetGroupArn: targetGroupOf(record.stackName, state.op.stackId).arn,
      });
    }
    return rules.sort((a, b) => a.priority - b.priority);
  }

  // ---------------------------------------------------------------------------------------------

  private durationMs(stackName: string, kind: OperationKind): number {
    return (SIM_STACK_SECONDS[stackFamily(stackName)][kind] * 1000) / this.options.timeScale;
  }

  private async startDelete(record: StackRecord, state: StackState, at: number): Promise<OperationRecord> {
    const seq = record.seq + 1;
    const before = state.live;
    const op = buildOperation({
      stackName: record.stackName,
      stackId: state.op.stackId,
      seq,
      kind: 'delete',
      at,
      before,
      // A ROLLBACK_COMPLETE stack shows its parameters but has no resources left to delete.
      existing: state.status === 'ROLLBACK_COMPLETE' ? [] : undefined,
      durationMs: this.durationMs(record.stackName, 'delete'),
    });
    op.before = state.config;
    op.live = state.live;
    await this.save(record, op);
    return op;
  }

  /** ELBv2 refuses a second rule with the same priority on a listener; CloudFormation rolls back. */
  private async priorityConflict(stackName: string, before: StackConfig | undefined, after: StackConfig, at: number): Promise<PlannedFailure | undefined> {
    const wanted = ruleFromConfig(stackName, after);
    if (!wanted) return undefined;
    const had = before && ruleFromConfig(stackName, before);
    if (had && had.priority === wanted.priority) return undefined; // the stack's own rule, unchanged
    for (const other of await this.loadAll()) {
      if (other.stackName === stackName || stackFamily(other.stackName) !== 'lane') continue;
      const state = stateAt(other, at);
      const held = state && ruleOf(other.stackName, state);
      if (held && held.service === wanted.service && held.env === wanted.env && held.priority === wanted.priority) {
        return {
          logicalId: 'LaneListenerRule',
          reason:
            `Resource handler returned message: "Priority '${wanted.priority}' is currently in use (Service: ElasticLoadBalancingV2, ` +
            `Status Code: 400, Request ID: ${randomUUID()})" (RequestToken: ${randomUUID()}, HandlerErrorCode: AlreadyExists)`,
        };
      }
    }
    return undefined;
  }

  private async plannedFailure(stackName: string, fail: { reason?: string } | undefined): Promise<PlannedFailure | undefined> {
    const family = stackFamily(stackName);
    if (fail) return { logicalId: FAILING_RESOURCE[family], reason: fail.reason ?? defaultFailure(family) };
    const planned = await this.options.redis.lpop(this.key('fail-next', stackName));
    if (!planned) return undefined;
    const { reason } = JSON.parse(planned) as { reason?: string };
    return { logicalId: FAILING_RESOURCE[family], reason: reason ?? defaultFailure(family) };
  }

  private async load(stackName: string): Promise<StackRecord | undefined> {
    const raw = await this.options.redis.get(this.key('stack', stackName));
    return raw ? (JSON.parse(raw) as StackRecord) : undefined;
  }

  private async loadAll(): Promise<StackRecord[]> {
    const { redis } = this.options;
    const names = await redis.smembers(this.key('stacks'));
    if (names.length === 0) return [];
    const raws = await redis.mget(...names.map((name) => this.key('stack', name)));
    return raws.filter((raw): raw is string => raw !== null).map((raw) => JSON.parse(raw) as StackRecord);
  }

  private async save(record: StackRecord, op: OperationRecord): Promise<void> {
    record.seq = op.seq;
    record.operations = [...record.operations, op].slice(-OPERATIONS_KEPT);
    await this.options.redis
      .multi()
      .set(this.key('stack', record.stackName), JSON.stringify(record), 'EX', RECORD_TTL_SECONDS)
      .sadd(this.key('stacks'), record.stackName)
      .exec();
  }

  /**
   * One writer at a time for the whole simulated account: a deploy reads other stacks (listener rule
   * priorities) before it records its operation, and two processes must not both win the same priority.
   */
  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    const { redis } = this.options;
    const lockKey = this.key('lock');
    const token = randomUUID();
    const deadline = Date.now() + 5_000;
    while ((await redis.set(lockKey, token, 'PX', 5_000, 'NX')) !== 'OK') {
      if (Date.now() > deadline) {
        throw new LanebotError('AWS_THROTTLED', 'The simulated CloudFormation is busy; lanebot will retry.', { retryable: true });
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    try {
      return await fn();
    } finally {
      await redis.eval(RELEASE_SCRIPT, 1, lockKey, token);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Deriving a stack's state from its operations

function stateAt(record: StackRecord, t: number): StackState | undefined {
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
      return { op, status, failed, exists: !gone, config: op.before, live: gone ? undefined : op.live, outputs: !gone && !!op.live };
    }
  }
}

function viewOf(stackName: string, state: StackState): StackView {
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
  };
}

function outcomeOf(stackName: string, op: OperationRecord): SimOperationOutcome {
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

function failureReasonsOf(events: StackEvent[]): string[] {
  return events.filter((e) => e.status.endsWith('_FAILED') && e.reason).map((e) => e.reason!);
}

function sameConfig(a: StackConfig | undefined, b: StackConfig): boolean {
  return !!a && a.templateHash === b.templateHash && sameRecord(a.parameters, b.parameters) && sameRecord(a.tags, b.tags);
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => a[k] === b[k]);
}

function parseCursor(cursor: string | undefined): { seq: number; seen: number } | undefined {
  const match = cursor ? /^(\d+)\.(\d+)$/.exec(cursor) : null;
  return match ? { seq: Number(match[1]), seen: Number(match[2]) } : undefined;
}

/**
 * Verdicts of templateProblem by template hash. Parsing a real template takes milliseconds of the
 * event loop the bot shares with its Slack receiver, and the same few templates come back on every
 * deploy; a verdict never changes for the same text.
 */
const templateVerdicts = new Map<string, string | undefined>();
const MAX_TEMPLATE_VERDICTS = 100;

/** CloudFormation's checks before it looks at a template's content, plus "at least one resource". */
function templateProblem(body: string): string | undefined {
  const hash = sha256(body);
  if (templateVerdicts.has(hash)) return templateVerdicts.get(hash);
  const verdict = checkTemplate(body);
  if (templateVerdicts.size >= MAX_TEMPLATE_VERDICTS) templateVerdicts.clear();
  templateVerdicts.set(hash, verdict);
  return verdict;
}

function checkTemplate(body: string): string | undefined {
  if (body.trim() === '') {
    return "1 validation error detected: Value '' at 'templateBody' failed to satisfy constraint: Member must have length greater than or equal to 1";
  }
  // YAML is a superset of JSON. Intrinsic-function tags (!Ref, !Sub…) are warnings to this parser, not errors.
  const doc = parseDocument(body, { logLevel: 'silent' });
  const error = doc.errors[0];
  if (error) {
    const where = error.linePos ? ` (line ${error.linePos[0].line}, column ${error.linePos[0].col})` : '';
    return `Template format error: YAML not well-formed.${where}`;
  }
  const parsed: unknown = doc.toJS();
  const resources = typeof parsed === 'object' && parsed !== null ? (parsed as { Resources?: unknown }).Resources : undefined;
  if (typeof resources !== 'object' || resources === null || Object.keys(resources).length === 0) {
    return 'Template format error: At least one Resources member must be defined.';
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Resources, outputs and names per family

interface PlannedFailure {
  logicalId: string;
  reason: string;
}

const FAILING_RESOURCE: Record<StackFamily, string> = {
  lane: 'Service',
  boot: 'LoadBalancer',
  infra: 'NatGateway1',
  pipeline: 'Pipeline',
  other: 'Resource',
};

function defaultFailure(family: StackFamily): string {
  const token = `(RequestToken: ${randomUUID()}, HandlerErrorCode: GeneralServiceException)`;
  switch (family) {
    case 'lane':
      return `Resource handler returned message: "Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'." ${token}`;
    case 'boot':
      return `Resource handler returned message: "You've reached the limit on the number of load balancers you can create (Service: ElasticLoadBalancingV2, Status Code: 400, Request ID: ${randomUUID()})" ${token}`;
    case 'infra':
      return `Resource handler returned message: "The maximum number of addresses has been reached. (Service: Ec2, Status Code: 400, Request ID: ${randomUUID()})" ${token}`;
    case 'pipeline':
      return `Resource handler returned message: "CodePipeline is not authorized to perform AssumeRole on role arn:aws:iam::${SIM_ACCOUNT}:role/pipeline-role (Service: CodePipeline, Status Code: 400, Request ID: ${randomUUID()})" ${token}`;
    case 'other':
      return 'Simulated failure (sim failNextOperation)';
  }
}

const LANE_TASK_PARAMS = ['ImageUri', 'Env', 'ServiceName', 'Lane'];

/** The resources of each family, as the templates in templates/ declare them (a representative subset for infra). */
function resourcesOf(stackName: string, config: StackConfig): ResourceSpec[] {
  const r = (logicalId: string, type: string, weight = 1, params: string[] = [], replaces = false): ResourceSpec => ({ logicalId, type, weight, params, replaces });
  switch (stackFamily(stackName)) {
    case 'lane': {
      // Lane default uses the boot stack's default target group and has no listener rule.
      const isDefault = config.parameters.Lane === 'default';
      return [
        r('TaskExecutionRole', 'AWS::IAM::Role', 1.5),
        r('TaskDefinition', 'AWS::ECS::TaskDefinition', 1, LANE_TASK_PARAMS, true),
        ...(isDefault ? [] : [r('LaneTargetGroup', 'AWS::ElasticLoadBalancingV2::TargetGroup')]),
        ...(ruleFromConfig(stackName, config) ? [r('LaneListenerRule', 'AWS::ElasticLoadBalancingV2::ListenerRule', 1, ['RulePriority', 'Lane'])] : []),
        r('Service', 'AWS::ECS::Service', 6, LANE_TASK_PARAMS),
        r('TargetErrorRateAlarm', 'AWS::CloudWatch::Alarm', 0.5),
        r('UnhealthyHostsAlarm', 'AWS::CloudWatch::Alarm', 0.5),
        r('RunningTasksAlarm', 'AWS::CloudWatch::Alarm', 0.5),
      ];
    }
    case 'boot':
      return [
        r('LoadBalancerSecurityGroup', 'AWS::EC2::SecurityGroup'),
        r('TaskSecurityGroup', 'AWS::EC2::SecurityGroup'),
        r('LoadBalancer', 'AWS::ElasticLoadBalancingV2::LoadBalancer', 6),
        r('DefaultTargetGroup', 'AWS::ElasticLoadBalancingV2::TargetGroup'),
        r('HttpListener', 'AWS::ElasticLoadBalancingV2::Listener'),
        r('LogGroup', 'AWS::Logs::LogGroup', 0.5),
        r('CloudMapService', 'AWS::ServiceDiscovery::Service'),
      ];
    case 'infra':
      return [
        r('Vpc', 'AWS::EC2::VPC'),
        r('InternetGateway', 'AWS::EC2::InternetGateway'),
        r('InternetGatewayAttachment', 'AWS::EC2::VPCGatewayAttachment', 0.5),
        r('PublicSubnet1', 'AWS::EC2::Subnet', 0.5),
        r('PublicSubnet2', 'AWS::EC2::Subnet', 0.5),
        r('PrivateSubnet1', 'AWS::EC2::Subnet', 0.5),
        r('PrivateSubnet2', 'AWS::EC2::Subnet', 0.5),
        r('PublicRouteTable', 'AWS::EC2::RouteTable', 0.5),
        r('NatGateway1Eip', 'AWS::EC2::EIP', 0.5),
        r('NatGateway1', 'AWS::EC2::NatGateway', 4),
        r('NatGateway2Eip', 'AWS::EC2::EIP', 0.5),
        r('NatGateway2', 'AWS::EC2::NatGateway', 4),
        r('PrivateRouteTable1', 'AWS::EC2::RouteTable', 0.5),
        r('PrivateRouteTable2', 'AWS::EC2::RouteTable', 0.5),
        r('Cluster', 'AWS::ECS::Cluster'),
        r('Namespace', 'AWS::ServiceDiscovery::PrivateDnsNamespace', 3),
      ];
    case 'pipeline': {
      // templates/pipelines/: the app pipeline (ServiceName parameter) builds too; infra and boot only deploy.
      const kind = stackName.startsWith('pipeline-infra-') ? 'Infra' : stackName.startsWith('pipeline-boot-') ? 'Boot' : undefined;
      const build = config.parameters.ServiceName !== undefined || !kind;
      return [
        r('ArtifactBucket', 'AWS::S3::Bucket'),
        ...(build
          ? [
              r('Repository', 'AWS::ECR::Repository'),
              r('LaneStackRole', 'AWS::IAM::Role', 2),
              r('BuildLogGroup', 'AWS::Logs::LogGroup', 0.5),
              r('BuildRole', 'AWS::IAM::Role', 2),
              r('BuildProject', 'AWS::CodeBuild::Project'),
            ]
          : [r(`${kind}StackRole`, 'AWS::IAM::Role', 2)]),
        r('PipelineRole', 'AWS::IAM::Role', 2),
        r('Pipeline', 'AWS::CodePipeline::Pipeline', 1, ['PipelineName', 'RequireApproval', 'InfraBranch', 'AppRepo']),
      ];
    }
    case 'other':
      return [r('Resource', 'AWS::CloudFormation::WaitConditionHandle')];
  }
}

interface LaneRule {
  service: string;
  env: string;
  lane: string;
  priority: number;
}

/**
 * The listener rule a lane stack's configuration asks for. Lane `default` has none (it is the
 * listener's default action), and neither has a stack without a RulePriority (0 or absent: not
 * allocated; the template is expected to skip the rule then).
 */
function ruleFromConfig(stackName: string, config: StackConfig): LaneRule | undefined {
  if (stackFamily(stackName) !== 'lane') return undefined;
  const { ServiceName: service, Env: env, Lane: lane, RulePriority } = config.parameters;
  const priority = Number(RulePriority ?? 0);
  if (!service || !env || !lane || lane === 'default' || !Number.isInteger(priority) || priority <= 0) return undefined;
  return { service, env, lane, priority };
}

/** The rule a lane stack holds at a moment: from the start of its create until it is gone. */
function ruleOf(stackName: string, state: StackState): LaneRule | undefined {
  return state.exists && state.live ? ruleFromConfig(stackName, state.live) : undefined;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function hex(length: number, ...parts: string[]): string {
  return sha256(parts.join('|')).slice(0, length);
}

function stackIdFor(stackName: string, seq: number): string {
  const h = hex(32, 'stack', stackName, String(seq));
  const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  return `arn:aws:cloudformation:${SIM_REGION}:${SIM_ACCOUNT}:stack/${stackName}/${uuid}`;
}

const ELB_ARN = `arn:aws:elasticloadbalancing:${SIM_REGION}:${SIM_ACCOUNT}`;

/** A target group CloudFormation named (lanebot leaves the name to it): at most 32 characters. */
function targetGroupOf(stackName: string, stackId: string, logicalId = 'LaneTargetGroup'): { arn: string; fullName: string } {
  const name = `${stackName.slice(0, 5)}-${logicalId.slice(0, 5)}-${hex(12, stackId, logicalId).toUpperCase()}`;
  const fullName = `targetgroup/${name}/${hex(16, stackId, logicalId, 'id')}`;
  return { arn: `${ELB_ARN}:${fullName}`, fullName };
}

/** The service/env's ALB and listener (boot stack), derived from the names so lane stacks agree. */
function loadBalancerNames(service: string, env: string) {
  const name = `${service}-${env}`.slice(0, 32).replace(/-+$/, '');
  const id = hex(16, 'alb', service, env);
  const fullName = `app/${name}/${id}`;
  return {
    arn: `${ELB_ARN}:loadbalancer/${fullName}`,
    fullName,
    dnsName: `${name}-${parseInt(hex(8, 'dns', service, env), 16)}.${SIM_REGION}.elb.amazonaws.com`,
    listenerArn: `${ELB_ARN}:listener/${fullName}/${hex(16, 'listener', service, env)}`,
    // Lane default's target group (the listener's default action); the lane stack imports it.
    defaultTargetGroup: targetGroupOf(`boot-${service}-${env}`, `${service}/${env}`, 'DefaultTargetGroup'),
  };
}

/** The environment's ECS cluster, named by CloudFormation (the infra template leaves the name to it). */
function clusterNameFor(env: string): string {
  return `infra-environment-${env}-Cluster-${hex(12, 'cluster', env).toUpperCase()}`;
}

/** The app pipeline's ECR repository, named by CloudFormation (templates/pipelines/app-pipeline.yaml). */
export function simRepositoryUri(pipelineName: string): string {
  return `${SIM_ACCOUNT}.dkr.ecr.${SIM_REGION}.amazonaws.com/pipeline-${pipelineName}-repository-${hex(12, 'ecr', pipelineName)}`.toLowerCase();
}

/** `{prefix}{service}-{env}` from a stack name when the parameters do not say. */
function scopeOf(stackName: string, parameters: Record<string, string>, prefix: string): { service: string; env: string } {
  const rest = stackName.slice(prefix.length);
  const cut = rest.lastIndexOf('-');
  return { service: parameters.ServiceName ?? rest.slice(0, Math.max(cut, 0)), env: parameters.Env ?? rest.slice(cut + 1) };
}

/** The outputs each template in templates/ declares. */
function outputsOf(stackName: string, stackId: string, config: StackConfig): Record<string, string> {
  const p = config.parameters;
  switch (stackFamily(stackName)) {
    case 'lane': {
      const service = p.ServiceName ?? '';
      const env = p.Env ?? '';
      const lane = p.Lane ?? stackName.split('-').at(-1)!;
      const base = `${service}-${env}-${lane}`;
      const lb = loadBalancerNames(service, env);
      const tg = lane === 'default' ? lb.defaultTargetGroup : targetGroupOf(stackName, stackId);
      const rule = ruleFromConfig(stackName, config);
      return {
        TargetGroupArn: tg.arn,
        TargetGroupFullName: tg.fullName,
        ...(rule ? { ListenerRuleArn: `${ELB_ARN}:listener-rule/${lb.fullName}/${hex(16, 'listener', service, env)}/${hex(16, stackId, 'rule')}` } : {}),
        RulePriority: p.RulePriority ?? '0',
        ServiceName: base,
        ClusterName: clusterNameFor(env),
        ErrorRateAlarmName: `${base}-5xx-rate`,
        UnhealthyHostsAlarmName: `${base}-unhealthy-hosts`,
        RunningTasksAlarmName: `${base}-tasks-below-desired`,
        ...(p.ImageUri ? { ImageUri: p.ImageUri } : {}),
      };
    }
    case 'boot': {
      const { service, env } = scopeOf(stackName, p, 'boot-');
      const lb = loadBalancerNames(service, env);
      return {
        LoadBalancerArn: lb.arn,
        DnsName: lb.dnsName,
        HttpListenerArn: lb.listenerArn,
        CloudMapServiceArn: `arn:aws:servicediscovery:${SIM_REGION}:${SIM_ACCOUNT}:service/srv-${hex(16, stackId, 'srv')}`,
        LogGroupName: `/ecs/${env}/${service}`,
        DefaultTargetGroupArn: lb.defaultTargetGroup.arn,
        TaskSecurityGroupId: `sg-${hex(17, stackId, 'task-sg')}`,
      };
    }
    case 'infra': {
      const env = p.Env ?? stackName.slice('infra-environment-'.length);
      const subnet = (n: string) => `subnet-${hex(17, stackId, n)}`;
      return {
        VpcId: `vpc-${hex(17, stackId, 'vpc')}`,
        PrivateSubnets: [subnet('private1'), subnet('private2')].join(','),
        PublicSubnets: [subnet('public1'), subnet('public2')].join(','),
        ClusterName: clusterNameFor(env),
        NamespaceId: `ns-${hex(16, stackId, 'ns')}`,
      };
    }
    case 'pipeline': {
      const pipelineName = p.PipelineName || stackName.slice('pipeline-'.length);
      const bucket = `${stackName}-artifactbucket-${hex(12, stackId, 'bucket')}`.toLowerCase().slice(0, 63);
      const roleOf = (logicalId: string) => `arn:aws:iam::${SIM_ACCOUNT}:role/${`${stackName}-${logicalId}`.slice(0, 50)}-${hex(12, stackId, logicalId).toUpperCase()}`;
      const resources = resourcesOf(stackName, config).map((r) => r.logicalId);
      return {
        PipelineName: pipelineName,
        ArtifactBucketName: bucket,
        ...(resources.includes('Repository')
          ? {
              RepositoryUri: simRepositoryUri(pipelineName),
              BuildProjectName: `${pipelineName}-build`,
              LaneStackRoleArn: roleOf('LaneStackRole'),
            }
          : {}),
        ...(resources.includes('InfraStackRole') ? { InfraStackRoleArn: roleOf('InfraStackRole') } : {}),
        ...(resources.includes('BootStackRole') ? { BootStackRoleArn: roleOf('BootStackRole') } : {}),
      };
    }
    case 'other':
      return {};
  }
}

// ---------------------------------------------------------------------------------------------
// An operation's course, decided when it starts

interface OperationPlan {
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

function buildOperation(plan: OperationPlan): OperationRecord {
  const { stackName, kind, at, durationMs: d, before, after, failure } = plan;
  const base = { seq: plan.seq, kind, stackId: plan.stackId, startedAt: at, before, after };

  if (kind === 'delete') {
    const end = at + d;
    const tl = new Timeline(plan, end);
    tl.stack(at, 'DELETE_IN_PROGRESS', 'User Initiated');
    const existing = plan.existing ?? (before ? resourcesOf(stackName, before) : []);
    tl.run([...existing].reverse().map((spec) => ({ spec, verb: 'DELETE' as const })), at, at + d * 0.95);
    tl.stack(end, 'DELETE_COMPLETE');
    return { ...base, endsAt: end, events: tl.events, finalStatus: 'DELETE_COMPLETE' };
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
