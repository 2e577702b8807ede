// Tracking per pipeline: many deploys of one pipeline cost one list per poll interval plus one read
// per execution that moved, and the deploys still run to their end, woken only by the watch.
import type { CloudPorts } from '../../src/cloud/cloud';
import type { PipelinesPort } from '../../src/cloud/pipelines.port';
import type { PipelineWatch } from '../../src/operations/pipeline-watch';
import { deletePrefix, startTestBot, waitFor, type TestBot } from '../support/harness';

const PIPELINE = 'user-api-dev';
const FULL_RUN_MS = 400_000;

type Calls = Record<keyof PipelinesPort, number>;

function counting(pipelines: PipelinesPort, calls: Calls): PipelinesPort {
  const count =
    <K extends keyof PipelinesPort>(name: K) =>
    (...args: Parameters<PipelinesPort[K]>) => {
      calls[name]++;
      return (pipelines[name] as (...a: Parameters<PipelinesPort[K]>) => ReturnType<PipelinesPort[K]>)(...args);
    };
  return {
    startExecution: count('startExecution'),
    getExecution: count('getExecution'),
    listExecutions: count('listExecutions'),
    pendingApprovals: count('pendingApprovals'),
    putApprovalResult: count('putApprovalResult'),
  };
}

describe('pipeline watch', () => {
  let t: TestBot;
  const calls: Calls = { startExecution: 0, getExecution: 0, listExecutions: 0, pendingApprovals: 0, putApprovalResult: 0 };
  const resetCalls = () => {
    for (const name of Object.keys(calls) as (keyof Calls)[]) calls[name] = 0;
  };

  beforeEach(async () => {
    resetCalls();
    t = await startTestBot({
      overrides: {
        wrapCloud: (cloud: CloudPorts) => ({ ...cloud, pipelines: counting(cloud.pipelines, calls) }),
        // The test polls (pollOnce); the steps' own safety-net re-read is far beyond the test.
        pipelineWatch: { pollEveryMs: false, recheckPolls: 1_000_000 },
      },
    });
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  const watch = (): PipelineWatch => t.bot.pipelineWatch!;
  const redis = () => t.bot.redis;

  /** Followed executions of the pipeline whose step has not yet read what the watch last listed. */
  async function unread(): Promise<number> {
    const [entries, listed] = await Promise.all([redis().hgetall(t.bot.keys.pipelineWatch(PIPELINE)), redis().hgetall(t.bot.keys.pipelineListed(PIPELINE))]);
    return Object.entries(entries).filter(([id, json]) => (JSON.parse(json) as { seen: string }).seen !== (listed[id] ?? '')).length;
  }

  /** Polls until no followed execution moved since its step read it. */
  async function settle(): Promise<void> {
    for (let pass = 0; pass < 20; pass++) {
      const { woken } = await watch().pollOnce();
      if (woken === 0) return;
      await waitFor('the woken steps to read their executions', async () => (await unread()) === 0);
    }
    throw new Error('the watch kept waking operations with nothing changing');
  }

  async function deploy(lanes: string[]): Promise<void> {
    for (const lane of lanes) expect((await t.command(`deploy ${lane} release/${lane}`)).status).toBe(200);
    await waitFor(`${lanes.join(', ')} to run`, async () => {
      const states = await Promise.all(lanes.map((lane) => t.bot.lanes.get({ service: 'user-api', env: 'dev', lane })));
      return states.every((s) => s?.last?.status === 'running');
    });
  }

  it('lists the pipeline once per poll and reads only the executions that moved, until every deploy ends', async () => {
    const early = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
    const late = ['b1', 'b2', 'b3', 'b4', 'b5', 'b6'];
    await deploy(early);
    await waitFor('the early executions to be followed', async () => (await redis().hlen(t.bot.keys.pipelineWatch(PIPELINE))) === early.length);
    await settle();

    // The early ones build (from +20 s to +170 s); the late ones start at +165 s.
    t.clock.advance(165_000);
    await deploy(late);
    await waitFor('every execution to be followed', async () => (await redis().hlen(t.bot.keys.pipelineWatch(PIPELINE))) === early.length + late.length);
    await settle();

    // Nothing moved: one list for twelve running deploys, no execution read.
    resetCalls();
    expect(await watch().pollOnce()).toMatchObject({ pipelines: 1, executions: 12, woken: 0, failed: 0 });
    expect(calls).toMatchObject({ listExecutions: 1, getExecution: 0 });

    // +172 s: the early builds ended (+170 s), the late sources have not (+177 s): six moved.
    t.clock.advance(7_000);
    resetCalls();
    expect(await watch().pollOnce()).toMatchObject({ executions: 12, woken: 6 });
    await waitFor('the six woken steps to read their executions', async () => (await unread()) === 0);
    expect(calls).toMatchObject({ listExecutions: 1, getExecution: 6, startExecution: 0 });

    // Every deploy runs to its end, brought back by the watch alone.
    t.clock.advance(FULL_RUN_MS);
    const all = [...early, ...late];
    await waitFor(
      'every deploy to succeed',
      async () => {
        await watch().pollOnce();
        const states = await Promise.all(all.map((lane) => t.bot.lanes.get({ service: 'user-api', env: 'dev', lane })));
        return states.every((s) => s?.last?.status === 'succeeded');
      },
      60_000,
    );
    // Ended executions are no longer followed, nor the pipeline once it has none.
    expect(await redis().hlen(t.bot.keys.pipelineWatch(PIPELINE))).toBe(0);
    await watch().pollOnce();
    expect(await redis().sismember(t.bot.keys.pipelinesWatched, PIPELINE)).toBe(0);
  }, 120_000);
});

describe('pipeline watch on its schedule', () => {
  let t: TestBot;

  beforeEach(async () => {
    // Only the watch's scheduled poll can bring the deploy back: its own re-read is far beyond the test.
    t = await startTestBot({ overrides: { pipelineWatch: { recheckPolls: 1_000_000 } } });
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  const scheduled = async () => (await t.bot.queues.maintenance.getJobSchedulers()).some((s) => s.key === 'watch-pipelines' || s.name === 'watch-pipelines');

  it('polls while a deploy runs, brings it to its end, and stops polling when nothing is left', async () => {
    expect(await scheduled()).toBe(false);
    await t.command('deploy gray release/1.2.3');
    const ref = { service: 'user-api', env: 'dev', lane: 'gray' };
    await waitFor('the deploy to be followed', async () => (await t.bot.redis.hlen(t.bot.keys.pipelineWatch(PIPELINE))) === 1);
    expect(await scheduled()).toBe(true);
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the deploy to succeed', async () => (await t.bot.lanes.get(ref))?.last?.status === 'succeeded', 30_000);
    await waitFor('the poll to stop', async () => !(await scheduled()));
  }, 60_000);
});
