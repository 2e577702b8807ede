// AlarmStates on the real Redis: the observe / claim / ack scripts the alarm watch builds on, each
// test under its own key prefix (test-<uuid>, deleted after the test).
import { AlarmStates, type AlarmNotice } from '../../../src/state/alarm-states';
import { RedisKeys } from '../../../src/state/keys';
import { redisPerTest, T0 } from '../../support/fixtures';

const MIN = 60_000;
const WINDOW = 10 * MIN;
const NAME = 'user-api-dev-gray-5xx-rate';

const db = redisPerTest();
let keys: RedisKeys;
let states: AlarmStates;

beforeEach(() => {
  keys = new RedisKeys(db.prefix);
  states = new AlarmStates(db.redis, keys);
});

/** An observation of NAME in `state`, entered `atMin` minutes after T0, seen `nowMin` minutes after T0. */
function observe(state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA', atMin: number, nowMin = atMin, extra: { reason?: string; value?: number; threshold?: number; name?: string } = {}) {
  const { name = NAME, reason = `${state} reason`, ...figures } = extra;
  return states.observe({ alarmName: name, state, at: T0 + atMin * MIN, reason, ...figures }, T0 + nowMin * MIN, WINDOW);
}

const claim = (nowMin: number, name = NAME) => states.claim(name, T0 + nowMin * MIN);
const dueScore = async (name = NAME) => {
  const score = await db.redis.zscore(keys.alarmFolds, name);
  return score === null ? undefined : Number(score);
};

/** Claims and acknowledges what is due at `nowMin`, as a delivery does; returns the notice. */
async function send(nowMin: number): Promise<AlarmNotice> {
  const notice = await claim(nowMin);
  expect(notice).toBeDefined();
  await states.ack(notice!, WINDOW);
  return notice!;
}

describe('AlarmStates.observe', () => {
  it('makes an alarm first seen in ALARM due at once, with its figures', async () => {
    expect(await observe('ALARM', 0, 0, { value: 4.2, threshold: 1, reason: 'Threshold Crossed' })).toBe('due');
    expect(await dueScore()).toBe(T0);
    expect(await states.due(T0)).toEqual([NAME]);
    expect(await claim(0)).toEqual({ alarmName: NAME, state: 'ALARM', at: T0, reason: 'Threshold Crossed', value: 4.2, threshold: 1, alarmingSince: T0, changes: 1, seq: 1 });
  });

  it('takes an alarm first seen OK or without data as unchanged: nothing is due', async () => {
    expect(await observe('OK', 0)).toBe('unchanged');
    expect(await observe('INSUFFICIENT_DATA', 0, 0, { name: 'other' })).toBe('unchanged');
    expect(await states.due(T0 + 60 * MIN)).toEqual([]);
    expect(await claim(60)).toBeUndefined();
    expect(await claim(60, 'other')).toBeUndefined();
  });

  it('drops an observation whose timestamp is not newer than the last one (the same change from the other source, or an older one)', async () => {
    expect(await observe('ALARM', 5)).toBe('due');
    expect(await observe('ALARM', 5)).toBe('duplicate');
    expect(await observe('OK', 5, 6)).toBe('duplicate'); // equal timestamp, even with another state
    expect(await observe('OK', 4, 6)).toBe('duplicate'); // older: a late event about the previous state
    // Nothing of the duplicates was recorded: one change, still ALARM.
    expect(await claim(6)).toMatchObject({ state: 'ALARM', at: T0 + 5 * MIN, changes: 1 });
    expect(await states.alarming()).toEqual([NAME]);
  });

  it('records a new state on the same side of ALARM without a message (OK ↔ INSUFFICIENT_DATA, ALARM with a newer timestamp)', async () => {
    expect(await observe('OK', 0)).toBe('unchanged');
    expect(await observe('INSUFFICIENT_DATA', 1)).toBe('unchanged');
    expect(await observe('OK', 2)).toBe('unchanged');
    expect(await states.due(T0 + 60 * MIN)).toEqual([]);

    expect(await observe('ALARM', 3, 3, { value: 4.2, reason: 'first' })).toBe('due');
    expect(await observe('ALARM', 4, 4, { value: 9.5, reason: 'worse' })).toBe('unchanged');
    // The notice says what was seen last, and counts one change.
    expect(await claim(4)).toMatchObject({ state: 'ALARM', reason: 'worse', value: 9.5, alarmingSince: T0 + 3 * MIN, changes: 1 });
  });

  it('folds a second change inside the fold window: due when the window of the last message ends', async () => {
    expect(await observe('ALARM', 0)).toBe('due');
    await send(1); // posted one minute after T0
    expect(await dueScore()).toBeUndefined();

    expect(await observe('OK', 3)).toBe('folded');
    expect(await dueScore()).toBe(T0 + 1 * MIN + WINDOW);
    expect(await observe('ALARM', 4)).toBe('folded');
    expect(await observe('OK', 6)).toBe('folded');
    // Folding more changes never pushes the message further out.
    expect(await dueScore()).toBe(T0 + 1 * MIN + WINDOW);
    expect(await states.due(T0 + 10 * MIN)).toEqual([]);
    expect(await states.due(T0 + 11 * MIN)).toEqual([NAME]);
  });

  it('makes a change after the fold window due at once', async () => {
    await observe('ALARM', 0);
    await send(0);
    expect(await observe('OK', 10, 10)).toBe('due');
    expect(await dueScore()).toBe(T0 + 10 * MIN);
  });
});

describe('AlarmStates.claim and ack', () => {
  it('returns nothing before a folded change is due, then one notice summing the changes up', async () => {
    await observe('ALARM', 0, 0, { value: 7, threshold: 1 });
    await send(0);
    await observe('OK', 2, 2, { value: 0, threshold: 1 });
    await observe('ALARM', 3, 3, { value: 8, threshold: 1 });
    await observe('OK', 4, 4, { value: 0.5, threshold: 1 });

    expect(await claim(9)).toBeUndefined();
    const notice = await claim(10);
    expect(notice).toEqual({ alarmName: NAME, state: 'OK', at: T0 + 4 * MIN, reason: 'OK reason', value: 0.5, threshold: 1, alarmingSince: T0 + 3 * MIN, changes: 3, seq: 2 });
  });

  it('gives a notice claimed but never acknowledged (the process died) to the next claim, with the same seq', async () => {
    await observe('ALARM', 0);
    const first = await claim(0);
    expect(first).toMatchObject({ seq: 1 });
    // The sender died between claim and ack; another process comes along, even much later.
    expect(await states.due(T0 + 5 * MIN)).toEqual([NAME]);
    const again = await claim(5);
    expect(again).toEqual(first);
    await states.ack(again!, WINDOW);
    expect(await claim(30)).toBeUndefined();
    expect(await states.due(T0 + 30 * MIN)).toEqual([]);
  });

  it('ignores an ack with another seq: the notice stays being sent', async () => {
    await observe('ALARM', 0);
    const notice = await claim(0);
    await states.ack({ alarmName: NAME, seq: notice!.seq + 1 }, WINDOW);
    await states.ack({ alarmName: NAME, seq: notice!.seq - 1 }, WINDOW);
    expect(await claim(1)).toEqual(notice);
    await states.ack(notice!, WINDOW);
    expect(await claim(1)).toBeUndefined();
    // An ack of a notice long done changes nothing either.
    await states.ack(notice!, WINDOW);
    expect(await claim(60)).toBeUndefined();
  });

  it('makes changes that arrive while a notice is being sent due when the fold window from that send ends', async () => {
    await observe('ALARM', 0);
    const sending = await claim(1);
    expect(await observe('OK', 2)).toBe('folded');
    // Not a second notice while the first is being sent: the same one again.
    expect(await claim(2)).toEqual(sending);
    await states.ack(sending!, WINDOW);

    expect(await dueScore()).toBe(T0 + 1 * MIN + WINDOW);
    expect(await claim(10)).toBeUndefined();
    expect(await claim(11)).toMatchObject({ state: 'OK', changes: 1, seq: 2, alarmingSince: T0 });
  });

  it('drops the due entry of an alarm whose changes were all sent', async () => {
    await observe('ALARM', 0);
    await send(0);
    expect(await dueScore()).toBeUndefined();
    expect(await states.due(T0 + 60 * MIN)).toEqual([]);
  });
});

describe('AlarmStates.alarming and forget', () => {
  it('follows the states: in while in ALARM, out once OK or without data', async () => {
    expect(await states.alarming()).toEqual([]);
    await observe('ALARM', 0);
    await observe('ALARM', 0, 0, { name: 'b' });
    expect((await states.alarming()).sort()).toEqual([NAME, 'b'].sort());
    await observe('OK', 1);
    await observe('INSUFFICIENT_DATA', 1, 1, { name: 'b' });
    expect(await states.alarming()).toEqual([]);
    // A late duplicate does not put it back.
    await observe('ALARM', 0);
    expect(await states.alarming()).toEqual([]);
  });

  it('forgets an alarm altogether: its state, its due notice and its place in the alarming set', async () => {
    await observe('ALARM', 5);
    await observe('ALARM', 5, 5, { name: 'kept' });
    await states.forget(NAME);

    expect(await db.redis.exists(keys.alarmState(NAME))).toBe(0);
    expect(await states.due(T0 + 60 * MIN)).toEqual(['kept']);
    expect(await states.alarming()).toEqual(['kept']);
    expect(await claim(60)).toBeUndefined();
    // Seen again, it is a first sight: even an older timestamp counts.
    expect(await observe('ALARM', 1, 60)).toBe('due');
  });

  it('keeps the record of an alarm seen again unchanged (one that stays in ALARM) alive', async () => {
    await observe('ALARM', 0);
    await db.redis.expire(keys.alarmState(NAME), 100);
    // The listing shows it every minute with the same timestamp: a duplicate, which still counts as seen.
    expect(await observe('ALARM', 0, 1)).toBe('duplicate');
    expect(await db.redis.ttl(keys.alarmState(NAME))).toBeGreaterThan(30 * 24 * 3600);
  });

  it('keeps an alarm record for a limited time only', async () => {
    await observe('OK', 0);
    const ttl = await db.redis.ttl(keys.alarmState(NAME));
    expect(ttl).toBeGreaterThan(30 * 24 * 3600);
  });
});
