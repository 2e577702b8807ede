// Step: run a pipeline execution to its end. Starts the operation's pipeline (`params.pipeline`)
// with the kind's variables, then polls the execution, keeping the record's stages and the thread's
// root message current and saying in the thread when a stage fails. The operation id is the
// execution's idempotency token: a retried start returns the execution the first try started.
import { isTerminal, type ExecutionStatus, type StageView } from '../../cloud/pipelines.port';
import type { OperationRecord, OperationStatus } from '../../domain/operation';
import { isLanebotError } from '../../errors';
import { end, next, wait, type OperationStep, type StepDeps } from '../step';
import { onAwsFault } from './retry';

export interface PipelineExecutionOptions {
  /** The pipeline variables the execution starts with (templates/pipelines/). */
  variables(op: OperationRecord, deps: StepDeps): Promise<Record<string, string>>;
}

export function pipelineExecutionStep(options: PipelineExecutionOptions): OperationStep {
  return {
    name: 'pipeline-execution',
    async run(op, deps) {
      const pipeline = op.params.pipeline;
      if (!pipeline) return end('error', { error: 'the operation names no pipeline (a record from an incompatible lanebot version?)' });
      const failures = Number(op.progress?.failures ?? 0);
      const log = deps.logger.child({ operationId: op.id, pipeline });

      if (!op.executionId) {
        let executionId: string;
        try {
          const variables = await options.variables(op, deps);
          ({ executionId } = await deps.cloud.pipelines.startExecution({ pipelineName: pipeline, variables, clientRequestToken: op.id }));
        } catch (error) {
          const result = onAwsFault(error, {
            failures,
            minWaitMs: 0,
            baseMs: 1000,
            capMs: 60_000,
            progress: (f) => ({ progress: { failures: f } }),
            giveUp: (message) => (isLanebotError(error) ? message : `starting pipeline \`${pipeline}\` failed: ${message}`),
          });
          if (result.kind === 'wait') log.warn({ err: error, retryInMs: result.inMs }, 'could not start the pipeline yet; retrying');
          else log.error({ err: error }, 'giving up on starting the pipeline');
          return result;
        }
        log.info({ executionId }, 'pipeline execution started');
        return wait(deps.pollIntervalMs, { executionId, progress: { failures: 0 } }, true);
      }

      let view;
      try {
        view = await deps.cloud.pipelines.getExecution(pipeline, op.executionId);
      } catch (error) {
        const result = onAwsFault(error, {
          // Reading an execution is retried whatever the fault: the execution runs on regardless.
          failures,
          minWaitMs: deps.pollIntervalMs,
          baseMs: 2000,
          capMs: 120_000,
          progress: (f) => ({ progress: { failures: f } }),
          giveUp: (message) => `lanebot lost track of execution ${op.executionId} of \`${pipeline}\`: ${message} Check the execution in the AWS console.`,
          retryAll: true,
        });
        if (result.kind === 'wait') log.warn({ err: error, retryInMs: result.inMs }, 'could not read the pipeline execution; retrying');
        return result;
      }

      const previous = new Map(op.stages.map((s) => [s.name, s]));
      for (const stage of view.stages) {
        if (stage.status === 'Failed' && previous.get(stage.name)?.status !== 'Failed') {
          await deps.narrator.say(op.id, `stage_failed:${stage.name}`, { kind: 'stage_failed', stage });
        }
      }
      const changed = stagesChanged(op.stages, view.stages) || op.statusSummary !== view.statusSummary || op.executionUrl !== view.url;
      if (changed) {
        await deps.operations.update(op.id, { stages: view.stages, executionUrl: view.url, statusSummary: view.statusSummary });
        await deps.lanes.touch(op, deps.clock.now());
      }
      if (isTerminal(view.status)) {
        return view.status === 'Succeeded' ? next({ progress: {} }) : end(statusForExecution(view.status));
      }
      if (changed) await deps.narrator.refreshRoot(op.id);
      return wait(deps.pollIntervalMs, failures > 0 ? { progress: { failures: 0 } } : undefined);
    },
  };
}

export function statusForExecution(execution: ExecutionStatus): OperationStatus {
  switch (execution) {
    case 'Succeeded':
      return 'succeeded';
    case 'Failed':
      return 'failed';
    case 'Stopped':
      return 'stopped';
    case 'Superseded':
      return 'superseded';
    case 'Cancelled':
      return 'cancelled';
    case 'InProgress':
    case 'Stopping':
      return 'running';
  }
}

function stagesChanged(before: StageView[], after: StageView[]): boolean {
  if (before.length !== after.length) return true;
  return before.some((stage, i) => {
    const other = after[i]!;
    return stage.name !== other.name || stage.status !== other.status || stage.startedAt !== other.startedAt || stage.endedAt !== other.endedAt;
  });
}
