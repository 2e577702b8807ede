// A canary release of lane `default` (seed 002): the release of another lane runs beside default as
// its own stack, and default's untagged traffic moves to it in steps (1 → 5 → 10 → 25 → 50 → 100 %).
// Each step is held for an interval, then the canary's figures are compared with the baseline's; a
// failed check holds the step, `failureLimit` failed checks roll the canary back, too little traffic
// is inconclusive (the step holds, it never passes on no evidence). Pure rules here: no Redis, no SDK.

/** The canary settings of an environment, resolved (config.ts parses `canary:`). */
export interface CanarySettings {
  /** Percentages of default's traffic the canary takes, strictly increasing, the last one 100. */
  steps: number[];
  /** How long each step is held before its check (and between checks of a held step). */
  intervalMs: number;
  /** The canary fails a check when more than this share of its requests got a 5xx from the targets (percent). */
  maxErrorRatePercent: number;
  /** The canary's p99 response time limit: absolute, or relative to the baseline's p99 (percent of it). */
  maxP99: { kind: 'absolute'; ms: number } | { kind: 'relative'; percent: number };
  /** Failed checks (over the whole canary) that roll it back. */
  failureLimit: number;
  /** Fewer canary requests than this in a check's window is inconclusive. */
  minRequests: number;
  /** A canary nobody watched for this long (lanebot down) is rolled back when lanebot is back. */
  abandonAfterMs: number;
  /** `/lane promote <lane>` to default is a canary unless `--no-canary` (per environment `canary: true`). */
  byDefault: boolean;
}

export const DEFAULT_CANARY_STEPS: readonly number[] = [1, 5, 10, 25, 50, 100];

/** How far before now a check's window ends: ALB metrics reach CloudWatch a minute or two late. */
export const METRICS_LAG_MS = 2 * 60_000;

/** The reserved lane name of the canary's stack (app-{service}-{env}-canary). */
export const CANARY_LANE = 'canary';

/** A target group's figures over a check's window (the metrics port's TrafficFigures). */
export interface CanaryFigures {
  requests: number;
  errors5xx: number;
  /** 5xx per 100 requests; undefined without requests. */
  errorRatePercent?: number;
  /** TargetResponseTime p99 in ms; undefined without requests. */
  p99Ms?: number;
}

export type CheckVerdict = 'pass' | 'fail' | 'inconclusive';

export interface CanaryAnalysis {
  verdict: CheckVerdict;
  /** Why it failed or was inconclusive, one sentence each, naming the figure and the threshold. */
  reasons: string[];
  /** The p99 limit the canary was held to in this check (ms), when there was one. */
  p99LimitMs?: number;
}

/**
 * The verdict of one check. `baselineP99Ms` is the baseline's p99 to compare with when the baseline
 * itself had no traffic in the window (the 100 % step): the last one measured.
 */
export function analyseCanary(canary: CanaryFigures, baseline: CanaryFigures, settings: CanarySettings, lastBaselineP99Ms?: number): CanaryAnalysis {
  const reasons: string[] = [];
  const errorRate = canary.errorRatePercent ?? (canary.requests > 0 ? (100 * canary.errors5xx) / canary.requests : undefined);
  const p99Limit = p99LimitOf(settings, baseline.requests > 0 && baseline.p99Ms !== undefined ? baseline.p99Ms : lastBaselineP99Ms);

  // Failures are judged first: 30 requests of which 10 failed is already a fact, whatever the minimum.
  if (errorRate !== undefined && canary.requests > 0 && errorRate > settings.maxErrorRatePercent) {
    reasons.push(`canary 5xx rate ${percentText(errorRate)} > ${percentText(settings.maxErrorRatePercent)} (${canary.errors5xx} of ${canary.requests} requests)`);
  }
  if (canary.p99Ms !== undefined && p99Limit !== undefined && canary.p99Ms > p99Limit) {
    const relative = settings.maxP99.kind === 'relative' ? ` (${settings.maxP99.percent} % of the baseline's ${msText(p99Limit / (settings.maxP99.percent / 100))})` : '';
    reasons.push(`canary p99 ${msText(canary.p99Ms)} > ${msText(p99Limit)}${relative}`);
  }
  // A failure needs enough requests to be more than noise: below the minimum, a breach holds the step
  // (inconclusive) unless the errors alone already exceed what the whole minimum would allow.
  if (reasons.length > 0) {
    const errorsAloneBreach = canary.errors5xx > (settings.maxErrorRatePercent / 100) * Math.max(settings.minRequests, canary.requests);
    if (canary.requests >= settings.minRequests || errorsAloneBreach) return { verdict: 'fail', reasons, p99LimitMs: p99Limit };
  }

  const inconclusive: string[] = [];
  if (canary.requests === 0 || canary.requests < settings.minRequests) inconclusive.push(`too few canary requests to judge (${canary.requests} < ${Math.max(1, settings.minRequests)})`);
  if (canary.requests > 0 && canary.p99Ms === undefined) inconclusive.push('no p99 response time for the canary');
  if (p99Limit === undefined) inconclusive.push('no baseline p99 to compare the canary with');
  if (inconclusive.length > 0) return { verdict: 'inconclusive', reasons: [...reasons, ...inconclusive], p99LimitMs: p99Limit };
  return { verdict: 'pass', reasons: [], p99LimitMs: p99Limit };
}

function p99LimitOf(settings: CanarySettings, baselineP99Ms: number | undefined): number | undefined {
  if (settings.maxP99.kind === 'absolute') return settings.maxP99.ms;
  return baselineP99Ms === undefined ? undefined : (baselineP99Ms * settings.maxP99.percent) / 100;
}

/** The ALB weights of a step: the canary's share and the baseline's, summing to 100. */
export function weightsOf(percent: number): { CanaryWeight: string; BaselineWeight: string } {
  const canary = Math.min(100, Math.max(0, Math.round(percent)));
  return { CanaryWeight: String(canary), BaselineWeight: String(100 - canary) };
}

/** Checks `steps` as the config takes it: the problem, or undefined when they are usable. */
export function stepsProblem(steps: readonly number[]): string | undefined {
  if (steps.length === 0 || steps.length > 20) return 'must list 1 to 20 percentages';
  if (steps.some((s) => !Number.isInteger(s) || s < 1 || s > 100)) return 'must be whole percentages from 1 to 100';
  if (steps.some((s, i) => i > 0 && s <= steps[i - 1]!)) return 'must increase from one step to the next';
  if (steps[steps.length - 1] !== 100) return 'must end with 100 (the canary takes all of default\'s traffic before default is promoted)';
  return undefined;
}

/** "1.2 %", "0 %", "0.04 %". */
export function percentText(value: number): string {
  const rounded = value >= 10 ? value.toFixed(1) : value >= 0.1 ? value.toFixed(2) : value === 0 ? '0' : value.toFixed(3);
  return `${rounded.replace(/\.?0+$/, '') || '0'} %`;
}

/** "180 ms", "1.25 s". */
export function msText(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2).replace(/\.?0+$/, '')} s` : `${Math.round(ms)} ms`;
}

/** One check of a step: its window, both sides' figures, and the verdict. */
export interface CanaryCheck {
  /** Index of the step in `steps`, and its percentage. */
  step: number;
  percent: number;
  at: number;
  window: { start: number; end: number };
  canary: CanaryFigures;
  baseline: CanaryFigures;
  verdict: CheckVerdict;
  reasons: string[];
  p99LimitMs?: number;
}

/** How the traffic phase ended: passed every step, promoted early by a person, rolled back, or aborted. */
export type CanaryOutcome = 'passed' | 'promoted-now' | 'rolled-back' | 'aborted';

/** The canary stack's resources, from its outputs (templates/canary-stack.yaml). */
export interface CanaryResources {
  stackName: string;
  region?: string;
  clusterName?: string;
  serviceName?: string;
  targetGroupArn?: string;
  taskDefinitionArn?: string;
  /** The metrics dimensions: targetgroup/…, and app/{name}/{id}. */
  targetGroup?: string;
  baselineTargetGroup?: string;
  loadBalancer?: string;
}

/**
 * Where a canary stands, kept on its operation record (`canary`) and changed only by its own steps.
 * The people's controls (pause, abort, promote now) are separate fields of the record, written by the
 * buttons, so a click and a step never overwrite each other.
 */
export interface CanaryState {
  /** The environment's settings when the canary started (a config change does not move a running canary). */
  settings: CanarySettings;
  /** The step being held (index in settings.steps); -1 before the first shift. */
  index: number;
  /** ready: waiting for the canary's tasks; shift: moving the weights to the step's; hold: measuring the step. */
  phase: 'ready' | 'shift' | 'hold' | 'ended';
  /** The share of default's traffic the canary takes now (the last weights CloudFormation applied). */
  percent: number;
  /** When the step's weights took effect: the first whole minute after its update completed (where its figures start). */
  stepStartedAt?: number;
  nextCheckAt?: number;
  /** Failed checks so far (the whole canary). */
  failures: number;
  /** The checks so far, oldest first (the last MAX_KEPT_CHECKS). */
  checks: CanaryCheck[];
  /** When a step last ran: a gap longer than abandonAfter means nobody watched the canary. */
  lastSeenAt?: number;
  /** The baseline's last measured p99 (for a relative limit at 100 %, when the baseline has no traffic). */
  baselineP99Ms?: number;
  /** What the canary stack copies from lane default's stack (sizing), and the service role it has. */
  baseline?: { parameters: Record<string, string>; roleArn?: string };
  resources?: CanaryResources;
  /** Whether the paused state has been said in the thread (so a pause is said once). */
  pauseSaid?: boolean;
  outcome?: CanaryOutcome;
  /** Who decided it (a person's Promote now / Abort), and why it ended that way. */
  outcomeBy?: string;
  reason?: string;
  /** Set when the canary stack is gone. */
  removed?: boolean;
  /** Why removing the canary stack failed (it takes no traffic; a person must delete it). */
  removeFailed?: string;
  /** Set when default runs the canary's image. */
  promoted?: boolean;
}

/** A person's click on a running canary. */
export interface CanaryControl {
  by: string;
  at: number;
}

export interface CanaryPause extends CanaryControl {
  paused: boolean;
}

export const MAX_KEPT_CHECKS = 40;
