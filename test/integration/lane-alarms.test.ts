// Lane alarms into the lane's thread, end to end: a real bot on the simulator (whose lane health
// drives the alarms and emits their state changes to a simulated SQS queue), the safety-net pass
// and the event feed driven by hand, a controlled clock, Slack through the local stub.
import type { SimLaneHealth } from '../../src/cloud/sim/sim-lane-health';
import { deletePrefix, startTestBot, waitFor, type TestBot } from '../support/harness';

const FULL_RUN_MS = 400_000; // longer than the simulated Source + Build + Deploy
const MINUTE = 60_000;
const GRAY = { service: 'user-api', env: 'dev', lane: 'gray' };

describe('lane alarms in the lane thread', () => {
  let t: TestBot;
  let health: SimLaneHealth;

  beforeEach(async () => {
    t = await startTestBot();
    health = t.bot.simHealth!;
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  /** Deploys gray to success and returns its root message (the lane's home thread). */
  async function deployGray() {
    await t.command('deploy gray release/1.2.3');
    const root = await waitFor('the root message', () => t.stub.rootMentioning('release/1.2.3'));
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get(GRAY))?.last?.status === 'running');
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the success reply', () => t.stub.thread(root).find((m) => m.text.includes('now runs')));
    await waitFor('the lane resources', () => t.bot.lanes.resources(GRAY));
    return root;
  }

  /** The alarm replies of a thread (not the deploy's own replies, which may name the alarms too). */
  const alarmReplies = (root: { ts: string; channel: string }) =>
    t.stub.thread(root as never).filter((m) => /^:(rotating_light|white_check_mark|white_circle): .* on lane \*/.test(m.text) && !m.text.includes('now runs'));

  it('posts an alarm that fires and clears into the home thread once each, whether the poll or the events see it first', async () => {
    const root = await deployGray();
    expect(await t.bot.lanes.resources(GRAY)).toMatchObject({ serviceName: 'user-api-dev-gray', alarms: { errorRate: 'user-api-dev-gray-5xx-rate' } });

    await health.setHealth(GRAY, { errorRatePercent: 4.2 });
    t.clock.advance(6 * MINUTE); // past the 5xx alarm's 5-minute window
    const pass = await t.bot.alarmWatch.pollOnce();
    expect(pass).toMatchObject({ changes: 1, sent: 1 });
    const fired = await waitFor('the alarm reply', () => alarmReplies(root).find((m) => m.text.includes(':rotating_light:')));
    expect(fired.text).toContain('5xx rate>: 4.2 % &gt; 1 % on lane *gray*');
    expect(fired.text).toContain('cloudwatch/home');
    // Shown in the channel too (reply_broadcast): someone must look now.
    expect(fired.broadcast).toBe(true);

    // The same change through the event feed, and the poll again: nothing new.
    expect(await t.bot.alarmWatch.consumeOnce(0)).toBeGreaterThan(0);
    expect(await t.bot.alarmWatch.pollOnce()).toMatchObject({ changes: 0, sent: 0 });

    // Cleared: the events see it first this time.
    await health.setHealth(GRAY, { errorRatePercent: 0 });
    t.clock.advance(12 * MINUTE);
    await t.bot.alarmWatch.consumeOnce(0);
    const cleared = await waitFor('the recovery reply', () => alarmReplies(root).find((m) => m.text.includes('cleared')));
    expect(cleared.text).toMatch(/5xx rate.* on lane \*gray\* cleared after 6 min/);
    expect(cleared.broadcast).toBeFalsy();
    expect(await t.bot.alarmWatch.pollOnce()).toMatchObject({ changes: 0, sent: 0 });
    await t.bot.alarmWatch.consumeOnce(0);

    await waitFor('every thread to settle', async () => (await t.bot.redis.zcard(t.bot.keys.narratePending)) === 0);
    expect(alarmReplies(root).map((m) => m.text.slice(0, 16))).toEqual([':rotating_light:', ':white_check_mar']);
  });

  it('posts the clear once after a bot restart between fire and clear, and never the fire again', async () => {
    const root = await deployGray();
    await health.setHealth(GRAY, { unhealthyTargets: 1 });
    t.clock.advance(4 * MINUTE); // the unhealthy-hosts alarm's window is 3 minutes
    await t.bot.alarmWatch.pollOnce();
    await waitFor('the alarm reply', () => alarmReplies(root).find((m) => m.text.includes('unhealthy host')));

    // A new process on the same Redis (and Slack).
    await t.bot.stop();
    const second = await startTestBot({ stub: t.stub, clock: t.clock, prefix: t.prefix });
    try {
      await second.bot.alarmWatch.pollOnce();
      await second.bot.simHealth!.setHealth(GRAY, { unhealthyTargets: 0 });
      // Past the alarm's 3-minute window, and past 10 minutes since the fire was posted (sooner, the
      // clear would be folded: one message per alarm per 10 minutes).
      t.clock.advance(11 * MINUTE);
      await second.bot.alarmWatch.consumeOnce(0);
      await second.bot.alarmWatch.pollOnce();
      await waitFor('the clear', () => alarmReplies(root).find((m) => m.text.includes('unhealthy hosts') && m.text.includes('cleared')));
      await waitFor('every thread to settle', async () => (await second.bot.redis.zcard(second.bot.keys.narratePending)) === 0);
      const texts = alarmReplies(root).map((m) => m.text);
      expect(texts.filter((text) => text.includes(':rotating_light:') && text.includes('unhealthy host'))).toHaveLength(1);
      expect(texts.filter((text) => text.includes('unhealthy hosts') && text.includes('cleared'))).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });

  it('folds a flapping alarm into one message per 10 minutes that says how many changes it sums up', async () => {
    const root = await deployGray();
    const name = 'user-api-dev-gray-5xx-rate';
    const at = t.clock.now();
    const observe = (state: 'OK' | 'ALARM', minutes: number) =>
      t.bot.alarmWatch.handle({ alarmName: name, state, at: at + minutes * MINUTE, reason: 'Threshold Crossed', value: state === 'ALARM' ? 7 : 0, threshold: 1 });
    expect(await observe('ALARM', 0)).toBe('due'); // posted at once
    await waitFor('the first alarm reply', () => alarmReplies(root).length === 1);
    t.clock.advance(3 * MINUTE);
    expect(await observe('OK', 2)).toBe('folded');
    expect(await observe('ALARM', 3)).toBe('folded');
    expect(await observe('ALARM', 3)).toBe('duplicate'); // the same change again (another source)
    expect(await observe('OK', 4)).toBe('folded');
    expect(await t.bot.alarmWatch.flushDue()).toBe(0); // the window of the first message is still open

    t.clock.advance(8 * MINUTE);
    expect(await t.bot.alarmWatch.flushDue()).toBe(1);
    const folded = await waitFor('the folded reply', () => alarmReplies(root).find((m) => m.text.includes('flapping')));
    expect(folded.text).toMatch(/^:white_check_mark: .*5xx rate.* on lane \*gray\* cleared/);
    expect(folded.text).toContain('3 changes in and out of ALARM');
    expect(await t.bot.alarmWatch.flushDue()).toBe(0);
    await waitFor('every thread to settle', async () => (await t.bot.redis.zcard(t.bot.keys.narratePending)) === 0);
    expect(alarmReplies(root)).toHaveLength(2);
  });

  it('opens a thread in the lane channel when the lane has no home thread left, and uses it for the next alarm', async () => {
    await deployGray();
    // The lane's operations expired (90 days without one): no thread to reply in.
    const lane = await t.bot.lanes.get(GRAY);
    await t.bot.redis.del(t.bot.keys.operation(lane!.last!.id));

    await health.setHealth(GRAY, { errorRatePercent: 50 });
    t.clock.advance(6 * MINUTE);
    await t.bot.alarmWatch.pollOnce();
    const newRoot = await waitFor('a new root for the lane', () => t.stub.roots('C0USERAPIDEV').find((m) => m.text.includes('alarms and notices')));
    await waitFor('the alarm in the new thread', () => t.stub.thread(newRoot).find((m) => m.text.includes('50 % &gt; 1 %')));
    expect((await t.bot.lanes.get(GRAY))?.home?.kind).toBe('lane-thread');

    await health.setHealth(GRAY, { errorRatePercent: 0 });
    t.clock.advance(11 * MINUTE);
    await t.bot.alarmWatch.pollOnce();
    await waitFor('the clear in the same thread', () => t.stub.thread(newRoot).find((m) => m.text.includes('cleared')));
    expect(t.stub.roots('C0USERAPIDEV').filter((m) => m.text.includes('alarms and notices'))).toHaveLength(1);
  });

  it('ignores alarms that belong to no lane and forgets the alarms of a deleted lane', async () => {
    expect(await t.bot.alarmWatch.handle({ alarmName: 'someone-else-5xx-rate', state: 'ALARM', at: t.clock.now(), reason: 'x' })).toBe('unknown');
    await deployGray();
    await t.bot.redis.del(t.bot.keys.lane(GRAY)); // the lane was retired
    expect(await t.bot.alarmWatch.handle({ alarmName: 'user-api-dev-gray-5xx-rate', state: 'ALARM', at: t.clock.now() + 1, reason: 'x', value: 3, threshold: 1 })).toBe('due');
    expect(await t.bot.lanes.laneOfAlarm('user-api-dev-gray-5xx-rate')).toBeUndefined();
  });
});
