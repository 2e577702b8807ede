// The ack of a command that queues work confirms only what Redis has taken (issue: a deploy acked as
// "Queuing…" vanished when the web process died right after the ack).
import { NOT_YET_CONFIRMED } from '../../src/slack/slack-app';
import { botsPerTest, ManualClock, startTestBot, waitFor } from '../support/harness';
import { startSlowProxy, type SlowProxy } from '../support/slow-proxy';

const FULL_RUN_MS = 400_000;

describe('the ack of a deploy', () => {
  const t = botsPerTest();

  it('says "queued" only once Redis has the request: the web process dying right after it loses nothing', async () => {
    const { stub, prefix, bots } = t;
    const clock = new ManualClock();
    const web = await startTestBot({ stub, prefix, clock, env: { LANEBOT_ROLE: 'web' } });
    bots.push(web);
    const sent = await web.command('deploy gray release/1.2.3');
    expect(JSON.parse(sent.body).text).toContain('Queued the deploy of `release/1.2.3` to lane *gray*');
    // The web process goes away at once; no worker ever saw the request.
    await web.stop();
    expect(stub.roots()).toHaveLength(0);

    // A worker started later finds the request in Redis and runs it.
    const worker = await startTestBot({ stub, prefix, clock, env: { LANEBOT_ROLE: 'worker' } });
    bots.push(worker);
    const root = await waitFor('the deploy root', () => stub.roots().find((m) => m.text.includes('release/1.2.3')));
    await waitFor('the pipeline to run', async () => (await worker.bot.lanes.get({ service: 'user-api', env: 'dev', lane: 'gray' }))?.last?.status === 'running');
    clock.advance(FULL_RUN_MS);
    await waitFor('the success reply', () => stub.thread(root).find((m) => m.text.includes('now runs `release/1.2.3`')));
  });

  describe('when Redis is slow to answer', () => {
    let proxy: SlowProxy;

    beforeEach(async () => {
      proxy = await startSlowProxy();
    });

    afterEach(async () => {
      // Before the proxy goes: the bots talk to Redis through it.
      for (const bot of t.bots.splice(0)) await bot.stop().catch(() => undefined);
      await proxy.close();
    });

    it('acks honestly that it is not confirmed yet, then says it was queued once Redis answers', async () => {
      const { stub, prefix, bots } = t;
      const bot = await startTestBot({ stub, prefix, env: { REDIS_URL: proxy.url, LANEBOT_ROLE: 'web' } });
      bots.push(bot);
      proxy.delayMs = 2_000; // longer than the ack waits for Redis (ACK_CONFIRM_MS), shorter than Slack's 3 s
      const sent = await bot.command('deploy gray release/1.2.3');
      expect(sent.status).toBe(200);
      const ack = JSON.parse(sent.body) as { text: string };
      expect(ack.text).toBe(NOT_YET_CONFIRMED);
      expect(ack.text).not.toContain('Queued');

      const followUp = await waitFor('the follow-up', () => stub.responsesFor(sent.id)[0], 10_000);
      expect(followUp.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
      expect(followUp.body.text).toContain('Queued the deploy of `release/1.2.3` to lane *gray*');
    });
  });
});
