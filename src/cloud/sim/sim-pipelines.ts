// The simulator's CodePipeline: V2 pipelines in PARALLEL mode, kept in Redis so every bot process
// (and the sandbox console) sees the same simulated account. Which pipelines and stages there are is
// sim-pipeline-catalog.ts; what a Deploy action deploys is sim-pipeline-deploy.ts; this file runs
// the executions.
//
// An execution's state is computed from its start time and the clock, not advanced by timers:
// nothing to lose when a process dies, and SIM_TIME_SCALE simply divides every duration. Two things
// are not known from the clock alone and are recorded when they happen: an approver's answer
// (`putApprovalResult`, or the sandbox's `approve`), and the Deploy action's stack operation, which really deploys through SimStacks. That
// operation is started lazily, by whoever reads the simulated account first once the action has
// begun, and as of the moment the action began; it is recorded per execution, so it happens once.
// Before any read, every running execution's pending stack operations are started in the order
// their actions began (`settle`), so after a jump of the clock the earlier deploy of a lane still
// wins and the later one finds the stack busy, whichever execution is read first.
//
// Making a stage fail, two ways:
//  - a branch with a path segment `sim-fail-<stage>` (e.g. `feature/sim-fail-build`) fails that
//    stage (source, build or deploy) of every execution of that branch;
//  - `failNextRun(pipeline, stage, message?)` fails that stage of the pipeline's next execution.
// A failing Deploy stage makes its stack operation fail and roll back, so the stack shows it too.
//
// Manual approvals answer like CodePipeline's PutApprovalResult in PARALLEL mode: each execution's
// approval request has an opaque token (a UUID, issued when the execution starts and shown only
// while the request waits), the request expires after the action's timeout, and a decision comes
// back `recorded`, `already-decided` (answered first) or `invalid-token` (expired, not waiting, a
// token of another execution), with the same errors the AWS adapter throws for the rest.
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../redis/redis-connection';
import type { Clock } from '../../clock';
import { LanebotError, PipelineNotFoundError } from '../../errors';
import { mapAwsError } from '../aws/aws-call';
import {
  DEFAULT_APPROVAL_TIMEOUT_MINUTES,
  fitApprovalSummary,
  TERMINAL_STATUSES as TERMINAL,
  type ApprovalDecision,
  type ApprovalOutcome,
  type ExecutionStatus,
  type ExecutionSummary,
  type ExecutionView,
  type ListExecutionsOptions,
  type PendingApproval,
  type PipelinesPort,
  type StageStatus,
  type StageView,
  type StartExecutionInput,
} from '../pipelines.port';
import { sdkError, type SimFaultCheck } from './sim-faults';
import { simStagesFor, type SimAction, type SimPipelineInfo } from './sim-pipeline-catalog';
import { deployActionOutcome, deployStackInput, SimTemplates, type DeployActionRecord } from './sim-pipeline-deploy';
import type { SimImages } from './sim-images';
import { SimStacks } from './sim-stacks';

/**
 * CodePipeline expires a manual approval nobody answered after the action's timeout, 7 days unless
 * the pipeline sets one (not scaled: it is a policy, not work).
 */
export const APPROVAL_TIMEOUT_MS = DEFAULT_APPROVAL_TIMEOUT_MINUTES * 60_000;

/** CodePipeline's token pattern; anything else is refused with a ValidationException. */
const TOKEN_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface SimExecutionRecord {
  executionId: string;
  pipelineName: string;
  variables: Record<string, string>;
  startedAt: number;
  /** The stage (by name) that will fail, and the message it will report. */
  failStage?: string;
  failMessage?: string;
  stoppedAt?: number;
  /** The token of the execution's approval request (pipelines with an Approval stage; older records have none). */
  approvalToken?: string;
}

interface ApprovalRecord {
  approved: boolean;
  summary?: string;
  at: number;
}

/** How many stack operations an evaluation may start (settle starts them one at a time, in time order). */
interface StepBudget {
  left: number;
}

/** An approval request waiting anywhere in the simulated account (the sandbox's list). */
export interface SimWaitingApproval {
  pipelineName: string;
  executionId: string;
  variables: Record<string, string>;
  stageName: string;
  actionName: string;
  /** When the approval was requested (the stage started). */
  since: number;
  expiresAt: number;
  token: string;
}

export type SimExecutionSummary = ExecutionView & {
  variables: Record<string, string>;
  startedAt: number;
  /** Set while the execution waits for an approver. */
  pendingApproval?: { stageName: string; actionName: string; since: number; expiresAt: number; token: string };
};

export interface SimPipelinesOptions {
  redis: RedisClient;
  /** Key prefix of the simulated account, e.g. `lanebot:sim`. */
  prefix: string;
  clock: Clock;
  timeScale: number;
  /** Pipelines that exist in the simulated account. */
  pipelines: () => Iterable<SimPipelineInfo>;
  /**
   * The simulated CloudFormation the Deploy actions deploy with (default: the same account's). They
   * use its simulator path (deployStackAt), never its port methods: the pipeline's own role is not
   * the bot's, so faults armed for the bot's CloudFormation calls are not theirs to consume.
   */
  stacks?: SimStacks;
  /** Base URL of a console that shows simulated executions (the sandbox), for links in Slack. */
  consoleUrl?: string;
  /** Where the stack templates are (default: ./templates). */
  templatesDir?: string;
  /** Transport faults armed in the simulated account (sim-faults.ts); the port methods consume them. */
  faults?: SimFaultCheck;
  /** The simulated ECR the app pipelines' Build actions push their images to (none: images are not recorded). */
  images?: Pick<SimImages, 'push'>;
}

/** ListPipelineExecutions' page size. */
const LIST_PAGE_SIZE = 100;
/** Summaries kept per pipeline (CodePipeline keeps 12 months; a sim needs the running ones). */
const SUMMARIES_KEPT = 2_000;

export class SimPipelines implements PipelinesPort {
  private readonly templates: SimTemplates;
  private readonly stacks: SimStacks;

  constructor(private readonly options: SimPipelinesOptions) {
    const { redis, prefix, clock, timeScale } = options;
    this.stacks = options.stacks ?? new SimStacks({ redis, prefix, clock, timeScale });
    this.templates = new SimTemplates(options.templatesDir);
    this.stacks.prepareTemplates(this.templates.all());
  }

  private key(...parts: string[]): string {
    return [this.options.prefix, ...parts].join(':');
  }

  /** The pipelines of the simulated account. */
  pipelines(): SimPipelineInfo[] {
    return [...this.options.pipelines()];
  }

  private info(pipelineName: string): SimPipelineInfo | undefined {
    return this.pipelines().find((p) => p.name === pipelineName);
  }

  async startExecution({ pipelineName, variables, clientRequestToken }: StartExecutionInput): Promise<{ executionId: string }> {
    await this.options.faults?.check('codepipeline', 'StartPipelineExecution', pipelineName);
    if (!this.info(pipelineName)) throw new PipelineNotFoundError(pipelineName);
    const { redis } = this.options;
    // Like CodePipeline: the same client request token returns the execution it started first.
    const tokenKey = this.key('token', pipelineName, clientRequestToken);
    const candidate = randomUUID();
    const claimed = await redis.set(tokenKey, candidate, 'EX', 7 * 24 * 3600, 'NX');
    if (claimed !== 'OK') {
      const existing = await redis.get(tokenKey);
      if (existing) return { executionId: existing };
    }
    const info = this.info(pipelineName)!;
    const planned = (await redis.lpop(this.key('fail-next', pipelineName))) ?? undefined;
    const plan: { stage: string; message?: string } | undefined = planned ? JSON.parse(planned) : failFromBranch(variables.BRANCH);
    const record: SimExecutionRecord = {
      executionId: candidate,
      pipelineName,
      variables,
      startedAt: this.options.clock.now(),
      failStage: plan?.stage,
      failMessage: plan?.message,
      approvalToken: simStagesFor(info).some((stage) => stage.actions.some((a) => a.kind === 'approval')) ? randomUUID() : undefined,
    };
    const transaction = redis.multi();
    if (record.approvalToken) transaction.set(this.key('approval-token', record.approvalToken), candidate, 'EX', 30 * 24 * 3600);
    await transaction
      .set(this.key('execution', candidate), JSON.stringify(record), 'EX', 30 * 24 * 3600)
      .rpush(this.key('executions', pipelineName), candidate)
      // Checked by settle() from its start on; each check says when the next one is needed.
      .zadd(this.key('active'), record.startedAt, candidate)
      .exec();
    await this.writeSummaries(pipelineName, [{ executionId: candidate, status: 'InProgress', startedAt: record.startedAt, lastUpdatedAt: record.startedAt }]);
    return { executionId: candidate };
  }

  async getExecution(pipelineName: string, executionId: string): Promise<ExecutionView> {
    await this.options.faults?.check('codepipeline', 'GetPipelineExecution', pipelineName);
    const info = this.info(pipelineName);
    if (!info) throw new PipelineNotFoundError(pipelineName);
    const record = await this.loadExecution(executionId);
    if (!record || record.pipelineName !== pipelineName) throw executionNotFound(pipelineName, executionId);
    const now = this.options.clock.now();
    await this.settle(now);
    return (await this.evaluate(record, info, now)).view;
  }

  /**
   * Like ListPipelineExecutions, and cheap: settle() writes each execution's summary when it looks at
   * it (which it does exactly when the execution's state is due to change), so a list reads the
   * stored summaries of the executions asked for and evaluates none.
   */
  async listExecutions(pipelineName: string, { startedSince }: ListExecutionsOptions = {}): Promise<ExecutionSummary[]> {
    await this.options.faults?.check('codepipeline', 'ListPipelineExecutions', pipelineName);
    if (!this.info(pipelineName)) throw new PipelineNotFoundError(pipelineName);
    const { redis } = this.options;
    await this.settle(this.options.clock.now());
    const ids =
      startedSince === undefined
        ? await redis.zrevrange(this.key('summary-index', pipelineName), 0, LIST_PAGE_SIZE - 1)
        : await redis.zrevrangebyscore(this.key('summary-index', pipelineName), '+inf', startedSince);
    if (ids.length === 0) return [];
    const raws = await redis.hmget(this.key('summaries', pipelineName), ...ids);
    return raws.filter((raw): raw is string => raw !== null).map((raw) => JSON.parse(raw) as ExecutionSummary);
  }

  /** Stores executions' list lines, keeping the newest SUMMARIES_KEPT of the pipeline. */
  private async writeSummaries(pipelineName: string, summaries: ExecutionSummary[]): Promise<void> {
    if (summaries.length === 0) return;
    const { redis } = this.options;
    const index = this.key('summary-index', pipelineName);
    const hash = this.key('summaries', pipelineName);
    const transaction = redis.multi();
    for (const summary of summaries) {
      transaction.hset(hash, summary.executionId, JSON.stringify(summary)).zadd(index, String(summary.startedAt ?? 0), summary.executionId);
    }
    const [, , ...rest] = (await transaction.zcard(index).exec()) ?? [];
    const count = Number(rest.at(-1)?.[1] ?? 0);
    if (count > SUMMARIES_KEPT) {
      const dropped = await redis.zrange(index, '0', String(count - SUMMARIES_KEPT - 1));
      if (dropped.length > 0) await redis.multi().zrem(index, ...dropped).hdel(hash, ...dropped).exec();
    }
  }

  /** Makes `stage` of the pipeline's next execution fail (the sandbox's "fail next run" control). */
  async failNextRun(pipelineName: string, stage: string, message?: string): Promise<void> {
    const info = this.info(pipelineName);
    if (!info) throw new PipelineNotFoundError(pipelineName);
    // An approval stage does not fail by itself: it waits for an answer (reject it with approve()).
    const failable = simStagesFor(info).filter((s) => !s.actions.some((a) => a.kind === 'approval'));
    if (!failable.some((s) => s.name.toLowerCase() === stage.toLowerCase())) {
      throw new LanebotError('INPUT_INVALID', `No stage "${stage}" to fail in ${pipelineName}; it has ${failable.map((s) => s.name).join(', ')}.`);
    }
    await this.options.redis.rpush(this.key('fail-next', pipelineName), JSON.stringify({ stage, message }));
  }

  async pendingApprovals(pipelineName: string, executionId: string): Promise<PendingApproval[]> {
    // Like the adapter: one read of the execution (and the faults armed for it).
    const view = await this.getExecution(pipelineName, executionId);
    return view.stages.flatMap((stage) => stage.approvals ?? []);
  }

  async putApprovalResult({ pipelineName, stageName, actionName, token, approved, summary }: ApprovalDecision): Promise<ApprovalOutcome> {
    await this.options.faults?.check('codepipeline', 'PutApprovalResult', pipelineName);
    const info = this.info(pipelineName);
    if (!info) throw new PipelineNotFoundError(pipelineName);
    // CodePipeline's own refusals, mapped as the adapter maps them.
    const refuse = (name: string, message: string) =>
      mapAwsError(sdkError(name, 400, message), 'codepipeline', 'PutApprovalResult', `on pipeline \`${pipelineName}\``);
    const stage = simStagesFor(info).find((s) => s.name === stageName);
    if (!stage) throw refuse('StageNotFoundException', `The stage ${stageName} was not found in pipeline ${pipelineName}`);
    if (!stage.actions.some((a) => a.name === actionName)) {
      throw refuse('ActionNotFoundException', `The action ${actionName} was not found in stage ${stageName} of pipeline ${pipelineName}`);
    }
    if (!TOKEN_PATTERN.test(token)) throw refuse('ValidationException', `1 validation error detected: Value '${token}' at 'token' failed to satisfy constraint`);
    const record = await this.recordOfToken(token);
    if (!record || record.pipelineName !== pipelineName) return { kind: 'invalid-token' };
    return this.decide(record, info, { stageName, actionName }, approved, summary);
  }

  /**
   * An approver's answer from the sandbox console (the person at the AWS console, for the bot): to
   * the execution's pending approval, whatever its token. Approved: the next stages run, timed from
   * now. Rejected: the stage fails. Refuses with INPUT_INVALID when nothing waits for an answer.
   */
  async approve(executionId: string, approved: boolean, summary?: string): Promise<void> {
    const record = await this.loadExecution(executionId);
    const info = record && this.info(record.pipelineName);
    if (!record || !info) throw new LanebotError('PIPELINE_EXECUTION_NOT_FOUND', `Execution ${executionId} does not exist.`);
    const { pendingApproval } = await this.evaluate(record, info, this.options.clock.now());
    const outcome = pendingApproval ? await this.decide(record, info, pendingApproval, approved, summary ?? '') : undefined;
    if (outcome?.kind === 'recorded') return;
    if (outcome?.kind === 'already-decided' || (await this.approvalOf(executionId))) {
      throw new LanebotError('INPUT_INVALID', `Execution ${executionId} of \`${record.pipelineName}\` has already been approved or rejected.`);
    }
    throw new LanebotError('INPUT_INVALID', `Execution ${executionId} of \`${record.pipelineName}\` is not waiting for an approval.`);
  }

  /**
   * Records the answer to the execution's approval request if it still waits at `target`: the first
   * answer wins (SET NX), across processes. After that, the request is answered (already-decided) or
   * was never there or is gone (invalid-token).
   */
  private async decide(
    record: SimExecutionRecord,
    info: SimPipelineInfo,
    target: { stageName: string; actionName: string },
    approved: boolean,
    summary: string,
  ): Promise<ApprovalOutcome> {
    const { redis, clock } = this.options;
    const now = clock.now();
    // As every read does: due stack operations of other executions start first, in time order.
    await this.settle(now);
    const { pendingApproval } = await this.evaluate(record, info, now);
    if (pendingApproval?.stageName === target.stageName && pendingApproval.actionName === target.actionName) {
      const answer: ApprovalRecord = { approved, summary: fitApprovalSummary(summary) || undefined, at: now };
      const stored = await redis.set(this.key('approval', record.executionId), JSON.stringify(answer), 'EX', 30 * 24 * 3600, 'NX');
      if (stored === 'OK') {
        // The next look is now: the stages after the approval start from the answer.
        await redis.zadd(this.key('active'), now, record.executionId);
        return { kind: 'recorded' };
      }
      return { kind: 'already-decided' };
    }
    const isApprovalAction = simStagesFor(info).some(
      (stage) => stage.name === target.stageName && stage.actions.some((a) => a.name === target.actionName && a.kind === 'approval'),
    );
    if (isApprovalAction && (await this.approvalOf(record.executionId))) return { kind: 'already-decided' };
    return { kind: 'invalid-token' };
  }

  private async recordOfToken(token: string): Promise<SimExecutionRecord | undefined> {
    const executionId = await this.options.redis.get(this.key('approval-token', token));
    if (executionId) return this.loadExecution(executionId);
    // Executions started before tokens were issued use their own id as the token.
    const legacy = await this.loadExecution(token);
    return legacy && !legacy.approvalToken ? legacy : undefined;
  }

  /** Executions waiting for an approver, across the simulated account, oldest request first. */
  async waitingApprovals(limit = 50): Promise<SimWaitingApproval[]> {
    return (await this.recentExecutions(limit))
      .filter((e) => e.pendingApproval)
      .map((e) => ({ pipelineName: e.pipelineName, executionId: e.executionId, variables: e.variables, ...e.pendingApproval! }))
      .sort((a, b) => a.since - b.since);
  }

  /** Ids of every execution ever started on a pipeline, oldest first. */
  async executionIds(pipelineName: string): Promise<string[]> {
    return this.options.redis.lrange(this.key('executions', pipelineName), 0, -1);
  }

  /** The newest executions across the simulated account, with the variables they started with. */
  async recentExecutions(limit = 50): Promise<SimExecutionSummary[]> {
    const { redis } = this.options;
    const infos = new Map(this.pipelines().map((p) => [p.name, p]));
    const ids = (await Promise.all([...infos.keys()].map((p) => redis.lrange(this.key('executions', p), -limit, -1)))).flat();
    const raws = ids.length > 0 ? await redis.mget(...ids.map((id) => this.key('execution', id))) : [];
    const now = this.options.clock.now();
    await this.settle(now);
    const records = raws
      .filter((raw): raw is string => raw !== null)
      .map((raw) => JSON.parse(raw) as SimExecutionRecord)
      .sort((a, b) => b.startedAt - a.startedAt)
      .slice(0, limit);
    return Promise.all(
      records.map(async (record) => {
        const { view, pendingApproval } = await this.evaluate(record, infos.get(record.pipelineName)!, now);
        return { ...view, variables: record.variables, startedAt: record.startedAt, ...(pendingApproval ? { pendingApproval } : {}) };
      }),
    );
  }

  /**
   * Starts the stack operations of running executions that are due by `now`, earliest first, so that
   * after a clock jump the deploy that began first wins whichever execution is read first. Each
   * evaluation with a zero budget reports when its next operation is due without starting it.
   *
   * `active` is a sorted set scored by when each execution next needs a look (its current timed
   * action ends, its approval expires, its Deploy begins). Only executions at or past that moment
   * are evaluated, so a read costs O(due executions), not O(running executions): with every poll
   * evaluating every execution, polling grew quadratically with the number of running lanes.
   */
  private async settle(now: number): Promise<void> {
    const { redis } = this.options;
    const ids = await redis.zrangebyscore(this.key('active'), '-inf', now);
    if (ids.length === 0) return;
    const raws = await redis.mget(...ids.map((id) => this.key('execution', id)));
    const due = new Map<string, { record: SimExecutionRecord; info: SimPipelineInfo; at: number }>();
    const probe = async (record: SimExecutionRecord, info: SimPipelineInfo) => {
      const { view, pendingDeployAt, nextCheckAt, lastChangeAt } = await this.evaluate(record, info, now, { left: 0 });
      await this.writeSummaries(record.pipelineName, [
        { executionId: record.executionId, status: view.status, ...(view.statusSummary ? { statusSummary: view.statusSummary } : {}), startedAt: record.startedAt, lastUpdatedAt: lastChangeAt },
      ]);
      if (pendingDeployAt !== undefined) due.set(record.executionId, { record, info, at: pendingDeployAt });
      else due.delete(record.executionId);
      if (TERMINAL.has(view.status) || nextCheckAt === undefined) await redis.zrem(this.key('active'), record.executionId);
      else await redis.zadd(this.key('active'), nextCheckAt, record.executionId);
    };
    for (const [index, raw] of raws.entries()) {
      const record = raw ? (JSON.parse(raw) as SimExecutionRecord) : undefined;
      const info = record && this.info(record.pipelineName);
      if (!record || !info) {
        await redis.zrem(this.key('active'), ids[index]!);
        continue;
      }
      await probe(record, info);
    }
    while (due.size > 0) {
      const next = [...due.values()].reduce((a, b) => (b.at < a.at ? b : a));
      await this.evaluate(next.record, next.info, now, { left: 1 });
      await probe(next.record, next.info);
    }
  }

  private async loadExecution(executionId: string): Promise<SimExecutionRecord | undefined> {
    const raw = await this.options.redis.get(this.key('execution', executionId));
    return raw ? (JSON.parse(raw) as SimExecutionRecord) : undefined;
  }

  private async evaluate(
    record: SimExecutionRecord,
    info: SimPipelineInfo,
    now: number,
    budget: StepBudget = { left: Number.POSITIVE_INFINITY },
  ): Promise<{
    view: ExecutionView;
    pendingApproval?: SimExecutionSummary['pendingApproval'];
    pendingDeployAt?: number;
    nextCheckAt?: number;
    /** When the execution's state last changed: the start of the action it is at, or when it ended. */
    lastChangeAt: number;
  }> {
    const scale = this.options.timeScale;
    const link = this.options.consoleUrl ? `${this.options.consoleUrl}/sim/executions/${record.executionId}` : undefined;
    let cursor = record.startedAt;
    let status: ExecutionStatus = 'Succeeded';
    let statusSummary: string | undefined;
    let pendingApproval: SimExecutionSummary['pendingApproval'];
    let pendingDeployAt: number | undefined;
    /** When settle() must look again: the moment this evaluation stopped at; none once nothing is left to start. */
    let nextCheckAt: number | undefined;
    const stages: StageView[] = [];
    for (const stage of simStagesFor(info)) {
      if (status !== 'Succeeded') {
        stages.push({ name: stage.name, status: 'NotStarted' });
        continue;
      }
      const startedAt = cursor;
      const failing = record.failStage?.toLowerCase() === stage.name.toLowerCase();
      let inProgress = false;
      let failure: StageView['failure'];
      let detail: string | undefined;
      let approvals: PendingApproval[] | undefined;
      const fail = (actionName: string, summary: string) => ({ actionName, summary, logUrl: link });
      for (const action of stage.actions) {
        if (action.kind === 'timed') {
          const end = cursor + (action.seconds * 1000) / scale;
          if (now < end) {
            inProgress = true;
            nextCheckAt = end;
            break;
          }
          cursor = end;
          if (failing) failure = fail(action.name, record.failMessage ?? action.failure);
        } else if (action.kind === 'approval') {
          const answer = await this.approvalOf(record.executionId);
          const timeoutMinutes = info.approvalTimeoutMinutes ?? DEFAULT_APPROVAL_TIMEOUT_MINUTES;
          const expiresAt = cursor + timeoutMinutes * 60_000;
          if (!answer) {
            if (now < expiresAt) {
              inProgress = true;
              // decide() brings the next look forward to the answer.
              nextCheckAt = expiresAt;
              detail = 'waiting for approval';
              const token = record.approvalToken ?? record.executionId;
              pendingApproval = { stageName: stage.name, actionName: action.name, since: cursor, expiresAt, token };
              approvals = [waitingApproval(action, stage.name, token, record.variables, cursor, expiresAt)];
              break;
            }
            cursor = expiresAt;
            failure = fail(action.name, `The approval request expired: nobody approved or rejected it within ${durationText(timeoutMinutes)}.`);
          } else {
            cursor = Math.max(cursor, answer.at);
            if (!answer.approved) failure = fail(action.name, `Rejected by approver${answer.summary ? `: ${answer.summary}` : ''}`);
          }
        } else {
          const outcome = await this.deployAction(record, info, cursor, failing, now, budget);
          pendingDeployAt = outcome.pendingAt;
          // A started stack operation ends at a known moment: settle() must look then, or the
          // execution's list line (listExecutions) would stay at its Deploy forever.
          nextCheckAt = outcome.pendingAt ?? outcome.recheckAt ?? (outcome.endsAt !== undefined && now < outcome.endsAt ? outcome.endsAt : undefined);
          detail = outcome.detail;
          if (outcome.endsAt === undefined || now < outcome.endsAt) {
            inProgress = true;
            break;
          }
          cursor = outcome.endsAt;
          if (outcome.failure !== undefined) failure = fail(action.name, outcome.failure);
        }
        if (failure) break;
      }
      const stageStatus: StageStatus = inProgress ? 'InProgress' : failure ? 'Failed' : 'Succeeded';
      const endedAt = stageStatus === 'InProgress' ? undefined : cursor;
      stages.push({ name: stage.name, status: stageStatus, startedAt, endedAt, failure, ...(detail ? { detail } : {}), ...(approvals ? { approvals } : {}) });
      if (stageStatus === 'InProgress') status = 'InProgress';
      if (stageStatus === 'Failed') {
        status = 'Failed';
        statusSummary = `Stage ${stage.name} failed: ${failure!.summary}`;
      }
    }
    return {
      view: { pipelineName: record.pipelineName, executionId: record.executionId, status, statusSummary, stages, url: link },
      pendingApproval,
      pendingDeployAt,
      nextCheckAt,
      lastChangeAt: cursor,
    };
  }

  private async approvalOf(executionId: string): Promise<ApprovalRecord | undefined> {
    const raw = await this.options.redis.get(this.key('approval', executionId));
    return raw ? (JSON.parse(raw) as ApprovalRecord) : undefined;
  }

  /**
   * The Deploy action that began at `at`: starts its stack operation the first time (as of `at`) and
   * returns when the action ends (undefined while that is not known yet) and why it failed.
   */
  private async deployAction(
    record: SimExecutionRecord,
    info: SimPipelineInfo,
    at: number,
    failing: boolean,
    now: number,
    budget: StepBudget,
  ): Promise<DeployActionRecord> {
    const fail = failing ? { reason: record.failMessage } : undefined;
    const first = await this.once(this.key('deploy', record.executionId), at, budget, async () => {
      const input = deployStackInput(info, record, this.templates.body(info.kind));
      if ('problem' in input) return { endsAt: at, failure: input.problem };
      // The Build action pushed the image the stack is deployed with (recorded here, once its stage has
      // succeeded, so a failed build pushes nothing); a repeat of this step pushes the same image again.
      const image = input.parameters.ImageUri;
      if (info.kind === 'app' && image) await this.options.images?.push(image, at);
      // The app pipeline deploys with a CodeBuild script that replaces a ROLLBACK_COMPLETE stack
      // (templates/buildspec.yaml); infra and boot use CloudFormation's CREATE_UPDATE, which refuses it.
      const refuseFailedStack = info.kind !== 'app';
      return deployActionOutcome(input.stackName, await this.stacks.deployStackAt(input, at, { fail, refuseFailedStack }), at, fail);
    });
    if (first.replacedUntil === undefined) return first;
    // The failed stack's delete runs first (`aws cloudformation wait stack-delete-complete`), then the create.
    if (now < first.replacedUntil) return { detail: 'deleting the stack its failed create left (ROLLBACK_COMPLETE)', recheckAt: first.replacedUntil };
    const replacedUntil = first.replacedUntil;
    return this.once(this.key('deploy', record.executionId, 'recreate'), replacedUntil, budget, async () => {
      const input = deployStackInput(info, record, this.templates.body(info.kind));
      if ('problem' in input) return { endsAt: replacedUntil, failure: input.problem };
      const again = { ...input, clientRequestToken: `${input.clientRequestToken}-r` };
      const result = await this.stacks.deployStackAt(again, replacedUntil, { fail });
      // A second ROLLBACK_COMPLETE in a row cannot happen (the delete just finished); report it plainly if it does.
      const outcome = deployActionOutcome(input.stackName, result, replacedUntil, fail);
      return outcome.replacedUntil === undefined ? outcome : { endsAt: replacedUntil, failure: `Stack ${input.stackName} could not be replaced` };
    });
  }

  /**
   * A step recorded once per key across processes (the first writer wins; everyone reads its value).
   * Without budget left, it is not taken: the answer says when it is due.
   */
  private async once(key: string, dueAt: number, budget: StepBudget, compute: () => Promise<DeployActionRecord>): Promise<DeployActionRecord> {
    const { redis } = this.options;
    const cached = await redis.get(key);
    if (cached) return JSON.parse(cached) as DeployActionRecord;
    if (budget.left <= 0) return { pendingAt: dueAt };
    budget.left -= 1;
    const value = await compute();
    const stored = await redis.set(key, JSON.stringify(value), 'EX', 30 * 24 * 3600, 'NX');
    if (stored === 'OK') return value;
    return JSON.parse((await redis.get(key)) ?? JSON.stringify(value)) as DeployActionRecord;
  }
}

function executionNotFound(pipelineName: string, executionId: string): LanebotError {
  return new LanebotError('PIPELINE_EXECUTION_NOT_FOUND', `Execution ${executionId} of pipeline \`${pipelineName}\` does not exist.`);
}

function waitingApproval(
  action: SimAction,
  stageName: string,
  token: string,
  variables: Record<string, string>,
  requestedAt: number,
  expiresAt: number,
): PendingApproval {
  const approval: PendingApproval = { stageName, actionName: action.name, token, requestedAt, expiresAt };
  // CodePipeline resolves pipeline variables in the configuration (ListActionExecutions' resolvedConfiguration).
  if (action.customData) approval.customMessage = action.customData.replace(/#\{variables\.([A-Za-z0-9_]+)\}/g, (whole, name: string) => variables[name] ?? whole);
  return approval;
}

function durationText(minutes: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (minutes % 1440 === 0) return plural(minutes / 1440, 'day');
  if (minutes % 60 === 0) return plural(minutes / 60, 'hour');
  return plural(minutes, 'minute');
}

function failFromBranch(branch: string | undefined): { stage: string } | undefined {
  const match = branch?.split('/').map((part) => /^sim-fail-(source|build|deploy)$/i.exec(part)).find(Boolean);
  return match ? { stage: match[1]! } : undefined;
}
