// The `deploy` job: admit a requested deploy to its lane, then start the lane's pipeline.
//
//   request ──▶ record it ──▶ admit to the lane ──┬─ admitted ──▶ start ──▶ (watch job)
//                                                 ├─ lane busy ──▶ wait (thread says behind whom)
//                                                 └─ newer one waiting ──▶ superseded
//
// A deploy that waited is started by a `start` job when the deploy ahead of it finishes.
//
// Admin operations take the same path with their own slot instead of a lane: `/lane infra` and
// `/lane boot` start their pipeline here too; `/lane setup` hands over to the setup job, which deploys
// stacks instead of starting a pipeline.
import { setupStackNames } from '../domain/pipeline-stacks';
import { isLanebotError, describeCause } from '../errors';
import { kindOf, type DeployRecord, type DeployRequest } from '../domain/deploy';
import { backoff, DONE, later, type DeployJobData, type StepOutcome } from '../queue/queues';
import { finishDeploy } from './finish-deploy';
import { MAX_AWS_FAILURES, type JobDeps } from './job-deps';

export class DeployJob {
  constructor(private readonly deps: JobDeps) {}

  handle(data: DeployJobData, failures = 0): Promise<StepOutcome> {
    return data.kind === 'request' ? this.request(data.request, failures) : this.start(data.deployId, failures);
  }

  private async request(request: DeployRequest, failures: number): Promise<StepOutcome> {
    const { deploys, lanes, narrator, clock } = this.deps;
    await deploys.create(request);
    // The root message appears as soon as the request is recorded ("queued").
    await narrator.refreshRoot(request.id);
    const deploy = await deploys.get(request.id);
    if (!deploy) throw new Error(`deploy ${request.id} vanished right after it was recorded`);

    const admission = await lanes.admit(deploy, clock.now());
    const log = this.deps.logger.child({ deployId: deploy.id, service: deploy.service, env: deploy.env, lane: deploy.lane });
    log.info({ admission }, 'deploy admission');
    switch (admission.decision) {
      case 'admitted':
        return this.start(deploy.id, failures);
      case 'waiting':
        await narrator.say(deploy.id, 'queued_behind', { kind: 'queued_behind', aheadDeployId: admission.aheadDeployId });
        await narrator.refreshRoot(deploy.id);
        if (admission.supersededDeployId) {
          await narrator.say(admission.supersededDeployId, 'superseded', { kind: 'superseded', byDeployId: deploy.id });
          await narrator.refreshRoot(admission.supersededDeployId);
        }
        return DONE;
      case 'superseded':
        await narrator.say(deploy.id, 'superseded', { kind: 'superseded', byDeployId: admission.supersededBy });
        await narrator.refreshRoot(deploy.id);
        return DONE;
      case 'skip':
        return DONE;
    }
  }

  private async start(deployId: string, failures: number): Promise<StepOutcome> {
    const { deploys, pipelines, narrator, clock } = this.deps;
    const deploy = await deploys.get(deployId);
    if (!deploy) return DONE;
    if (deploy.status === 'running' && kindOf(deploy) === 'setup') {
      // Handed to the setup job already (this job is a retry): make sure that job exists.
      await this.deps.queues.stacks.add('setup', { deployId: deploy.id }, { jobId: `setup-${deploy.id}` });
      return DONE;
    }
    if (deploy.status === 'running' && deploy.executionId) {
      // Started already (this job is a retry): make sure it is being watched, and stop there.
      await this.watch(deploy);
      return DONE;
    }
    if (deploy.status !== 'starting') return DONE;
    if (kindOf(deploy) === 'setup') return this.startSetup(deploy);

    let executionId: string;
    try {
      const variables = await this.variablesFor(deploy);
      // The deploy id is the idempotency token: a retry of this call returns the same execution.
      ({ executionId } = await pipelines.startExecution({ pipelineName: deploy.pipeline, variables, clientRequestToken: deploy.id }));
    } catch (error) {
      return this.startFailed(deploy, error, failures);
    }

    const moved = await deploys.transition(deploy.id, ['starting'], 'running', { executionId, startedAt: clock.now() });
    if (moved) this.deps.logger.info({ deployId, executionId, pipeline: deploy.pipeline }, 'pipeline execution started');
    await narrator.refreshRoot(deploy.id);
    await this.watch({ ...deploy, executionId });
    return DONE;
  }

  /** The pipeline variables each kind of record starts its pipeline with (templates/pipelines/). */
  private async variablesFor(deploy: DeployRecord): Promise<Record<string, string>> {
    switch (kindOf(deploy)) {
      case 'deploy': {
        // Allocated on the lane's first deploy and the same ever after (state/rule-priorities.ts).
        const priority = await this.deps.rulePriorities.allocate(deploy);
        return { LANE: deploy.lane, BRANCH: deploy.branch, RULE_PRIORITY: String(priority) };
      }
      case 'boot':
        return { SERVICE: deploy.service };
      case 'infra':
      case 'setup':
        return {};
    }
  }

  /** `/lane setup`: list its stacks as the record's stages and let the setup job deploy them. */
  private async startSetup(deploy: DeployRecord): Promise<StepOutcome> {
    const { deploys, narrator, clock, queues, config } = this.deps;
    const stages = setupStackNames({ service: deploy.service, env: deploy.env }, config).map((name) => ({ name, status: 'NotStarted' as const }));
    await deploys.transition(deploy.id, ['starting'], 'running', { startedAt: clock.now(), stages });
    await narrator.refreshRoot(deploy.id);
    await queues.stacks.add('setup', { deployId: deploy.id }, { jobId: `setup-${deploy.id}` });
    return DONE;
  }

  private async watch(deploy: DeployRecord): Promise<void> {
    await this.deps.queues.watch.add(
      'watch',
      { deployId: deploy.id },
      { jobId: `watch-${deploy.id}`, delay: this.deps.pollIntervalMs },
    );
  }

  private async startFailed(deploy: DeployRecord, error: unknown, failures: number): Promise<StepOutcome> {
    const log = this.deps.logger.child({ deployId: deploy.id, pipeline: deploy.pipeline });
    const retryable = !isLanebotError(error) || error.retryable;
    const throttled = isLanebotError(error) && error.code === 'AWS_THROTTLED';
    if (retryable && (throttled || failures + 1 < MAX_AWS_FAILURES)) {
      const retryIn = backoff(failures + 1, 1000, 60_000);
      log.warn({ err: error, retryInMs: Math.round(retryIn) }, 'could not start the pipeline yet; retrying');
      return later(retryIn, { failures: failures + 1 });
    }
    const message = isLanebotError(error) ? error.message : `starting pipeline \`${deploy.pipeline}\` failed: ${describeCause(error)}`;
    log.error({ err: error }, 'giving up on starting the pipeline');
    await finishDeploy(this.deps, deploy.id, 'error', { error: message });
    return DONE;
  }
}
