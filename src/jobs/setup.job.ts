// The `setup` job: deploy the pipeline stacks of `/lane setup` through the stack port and follow them
// to the end, narrating like a deploy (each stack is a "stage" of the record). Like the watch job it
// polls: between polls it waits in BullMQ's delayed set and holds no worker.
//
// Per stack:  NotStarted ──deployStack──┬─ started ──▶ InProgress ──progress──▶ Succeeded | Failed
//                  ▲                    ├─ no-changes ──▶ Succeeded ("no changes")
//                  ├── preparing ◀──────┤  (the change set is being computed: the same token next poll)
//                  └── busy (retry) ◀───┤─ replacing (failed create being deleted) ──▶ gone ──▶ NotStarted
//                                       └─ rejected ──▶ Failed (the change set's reason)
//
// Every call is safe to repeat after a crash: deployStack takes a token derived from the record and
// the stack, so a retried step reports the operation the first attempt started.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StageView } from '../cloud/pipelines.port';
import { PIPELINE_STACK_CAPABILITIES, pipelineStackPlans, type PipelineStackPlan } from '../domain/pipeline-stacks';
import { isFinished, type DeployRecord } from '../domain/deploy';
import { describeCause, isLanebotError, LanebotError } from '../errors';
import { backoff, DONE, later, type SetupJobData, type StepOutcome } from '../queue/queues';
import { finishDeploy } from './finish-deploy';
import { MAX_AWS_FAILURES, type JobDeps } from './job-deps';

/** How long a stack may stay busy with another operation before setup gives up on it. */
export const MAX_BUSY_WAIT_MS = 30 * 60_000;

type Progress = Required<Pick<SetupJobData, 'cursors' | 'reasons' | 'replacing' | 'busySince'>>;

export class SetupJob {
  constructor(private readonly deps: JobDeps) {}

  async handle(data: SetupJobData): Promise<StepOutcome> {
    const { deploys, narrator } = this.deps;
    const deploy = await deploys.get(data.deployId);
    if (!deploy || isFinished(deploy.status)) return DONE;
    const failures = data.failures ?? 0;
    const state: Progress = {
      cursors: { ...data.cursors },
      reasons: { ...data.reasons },
      replacing: [...(data.replacing ?? [])],
      busySince: { ...data.busySince },
    };

    let plans: PipelineStackPlan[];
    try {
      plans = pipelineStackPlans({ service: deploy.service, env: deploy.env }, this.deps.config);
    } catch (error) {
      await finishDeploy(this.deps, deploy.id, 'error', {
        error: `${describeCause(error)}. Add it to lanebot.yml (lanebot.example.yml shows how), restart lanebot and run \`/lane setup\` again.`,
      });
      return DONE;
    }

    const stages = plans.map((plan) => deploy.stages.find((s) => s.name === plan.stackName) ?? { name: plan.stackName, status: 'NotStarted' as const });
    let next: StageView[];
    try {
      next = await Promise.all(stages.map((stage, i) => this.advance(deploy, plans[i]!, i, stage, state)));
    } catch (error) {
      return this.awsFailed(deploy, error, failures, data, state);
    }

    for (const [i, stage] of next.entries()) {
      if (stage.status === 'Failed' && stages[i]!.status !== 'Failed') {
        await narrator.say(deploy.id, `stage_failed:${stage.name}`, { kind: 'stage_failed', stage });
      }
    }
    if (JSON.stringify(next) !== JSON.stringify(deploy.stages)) {
      await deploys.update(deploy.id, { stages: next });
    }
    const done = next.every((s) => s.status === 'Succeeded' || s.status === 'Failed');
    if (done) {
      const failed = next.filter((s) => s.status === 'Failed');
      await finishDeploy(this.deps, deploy.id, failed.length === 0 ? 'succeeded' : 'failed', {
        statusSummary: failed.length === 0 ? undefined : `${failed.map((s) => s.name).join(', ')} failed`,
      });
      return DONE;
    }
    await narrator.refreshRoot(deploy.id);
    return later(this.deps.pollIntervalMs, { ...state, failures: 0 });
  }

  /** Moves one stack on by one step; returns its stage as it is now. */
  private async advance(deploy: DeployRecord, plan: PipelineStackPlan, index: number, stage: StageView, state: Progress): Promise<StageView> {
    const { stacks, clock } = this.deps;
    const now = clock.now();
    const name = plan.stackName;
    if (stage.status === 'Succeeded' || stage.status === 'Failed') return stage;

    if (stage.status === 'InProgress') {
      const progress = await stacks.progress(name, state.cursors[name]);
      if (progress.cursor) state.cursors[name] = progress.cursor;
      if (progress.failureReasons.length > 0) state.reasons[name] = [...(state.reasons[name] ?? []), ...progress.failureReasons].slice(-10);
      if (!progress.finished) return { ...stage, detail: progress.status };
      if (state.replacing.includes(name)) {
        // The stack left by a failed create is gone (or its delete failed): create it afresh.
        state.replacing = state.replacing.filter((s) => s !== name);
        if (progress.status !== 'DELETE_COMPLETE') return failed(stage, now, 'DeleteStack', `could not delete the failed stack first (${progress.status})`, state.reasons[name]);
        return this.start(deploy, plan, index, { name, status: 'NotStarted' }, state);
      }
      if (progress.succeeded) return { name, status: 'Succeeded', startedAt: stage.startedAt, endedAt: now, detail: progress.status };
      return failed(stage, now, 'ExecuteChangeSet', `stack ended in ${progress.status}`, state.reasons[name]);
    }
    return this.start(deploy, plan, index, stage, state);
  }

  private async start(deploy: DeployRecord, plan: PipelineStackPlan, index: number, stage: StageView, state: Progress): Promise<StageView> {
    const { stacks, clock, templatesDir } = this.deps;
    const now = clock.now();
    const name = plan.stackName;
    const templateBody = await readTemplate(templatesDir, plan.templateFile);
    const result = await stacks.deployStack({
      stackName: name,
      templateBody,
      parameters: plan.parameters,
      tags: plan.tags,
      capabilities: PIPELINE_STACK_CAPABILITIES,
      roleArn: plan.roleArn,
      // One token per record and stack: a retried step finds the operation it started.
      clientRequestToken: `${deploy.id}-${index}`,
    });
    switch (result.kind) {
      case 'started':
        delete state.busySince[name];
        if (result.eventCursor) state.cursors[name] = result.eventCursor;
        state.reasons[name] = [];
        return { name, status: 'InProgress', startedAt: stage.startedAt ?? now, detail: result.operation === 'create' ? 'creating' : 'updating' };
      case 'no-changes':
        delete state.busySince[name];
        return { name, status: 'Succeeded', startedAt: stage.startedAt ?? now, endedAt: now, detail: 'no changes' };
      case 'replacing':
        delete state.busySince[name];
        if (!state.replacing.includes(name)) state.replacing.push(name);
        return { name, status: 'InProgress', startedAt: stage.startedAt ?? now, detail: 'deleting the stack its failed first create left, to create it again' };
      case 'preparing':
        return { name, status: 'NotStarted', startedAt: stage.startedAt ?? now, detail: 'CloudFormation is preparing the change set' };
      case 'busy': {
        const since = (state.busySince[name] ??= now);
        if (now - since > MAX_BUSY_WAIT_MS) {
          return failed(stage, now, 'CreateChangeSet', `the stack stayed busy with another operation (${result.status}) for over ${MAX_BUSY_WAIT_MS / 60_000} minutes`);
        }
        return { name, status: 'NotStarted', detail: `waiting: the stack is busy with another operation (${result.status})` };
      }
      case 'rejected':
        return failed(stage, now, 'CreateChangeSet', result.reason);
    }
  }

  private async awsFailed(deploy: DeployRecord, error: unknown, failures: number, data: SetupJobData, state: Progress): Promise<StepOutcome> {
    const throttled = isLanebotError(error) && error.code === 'AWS_THROTTLED';
    const retryable = !isLanebotError(error) || error.retryable;
    if (retryable && (throttled || failures + 1 < MAX_AWS_FAILURES)) {
      const retryIn = Math.max(this.deps.pollIntervalMs, backoff(failures + 1, 2000, 120_000));
      this.deps.logger.warn({ deployId: deploy.id, err: error, retryInMs: Math.round(retryIn) }, 'stack call failed; retrying');
      return later(retryIn, { ...data, ...state, failures: failures + 1 });
    }
    let message = isLanebotError(error) ? error.message : describeCause(error);
    if (isLanebotError(error) && error.code === 'AWS_ACCESS_DENIED' && !this.deps.config.setup?.stackRoleArn) {
      // The likeliest cause: the shipped bot policy creates nothing itself; it passes a service role.
      message +=
        ' lanebot.yml sets no `setup.stackRoleArn`: with the shipped bot policy, pipeline stacks are created by the role ' +
        '`lanebot-pipeline-stacks` (templates/iam/pipeline-stack-role.yaml); put its ARN there and run `/lane setup` again.';
    }
    await finishDeploy(this.deps, deploy.id, 'error', { error: message });
    return DONE;
  }
}

async function readTemplate(templatesDir: string, file: string): Promise<string> {
  const path = join(templatesDir, file);
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    // Not retryable: the install is incomplete, and waiting will not bring the file.
    throw new LanebotError(
      'CONFIG_INVALID',
      `lanebot cannot read the template ${path} (${describeCause(error)}). lanebot ships templates/ next to its code; ` +
        'ask your platform team to check the installation (or LANEBOT_TEMPLATES_DIR).',
      { cause: error },
    );
  }
}

function failed(stage: StageView, now: number, actionName: string, why: string, reasons: string[] = []): StageView {
  const summary = reasons.length > 0 ? reasons.join('; ') : why;
  return { name: stage.name, status: 'Failed', startedAt: stage.startedAt ?? now, endedAt: now, failure: { actionName, summary } };
}
