// Step: run a pipeline execution to its end. Starts the operation's pipeline (`params.pipeline`)
// with the kind's variables, then follows the execution (woken by the pipeline watch when it moved,
// operations/pipeline-watch.ts, or polling it every interval without one), keeping the record's stages and the thread's
// root message current and saying in the thread when a stage fails. The operation id is the
// execution's idempotency token: a retried start returns the execution the first try started.
import { isTerminal, type ExecutionStatus, type StageView } from '../../cloud/pipelines.port';
import { mentionAll } from '../../access/mention';
import type { OperationRecord, OperationStatus, PipelineApprovalState } from '../../domain/operation';
import { isLanebotError } from '../../errors';
import { end, next, wait, type OperationStep, type StepDeps, type StepResult } from '../step';
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

      // Polling faults are retried whatever they are: the execution runs on regardless.
      const pollFault = (error: unknown, doing: string, giveUp: (message: string) => string): StepResult => {
        const result = onAwsFault(error, {
          failures,
          minWaitMs: deps.pollIntervalMs,
          baseMs: 2000,
          capMs: 120_000,
          progress: (f) => ({ progress: { failures: f } }),
          giveUp,
          retryAll: true,
        });
        if (result.kind === 'wait') log.warn({ err: error, retryInMs: result.inMs }, `could not ${doing} yet; retrying`);
        return result;
      };

      // Followed before the read: the read accounts for what the watch listed so far
      // (pipeline-watch.ts). A Redis fault here is the job's to retry, as any other.
      const watch = deps.pipelineWatch;
      await watch?.follow({ pipeline, executionId: op.executionId, operationId: op.id, since: op.startedAt ?? deps.clock.now() });
      let view;
      try {
        view = await deps.cloud.pipelines.getExecution(pipeline, op.executionId);
      } catch (error) {
        return pollFault(error, 'read the pipeline execution', (message) => `lanebot lost track of execution ${op.executionId} of \`${pipeline}\`: ${message} Check the execution in the AWS console.`);
      }
      try {
        await followApproval(op, view.stages, deps);
      } catch (error) {
        return pollFault(error, 'send the approval decision', (message) => `lanebot could not send the approval decision to \`${pipeline}\`: ${message}`);
      }

      const previous = new Map(op.stages.map((s) => [s.name, s]));
      for (const stage of view.stages) {
        if (stage.status === 'Failed' && previous.get(stage.name)?.status !== 'Failed') {
          await deps.narrator.say(op.id, `stage_failed:${stage.name}`, { kind: 'stage_failed', stage });
        }
      }
      const changed = stagesChanged(op.stages, view.stages) || op.statusSummary !== view.statusSummary || op.executionUrl !== view.url;
      // (The lane's activity is recorded when the operation takes its slot and when it ends; while it
      // holds the slot, expiry leaves the lane alone, so a stage change need not touch it.)
      const shown = { stages: view.stages, executionUrl: view.url, statusSummary: view.statusSummary };
      if (isTerminal(view.status)) {
        if (changed) await deps.operations.update(op.id, shown); // the end shows it
        await watch?.forget(pipeline, op.executionId);
        return view.status === 'Succeeded' ? next({ progress: {} }) : end(statusForExecution(view.status));
      }
      if (changed) await deps.narrator.showChange(op.id, shown);
      // Followed by the watch, the job sleeps until the execution moves (the watch wakes it), or
      // until the recheck as a safety net; else it polls every interval.
      return wait(watch ? watch.recheckMs : deps.pollIntervalMs, failures > 0 ? { progress: { failures: 0 } } : undefined);
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

/**
 * A manual-approval action of the execution, followed from Slack: when one starts waiting, the thread
 * gets a request (approvers mentioned; buttons in the root, src/slack/actions/pipeline-approval.ts);
 * a decision clicked there is sent to CodePipeline here (PutApprovalResult with the action's token);
 * one decided elsewhere (the AWS console) is noticed when the action stops waiting, and said so.
 */
async function followApproval(op: OperationRecord, stages: StageView[], deps: StepDeps): Promise<void> {
  const pipeline = op.params.pipeline!;
  const waiting = stages.flatMap((s) => s.approvals ?? [])[0];
  const known = op.pipelineApproval;
  const approvers = deps.config.environments[op.env]?.approvers ?? [];

  if (known?.state === 'deciding' && known.decision) {
    const { approved, by, reason } = known.decision;
    const summary = `${approved ? 'Approved' : 'Rejected'} in Slack by ${by}${reason ? `: ${reason}` : ''}`;
    const outcome = await deps.cloud.pipelines.putApprovalResult({ pipelineName: pipeline, stageName: known.stageName, actionName: known.actionName, token: known.token, approved, summary });
    const decided = outcome.kind === 'recorded';
    const state: PipelineApprovalState = decided ? { ...known, state: approved ? 'approved' : 'rejected' } : { ...known, state: 'decided-elsewhere', elsewhere: 'decided' };
    await deps.operations.update(op.id, { pipelineApproval: state });
    const text = decided
      ? `${approved ? ':white_check_mark:' : ':no_entry:'} <@${by}> ${approved ? 'approved' : 'rejected'} *${known.stageName}* of \`${pipeline}\`${reason ? `: ${reason}` : ''}.`
      : `:information_source: *${known.stageName}* of \`${pipeline}\` was decided elsewhere (the AWS console) before <@${by}>'s click reached CodePipeline.`;
    await deps.narrator.say(op.id, `pipeline_approval_decided:${known.token}`, { kind: 'note', text });
    await deps.narrator.refreshRoot(op.id);
    return;
  }
  if (waiting && known?.token !== waiting.token) {
    const state: PipelineApprovalState = { ...waiting, state: 'pending' };
    await deps.operations.update(op.id, { pipelineApproval: state });
    const details = [waiting.customMessage, waiting.reviewUrl ? `<${waiting.reviewUrl}|Review>` : undefined].filter(Boolean).join(' · ');
    await deps.narrator.say(op.id, `pipeline_approval:${waiting.token}`, {
      kind: 'note',
      text: `:raised_hand: ${mentionAll(approvers)}: \`${pipeline}\` waits for a manual approval at *${waiting.stageName}*${details ? ` (${details})` : ''}. Approve or reject it with the buttons above.`,
    });
    await deps.narrator.refreshRoot(op.id);
    return;
  }
  if (!waiting && known?.state === 'pending') {
    // It stopped waiting without a click here: someone decided in the AWS console (or it expired).
    const stage = stages.find((s) => s.name === known.stageName);
    const how = stage?.status === 'Succeeded' ? 'approved' : stage?.status === 'Failed' ? 'rejected' : 'closed';
    await deps.operations.update(op.id, { pipelineApproval: { ...known, state: 'decided-elsewhere', elsewhere: how } });
    await deps.narrator.say(op.id, `pipeline_approval_decided:${known.token}`, { kind: 'note', text: `:information_source: *${known.stageName}* of \`${pipeline}\` was ${how} outside Slack (in the AWS console).` });
    await deps.narrator.refreshRoot(op.id);
  }
}
