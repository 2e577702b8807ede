// Transport faults armed in the simulated account, through the real bot: the deploy job rides out
// throttling and gives up, saying why, on access denied.
import { deletePrefix, startTestBot, waitFor, type TestBot } from '../support/harness';

const FULL_RUN_MS = 400_000; // longer than the simulated Source + Build + Deploy
const GRAY = { service: 'user-api', env: 'dev', lane: 'gray' };

describe('simulated AWS faults', () => {
  let t: TestBot;

  beforeEach(async () => {
    t = await startTestBot();
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  it('retries a throttled StartPipelineExecution and the deploy still succeeds', async () => {
    await t.bot.simFaults!.inject({ service: 'codepipeline', fault: 'throttled', count: 2 });

    await t.command('deploy gray release/1.2.3');
    const root = await waitFor('the root message', () => t.stub.rootMentioning('release/1.2.3'));
    // Both faults fail the start (the first CodePipeline calls); the job re-delays itself and starts on its third try.
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get(GRAY))?.last?.status === 'running');
    expect(await t.bot.simFaults!.pending()).toEqual([]);
    t.clock.advance(FULL_RUN_MS);

    const done = await waitFor('the success reply', () => t.stub.thread(root).find((m) => m.text.includes('now runs')));
    expect(done.text).toContain('Lane *gray* of user-api/dev now runs `release/1.2.3`');
    expect(await t.bot.sim!.executionIds('user-api-dev')).toHaveLength(1);
    expect(t.stub.thread(root).some((m) => m.text.includes('could not run'))).toBe(false);
  });

  it('ends the deploy on access denied at start, and the thread says which call and which policy', async () => {
    await t.bot.simFaults!.inject({ service: 'codepipeline', fault: 'access-denied' });

    await t.command('deploy gray release/1.2.3');
    const root = await waitFor('the root message', () => t.stub.rootMentioning('release/1.2.3'));
    const reply = await waitFor('the error reply', () => t.stub.thread(root).find((m) => m.text.includes('could not run')));
    expect(reply.text).toContain('codepipeline:StartPipelineExecution');
    expect(reply.text).toContain('templates/iam/bot-policy.json');

    const last = (await t.bot.lanes.get(GRAY))?.last;
    expect(last?.status).toBe('error');
    expect(await t.bot.sim!.executionIds('user-api-dev')).toEqual([]);
    expect(await t.bot.simFaults!.pending()).toEqual([]);
  });
});
