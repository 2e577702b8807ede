// Acks first (src/queue/ack-priority.ts): a bot that both receives Slack's requests and runs the
// workers (LANEBOT_ROLE=all) pauses its workers for a burst of signed requests, and loses nothing
// by it. The burst is made independent of this machine's speed: a 60 s window, so any 10 requests
// form one; the pause then ends at its longest (maxPauseMs).
import { Metrics } from '../../src/metrics';
import { botsPerTest, startTestBot, waitFor } from '../support/harness';
import { SlackStub } from '../support/slack-stub';

const BURST = { burstRequests: 10, windowMs: 60_000, maxPauseMs: 400, minRunMs: 60_000 };
const GROUP = 'S0PRODAPPROVERS';
const LANES = Array.from({ length: 12 }, (_, i) => `burst-${i + 1}`);

describe('acks first in an all-in-one bot', () => {
  const t = botsPerTest();

  it('pauses the workers for a burst of commands, once, then runs every deploy the burst queued', async () => {
    const { stub, prefix, bots } = t;
    const metrics = new Metrics({ defaultMetrics: false });
    const bot = await startTestBot({ stub, prefix, overrides: { ackPriority: BURST, metrics } });
    bots.push(bot);
    expect(bot.bot.ackPriority).toBeDefined();

    const acks = await Promise.all(LANES.map((lane) => bot.command(`deploy ${lane} release/2.0.0`)));
    for (const ack of acks) expect(JSON.parse(ack.body).text).toContain('Queued the deploy of `release/2.0.0`');

    // Exactly one pause (the next may not come before 60 s of work), ended at its longest.
    await waitFor('the pause to end', async () => ((await metricValue(metrics, 'lanebot_worker_pauses_total')) >= 1 ? true : undefined));
    expect(await metricValue(metrics, 'lanebot_worker_pauses_total')).toBe(1);
    expect(bot.bot.ackPriority!.paused).toBe(false);
    expect(bot.bot.ackPriority!.pausedMs()).toBeGreaterThanOrEqual(BURST.maxPauseMs);
    expect(await metricValue(metrics, 'lanebot_worker_paused_seconds_total')).toBeGreaterThanOrEqual(BURST.maxPauseMs / 1_000);

    // Nothing was lost: every deploy queued during the burst starts its thread afterwards.
    for (const lane of LANES) {
      const named = new RegExp(`\\b${lane}(?![0-9])`);
      await waitFor(`the root of lane ${lane}`, () => stub.roots().find((m) => named.test(m.text)));
    }
  });

  it('counts every Slack request toward a burst, events as much as commands', async () => {
    const { prefix, bots } = t;
    // A workspace with a user group, whose member changes Slack sends as signed events.
    const stub = await new SlackStub({ userGroups: [{ id: GROUP, handle: 'prod-approvers', users: ['U0BOB'] }] }).start();
    try {
      const bot = await startTestBot({ stub, prefix, overrides: { ackPriority: { ...BURST, maxPauseMs: 60_000 } } });
      bots.push(bot);
      stub.setBotUrl(bot.url);
      // Nine Events API deliveries…
      for (let i = 0; i < 9; i++) {
        const change = await stub.setUserGroupMembers(GROUP, i % 2 === 0 ? ['U0BOB', 'U0ALICE'] : ['U0BOB']);
        expect(change).toMatchObject({ event: { delivered: true, status: 200 } });
      }
      expect(bot.bot.ackPriority!.paused).toBe(false);
      // …and a slash command make ten.
      expect((await bot.command('help')).status).toBe(200);
      expect(bot.bot.ackPriority!.paused).toBe(true);
    } finally {
      for (const bot of bots.splice(0)) await bot.stop();
      await stub.stop();
    }
  });

  it('stops cleanly while its workers are paused', async () => {
    const bot = await startTestBot({ stub: t.stub, prefix: t.prefix, overrides: { ackPriority: { ...BURST, maxPauseMs: 60_000 } } });
    t.bots.push(bot); // stopped again after the test if an expectation fails first (stop() is idempotent)
    await Promise.all(LANES.slice(0, 10).map((lane) => bot.command(`deploy ${lane} release/2.0.0`)));
    expect(bot.bot.ackPriority!.paused).toBe(true);
    await bot.stop();
    expect(bot.bot.ackPriority!.paused).toBe(true);
  });

  it('has nothing to pause in a process with only one of the roles', async () => {
    const { stub, prefix, bots } = t;
    const web = await startTestBot({ stub, prefix, env: { LANEBOT_ROLE: 'web' } });
    bots.push(web);
    const worker = await startTestBot({ stub, prefix, env: { LANEBOT_ROLE: 'worker' } });
    bots.push(worker);
    expect(web.bot.ackPriority).toBeUndefined();
    expect(worker.bot.ackPriority).toBeUndefined();
  });
});

/** A counter's value from the bot's metrics registry. */
async function metricValue(metrics: Metrics, name: string): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
}
