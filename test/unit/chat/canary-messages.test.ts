import { canaryCheckText, canaryProgressBlocks, canaryStatusLabel, figuresText, progressBar } from '../../../src/chat/canary-messages';
import type { CanaryCheck, CanarySettings, CanaryState } from '../../../src/domain/canary';
import type { OperationRecord } from '../../../src/domain/operation';
import { canaryControlBlocks, decodeCanaryControlValue } from '../../../src/slack/actions/canary-controls';

const SETTINGS: CanarySettings = {
  steps: [1, 5, 10, 25, 50, 100],
  intervalMs: 300_000,
  maxErrorRatePercent: 1,
  maxP99: { kind: 'absolute', ms: 500 },
  failureLimit: 2,
  minRequests: 100,
  abandonAfterMs: 1_800_000,
  byDefault: false,
};

const check = (step: number, verdict: CanaryCheck['verdict'], reasons: string[] = []): CanaryCheck => ({
  step,
  percent: SETTINGS.steps[step]!,
  at: 1,
  window: { start: 0, end: 1 },
  canary: { requests: 1234, errors5xx: 2, errorRatePercent: 0.162, p99Ms: 180 },
  baseline: { requests: 50_000, errors5xx: 10, errorRatePercent: 0.02, p99Ms: 170 },
  verdict,
  reasons,
});

function op(canary: Partial<CanaryState>, extra: Partial<OperationRecord> = {}): OperationRecord {
  return {
    id: 'op-1',
    kind: 'canary',
    service: 'user-api',
    env: 'dev',
    lane: 'default',
    params: { from: 'gray', image: 'repo:gray-abc' },
    requester: 'U0ALICE',
    channel: 'C0USERAPIDEV',
    requestedAt: 0,
    status: 'running',
    stages: [],
    canary: { settings: SETTINGS, index: 2, phase: 'hold', percent: 10, failures: 0, checks: [check(0, 'pass'), check(1, 'pass')], ...canary },
    ...extra,
  };
}

describe('canary messages', () => {
  it('draws the progress bar up to the step being held, full once promoted', () => {
    expect(progressBar(op({}).canary!)).toBe('▰▰▰▱▱▱');
    expect(progressBar(op({ phase: 'shift' }).canary!)).toBe('▰▰▱▱▱▱');
    expect(progressBar(op({ outcome: 'passed', phase: 'ended' }).canary!)).toBe('▰▰▰▰▰▰');
    expect(progressBar(op({ index: -1, phase: 'ready' }).canary!)).toBe('▱▱▱▱▱▱');
  });

  it('shows the figures of both sides per step, the thresholds, and the buttons while it runs', () => {
    const blocks = JSON.stringify(canaryProgressBlocks(op({})));
    expect(blocks).toContain('canary at *10 %*');
    expect(blocks).toContain('*1 %* canary 1,234 req · 0.16 % 5xx · p99 180 ms | baseline 50,000 req · 0.02 % 5xx · p99 170 ms');
    expect(blocks).toContain('Thresholds: 5xx ≤ 1 %, p99 ≤ 500 ms, at least 100 requests per check; 2 failed checks roll back');
    const buttons = JSON.stringify(canaryControlBlocks(op({})));
    for (const id of ['canary_pause', 'canary_promote_now', 'canary_abort']) expect(buttons).toContain(id);
    expect(JSON.stringify(canaryControlBlocks(op({}, { canaryPause: { paused: true, by: 'U0BOB', at: 1 } })))).toContain('canary_resume');
    // No buttons once its end is decided, or once it ended.
    expect(canaryControlBlocks(op({ outcome: 'rolled-back' }))).toEqual([]);
    expect(canaryControlBlocks(op({}, { canaryAbort: { by: 'U0BOB', at: 1 } }))).toEqual([]);
    expect(canaryControlBlocks(op({}, { status: 'succeeded' }))).toEqual([]);
  });

  it('says each check with its verdict, the figure that broke the threshold, and what happens next', () => {
    expect(canaryCheckText(check(1, 'pass'), 0, SETTINGS, false)).toBe(
      ':white_check_mark: *5 % passed:* canary 1,234 req · 0.16 % 5xx · p99 180 ms · baseline 50,000 req · 0.02 % 5xx · p99 170 ms. Next step.',
    );
    expect(canaryCheckText(check(5, 'pass'), 0, SETTINGS, true)).toContain('Every step passed: promoting default.');
    expect(canaryCheckText(check(1, 'fail', ['canary 5xx rate 5 % > 1 %']), 1, SETTINGS, false)).toContain('*5 % failed (1 of 2), holding the step:* canary 5xx rate 5 % &gt; 1 %');
    expect(canaryCheckText(check(1, 'fail', ['canary p99 900 ms > 500 ms']), 2, SETTINGS, false)).toContain('*5 % failed (2 of 2):* canary p99 900 ms &gt; 500 ms');
    expect(canaryCheckText(check(0, 'inconclusive', ['too few canary requests to judge (12 < 100)']), 0, SETTINGS, false)).toContain('inconclusive, holding the step');
    expect(figuresText({ requests: 0, errors5xx: 0 })).toBe('0 req · – 5xx · p99 –');
  });

  it('labels the root by where the canary is', () => {
    expect(canaryStatusLabel(op({}))).toBe(':hatching_chick: canary at 10 % (step 3 of 6)');
    expect(canaryStatusLabel(op({}, { canaryPause: { paused: true, by: 'U0BOB', at: 1 } }))).toBe(':double_vertical_bar: paused at 10 %');
    expect(canaryStatusLabel(op({ outcome: 'rolled-back' }))).toBe(':rewind: rolling back');
    expect(canaryStatusLabel(op({ outcome: 'passed' }))).toBe(':arrow_up: promoting default');
    expect(canaryStatusLabel(op({ outcome: 'rolled-back' }, { status: 'failed' }))).toBe(':rewind: rolled back');
    expect(canaryStatusLabel(op({ outcome: 'promoted-now' }, { status: 'succeeded' }))).toBe(':white_check_mark: promoted early');
  });

  it('reads only its own button values', () => {
    expect(decodeCanaryControlValue(JSON.stringify({ v: 1, op: 'abc-123' }))).toEqual({ ok: true, value: { v: 1, op: 'abc-123' } });
    expect(decodeCanaryControlValue(JSON.stringify({ v: 1, op: 'a b' }))).toMatchObject({ ok: false });
    expect(decodeCanaryControlValue(JSON.stringify({ v: 2, op: 'abc' }))).toMatchObject({ ok: false });
    expect(decodeCanaryControlValue('nope')).toMatchObject({ ok: false });
  });
});
