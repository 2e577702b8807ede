// End to end through the real Bolt receiver: signed slash commands in, Slack Web API calls out to
// a local stub, BullMQ and state on the real Redis, the simulator behind the pipeline port.
import { deletePrefix, startTestBot, waitFor, type TestBot } from '../support/harness';

const FULL_RUN_MS = 400_000; // longer than the simulated Source + Build + Deploy

describe('deploy flow', () => {
  let t: TestBot;

  beforeEach(async () => {
    t = await startTestBot();
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  it('deploys a branch to a lane and ends the thread with success', async () => {
    const sent = await t.command('deploy gray release/1.2.3');
    expect(sent.status).toBe(200);
    // Answered in the ack itself; success needs no second message (the thread is the answer).
    const ack = JSON.parse(sent.body) as { response_type: string; text: string };
    expect(ack.response_type).toBe('ephemeral');
    expect(ack.text).toContain('Queued the deploy of `release/1.2.3` to lane *gray* of user-api/dev');

    const root = await waitFor('the root message', () => t.stub.rootMentioning('release/1.2.3'));
    expect(root.channel).toBe('C0USERAPIDEV');
    expect(root.text).toContain('user-api · dev · lane gray ← release/1.2.3');
    expect(root.text).toContain('<@U0ALICE>');

    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get({ service: 'user-api', env: 'dev', lane: 'gray' }))?.last?.status === 'running');
    t.clock.advance(FULL_RUN_MS);

    const done = await waitFor('the success reply', () => t.stub.thread(root).find((m) => m.text.includes('now runs')));
    expect(done.text).toContain('Lane *gray* of user-api/dev now runs `release/1.2.3`');
    await waitFor('the root message to show success', () => root.text.includes('deployed'));
    expect(JSON.stringify(root.blocks)).toContain('Deploy — succeeded');

    expect(t.stub.responsesFor(sent.id)).toEqual([]);
    const lane = await t.bot.lanes.get({ service: 'user-api', env: 'dev', lane: 'gray' });
    expect(lane?.last).toMatchObject({ params: { branch: 'release/1.2.3', pipeline: 'user-api-dev' }, status: 'succeeded', requester: 'U0ALICE', channel: 'C0USERAPIDEV', rootTs: root.ts });
    expect(lane?.activeId).toBeUndefined();
    expect(lane?.last?.executionId).toBeTruthy();
    expect(await t.bot.sim!.executionIds('user-api-dev')).toEqual([lane!.last!.executionId]);
  });

  it('shows the failed stage with its reason and ends the thread with failure', async () => {
    await t.command('deploy blue feature/sim-fail-build');
    const root = await waitFor('the root message', () => t.stub.rootMentioning('feature/sim-fail-build'));
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get({ service: 'user-api', env: 'dev', lane: 'blue' }))?.last?.status === 'running');
    t.clock.advance(FULL_RUN_MS);

    const stageFailed = await waitFor('the stage failure reply', () => t.stub.thread(root).find((m) => m.text.includes('Stage *Build* failed')));
    expect(stageFailed.text).toContain('BuildAndPush');
    expect(stageFailed.text).toContain('npm test');
    const final = await waitFor('the final reply', () => t.stub.thread(root).find((m) => m.text.includes('failed at stage *Build*')));
    expect(final.text).toContain('Fix the cause and run the deploy again');
    const thread = t.stub.thread(root);
    expect(thread.indexOf(stageFailed)).toBeLessThan(thread.indexOf(final));
    await waitFor('the root message to show failure', () => root.text.includes('failed'));
  });

  it('queues a second deploy of a busy lane behind the first, and the newest waiting deploy wins', async () => {
    const ref = { service: 'user-api', env: 'dev', lane: 'gray' };
    await t.command('deploy gray release/1.0.0');
    await waitFor('the first deploy to run', async () => (await t.bot.lanes.get(ref))?.last?.status === 'running');

    await t.command('deploy gray release/2.0.0', { user: 'U0BOB' });
    const second = await waitFor('the second root', () => t.stub.rootMentioning('release/2.0.0'));
    const queued = await waitFor('the queued-behind reply', () => t.stub.thread(second).find((m) => m.text.includes('queued behind')));
    expect(queued.text).toContain('`release/1.0.0`');
    expect(queued.text).toContain('|thread>'); // a link to the first deploy's thread

    await t.command('deploy gray release/3.0.0');
    const third = await waitFor('the third root', () => t.stub.rootMentioning('release/3.0.0'));
    await waitFor('the third to be queued', () => t.stub.thread(third).find((m) => m.text.includes('queued behind')));
    const superseded = await waitFor('the superseded reply', () => t.stub.thread(second).find((m) => m.text.includes('Superseded')));
    expect(superseded.text).toContain('`release/3.0.0`');
    await waitFor('the second root to say superseded', () => second.text.includes('superseded'));

    t.clock.advance(FULL_RUN_MS);
    const first = t.stub.rootMentioning('release/1.0.0')!;
    await waitFor('the first to succeed', () => t.stub.thread(first).find((m) => m.text.includes('now runs')));
    await waitFor('the third to run', async () => (await t.bot.lanes.get(ref))?.last?.params.branch === 'release/3.0.0' && (await t.bot.lanes.get(ref))?.last?.status === 'running');
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the third to succeed', () => t.stub.thread(third).find((m) => m.text.includes('now runs `release/3.0.0`')));

    const executions = await t.bot.sim!.executionIds('user-api-dev');
    expect(executions).toHaveLength(2); // the superseded deploy never started a pipeline
    const second2 = await t.bot.operations.get((await t.bot.lanes.list({ service: 'user-api', env: 'dev' }))[0]!.last!.id);
    expect(second2?.params.branch).toBe('release/3.0.0');
  });

  it('runs different lanes and services in parallel', async () => {
    await t.command('deploy gray release/1.0.0');
    await t.command('deploy blue release/1.1.0');
    await t.command('deploy gray release/9.0.0', { channel: 'C0ORDERSDEV' });
    const running = async (service: string, lane: string) =>
      (await t.bot.lanes.get({ service, env: 'dev', lane }))?.last?.status === 'running';
    await waitFor('all three to run at once', async () =>
      (await running('user-api', 'gray')) && (await running('user-api', 'blue')) && (await running('orders', 'gray')),
    );
    expect(await t.bot.sim!.executionIds('user-api-dev')).toHaveLength(2);
    expect(await t.bot.sim!.executionIds('orders-dev')).toHaveLength(1);

    t.clock.advance(FULL_RUN_MS);
    for (const branch of ['release/1.0.0', 'release/1.1.0', 'release/9.0.0']) {
      const root = await waitFor(`the root of ${branch}`, () => t.stub.rootMentioning(branch));
      await waitFor(`${branch} to succeed`, () => t.stub.thread(root).find((m) => m.text.includes('now runs')));
    }
    expect(t.stub.rootMentioning('release/9.0.0')!.channel).toBe('C0ORDERSDEV');
  });

  it('answers /lane status and /lane list from the lane registry', async () => {
    const empty = await t.command('list');
    const emptyReply = await waitFor('the list reply', () => t.stub.responsesFor(empty.id)[0]);
    expect(emptyReply.body.text).toContain('No lanes of user-api/dev yet');

    await t.command('deploy gray release/1.2.3');
    await waitFor('the deploy to show its stages', async () => {
      const last = (await t.bot.lanes.get({ service: 'user-api', env: 'dev', lane: 'gray' }))?.last;
      return last?.status === 'running' && last.stages.length > 0;
    });
    const status = await t.command('status gray');
    const statusReply = await waitFor('the status reply', () => t.stub.responsesFor(status.id)[0]);
    expect(statusReply.body.response_type).toBe('ephemeral');
    expect(statusReply.body.text).toContain('*Lane gray* of user-api/dev');
    expect(statusReply.body.text).toContain('`release/1.2.3`');
    expect(statusReply.body.text).toContain('Source');

    const list = await t.command('list');
    const listReply = await waitFor('the list reply', () => t.stub.responsesFor(list.id)[0]);
    expect(listReply.body.text).toContain('*gray*');

    const unknown = await t.command('status nolane');
    const unknownReply = await waitFor('the unknown-lane reply', () => t.stub.responsesFor(unknown.id)[0]);
    expect(unknownReply.body.text).toContain('has never been deployed');
  });

  it('answers bad input in the ack itself and queues nothing', async () => {
    const sent = await t.command('deploy Gray;rm release/1.2.3');
    expect(sent.status).toBe(200);
    const body = JSON.parse(sent.body) as { text: string; response_type: string };
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toContain('not a valid lane name');
    expect(body.text).toContain('Usage: `/lane deploy <lane> <branch>`');
    expect(await t.bot.queues.operations.getJobCounts()).toMatchObject({ waiting: 0, active: 0, delayed: 0, completed: 0 });
    expect(t.stub.roots()).toHaveLength(0);
  });
});
