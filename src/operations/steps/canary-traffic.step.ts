// Step: the canary's traffic phase (kinds/canary.kind.ts, rules in domain/canary.ts).
//
//   ready ──canary tasks running and healthy──▶ shift ──weights applied──▶ hold ──check passes──▶ shift (next step)
//     │                                           ▲                          │ └─ last step passes ──▶ passed
//     └─ rollout failed / deadline ──▶ rolled back                           ├─ check fails ──▶ hold (again) … failureLimit ──▶ rolled back
//                                                                            └─ inconclusive (too few requests) ──▶ hold
//   At any point: Abort ──▶ aborted; Promote now ──▶ promoted-now; Pause holds (no shift, no check) until Resume;
//   a gap longer than abandonAfter since the step last ran (lanebot was down) ──▶ rolled back.
//
// Each step's weights are one stack update of the canary stack (weights only), with a token per step,
// so a step run again after a crash follows the update the first run started. A check reads one
// window per call through the metrics port: from the step's start (or the previous window) to about two
// minutes ago, because ALB metrics reach CloudWatch late. Every verdict, with its figures, goes into
// the thread and the audit log. Between looks the job waits in the delayed set; the buttons wake it.
import { canaryCheckText, canaryOutcomeText, canaryPausedText, figuresText } from '../../chat/canary-messages';
import { formatDuration } from '../../chat/messages';
import { verifySettingsOf } from '../../config';
import { analyseCanary, MAX_KEPT_CHECKS, METRICS_LAG_MS, weightsOf, type CanaryCheck, type CanaryState } from '../../domain/canary';
import { canaryStackName } from '../../domain/names';
import type { OperationRecord } from '../../domain/operation';
import type { TrafficFigures } from '../../cloud/metrics.port';
import { describeCause, isLanebotError } from '../../errors';
import { readLaneHealth, rolloutComplete, rolloutFailure, rolloutText, targetsText } from '../../health/lane-health';
import type { OperationPatch } from '../../state/operation-store';
import { next, wait, type OperationStep, type StepDeps, type StepResult } from '../step';
import { driveStack, rollBack, show, trafficStageName, withStage, type StackDriveProgress } from './canary-stack.steps';
import { onAwsFault } from './retry';

/**
 * A held or paused canary looks again at least every this many poll intervals (its buttons wake it
 * sooner): the look is one Redis read, and it keeps `lastSeenAt` fresh, which is how a canary
 * nobody watched is told from one that merely waited.
 */
const HOLD_POLLS = 3;

/** How long to wait before the next look, `dueInMs` being when something is due. */
function nextLook(deps: StepDeps, dueInMs: number): StepResult {
  return wait(Math.min(dueInMs, deps.pollIntervalMs * HOLD_POLLS));
}

/** The shift in progress (driveStack's state) and the count of failed calls. */
type TrafficProgress = StackDriveProgress;

export const canaryTrafficStep: OperationStep = {
  name: 'canary-traffic',
  async run(op, deps) {
    const canary = op.canary;
    if (!canary || canary.outcome) return next();
    const now = deps.clock.now();
    const scale = deps.timeScale > 0 ? deps.timeScale : 1;
    const settings = canary.settings;

    // Nobody watched the canary for longer than allowed (lanebot was down): what happened to its
    // traffic meanwhile is unknown, so it does not go on.
    if (canary.lastSeenAt !== undefined && now - canary.lastSeenAt > settings.abandonAfterMs / scale) {
      const gap = formatDuration((now - canary.lastSeenAt) * scale);
      return endTraffic(op, deps, rollBack(canary, `lanebot did not watch the canary for ${gap} (longer than abandonAfter, ${formatDuration(settings.abandonAfterMs)}), so it rolled it back rather than go on unwatched`), now);
    }
    const seen: CanaryState = { ...canary, lastSeenAt: now };

    // People's controls: abort before promote now; both end the traffic phase.
    if (op.canaryAbort) return endTraffic(op, deps, rollBack(seen, `aborted the canary at ${canary.percent} %`, 'aborted', op.canaryAbort.by), now);
    if (op.canaryPromoteNow) {
      return endTraffic(op, deps, { ...seen, phase: 'ended', outcome: 'promoted-now', outcomeBy: op.canaryPromoteNow.by, reason: `promoted it at ${canary.percent} % without waiting for the remaining steps` }, now);
    }

    try {
      switch (canary.phase) {
        case 'ready':
          return await ready(op, deps, seen, now, scale);
        case 'shift':
          return await shift(op, deps, seen, now, scale);
        case 'hold':
          return await hold(op, deps, seen, now, scale);
        case 'ended':
          return next();
      }
    } catch (error) {
      const progress = (op.progress ?? {}) as TrafficProgress;
      const result = onAwsFault(error, {
        failures: progress.failures ?? 0,
        minWaitMs: deps.pollIntervalMs,
        baseMs: 2000,
        capMs: 60_000,
        progress: (failures) => ({ progress: { ...progress, failures }, canary: seen }),
        giveUp: (message) => message,
      });
      if (result.kind === 'wait') {
        deps.logger.warn({ operationId: op.id, err: error, retryInMs: result.inMs }, 'canary call failed; retrying');
        return result;
      }
      const message = isLanebotError(error) ? error.message : describeCause(error);
      return endTraffic(op, deps, rollBack(seen, `lanebot could not go on with the canary: ${message}`), now);
    }
  },
};

/** Waits for the canary's tasks: the ECS rollout complete and as many healthy targets as desired. */
async function ready(op: OperationRecord, deps: StepDeps, canary: CanaryState, now: number, scale: number): Promise<StepResult> {
  const resources = canary.resources;
  if (!resources?.serviceName || !resources.targetGroupArn || !resources.clusterName) {
    return endTraffic(op, deps, rollBack(canary, `the canary stack \`${canaryStackName(op)}\` publishes no ServiceName, ClusterName or TargetGroupArn output`), now);
  }
  const deadline = verifySettingsOf(deps.config, op.env).deadline;
  const reading = await readLaneHealth(deps.cloud, { ...resources, alarms: {} });
  const service = reading.service;
  const failure = service ? rolloutFailure(service, resources) : undefined;
  if (failure) return endTraffic(op, deps, rollBack(canary, `the canary's tasks did not start: ${failure}`), now);
  const desired = service?.desiredCount ?? 1;
  const targets = reading.targets;
  if (service && rolloutComplete(service) && targets && targets.healthy >= desired) {
    // The first step: its weights next.
    return shift(op, deps, { ...canary, phase: 'shift', index: 0 }, now, scale);
  }
  const seen = service ? `${rolloutText(service)}${targets ? `, ${targetsText(targets, desired)}` : ''}` : `ECS service \`${resources.serviceName}\` not found`;
  const since = canary.stepStartedAt ?? now;
  if (now - since >= deadline / scale) {
    return endTraffic(op, deps, rollBack(canary, `the canary's tasks were not ready after ${formatDuration(deadline)}: ${seen}`), now);
  }
  await show(op, deps, { canary, stages: withStage(op.stages, trafficStageName(canary.settings.steps[0]!), { status: 'NotStarted', detail: `waiting for the canary's tasks: ${seen}` }, now) });
  return wait(deps.pollIntervalMs);
}

/** Applies the step's weights (one stack update, weights only) and starts holding the step. */
async function shift(op: OperationRecord, deps: StepDeps, canary: CanaryState, now: number, scale: number): Promise<StepResult> {
  const percent = canary.settings.steps[canary.index]!;
  const stage = trafficStageName(percent);
  if (op.canaryPause?.paused && (op.progress as TrafficProgress | undefined)?.stage === undefined) {
    // Not started yet: a pause holds the canary where it is.
    return paused(op, deps, canary, now);
  }
  const drive = await driveStack(
    { action: 'update-parameters', stackName: canaryStackName(op), parameters: weightsOf(percent) },
    `${op.id}-w${canary.index}`,
    (op.progress ?? {}) as TrafficProgress,
    deps,
  );
  if (drive.result === 'running') {
    await show(op, deps, { canary, stages: withStage(op.stages, stage, { status: 'InProgress', detail: `moving ${percent} % of default's traffic to the canary` }, now) });
    return wait(deps.pollIntervalMs, { progress: drive.progress });
  }
  if (drive.result === 'failed') {
    const stages = withStage(op.stages, stage, { status: 'Failed', detail: 'weights not changed', failure: { actionName: 'UpdateStack', summary: drive.why } }, now);
    return endTraffic(op, deps, rollBack(canary, `changing the canary's weights to ${percent} % failed: ${drive.why}`), now, stages);
  }
  const interval = canary.settings.intervalMs;
  // Metrics come per whole minute: the step's first window starts at the first minute wholly under
  // its weights (one that began before the update completed still counts the previous weights).
  const minute = 60_000 / scale;
  const dataFrom = Math.ceil(now / minute) * minute;
  const held: CanaryState = { ...canary, phase: 'hold', percent, stepStartedAt: dataFrom, nextCheckAt: dataFrom + (interval + METRICS_LAG_MS) / scale, pauseSaid: false };
  const stages = withStage(op.stages, stage, { status: 'InProgress', detail: `holding ${formatDuration(interval)}, then checking` }, now);
  await show(op, deps, { canary: held, stages, progress: {} });
  return nextLook(deps, held.nextCheckAt! - now);
}

/** Holds the step until its check is due, then checks: pass → the next step, fail → hold or roll back. */
async function hold(op: OperationRecord, deps: StepDeps, canary: CanaryState, now: number, scale: number): Promise<StepResult> {
  if (op.canaryPause?.paused) return paused(op, deps, canary, now);
  if (canary.pauseSaid) {
    await deps.narrator.say(op.id, `canary-resumed:${op.canaryPause?.at ?? now}`, { kind: 'note', text: `:arrow_forward: <@${op.canaryPause?.by ?? ''}> resumed the canary at ${canary.percent} %.` });
    canary = { ...canary, pauseSaid: false };
  }
  const due = canary.nextCheckAt ?? now;
  if (now < due) {
    await deps.operations.update(op.id, { canary });
    return nextLook(deps, due - now);
  }
  const resources = canary.resources ?? { stackName: canaryStackName(op) };
  if (!resources.targetGroup || !resources.baselineTargetGroup || !resources.loadBalancer) {
    return endTraffic(op, deps, rollBack(canary, `the canary stack publishes no TargetGroupFullName, BaselineTargetGroupFullName or LoadBalancerFullName output, so its traffic cannot be measured`), now);
  }
  const settings = canary.settings;
  const end = now - METRICS_LAG_MS / scale;
  const start = Math.max(canary.stepStartedAt ?? end, end - settings.intervalMs / scale);
  const figures = await deps.cloud.metrics.trafficFigures({ loadBalancer: resources.loadBalancer, targetGroups: [resources.targetGroup, resources.baselineTargetGroup], start, end });
  const zero: TrafficFigures = { requests: 0, errors5xx: 0 };
  const canaryFigures = figures[resources.targetGroup] ?? zero;
  const baselineFigures = figures[resources.baselineTargetGroup] ?? zero;
  const analysis = analyseCanary(canaryFigures, baselineFigures, settings, canary.baselineP99Ms);
  const check: CanaryCheck = {
    step: canary.index,
    percent: canary.percent,
    at: now,
    window: { start, end },
    canary: canaryFigures,
    baseline: baselineFigures,
    verdict: analysis.verdict,
    reasons: analysis.reasons,
    ...(analysis.p99LimitMs !== undefined ? { p99LimitMs: analysis.p99LimitMs } : {}),
  };
  const failures = canary.failures + (analysis.verdict === 'fail' ? 1 : 0);
  const checked: CanaryState = {
    ...canary,
    failures,
    checks: [...canary.checks, check].slice(-MAX_KEPT_CHECKS),
    ...(baselineFigures.requests > 0 && baselineFigures.p99Ms !== undefined ? { baselineP99Ms: baselineFigures.p99Ms } : {}),
  };
  const last = canary.index === settings.steps.length - 1;
  const stage = trafficStageName(canary.percent);
  deps.metrics.canaryChecks.inc({ verdict: analysis.verdict });
  await deps.narrator.say(op.id, `canary-check:${canary.index}:${now}`, { kind: 'note', text: canaryCheckText(check, failures, settings, last) });
  await deps.audit.record({
    at: now,
    actor: op.requester,
    action: 'operation:canary',
    outcome: `check-${analysis.verdict}`,
    service: op.service,
    env: op.env,
    lane: op.lane,
    operationId: op.id,
    channel: op.channel,
    detail: `${canary.percent} %: canary ${figuresText(canaryFigures)}; baseline ${figuresText(baselineFigures)}${analysis.reasons.length ? `; ${analysis.reasons.join('; ')}` : ''}`,
  });

  if (analysis.verdict === 'pass') {
    const stages = withStage(op.stages, stage, { status: 'Succeeded', detail: `passed: ${figuresText(canaryFigures)}` }, now);
    if (last) return endTraffic(op, deps, { ...checked, phase: 'ended', outcome: 'passed' }, now, stages);
    const moved: CanaryState = { ...checked, phase: 'shift', index: canary.index + 1 };
    await show(op, deps, { canary: moved, stages });
    return wait(0);
  }
  if (analysis.verdict === 'fail' && failures >= settings.failureLimit) {
    const stages = withStage(op.stages, stage, { status: 'Failed', detail: 'check failed', failure: { actionName: 'Analysis', summary: analysis.reasons.join('; ') } }, now);
    const why = `${analysis.reasons.join('; ')} at the ${canary.percent} % step (failed check ${failures} of ${settings.failureLimit})`;
    return endTraffic(op, deps, rollBack(checked, why), now, stages);
  }
  const detail = analysis.verdict === 'fail' ? `check failed (${failures} of ${settings.failureLimit}), holding` : 'inconclusive, holding';
  const heldAgain: CanaryState = { ...checked, nextCheckAt: now + settings.intervalMs / scale };
  await show(op, deps, { canary: heldAgain, stages: withStage(op.stages, stage, { status: 'InProgress', detail }, now) });
  return nextLook(deps, heldAgain.nextCheckAt! - now);
}

/** A paused canary: said once in the thread, then it waits (the Resume button wakes it). */
async function paused(op: OperationRecord, deps: StepDeps, canary: CanaryState, now: number): Promise<StepResult> {
  let state = canary;
  if (!canary.pauseSaid) {
    await deps.narrator.say(op.id, `canary-paused:${op.canaryPause?.at ?? now}`, { kind: 'note', text: canaryPausedText(op, canary) });
    state = { ...canary, pauseSaid: true };
  }
  const stage = canary.index >= 0 ? trafficStageName(canary.settings.steps[canary.index]!) : undefined;
  const patch: OperationPatch = { canary: state };
  if (stage) patch.stages = withStage(op.stages, stage, { status: canary.phase === 'shift' ? 'NotStarted' : 'InProgress', detail: `paused by ${op.canaryPause?.by ? `<@${op.canaryPause.by}>` : 'someone'}` }, now);
  await show(op, deps, patch);
  return nextLook(deps, Number.POSITIVE_INFINITY);
}

/** Ends the traffic phase with the canary's outcome; the steps after this one act on it. */
async function endTraffic(op: OperationRecord, deps: StepDeps, canary: CanaryState, now: number, stages = op.stages): Promise<StepResult> {
  const ended: CanaryState = { ...canary, phase: 'ended', lastSeenAt: now };
  if (ended.outcome === 'rolled-back' || ended.outcome === 'aborted') {
    await deps.narrator.say(op.id, 'canary-rollback', {
      kind: 'note',
      broadcast: ended.outcome === 'rolled-back',
      text: `:rewind: *Rolling the canary back:* ${canaryOutcomeText(ended)}. All of default's traffic goes back to the version it ran; the canary is removed.`,
    });
  }
  const patch: OperationPatch = { canary: ended, stages, progress: {} };
  await deps.audit.record({
    at: now,
    actor: ended.outcomeBy ?? op.requester,
    action: 'operation:canary',
    outcome: ended.outcome ?? 'ended',
    service: op.service,
    env: op.env,
    lane: op.lane,
    operationId: op.id,
    channel: op.channel,
    detail: ended.reason,
  });
  return next(patch);
}

