import type { StackConfig } from '../../../src/cloud/sim/sim-stack-families';
import type { OperationRecord } from '../../../src/cloud/sim/sim-stack-operation';
import type { StackRecord } from '../../../src/cloud/sim/sim-stack-state';
import { cloudMinutes, configAt, configHistory, segmentsOf, serves, untaggedShares } from '../../../src/cloud/sim/sim-traffic-model';

const S1 = 'stack/app-user-api-dev-canary/1';
const S2 = 'stack/app-user-api-dev-canary/2';

function config(canaryWeight: number, extra: Record<string, string> = {}): StackConfig {
  return { templateHash: 'h', parameters: { SourceLane: 'gray', CanaryWeight: String(canaryWeight), BaselineWeight: String(100 - canaryWeight), ...extra }, tags: {} };
}

function op(seq: number, kind: OperationRecord['kind'], startedAt: number, endsAt: number, finalStatus: string, configs: { before?: StackConfig; after?: StackConfig }, stackId = S1): OperationRecord {
  return { seq, kind, stackId, startedAt, endsAt, events: [], finalStatus, ...configs };
}

function record(...operations: OperationRecord[]): StackRecord {
  return { stackName: 'app-user-api-dev-canary', seq: operations.length, operations };
}

const weightOf = (change: { config?: StackConfig }) => change.config?.parameters.CanaryWeight;

describe('configHistory', () => {
  it('has nothing in force for a stack never created', () => {
    expect(configHistory(undefined)).toEqual([{ at: Number.NEGATIVE_INFINITY, stackId: '' }]);
  });

  it('dates a create or update at its end, a delete at its start, and ignores what failed', () => {
    const history = configHistory(
      record(
        op(1, 'create', 0, 90, 'CREATE_COMPLETE', { after: config(0) }),
        op(2, 'update', 100, 130, 'UPDATE_COMPLETE', { before: config(0), after: config(5) }),
        // Rolled back: the weights stay at 5.
        op(3, 'update', 200, 240, 'UPDATE_ROLLBACK_COMPLETE', { before: config(5), after: config(10) }),
        // A failed delete leaves the service and the rule in place.
        op(4, 'delete', 300, 320, 'DELETE_FAILED', { before: config(5) }),
        op(5, 'delete', 400, 430, 'DELETE_COMPLETE', { before: config(5) }),
        op(6, 'create', 500, 590, 'CREATE_COMPLETE', { after: config(0) }, S2),
      ),
    );
    expect(history.map((c) => [c.at, c.stackId, weightOf(c)])).toEqual([
      [Number.NEGATIVE_INFINITY, S1, undefined],
      [90, S1, '0'],
      [130, S1, '5'],
      [400, S1, undefined],
      [590, S2, '0'],
    ]);
  });

  it('takes what the oldest kept operation started from as in force before it', () => {
    const history = configHistory(record(op(7, 'update', 100, 130, 'UPDATE_COMPLETE', { before: config(10), after: config(25) })));
    expect(history.map((c) => [c.at, weightOf(c)])).toEqual([
      [Number.NEGATIVE_INFINITY, '10'],
      [130, '25'],
    ]);
  });

  it('has nothing in force after a create that rolled back', () => {
    const history = configHistory(record(op(1, 'create', 0, 90, 'ROLLBACK_COMPLETE', { after: config(0) })));
    expect(configAt(history, 1_000).config).toBeUndefined();
  });
});

describe('configAt and segmentsOf', () => {
  const history = configHistory(
    record(
      op(1, 'create', 0, 90, 'CREATE_COMPLETE', { after: config(0) }),
      op(2, 'update', 100, 130, 'UPDATE_COMPLETE', { before: config(0), after: config(5) }),
      op(3, 'update', 200, 230, 'UPDATE_COMPLETE', { before: config(5), after: config(10) }),
    ),
  );

  it('finds the configuration in force at a moment, a change counting from its own moment on', () => {
    expect(weightOf(configAt(history, 50))).toBeUndefined();
    expect(weightOf(configAt(history, 90))).toBe('0');
    expect(weightOf(configAt(history, 129))).toBe('0');
    expect(weightOf(configAt(history, 130))).toBe('5');
    expect(weightOf(configAt(history, 10_000))).toBe('10');
  });

  it('cuts a window at the changes inside it only, each piece with what was in force', () => {
    const other = [{ at: Number.NEGATIVE_INFINITY, stackId: 'x' }, { at: 150, stackId: 'x' }];
    const pieces = segmentsOf(120, 220, [history, other]);
    expect(pieces.map((p) => [p.from, p.to, weightOf(p.configs[0]!)])).toEqual([
      [120, 130, '0'],
      [130, 150, '5'],
      [150, 220, '5'],
    ]);
    expect(segmentsOf(140, 150, [history])).toEqual([{ from: 140, to: 150, configs: [configAt(history, 140)] }]);
    expect(segmentsOf(150, 150, [history])).toEqual([]);
  });
});

describe('shares, serving and time', () => {
  it('splits the untagged traffic by weight; without a canary (or with weights ALB would refuse) the default group takes it all', () => {
    expect(untaggedShares({ canary: 5, baseline: 95 })).toEqual({ canary: 0.05, baseline: 0.95 });
    expect(untaggedShares({ canary: 1, baseline: 3 })).toEqual({ canary: 0.25, baseline: 0.75 });
    expect(untaggedShares({ canary: 100, baseline: 0 })).toEqual({ canary: 1, baseline: 0 });
    expect(untaggedShares(undefined)).toEqual({ canary: 0, baseline: 1 });
    expect(untaggedShares({ canary: 0, baseline: 0 })).toEqual({ canary: 0, baseline: 1 });
  });

  it('counts a service as serving while it exists with tasks', () => {
    expect(serves({ at: 0, stackId: S1, config: config(0) })).toBe(true);
    expect(serves({ at: 0, stackId: S1, config: config(0, { DesiredCount: '2' }) })).toBe(true);
    expect(serves({ at: 0, stackId: S1, config: config(0, { DesiredCount: '0' }) })).toBe(false);
    expect(serves({ at: 0, stackId: S1 })).toBe(false);
    expect(serves(undefined)).toBe(false);
  });

  it('turns the clock’s milliseconds into simulated minutes by the time scale', () => {
    expect(cloudMinutes(60_000, 1)).toBe(1);
    expect(cloudMinutes(5_000, 60)).toBe(5);
    expect(cloudMinutes(30_000, 10)).toBe(5);
  });
});
