// The simulator's CodePipeline: V2 pipelines in PARALLEL mode with Source → Build → Deploy, kept in
// Redis so every bot process (and the sandbox console) sees the same simulated account.
//
// An execution's state is computed from its start time and the clock, not advanced by timers:
// nothing to lose when a process dies, and SIM_TIME_SCALE simply divides every duration.
//
// Making a stage fail, two ways:
//  - a branch with a path segment `sim-fail-<stage>` (e.g. `feature/sim-fail-build`) fails that
//    stage (source, build or deploy) of every execution of that branch;
//  - `failNextRun(pipeline, stage, message?)` fails that stage of the pipeline's next execution.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock } from '../../clock';
import { LanebotError, PipelineNotFoundError } from '../../errors';
import type { ExecutionStatus, ExecutionView, PipelinesPort, StageStatus, StageView, StartExecutionInput } from '../pipelines.port';

export interface SimAction {
  name: string;
  /** Simulated seconds the action takes (before SIM_TIME_SCALE). */
  seconds: number;
  /** What the action reports when made to fail. */
  failure: string;
}

export interface SimStage {
  name: string;
  /** Actions of a stage run one after another. */
  actions: SimAction[];
}

/** The shape of every simulated app pipeline (`{service}-{env}`). */
export const SIM_APP_STAGES: readonly SimStage[] = [
  {
    name: 'Source',
    actions: [
      { name: 'AppSource', seconds: 12, failure: 'Could not find branch in the app repository (CodeStar connection returned 404)' },
      { name: 'InfraSource', seconds: 8, failure: 'Could not fetch the infra repository: the CodeStar connection is not available' },
    ],
  },
  {
    name: 'Build',
    actions: [
      {
        name: 'BuildAndPush',
        seconds: 150,
        failure: 'Error while executing command: npm test. Reason: exit status 1 (3 tests failed in src/orders.test.ts)',
      },
    ],
  },
  {
    name: 'Deploy',
    actions: [
      {
        name: 'DeployLaneStack',
        seconds: 120,
        failure: 'Stack app-deploy failed: ECS Deployment Circuit Breaker was triggered (tasks failed the /health check); rolled back',
      },
    ],
  },
];

interface SimExecutionRecord {
  executionId: string;
  pipelineName: string;
  variables: Record<string, string>;
  startedAt: number;
  /** The stage (by name) that will fail, and the message it will report. */
  failStage?: string;
  failMessage?: string;
  stoppedAt?: number;
}

export interface SimPipelinesOptions {
  redis: Redis;
  /** Key prefix of the simulated account, e.g. `lanebot:sim`. */
  prefix: string;
  clock: Clock;
  timeScale: number;
  /** Pipelines that exist in the simulated account. */
  pipelineNames: () => Iterable<string>;
  /** Base URL of a console that shows simulated executions (the sandbox), for links in Slack. */
  consoleUrl?: string;
}

export class SimPipelines implements PipelinesPort {
  constructor(private readonly options: SimPipelinesOptions) {}

  private key(...parts: string[]): string {
    return [this.options.prefix, ...parts].join(':');
  }

  private exists(pipelineName: string): boolean {
    return [...this.options.pipelineNames()].includes(pipelineName);
  }

  async startExecution({ pipelineName, variables, clientRequestToken }: StartExecutionInput): Promise<{ executionId: string }> {
    if (!this.exists(pipelineName)) throw new PipelineNotFoundError(pipelineName);
    const { redis } = this.options;
    // Like CodePipeline: the same client request token returns the execution it started first.
    const tokenKey = this.key('token', pipelineName, clientRequestToken);
    const candidate = randomUUID();
    const claimed = await redis.set(tokenKey, candidate, 'EX', 7 * 24 * 3600, 'NX');
    if (claimed !== 'OK') {
      const existing = await redis.get(tokenKey);
      if (existing) return { executionId: existing };
    }
    const planned = (await redis.lpop(this.key('fail-next', pipelineName))) ?? undefined;
    const plan: { stage: string; message?: string } | undefined = planned ? JSON.parse(planned) : failFromBranch(variables.BRANCH);
    const record: SimExecutionRecord = {
      executionId: candidate,
      pipelineName,
      variables,
      startedAt: this.options.clock.now(),
      failStage: plan?.stage,
      failMessage: plan?.message,
    };
    await redis
      .multi()
      .set(this.key('execution', candidate), JSON.stringify(record), 'EX', 30 * 24 * 3600)
      .rpush(this.key('executions', pipelineName), candidate)
      .exec();
    return { executionId: candidate };
  }

  async getExecution(pipelineName: string, executionId: string): Promise<ExecutionView> {
    if (!this.exists(pipelineName)) throw new PipelineNotFoundError(pipelineName);
    const raw = await this.options.redis.get(this.key('execution', executionId));
    const record = raw ? (JSON.parse(raw) as SimExecutionRecord) : undefined;
    if (!record || record.pipelineName !== pipelineName) {
      throw new LanebotError('PIPELINE_EXECUTION_NOT_FOUND', `Execution ${executionId} of pipeline \`${pipelineName}\` does not exist.`);
    }
    return this.view(record, this.options.clock.now());
  }

  /** Makes `stage` of the pipeline's next execution fail (the sandbox's "fail next run" control). */
  async failNextRun(pipelineName: string, stage: string, message?: string): Promise<void> {
    if (!SIM_APP_STAGES.some((s) => s.name.toLowerCase() === stage.toLowerCase())) {
      throw new LanebotError('INPUT_INVALID', `No stage "${stage}"; simulated pipelines have ${SIM_APP_STAGES.map((s) => s.name).join(', ')}.`);
    }
    await this.options.redis.rpush(this.key('fail-next', pipelineName), JSON.stringify({ stage, message }));
  }

  /** Ids of every execution ever started on a pipeline, oldest first. */
  async executionIds(pipelineName: string): Promise<string[]> {
    return this.options.redis.lrange(this.key('executions', pipelineName), 0, -1);
  }

  /** The newest executions across the simulated account, with the variables they started with. */
  async recentExecutions(limit = 50): Promise<(ExecutionView & { variables: Record<string, string>; startedAt: number })[]> {
    const { redis } = this.options;
    const ids = (await Promise.all([...this.options.pipelineNames()].map((p) => redis.lrange(this.key('executions', p), -limit, -1)))).flat();
    const raws = ids.length > 0 ? await redis.mget(...ids.map((id) => this.key('execution', id))) : [];
    const now = this.options.clock.now();
    return raws
      .filter((raw): raw is string => raw !== null)
      .map((raw) => JSON.parse(raw) as SimExecutionRecord)
      .sort((a, b) => b.startedAt - a.startedAt)
      .slice(0, limit)
      .map((record) => ({ ...this.view(record, now), variables: record.variables, startedAt: record.startedAt }));
  }

  private view(record: SimExecutionRecord, now: number): ExecutionView {
    const scale = this.options.timeScale;
    let cursor = record.startedAt;
    let status: ExecutionStatus = 'Succeeded';
    let statusSummary: string | undefined;
    const stages: StageView[] = [];
    for (const stage of SIM_APP_STAGES) {
      if (status !== 'Succeeded') {
        stages.push({ name: stage.name, status: 'NotStarted' });
        continue;
      }
      const startedAt = cursor;
      const failing = record.failStage?.toLowerCase() === stage.name.toLowerCase();
      let stageStatus: StageStatus = 'Succeeded';
      let failure: StageView['failure'];
      for (const action of stage.actions) {
        const end = cursor + (action.seconds * 1000) / scale;
        if (now < end) {
          stageStatus = 'InProgress';
          break;
        }
        cursor = end;
        if (failing) {
          stageStatus = 'Failed';
          failure = {
            actionName: action.name,
            summary: record.failMessage ?? action.failure,
            logUrl: this.options.consoleUrl ? `${this.options.consoleUrl}/sim/executions/${record.executionId}` : undefined,
          };
          break;
        }
      }
      const endedAt = stageStatus === 'InProgress' ? undefined : cursor;
      stages.push({ name: stage.name, status: stageStatus, startedAt, endedAt, failure });
      if (stageStatus === 'InProgress') status = 'InProgress';
      if (stageStatus === 'Failed') {
        status = 'Failed';
        statusSummary = `Stage ${stage.name} failed: ${failure!.summary}`;
      }
    }
    return {
      pipelineName: record.pipelineName,
      executionId: record.executionId,
      status,
      statusSummary,
      stages,
      url: this.options.consoleUrl ? `${this.options.consoleUrl}/sim/executions/${record.executionId}` : undefined,
    };
  }
}

function failFromBranch(branch: string | undefined): { stage: string } | undefined {
  const match = branch?.split('/').map((part) => /^sim-fail-(source|build|deploy)$/i.exec(part)).find(Boolean);
  return match ? { stage: match[1]! } : undefined;
}
