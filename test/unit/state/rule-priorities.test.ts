// Rule priorities on the real Redis: unique per service/env listener, stable per lane, reused once
// a lane is deleted, never handed out twice when processes allocate at once, and never the canary's.
import { RedisKeys } from '../../../src/state/keys';
import { CANARY_RULE_PRIORITY, MAX_LANE_RULE_PRIORITY, MAX_RULE_PRIORITY, RulePriorities, RulePriorityExhaustedError } from '../../../src/state/rule-priorities';
import { redisPerTest } from '../../support/fixtures';

const ctx = redisPerTest();
const lane = (name: string, service = 'user-api', env = 'dev') => ({ service, env, lane: name });

function priorities(): RulePriorities {
  return new RulePriorities(ctx.redis, new RedisKeys(ctx.prefix));
}

describe('RulePriorities', () => {
  it('gives lanes the lowest free priorities, starting at 1', async () => {
    const p = priorities();
    expect(await p.allocate(lane('gray'))).toBe(1);
    expect(await p.allocate(lane('blue'))).toBe(2);
    expect(await p.allocate(lane('green'))).toBe(3);
  });

  it('keeps a lane on its priority on every later deploy', async () => {
    const p = priorities();
    const first = await p.allocate(lane('gray'));
    await p.allocate(lane('blue'));
    expect(await p.allocate(lane('gray'))).toBe(first);
    expect(await p.all({ service: 'user-api', env: 'dev' })).toEqual({ gray: 1, blue: 2 });
  });

  it('gives lane default no rule (0) and records nothing for it', async () => {
    const p = priorities();
    expect(await p.allocate(lane('default'))).toBe(0);
    expect(await p.all({ service: 'user-api', env: 'dev' })).toEqual({});
  });

  it('reuses the priority of a deleted lane', async () => {
    const p = priorities();
    await p.allocate(lane('gray'));
    await p.allocate(lane('blue'));
    await p.allocate(lane('green'));
    await p.release(lane('blue'));
    expect(await p.allocate(lane('feature-x'))).toBe(2);
    expect(await p.allocate(lane('feature-y'))).toBe(4);
  });

  it('counts per listener: other services and environments have their own priorities', async () => {
    const p = priorities();
    expect(await p.allocate(lane('gray', 'user-api', 'dev'))).toBe(1);
    expect(await p.allocate(lane('gray', 'orders', 'dev'))).toBe(1);
    expect(await p.allocate(lane('gray', 'user-api', 'prod'))).toBe(1);
  });

  it('never hands one priority to two lanes allocating at once (two connections)', async () => {
    const a = priorities();
    const other = ctx.redis.duplicate();
    try {
      const b = new RulePriorities(other, new RedisKeys(ctx.prefix));
      const lanes = Array.from({ length: 40 }, (_, i) => lane(`lane-${i}`));
      const got = await Promise.all(lanes.map((l, i) => (i % 2 === 0 ? a : b).allocate(l)));
      expect(new Set(got).size).toBe(40);
      expect([...got].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    } finally {
      other.disconnect();
    }
  });

  /** Gives lanes l1 … l{last} the priorities 1 … last, as if that many lanes had been deployed. */
  async function fillUpTo(last: number): Promise<void> {
    const keys = new RedisKeys(ctx.prefix);
    const fill = ctx.redis.pipeline();
    for (let p = 1; p <= last; p += 1000) {
      const fields: (string | number)[] = [];
      for (let q = p; q < p + 1000 && q <= last; q++) fields.push(`l${q}`, q);
      fill.hset(keys.rulePriorities({ service: 'user-api', env: 'dev' }), ...fields);
    }
    await fill.exec();
  }

  it('hands lanes priorities up to 49999 and keeps 50000, the last one ALB allows, for the canary rule', () => {
    expect(MAX_RULE_PRIORITY).toBe(50_000);
    expect(CANARY_RULE_PRIORITY).toBe(MAX_RULE_PRIORITY);
    expect(MAX_LANE_RULE_PRIORITY).toBe(49_999);
  });

  it('gives the last lane priority 49999, never the canary’s', async () => {
    await fillUpTo(MAX_LANE_RULE_PRIORITY - 1);
    expect(await priorities().allocate(lane('last-one'))).toBe(MAX_LANE_RULE_PRIORITY);
    const error = await priorities()
      .allocate(lane('one-too-many'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RulePriorityExhaustedError);
    expect(Object.values(await priorities().all({ service: 'user-api', env: 'dev' }))).not.toContain(CANARY_RULE_PRIORITY);
  });

  it('says so when every lane priority of the listener is taken', async () => {
    await fillUpTo(MAX_LANE_RULE_PRIORITY);
    const error = await priorities()
      .allocate(lane('one-too-many'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RulePriorityExhaustedError);
    expect((error as RulePriorityExhaustedError).code).toBe('RULE_PRIORITIES_EXHAUSTED');
    expect((error as Error).message).toContain('All 49999 listener rule priorities for lanes of user-api/dev are taken');
    expect((error as Error).message).toContain('Delete lanes that are no longer used');
  });
});
