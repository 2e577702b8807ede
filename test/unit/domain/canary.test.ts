import { analyseCanary, msText, percentText, stepsProblem, weightsOf, type CanaryFigures, type CanarySettings } from '../../../src/domain/canary';

const SETTINGS: CanarySettings = {
  steps: [1, 5, 10, 25, 50, 100],
  intervalMs: 5 * 60_000,
  maxErrorRatePercent: 1,
  maxP99: { kind: 'absolute', ms: 500 },
  failureLimit: 2,
  minRequests: 100,
  abandonAfterMs: 30 * 60_000,
  byDefault: false,
};

const figures = (requests: number, errors5xx: number, p99Ms?: number): CanaryFigures => ({
  requests,
  errors5xx,
  ...(requests > 0 ? { errorRatePercent: (100 * errors5xx) / requests } : {}),
  ...(p99Ms !== undefined ? { p99Ms } : {}),
});

const BASELINE = figures(10_000, 10, 150);

describe('analyseCanary', () => {
  // canary figures, baseline figures, settings changes, last baseline p99 → verdict and what the reasons say
  const table: [string, CanaryFigures, CanaryFigures, Partial<CanarySettings>, number | undefined, 'pass' | 'fail' | 'inconclusive', RegExp[]][] = [
    ['healthy canary passes', figures(500, 2, 180), BASELINE, {}, undefined, 'pass', []],
    ['exactly at the error threshold passes', figures(1000, 10, 180), BASELINE, {}, undefined, 'pass', []],
    ['5 % errors fail with the figures', figures(1000, 50, 180), BASELINE, {}, undefined, 'fail', [/canary 5xx rate 5 % > 1 % \(50 of 1000 requests\)/]],
    ['slow p99 fails', figures(1000, 0, 800), BASELINE, {}, undefined, 'fail', [/canary p99 800 ms > 500 ms/]],
    ['both figures broken: both reasons', figures(1000, 50, 800), BASELINE, {}, undefined, 'fail', [/5xx rate/, /p99/]],
    ['too few requests is inconclusive, never a pass', figures(20, 0, 100), BASELINE, {}, undefined, 'inconclusive', [/too few canary requests to judge \(20 < 100\)/]],
    ['no requests at all is inconclusive', figures(0, 0), BASELINE, {}, undefined, 'inconclusive', [/0 < 100/]],
    ['few requests but errors beyond what the whole minimum allows: fail', figures(20, 5, 100), BASELINE, {}, undefined, 'fail', [/5xx rate 25 %/]],
    ['few requests, one error: inconclusive (noise)', figures(20, 1, 100), BASELINE, {}, undefined, 'inconclusive', [/5xx rate 5 %/, /too few/]],
    ['relative p99 within 150 % of the baseline passes', figures(500, 0, 200), BASELINE, { maxP99: { kind: 'relative', percent: 150 } }, undefined, 'pass', []],
    ['relative p99 beyond 150 % of the baseline fails', figures(500, 0, 300), BASELINE, { maxP99: { kind: 'relative', percent: 150 } }, undefined, 'fail', [/canary p99 300 ms > 225 ms \(150 % of the baseline's 150 ms\)/]],
    ['relative p99 at 100 %: the baseline has no traffic, the last one measured counts', figures(5000, 0, 200), figures(0, 0), { maxP99: { kind: 'relative', percent: 150 } }, 150, 'pass', []],
    ['relative p99 with no baseline ever measured: inconclusive', figures(5000, 0, 200), figures(0, 0), { maxP99: { kind: 'relative', percent: 150 } }, undefined, 'inconclusive', [/no baseline p99/]],
    ['requests without a p99: inconclusive', figures(500, 0), BASELINE, {}, undefined, 'inconclusive', [/no p99/]],
    ['minRequests 0 and no traffic: still inconclusive (no evidence never passes)', figures(0, 0), BASELINE, { minRequests: 0 }, undefined, 'inconclusive', [/too few canary requests/]],
  ];

  it.each(table)('%s', (_name, canary, baseline, overrides, lastP99, verdict, reasons) => {
    const analysis = analyseCanary(canary, baseline, { ...SETTINGS, ...overrides }, lastP99);
    expect(analysis.verdict).toBe(verdict);
    if (verdict === 'pass') expect(analysis.reasons).toEqual([]);
    for (const reason of reasons) expect(analysis.reasons.join('\n')).toMatch(reason);
  });

  it('computes the error rate from the counts when the metric math gave none', () => {
    expect(analyseCanary({ requests: 1000, errors5xx: 30, p99Ms: 100 }, BASELINE, SETTINGS).reasons[0]).toMatch(/3 % > 1 %/);
  });
});

describe('canary helpers', () => {
  it('weights sum to 100 and stay within ALB limits', () => {
    for (const p of [0, 1, 5, 10, 25, 50, 100]) {
      const w = weightsOf(p);
      expect(Number(w.CanaryWeight) + Number(w.BaselineWeight)).toBe(100);
      expect(Number(w.CanaryWeight)).toBe(p);
    }
    expect(weightsOf(150)).toEqual({ CanaryWeight: '100', BaselineWeight: '0' });
  });

  it('checks steps', () => {
    expect(stepsProblem([1, 5, 10, 25, 50, 100])).toBeUndefined();
    expect(stepsProblem([100])).toBeUndefined();
    expect(stepsProblem([50, 10, 100])).toMatch(/increase/);
    expect(stepsProblem([1, 2.5, 100])).toMatch(/whole/);
    expect(stepsProblem([1, 50])).toMatch(/end with 100/);
  });

  it('writes figures the way people read them', () => {
    expect(percentText(5)).toBe('5 %');
    expect(percentText(0.125)).toBe('0.13 %');
    expect(percentText(0)).toBe('0 %');
    expect(percentText(12.34)).toBe('12.3 %');
    expect(msText(180.4)).toBe('180 ms');
    expect(msText(1250)).toBe('1.25 s');
  });
});
