// What a canary says in Slack (kinds/canary.kind.ts): the progress bar and the figures of each step in
// the root message, one reply per check, the pause, and the last reply. Pure builders.
import type { KnownBlock } from '@slack/types';
import { msText, percentText, type CanaryCheck, type CanaryFigures, type CanarySettings, type CanaryState } from '../domain/canary';
import type { OperationRecord } from '../domain/operation';
import { escapeAndTruncate, MAX_SUMMARY } from './messages';

/** "▰▰▰▱▱▱ 10 %": one block per step, filled up to the step being held. */
export function progressBar(canary: CanaryState): string {
  const steps = canary.settings.steps;
  const done = canary.outcome === 'passed' || canary.outcome === 'promoted-now' ? steps.length : Math.max(0, canary.index + (canary.phase === 'hold' ? 1 : 0));
  return `${'▰'.repeat(done)}${'▱'.repeat(steps.length - done)}`;
}

/** "1,234 req · 0.12 % 5xx · p99 180 ms". */
export function figuresText(f: CanaryFigures): string {
  const rate = f.errorRatePercent ?? (f.requests > 0 ? (100 * f.errors5xx) / f.requests : undefined);
  return `${f.requests.toLocaleString('en-US')} req · ${rate === undefined ? '–' : percentText(rate)} 5xx · p99 ${f.p99Ms === undefined ? '–' : msText(f.p99Ms)}`;
}

const VERDICT_ICON: Record<CanaryCheck['verdict'], string> = { pass: ':white_check_mark:', fail: ':x:', inconclusive: ':grey_question:' };

/** The thresholds, once: "5xx ≤ 1 %, p99 ≤ 500 ms, ≥ 100 requests per check". */
export function thresholdsText(settings: CanarySettings): string {
  const p99 = settings.maxP99.kind === 'absolute' ? msText(settings.maxP99.ms) : `${settings.maxP99.percent} % of the baseline's`;
  return `5xx ≤ ${percentText(settings.maxErrorRatePercent)}, p99 ≤ ${p99}, at least ${settings.minRequests} requests per check`;
}

/** The root message's canary part: steps, the last figures of each, thresholds. */
export function canaryProgressBlocks(op: OperationRecord): KnownBlock[] {
  const canary = op.canary;
  if (!canary) return [];
  const steps = canary.settings.steps;
  const now = canary.index >= 0 && canary.phase !== 'ended' ? ` — canary at *${canary.percent} %*${op.canaryPause?.paused ? ' (paused)' : ''}` : '';
  const lines = [`${progressBar(canary)} ${steps.map((s) => `${s} %`).join(' → ')}${now}`];
  const lastByStep = new Map<number, CanaryCheck>();
  for (const check of canary.checks) lastByStep.set(check.step, check);
  for (const [step, check] of [...lastByStep.entries()].sort((a, b) => a[0] - b[0])) {
    lines.push(`${VERDICT_ICON[check.verdict]} *${steps[step]} %* canary ${figuresText(check.canary)} | baseline ${figuresText(check.baseline)}`);
  }
  return [
    { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n').slice(0, 2900) } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `Thresholds: ${thresholdsText(canary.settings)}; ${canary.settings.failureLimit} failed check${canary.settings.failureLimit === 1 ? '' : 's'} roll back. Failed checks so far: ${canary.failures}.` }] },
  ];
}

/** The reply of one check. */
export function canaryCheckText(check: CanaryCheck, failures: number, settings: CanarySettings, lastStep: boolean): string {
  const figures = `canary ${figuresText(check.canary)} · baseline ${figuresText(check.baseline)}`;
  const why = check.reasons.map((r) => escapeAndTruncate(r, 300)).join('; ');
  switch (check.verdict) {
    case 'pass':
      return `${VERDICT_ICON.pass} *${check.percent} % passed:* ${figures}.${lastStep ? ' Every step passed: promoting default.' : ' Next step.'}`;
    case 'fail':
      return failures >= settings.failureLimit
        ? `${VERDICT_ICON.fail} *${check.percent} % failed (${failures} of ${settings.failureLimit}):* ${why}. ${figures}.`
        : `${VERDICT_ICON.fail} *${check.percent} % failed (${failures} of ${settings.failureLimit}), holding the step:* ${why}. ${figures}.`;
    case 'inconclusive':
      return `${VERDICT_ICON.inconclusive} *${check.percent} % inconclusive, holding the step:* ${why}. ${figures}.`;
  }
}

export function canaryPausedText(op: OperationRecord, canary: CanaryState): string {
  const by = op.canaryPause?.by ? `<@${op.canaryPause.by}>` : 'Someone';
  const at = canary.index >= 0 ? `at ${canary.percent} %` : 'before its first step';
  return `:double_vertical_bar: ${by} paused the canary ${at}: its traffic stays as it is and no check runs until someone resumes it.`;
}

/** The root's status words while a canary runs or after it ended. */
export function canaryStatusLabel(op: OperationRecord): string | undefined {
  const canary = op.canary;
  if (!canary) return undefined;
  if (op.status === 'running') {
    if (canary.outcome === 'rolled-back' || canary.outcome === 'aborted') return ':rewind: rolling back';
    if (canary.outcome) return ':arrow_up: promoting default';
    if (op.canaryPause?.paused) return `:double_vertical_bar: paused at ${canary.percent} %`;
    if (canary.index < 0) return ':hatching_chick: starting the canary';
    return `:hatching_chick: canary at ${canary.percent} % (step ${canary.index + 1} of ${canary.settings.steps.length})`;
  }
  if (op.status === 'failed' && canary.outcome) return ':rewind: rolled back';
  if (op.status === 'cancelled') return ':no_entry_sign: aborted, rolled back';
  if (op.status === 'succeeded') return canary.outcome === 'promoted-now' ? ':white_check_mark: promoted early' : ':white_check_mark: promoted';
  return undefined;
}

/**
 * Why the canary ended as it did, for the thread: "<@U…> aborted the canary at 5 %", or the figure
 * that broke its threshold. The reason is lanebot's words around AWS's (escaped); the person is a mention.
 */
export function canaryOutcomeText(canary: Pick<CanaryState, 'reason' | 'outcomeBy' | 'outcome'>): string {
  const reason = escapeAndTruncate(canary.reason ?? (canary.outcome === 'aborted' ? 'aborted' : 'it did not pass'), MAX_SUMMARY);
  return canary.outcomeBy ? `<@${canary.outcomeBy}> ${reason}` : reason;
}
