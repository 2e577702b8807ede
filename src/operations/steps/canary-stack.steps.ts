// The canary's stack work (kinds/canary.kind.ts): plan it from lane default's stack, create the canary
// stack (templates/canary-stack.yaml) with no traffic, then after the traffic steps put the image on
// default (when the canary passed), take the canary's traffic back, remove its stack, and end the
// operation as the canary ended. Each stack change goes through advanceStackChange with a token of its
// own, so a step run again after a crash follows the change the first run started.
//
// Faults before traffic moves end nothing abruptly: they turn into a rollback (the steps after the
// traffic phase always run: weights to 0, stack removed), so an operation never ends leaving traffic on
// a canary nobody watches.
import type { StageView } from '../../cloud/pipelines.port';
import { canarySettingsOf } from '../../config';
import { CANARY_LANE, weightsOf, type CanaryResources, type CanaryState } from '../../domain/canary';
import { canaryStackName, DEFAULT_LANE, laneStackName } from '../../domain/names';
import type { OperationRecord } from '../../domain/operation';
import { describeCause, isLanebotError } from '../../errors';
import type { OperationPatch } from '../../state/operation-store';
import { end, next, wait, type OperationStep, type StepDeps, type StepResult } from '../step';
import { onAwsFault } from './retry';
import { advanceStackChange, readStackChangeState, type StackChange, type StackChangeState } from './stack-changes.step';

export const CREATE_STAGE = 'Canary stack';
export const PROMOTE_STAGE = 'Promote default';
export const REMOVE_STAGE = 'Remove canary';

/** The stage of a traffic step: "5 %". */
export function trafficStageName(percent: number): string {
  return `${percent} %`;
}

/** The parameters of lane default's stack the canary copies (its sizing and container), when set. */
const COPIED_PARAMETERS = ['ContainerPort', 'Cpu', 'Memory', 'DesiredCount', 'HealthCheckPath', 'HealthCheckGracePeriodSeconds', 'TaskRoleArn'] as const;

/** The record's stages with one changed (kept in place, its start time kept). */
export function withStage(stages: StageView[], name: string, change: Partial<StageView>, now: number): StageView[] {
  return stages.map((s) => {
    if (s.name !== name) return s;
    const status = change.status ?? s.status;
    const stage: StageView = { ...s, ...change, status };
    if (status !== 'NotStarted') stage.startedAt = s.startedAt ?? now;
    if (status === 'InProgress' || status === 'NotStarted') delete stage.endedAt;
    else stage.endedAt ??= now;
    return stage;
  });
}

/** Saves a patch and shows it in the root message at once (a wait's patch is saved only after the step returns). */
export async function show(op: OperationRecord, deps: StepDeps, patch: OperationPatch): Promise<void> {
  await deps.operations.update(op.id, patch);
  await deps.narrator.refreshRoot(op.id);
}

/** The canary ends its traffic phase this way; the steps after it clean up. */
export function rollBack(canary: CanaryState, reason: string, outcome: 'rolled-back' | 'aborted' = 'rolled-back', by?: string): CanaryState {
  return { ...canary, phase: 'ended', outcome, reason, ...(by ? { outcomeBy: by } : {}) };
}

export interface StackDriveProgress {
  [key: string]: unknown;
  stack?: StackChangeState;
  stage?: StageView;
  failures?: number;
}

type Drive = { result: 'done'; stage: StageView } | { result: 'failed'; why: string } | { result: 'running'; detail: string; progress: StackDriveProgress };

/** One call of a stack change; faults throw (the caller turns them into a retry or a rollback). */
export async function driveStack(change: StackChange, token: string, saved: StackDriveProgress, deps: StepDeps): Promise<Drive> {
  const state = readStackChangeState(saved.stack);
  const stage = await advanceStackChange(change, token, saved.stage ?? { name: change.stackName, status: 'NotStarted' }, state, deps);
  if (stage.status === 'Succeeded') return { result: 'done', stage };
  if (stage.status === 'Failed') return { result: 'failed', why: stage.failure?.summary ?? 'the stack operation failed' };
  return { result: 'running', detail: stage.detail ?? 'in progress', progress: { stack: state, stage, failures: 0 } };
}

/** A fault of a cleanup or set-up call: retried with backoff; `giveUp` says what ending it means. */
function retryOr(error: unknown, op: OperationRecord, deps: StepDeps, giveUp: (message: string) => StepResult): StepResult {
  const progress = (op.progress ?? {}) as StackDriveProgress;
  const failures = progress.failures ?? 0;
  const result = onAwsFault(error, {
    failures,
    minWaitMs: deps.pollIntervalMs,
    baseMs: 2000,
    capMs: 60_000,
    progress: (f) => ({ progress: { ...progress, failures: f } }),
    giveUp: (message) => message,
  });
  if (result.kind === 'wait') {
    deps.logger.warn({ operationId: op.id, err: error, retryInMs: result.inMs }, 'canary stack call failed; retrying');
    return result;
  }
  return giveUp(isLanebotError(error) ? error.message : describeCause(error));
}


/**
 * Plans the canary from lane default's stack: the settings (a snapshot: a config change does not move
 * a running canary), the sizing it copies, the stages the root message shows.
 */
export const canaryPlanStep: OperationStep = {
  name: 'canary-plan',
  async run(op, deps) {
    if (op.canary) return next();
    let stack;
    try {
      stack = await deps.cloud.stacks.describeStack(laneStackName({ ...op, lane: DEFAULT_LANE }));
    } catch (error) {
      return retryOr(error, op, deps, (message) => end('error', { error: `reading lane default's stack failed: ${message}` }));
    }
    if (!stack) return end('refused', { error: `lane default has no stack (\`${laneStackName({ ...op, lane: DEFAULT_LANE })}\`): deploy default once, then run the canary` });
    const settings = canarySettingsOf(deps.config, op.env);
    const parameters: Record<string, string> = {};
    for (const name of COPIED_PARAMETERS) if (stack.parameters[name] !== undefined) parameters[name] = stack.parameters[name]!;
    const canary: CanaryState = {
      settings,
      index: -1,
      phase: 'ready',
      percent: 0,
      failures: 0,
      checks: [],
      baseline: { parameters, ...(stack.roleArn ? { roleArn: stack.roleArn } : {}) },
    };
    const stages: StageView[] = [CREATE_STAGE, ...settings.steps.map(trafficStageName), PROMOTE_STAGE, REMOVE_STAGE].map((name) => ({ name, status: 'NotStarted' }));
    return next({ canary, stages });
  },
};

/** Creates the canary stack with all traffic on the baseline (weights 0/100), and reads its outputs. */
export const canaryCreateStep: OperationStep = {
  name: 'canary-create',
  async run(op, deps) {
    const canary = op.canary;
    if (!canary) return end('error', { error: 'the canary has no plan (its record lost its state)' });
    if (canary.outcome) return next();
    const now = deps.clock.now();
    const stackName = canaryStackName(op);
    const change: StackChange = {
      action: 'deploy',
      stackName,
      templateFile: 'canary-stack.yaml',
      parameters: {
        Env: op.env,
        ServiceName: op.service,
        SourceLane: op.params.from ?? '',
        ImageUri: op.params.image ?? '',
        ...weightsOf(0),
        ...canary.baseline?.parameters,
      },
      tags: { 'lanebot:service': op.service, 'lanebot:env': op.env, 'lanebot:lane': CANARY_LANE, 'lanebot:canary-of': op.params.from ?? '' },
      capabilities: ['CAPABILITY_IAM'],
      ...(canary.baseline?.roleArn ? { roleArn: canary.baseline.roleArn } : {}),
    };
    try {
      const drive = await driveStack(change, `${op.id}-create`, (op.progress ?? {}) as StackDriveProgress, deps);
      if (drive.result === 'running') {
        await show(op, deps, { stages: withStage(op.stages, CREATE_STAGE, { status: 'InProgress', detail: drive.detail }, now) });
        return wait(deps.pollIntervalMs, { progress: drive.progress }, true);
      }
      if (drive.result === 'failed') {
        const stages = withStage(op.stages, CREATE_STAGE, { status: 'Failed', detail: 'not created', failure: { actionName: 'CreateStack', summary: drive.why } }, now);
        return next({ stages, canary: rollBack(canary, `the canary stack \`${stackName}\` could not be created: ${drive.why}`) });
      }
      const stack = await deps.cloud.stacks.describeStack(stackName);
      const resources = stack ? canaryResourcesOf(stackName, stack.stackId, stack.outputs) : { stackName };
      const stages = withStage(op.stages, CREATE_STAGE, { status: 'Succeeded', detail: 'created, no traffic yet' }, now);
      return next({ stages, canary: { ...canary, resources, phase: 'ready', stepStartedAt: now, lastSeenAt: now } });
    } catch (error) {
      return retryOr(error, op, deps, (message) =>
        next({ stages: withStage(op.stages, CREATE_STAGE, { status: 'Failed', detail: 'not created' }, now), canary: rollBack(canary, `creating the canary stack failed: ${message}`) }),
      );
    }
  },
};

/** The canary stack's resources, by the output names of templates/canary-stack.yaml. */
export function canaryResourcesOf(stackName: string, stackId: string, outputs: Record<string, string>): CanaryResources {
  const resources: CanaryResources = { stackName };
  const region = /^arn:aws[a-z-]*:cloudformation:([a-z0-9-]+):/.exec(stackId)?.[1];
  if (region) resources.region = region;
  if (outputs.ClusterName) resources.clusterName = outputs.ClusterName;
  if (outputs.ServiceName) resources.serviceName = outputs.ServiceName;
  if (outputs.TargetGroupArn) resources.targetGroupArn = outputs.TargetGroupArn;
  if (outputs.TaskDefinitionArn) resources.taskDefinitionArn = outputs.TaskDefinitionArn;
  if (outputs.TargetGroupFullName) resources.targetGroup = outputs.TargetGroupFullName;
  if (outputs.BaselineTargetGroupFullName) resources.baselineTargetGroup = outputs.BaselineTargetGroupFullName;
  if (outputs.LoadBalancerFullName) resources.loadBalancer = outputs.LoadBalancerFullName;
  return resources;
}

/** When the canary passed (or a person promoted it early): lane default's stack gets the image. */
export const canaryPromoteDefaultStep: OperationStep = {
  name: 'canary-promote-default',
  async run(op, deps) {
    const canary = op.canary;
    if (!canary || (canary.outcome !== 'passed' && canary.outcome !== 'promoted-now') || canary.promoted) return next();
    const now = deps.clock.now();
    const stackName = laneStackName({ ...op, lane: DEFAULT_LANE });
    const change: StackChange = { action: 'update-parameters', stackName, parameters: { ImageUri: op.params.image ?? '' } };
    const failedPromote = (why: string): StepResult =>
      next({
        stages: withStage(op.stages, PROMOTE_STAGE, { status: 'Failed', detail: 'not promoted', failure: { actionName: 'UpdateStack', summary: why } }, now),
        canary: { ...canary, outcome: 'rolled-back', reason: `putting the image on lane default failed (${why}); CloudFormation kept default on what it ran` },
      });
    try {
      const drive = await driveStack(change, `${op.id}-promote`, (op.progress ?? {}) as StackDriveProgress, deps);
      if (drive.result === 'running') {
        await show(op, deps, { stages: withStage(op.stages, PROMOTE_STAGE, { status: 'InProgress', detail: drive.detail }, now) });
        return wait(deps.pollIntervalMs, { progress: drive.progress });
      }
      if (drive.result === 'failed') return failedPromote(drive.why);
      return next({ stages: withStage(op.stages, PROMOTE_STAGE, { status: 'Succeeded', detail: 'default runs the image' }, now), canary: { ...canary, promoted: true } });
    } catch (error) {
      return retryOr(error, op, deps, failedPromote);
    }
  },
};

/** Takes the canary's traffic back (weights 0/100), before its stack goes: one update, weights only. */
export const canaryTrafficOffStep: OperationStep = {
  name: 'canary-traffic-off',
  async run(op, deps) {
    const canary = op.canary;
    if (!canary || canary.removed || canary.percent === 0) return next();
    const change: StackChange = { action: 'update-parameters', stackName: canaryStackName(op), parameters: weightsOf(0) };
    try {
      const drive = await driveStack(change, `${op.id}-off`, (op.progress ?? {}) as StackDriveProgress, deps);
      if (drive.result === 'running') return wait(deps.pollIntervalMs, { progress: drive.progress });
      if (drive.result === 'failed') {
        // The delete that follows takes the rule (and so the traffic) away as well.
        deps.logger.warn({ operationId: op.id, why: drive.why }, 'setting the canary weight to 0 failed; removing the canary stack');
        return next();
      }
      return next({ canary: { ...canary, percent: 0 } });
    } catch (error) {
      return retryOr(error, op, deps, () => next());
    }
  },
};

/** Deletes the canary stack: its rule, service and target group go; all traffic is on default's target group. */
export const canaryRemoveStep: OperationStep = {
  name: 'canary-remove',
  async run(op, deps) {
    const canary = op.canary;
    if (!canary || canary.removed) return next();
    const now = deps.clock.now();
    const stackName = canaryStackName(op);
    const change: StackChange = { action: 'delete', stackName };
    const notRemoved = (why: string): StepResult =>
      next({
        stages: withStage(op.stages, REMOVE_STAGE, { status: 'Failed', detail: 'not removed', failure: { actionName: 'DeleteStack', summary: why } }, now),
        canary: { ...canary, removeFailed: why },
      });
    try {
      const drive = await driveStack(change, `${op.id}-remove`, (op.progress ?? {}) as StackDriveProgress, deps);
      if (drive.result === 'running') {
        await show(op, deps, { stages: withStage(op.stages, REMOVE_STAGE, { status: 'InProgress', detail: drive.detail }, now) });
        return wait(deps.pollIntervalMs, { progress: drive.progress });
      }
      if (drive.result === 'failed') return notRemoved(drive.why);
      return next({ stages: withStage(op.stages, REMOVE_STAGE, { status: 'Succeeded', detail: 'removed' }, now), canary: { ...canary, removed: true, percent: 0 } });
    } catch (error) {
      return retryOr(error, op, deps, notRemoved);
    }
  },
};

/** A canary that did not promote ends here: failed (rolled back) or cancelled (aborted). */
export const canaryVerdictStep: OperationStep = {
  name: 'canary-verdict',
  async run(op) {
    const canary = op.canary;
    if (canary?.promoted) return next();
    const summary = canary?.reason ?? 'the canary did not complete';
    return end(canary?.outcome === 'aborted' ? 'cancelled' : 'failed', { statusSummary: summary });
  },
};
