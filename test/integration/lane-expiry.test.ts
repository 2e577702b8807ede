// Lane expiry end to end: a real bot on the simulator, a controlled clock, the sweep and the digest
// driven by hand, Slack through the local stub (commands and button clicks signed into the receiver).
import { deletePrefix, startTestBot, waitFor, type TestBot } from '../support/harness';

const FULL_RUN_MS = 400_000;
const DAY = 86_400_000;
const GRAY = { service: 'user-api', env: 'dev', lane: 'gray' };

describe('lane expiry', () => {
  let t: TestBot;

  beforeEach(async () => {
    t = await startTestBot();
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  async function deploy(lane: string, branch: string) {
    await t.command(`deploy ${lane} ${branch}`);
    const root = await waitFor('the root message', () => t.stub.rootMentioning(branch));
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get({ ...GRAY, lane }))?.last?.status === 'running');
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the success reply', () => t.stub.thread(root).find((m) => m.text.includes('now runs')));
    return root;
  }

  /** Runs the sweep, then waits for the work it queued to be done. */
  async function sweep() {
    const result = await t.bot.expiry.sweep();
    await waitFor('the expiry work to be done', async () => {
      const counts = await t.bot.queues.expiry.getJobCounts('waiting', 'active');
      return (counts.waiting ?? 0) + (counts.active ?? 0) === 0;
    });
    return result;
  }

  it('warns once after 6 idle days in the home thread, renews by command, and deletes on day 7 when not renewed', async () => {
    const root = await deploy('gray', 'release/1.2.3');
    t.clock.advance(6 * DAY);
    expect(await sweep()).toMatchObject({ warn: 1, expire: 0 });
    await sweep();
    const prompt = await waitFor('the prompt', () => t.stub.thread(root).find((m) => m.text.includes('has been idle for 6 days')));
    expect(prompt.text).toContain('<!date^');
    expect(prompt.broadcast).toBe(true);
    expect(JSON.stringify(prompt.blocks)).toContain('lane_renew');
    await waitFor('every thread to settle', async () => (await t.bot.redis.zcard(t.bot.keys.narratePending)) === 0);
    expect(t.stub.thread(root).filter((m) => m.text.includes('has been idle'))).toHaveLength(1);

    const renewed = await t.command('renew gray 14d');
    const renewReply = await waitFor('the renew reply', () => t.stub.responsesFor(renewed.id)[0]);
    expect(renewReply.body.text).toContain('renewed by <@U0ALICE> until');
    await waitFor('the prompt to say renewed', () => prompt.text.includes('was renewed by <@U0ALICE>'));

    // 14 days from the renewal: warned again on day 13, deleted on day 14.
    t.clock.advance(13 * DAY + 60_000);
    expect(await sweep()).toMatchObject({ warn: 1 });
    // The first prompt now says it was renewed; a second one comes for the new idle spell.
    const second = await waitFor('the second prompt', () => t.stub.thread(root).find((m) => m.text.includes('has been idle for 13 days')));
    expect(prompt.text).toContain('was renewed by');
    t.clock.advance(DAY);
    expect(await sweep()).toMatchObject({ expire: 1 });
    const deleteRoot = await waitFor('the delete root', () => t.stub.roots('C0USERAPIDEV').find((m) => m.text.includes('delete lane gray')));
    expect(deleteRoot.text).toContain('lanebot (the lane expired)');
    await waitFor('the delete to run', async () => (await t.bot.lanes.get(GRAY))?.last?.status === 'running');
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the lane to be gone', async () => (await t.bot.lanes.get(GRAY)) === undefined);
    await waitFor('the prompt to say so', () => second.text.includes('lanebot is deleting it'));
    expect((await t.bot.simStacks!.list()).find((stack) => stack.stackName === 'app-user-api-dev-gray')).toBeUndefined();
  });
});
