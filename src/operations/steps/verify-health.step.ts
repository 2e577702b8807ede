// Step: verify the lane's health after a change (a deploy today; promote and rollback later). Three
// checks, in order, each with the environment's deadline (`verify.deadline`, default 10 min):
//
//   rollout   ECS: the newest deployment COMPLETED and running = desired (FAILED — the circuit
//             breaker rolled it back — is a verdict at once)
//   targets   ELBv2: healthy targets ≥ desired
//   soak      `verify.soak` (default 5 min) during which no lane alarm may be in ALARM; at its end
//             the targets are read once more
//
// Each look goes from the phase it is in as far as the checks pass (a lane healthy at the first
// look gets its verdict in that look), reading each part once and only where a phase judges it:
// the ECS service on every look (a rollback in any phase is a verdict), the targets from the
// targets phase on, the alarms in the soak. A healthy lane without a soak costs three AWS reads.
//
// The verdict goes into the record (`health`) and the operation succeeds either way: the change is
// in place; the verdict says whether it works ("deployed and healthy" / "deployed, unhealthy").
// The names of the lane's service, target group and alarms come from the lane stack's outputs,
// which are recorded on the lane on the way (the alarm watch reads them there).
//
// Between looks the job waits in the delayed set: nothing holds a worker. A newer deploy waiting
// for the lane cuts the verification short (judging a version about to be replaced helps nobody,
// and holding the lane would delay the newer one by the whole soak). Retryable faults of the reads
// are retried (throttling without counting); a fault that outlives its retries, or one that trying
// again cannot mend (access denied), gives an `unchecked` verdict, never a failed deploy — and never
// a lane held for minutes by a missing IAM right.
import type { StageView } from '../../cloud/pipelines.port';
import { verifySettingsOf, type VerifySettings } from '../../config';
import { laneResourcesOf, type LaneResources } from '../../domain/lane-resources';
import { laneStackName } from '../../domain/names';
import type { HealthVerdict, OperationRecord } from '../../domain/operation';
import { describeCause, isLanebotError } from '../../errors';
import type { AlarmView } from '../../cloud/alarms.port';
import type { TargetGroupHealth } from '../../cloud/load-balancer.port';
import { alarmLabel, alarmText, HealthLook, healthLinks, rolloutComplete, rolloutFailure, rolloutText, targetsText } from '../../health/lane-health';
import { formatDuration } from '../../chat/messages';
import { backoff } from '../../queue/queues';
import type { OperationPatch } from '../../state/operation-store';
import { next, wait, type OperationStep, type StepDeps, type StepResult } from '../step';
import { MAX_AWS_FAILURES } from './retry';

/** The stage the root message shows for the verification. */
export const HEALTH_STAGE = 'Health check';

type Phase = 'rollout' | 'targets' | 'soak';

interface VerifyProgress {
  phase?: Phase;
  /** When the current check began: its deadline counts from here. */
  phaseStartedAt?: number;
  soakEndsAt?: number;
  /** Desired tasks, from the ECS service (what "enough healthy targets" means). */
  desired?: number;
  resources?: LaneResources;
  /** The last thing seen, for the deadline's verdict. */
  lastSeen?: string;
  failures?: number;
}

/** During the soak the alarms are read this many poll intervals apart. */
const SOAK_POLLS = 3;

export const verifyHealthStep: OperationStep = {
  name: 'verify-health',
  async run(op, deps) {
    const progress = (op.progress ?? {}) as VerifyProgress;
    const now = deps.clock.now();
    const settings = scaled(verifySettingsOf(deps.config, op.env), deps.timeScale);
    const log = deps.logger.child({ operationId: op.id, step: 'verify-health' });

    if ((await deps.lanes.pendingId(op)) !== undefined) {
      return verdictOf(op, deps, progress, {
        verdict: 'unchecked',
        summary: 'health check cut short',
        reasons: ['another operation is waiting for this lane (a newer deploy, or a delete), so the check gave way to it'],
      });
    }

    // What the job keeps between looks; a fault keeps what the look started from.
    let state: VerifyProgress = progress;
    const phaseBefore = progress.resources ? progress.phase ?? 'rollout' : undefined;
    try {
      let resources = progress.resources;
      if (!resources) {
        const stack = await deps.cloud.stacks.describeStack(laneStackName(op));
        if (!stack) return verdictOf(op, deps, progress, { verdict: 'unchecked', summary: 'health not checked', reasons: [`the lane stack \`${laneStackName(op)}\` does not exist`] });
        resources = laneResourcesOf(stack);
        await deps.lanes.recordResources(op, resources);
        const missing = missingOutputs(resources);
        if (missing.length > 0) {
          return verdictOf(op, deps, { ...progress, resources }, {
            verdict: 'unchecked',
            summary: 'health not checked',
            reasons: [`the lane stack \`${resources.stackName}\` publishes no ${orList(missing)} output`],
          });
        }
        state = { ...progress, resources, phase: 'rollout', phaseStartedAt: now, failures: 0 };
      }

      // One look goes through the phases as far as it can, reading each part once and only when a
      // phase needs it (alarms only in the soak); it stops at the first check still waiting.
      const look = new HealthLook(deps.cloud, resources);
      const deadlineText = settings.deadlineText;
      let current: VerifyProgress = { ...state, failures: 0 };
      const overdue = () => now - (current.phaseStartedAt ?? now) >= settings.deadline;
      const unhealthy = (reasons: string[], rolloutFailed?: true) =>
        verdictOf(op, deps, current, { verdict: 'unhealthy', summary: 'deployed, but not healthy', reasons, ...(rolloutFailed ? { rolloutFailed } : {}) });
      /** Waits for the next look; a phase this look moved into is shown in the root message first. */
      const waitFor = async (inMs: number, lastSeen?: string): Promise<StepResult> => {
        if (current.phase !== phaseBefore) await showStage(op, deps, withHealthStage(op, 'InProgress', now, phaseDetail(current.phase ?? 'rollout', settings)));
        return wait(inMs, { progress: lastSeen === undefined ? { ...current } : { ...current, lastSeen } });
      };

      // The rollout matters in every phase: a service rolled back during the soak is not healthy.
      const service = await look.service();
      const failure = service ? rolloutFailure(service, resources) : undefined;
      if (failure) return unhealthy([failure], true);

      if ((current.phase ?? 'rollout') === 'rollout') {
        if (!service || !rolloutComplete(service)) {
          const seen = service ? rolloutText(service) : `ECS service \`${resources.serviceName}\` not found in cluster \`${resources.clusterName}\``;
          if (overdue()) {
            // Tasks that fail the load balancer's health checks are what usually keeps a service short
            // of its desired count: the targets' reasons say why, so they come first.
            const cause = targetTrouble(await look.targets(), service?.desiredCount ?? 1);
            return unhealthy([...(cause ? [cause] : []), `${seen} after ${deadlineText}`]);
          }
          return waitFor(deps.pollIntervalMs, seen);
        }
        current = { ...current, phase: 'targets', phaseStartedAt: now, desired: service.desiredCount };
      }

      const desired = current.desired ?? service?.desiredCount ?? 1;
      if (current.phase === 'targets') {
        const targets = await look.targets();
        if (!targetsOk(targets, desired)) {
          const seen = targetsSeen(targets, desired);
          if (overdue()) return unhealthy([`${seen} after ${deadlineText}`]);
          return waitFor(deps.pollIntervalMs, seen);
        }
        current = { ...current, phase: 'soak', phaseStartedAt: now, soakEndsAt: now + settings.soak };
      }

      // Soak: an alarm in ALARM ends it at once; at its end the targets are read once more.
      const alarms = await look.alarms();
      const alarming = alarms.alarms.filter((a) => a.state === 'ALARM');
      if (alarming.length > 0) return unhealthy(alarming.map((a) => `alarm ${alarmText(resources, a)}`));
      const soakEndsAt = current.soakEndsAt ?? now;
      if (now < soakEndsAt) return waitFor(Math.min(soakEndsAt - now, deps.pollIntervalMs * SOAK_POLLS));
      const targets = await look.targets();
      if (!targetsOk(targets, desired)) return unhealthy([targetsSeen(targets, desired)]);
      const alarmsPart = alarmsSummary(resources, alarms.alarms, settings.soak > 0 ? settings.soakText : undefined);
      const parts = [targets && desired > 0 ? targetsText(targets, desired) : 'no tasks desired', service ? rolloutText(service) : 'ECS deployment complete', alarmsPart];
      const reasons = alarms.missing.length > 0 ? [`alarms the lane stack names but CloudWatch does not know: ${alarms.missing.join(', ')}`] : [];
      return verdictOf(op, deps, current, { verdict: 'healthy', summary: parts.join(', '), reasons });
    } catch (error) {
      const failures = (progress.failures ?? 0) + 1;
      const throttled = isLanebotError(error) && error.code === 'AWS_THROTTLED';
      // A LanebotError says whether trying again can help; anything else (a bug, a dropped
      // connection) gets the benefit of the doubt.
      const retryable = !isLanebotError(error) || error.retryable;
      if (throttled || (retryable && failures < MAX_AWS_FAILURES)) {
        const inMs = Math.max(deps.pollIntervalMs, backoff(failures, 2000, 60_000));
        log.warn({ err: error, retryInMs: inMs }, 'could not read the lane health yet; retrying');
        // A stack read in this look is kept (the next look does not read it again), and shown.
        if (state.resources && phaseBefore === undefined) await showStage(op, deps, withHealthStage(op, 'InProgress', now, phaseDetail('rollout', settings)));
        return wait(inMs, { progress: { ...state, failures: throttled ? progress.failures ?? 0 : failures } });
      }
      log.error({ err: error }, 'giving up on reading the lane health');
      const message = isLanebotError(error) ? error.message : describeCause(error);
      return verdictOf(op, deps, state, { verdict: 'unchecked', summary: 'health not checked', reasons: [`reading the lane's health failed: ${message}`] });
    }
  },
};

/** What the root message says the health check is doing in each phase. */
function phaseDetail(phase: Phase, settings: { soak: number; soakText: string }): string {
  if (phase === 'rollout') return 'ECS rollout';
  if (phase === 'targets') return 'targets';
  return settings.soak > 0 ? `alarms, ${settings.soakText} soak` : 'alarms';
}

/** Enough healthy targets and none unhealthy (nothing to check when no tasks are desired). */
function targetsOk(targets: TargetGroupHealth | undefined, desired: number): boolean {
  return desired === 0 || (targets !== undefined && targets.healthy >= desired && targets.unhealthy === 0);
}

function targetsSeen(targets: TargetGroupHealth | undefined, desired: number): string {
  return targets ? targetsText(targets, desired) : 'the target group does not exist';
}

/** The outputs the check cannot do without, by the names the lane template gives them. */
function missingOutputs(resources: LaneResources): string[] {
  const missing: string[] = [];
  if (!resources.clusterName) missing.push('ClusterName');
  if (!resources.serviceName) missing.push('ServiceName');
  if (!resources.targetGroupArn) missing.push('TargetGroupArn');
  return missing;
}

/** "A", "A or B", "A, B or C". */
function orList(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

/** What is wrong with the targets when something is (unhealthy, unused, still checking); undefined when they look fine or do not exist. */
function targetTrouble(targets: TargetGroupHealth | undefined, desired: number): string | undefined {
  if (!targets || targets.unhealthy + targets.unused + targets.initial === 0) return undefined;
  return targetsText(targets, desired);
}

/**
 * The alarms' part of a healthy verdict: "alarms OK for 5 min"; "alarms OK for 5 min, except 5xx rate
 * (no data yet)" — an alarm without data has not said OK, so the text does not claim it did.
 */
function alarmsSummary(resources: LaneResources, alarms: AlarmView[], soakText: string | undefined): string {
  if (alarms.length === 0) return 'no alarms to check';
  const forSoak = soakText ? ` for ${soakText}` : '';
  const noData = alarms.filter((a) => a.state === 'INSUFFICIENT_DATA').map((a) => alarmLabel(resources, a.name));
  if (noData.length === 0) return `alarms OK${forSoak}`;
  if (noData.length === alarms.length) return `no alarm data yet (${noData.join(', ')})`;
  return `alarms OK${forSoak}, except ${noData.join(', ')} (no data yet)`;
}

/** The settings in the cloud's time (the simulator's runs faster than real time). */
function scaled(settings: VerifySettings, timeScale: number): VerifySettings & { soakText: string; deadlineText: string } {
  const scale = timeScale > 0 ? timeScale : 1;
  return { soak: settings.soak / scale, deadline: settings.deadline / scale, soakText: durationWords(settings.soak), deadlineText: durationWords(settings.deadline) };
}

/** "5 min", "30 s", "1 h": how the settings were written, near enough. */
function durationWords(ms: number): string {
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms > 0 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return formatDuration(ms);
}

/** Ends the step with the verdict: recorded on the operation, shown as the health stage. */
function verdictOf(op: OperationRecord, deps: StepDeps, progress: VerifyProgress, verdict: Omit<HealthVerdict, 'links' | 'checkedAt'>): StepResult {
  const now = deps.clock.now();
  const health: HealthVerdict = { ...verdict, links: progress.resources ? healthLinks(progress.resources) : [], checkedAt: now };
  if (progress.resources?.imageUri) health.image = progress.resources.imageUri;
  const status: StageView['status'] = verdict.verdict === 'healthy' ? 'Succeeded' : verdict.verdict === 'unhealthy' ? 'Failed' : 'Stopped';
  const detail = verdict.verdict === 'healthy' ? 'healthy' : verdict.verdict === 'unhealthy' ? 'not healthy' : 'not checked';
  const patch: OperationPatch = { health, stages: withHealthStage(op, status, now, detail) };
  return next(patch);
}

/** Shows a new state of the health stage in the root message at once. */
async function showStage(op: OperationRecord, deps: StepDeps, stages: StageView[]): Promise<void> {
  await deps.narrator.showChange(op.id, { stages });
}

/** The record's stages with the health stage added or updated (it keeps its start time). */
function withHealthStage(op: OperationRecord, status: StageView['status'], now: number, detail: string): StageView[] {
  const existing = op.stages.find((s) => s.name === HEALTH_STAGE);
  const stage: StageView = { name: HEALTH_STAGE, status, startedAt: existing?.startedAt ?? now, detail };
  if (status !== 'InProgress') stage.endedAt = now;
  return [...op.stages.filter((s) => s.name !== HEALTH_STAGE), stage];
}
