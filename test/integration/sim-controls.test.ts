// The sandbox's simulator controls over HTTP, against a real bot with CLOUD=sim.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../../src/config';
import { simControlRoutes } from '../../src/sandbox/sim-controls';
import { deletePrefix, startTestBot, TEST_CONFIG, waitFor, type TestBot } from '../support/harness';

describe('simulator controls', () => {
  let t: TestBot;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    // No clock override: the bot runs on the simulator's movable clock.
    t = await startTestBot({ env: { SIM_TIME_SCALE: '1' }, overrides: { clock: undefined } });
    const routes = simControlRoutes(t.bot, parseConfig(TEST_CONFIG));
    server = createServer((req, res) => {
      void routes(req, res, new URL(req.url ?? '/', 'http://localhost')).then((handled) => {
        if (!handled) res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await t.stop();
    await deletePrefix(t.prefix);
  });

  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('makes the next run of a stage fail, and moving the clock finishes a running pipeline', async () => {
    expect(await post('/sandbox/sim/fail-next', { pipeline: 'user-api-dev', stage: 'Deploy', message: 'health check failed on /health' })).toMatchObject({
      status: 200,
      body: { ok: true },
    });
    await t.command('deploy gray release/1.2.3');
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get({ service: 'user-api', env: 'dev', lane: 'gray' }))?.last?.status === 'running');

    // At SIM_TIME_SCALE=1 the run takes minutes; an hour later (simulated) it is over.
    expect(await post('/sandbox/sim/advance-clock', { hours: 1 })).toMatchObject({ status: 200, body: { ok: true, offsetMs: 3_600_000 } });
    const root = await waitFor('the root message', () => t.stub.rootMentioning('release/1.2.3'));
    const reply = await waitFor('the failure', () => t.stub.thread(root).find((m) => m.text.includes('Stage *Deploy* failed')));
    expect(reply.text).toContain('health check failed on /health');

    const state = (await (await fetch(`${url}/sandbox/sim/state`)).json()) as { executions: { lane: string; status: string }[]; clock: { offsetMs: number } };
    expect(state.clock.offsetMs).toBe(3_600_000);
    expect(state.executions).toEqual([expect.objectContaining({ lane: 'gray', branch: 'release/1.2.3', status: 'Failed' })]);
  });

  it('answers bad input with 400 and a reason', async () => {
    expect(await post('/sandbox/sim/advance-clock', { days: -1 })).toMatchObject({ status: 400, body: { ok: false } });
    expect(await post('/sandbox/sim/advance-clock', {})).toMatchObject({ status: 400 });
    expect(await post('/sandbox/sim/fail-next', { pipeline: 'nope', stage: 'Build' })).toMatchObject({
      status: 400,
      body: { error: expect.stringContaining('unknown pipeline') },
    });
    expect(await post('/sandbox/sim/fail-next', { pipeline: 'user-api-dev', stage: 'Lint' })).toMatchObject({
      status: 400,
      body: { error: expect.stringContaining('No stage') },
    });
    expect(await post('/sandbox/sim/lane-health', { lane: 'gray' })).toMatchObject({ status: 501 });
  });
});
