// The `watch` job: poll a running pipeline execution, keep the deploy record and its Slack root
// message current, say in the thread when a stage fails, and finish the deploy when the execution
// ends. Between polls the job sits in BullMQ's delayed set, so it holds no worker.
import { isTerminal, type StageView } from '../cloud/pipelines.port';
import { deployStatusFor, isFinished } from '../domain/deploy';
import { describeCause, isLanebotError } from '../errors';
import { backoff, DONE, later, type StepOutcome, type WatchJobData } from '../queue/queues';
import { finishDeploy } from './finish-deploy';
import { MAX_AWS_FAILURES, type JobDeps } from './job-deps';

export class WatchJob {
  constructor(private readonly deps: JobDeps) {}

  async handle(data: WatchJobData): Promise<StepOutcome> {
    const { deploys, pipelines, narrator, lanes, clock } = this.deps;
    const deploy = await deploys.get(data.deployId);
    if (!deploy || isFinished(deploy.status) || !deploy.executionId) return DONE;
    const failures = data.failures ?? 0;

    let view;
    try {
      view = await pipelines.getExecution(deploy.pipeline, deploy.executionId);
    } catch (error) {
      const throttled = isLanebotError(error) && error.code === 'AWS_THROTTLED';
      if (throttled || failures + 1 < MAX_AWS_FAILURES) {
        const retryIn = Math.max(this.deps.pollIntervalMs, backoff(failures + 1, 2000, 120_000));
        this.deps.logger.warn({ deployId: deploy.id, err: error, retryInMs: Math.round(retryIn) }, 'could not read the pipeline execution; retrying');
        return later(retryIn, { failures: failures + 1 });
      }
      const reason = isLanebotError(error) ? error.message : describeCause(error);
      await finishDeploy(this.deps, deploy.id, 'error', {
        error: `lanebot lost track of execution ${deploy.executionId} of \`${deploy.pipeline}\`: ${reason} Check the execution in the AWS console.`,
      });
      return DONE;
    }

    const previous = new Map(deploy.stages.map((s) => [s.name, s]));
    for (const stage of view.stages) {
      if (stage.status === 'Failed' && previous.get(stage.name)?.status !== 'Failed') {
        await narrator.say(deploy.id, `stage_failed:${stage.name}`, { kind: 'stage_failed', stage });
      }
    }
    const changed = stagesChanged(deploy.stages, view.stages) || deploy.statusSummary !== view.statusSummary || deploy.executionUrl !== view.url;
    if (changed) {
      await deploys.update(deploy.id, { stages: view.stages, executionUrl: view.url, statusSummary: view.statusSummary });
      await lanes.touch(deploy, clock.now());
    }

    if (isTerminal(view.status)) {
      await finishDeploy(this.deps, deploy.id, deployStatusFor(view.status));
      return DONE;
    }
    if (changed) await narrator.refreshRoot(deploy.id);
    return later(this.deps.pollIntervalMs, { failures: 0 });
  }
}

function stagesChanged(before: StageView[], after: StageView[]): boolean {
  if (before.length !== after.length) return true;
  return before.some((stage, i) => {
    const other = after[i]!;
    return stage.name !== other.name || stage.status !== other.status || stage.startedAt !== other.startedAt || stage.endedAt !== other.endedAt;
  });
}
