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
    expect(await post('/sandbox/sim/fail-next', { pipeline: 'user-api-dev', stage: 'Build', message: 42 })).toMatchObject({
      status: 400,
      body: { error: expect.stringContaining('`message`') },
    });
  });

  const state = async () => (await (await fetch(`${url}/sandbox/sim/state`)).json()) as SimState;

  it('sets a lane\'s 5xx rate, unhealthy targets and p99, and its target health, alarms and traffic follow', async () => {
    await t.command('deploy green release/2.0.0');
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get({ service: 'user-api', env: 'dev', lane: 'green' }))?.last?.status === 'running');
    await post('/sandbox/sim/advance-clock', { hours: 1 });
    const created = await waitFor('the lane stack', async () => (await state()).lanes.find((l) => l.lane === 'green' && l.stackStatus === 'CREATE_COMPLETE'));
    expect(created).toMatchObject({ service: 'user-api', env: 'dev', stack: 'app-user-api-dev-green', errorRatePercent: 0, unhealthyTargets: 0, p99Ms: 120, canaryOf: null });
    // A header-routed lane's own traffic: 600 requests a simulated minute, no 5xx, the default p99 (± its 2 % jitter).
    expect(created.traffic).toMatchObject({ requestsPerMinute: 600, errorRatePercent: 0 });
    expect(Math.abs(created.traffic!.p99Ms! - 120)).toBeLessThanOrEqual(3);
    expect(created.targetHealth).toMatchObject({ unhealthy: 0, initial: 0 });
    expect(created.targetHealth!.healthy).toBeGreaterThan(0);
    expect(created.alarms.length).toBeGreaterThanOrEqual(2);
    expect(created.alarms.every((a) => a.state === 'OK')).toBe(true);
    // The alarms are the ones the lane stack publishes in its outputs.
    const stack = (await state()).stacks.find((s) => s.name === 'app-user-api-dev-green')!;
    expect(stack).toMatchObject({ family: 'lane', status: 'CREATE_COMPLETE', lastOperation: { kind: 'create', finished: true } });
    expect(created.alarms.map((a) => a.name).every((name) => Object.values(stack.outputs).includes(name))).toBe(true);

    expect(await post('/sandbox/sim/lane-health', { service: 'user-api', env: 'dev', lane: 'green', errorRatePercent: 5, unhealthyTargets: 1, p99Ms: 850 })).toMatchObject({
      status: 200,
      body: { ok: true, lane: 'green', errorRatePercent: 5, unhealthyTargets: 1, p99Ms: 850 },
    });
    const changed = (await state()).lanes.find((l) => l.lane === 'green')!;
    expect(changed).toMatchObject({ errorRatePercent: 5, unhealthyTargets: 1, p99Ms: 850, targetHealth: { unhealthy: 1 } });
    // Only p99 given: the other settings stay.
    expect(await post('/sandbox/sim/lane-health', { service: 'user-api', env: 'dev', lane: 'green', p99Ms: 900 })).toMatchObject({
      status: 200,
      body: { errorRatePercent: 5, unhealthyTargets: 1, p99Ms: 900 },
    });
    // An alarm follows only once the change has held for its evaluation window.
    expect(changed.alarms.find((a) => a.kind === 'errorRate')).toMatchObject({ state: 'OK' });

    await post('/sandbox/sim/advance-clock', { hours: 1 });
    const fired = (await state()).lanes.find((l) => l.lane === 'green')!;
    expect(fired.alarms.find((a) => a.kind === 'errorRate')).toMatchObject({ state: 'ALARM', reason: expect.stringContaining('5%') });
    expect(fired.alarms.find((a) => a.kind === 'unhealthyHosts')).toMatchObject({ state: 'ALARM' });
    // The metrics port's figures, as the sandbox shows them: the lane's rate and p99.
    expect(fired.traffic).toMatchObject({ requestsPerMinute: 600, errorRatePercent: 5 });
    expect(Math.abs(fired.traffic!.p99Ms! - 900)).toBeLessThanOrEqual(18);
    // The simulator behind the bot's ports says the same.
    const names = fired.alarms.map((a) => a.name);
    expect((await t.bot.simHealth!.alarmStates(names)).alarms.map((a) => a.state)).toEqual(fired.alarms.map((a) => a.state));
  });

  it('arms the ECS circuit breaker for a lane\'s next deployment, which the health check after the deploy reports', async () => {
    expect(await post('/sandbox/sim/lane-health', { service: 'user-api', env: 'dev', lane: 'ruby', failNextDeployment: true })).toMatchObject({
      status: 200,
      body: { ok: true, lane: 'ruby', failNextDeployment: true },
    });
    await t.command('deploy ruby release/9.9.9-ecs');
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get({ service: 'user-api', env: 'dev', lane: 'ruby' }))?.last?.status === 'running');
    await post('/sandbox/sim/advance-clock', { hours: 1 });
    const root = await waitFor('the root message', () => t.stub.rootMentioning('release/9.9.9-ecs'));
    const reply = await waitFor('the verdict', () => t.stub.thread(root).find((m) => m.text.includes('did not roll it out')));
    expect(reply.text).toContain('*Deployed, but not healthy:* ECS deployment failed (circuit breaker');
    await waitFor('the root to say so', () => root.text.includes('deployed, unhealthy'));
  });

  it('makes the next operation of a stack fail, and shows it in the stack list', async () => {
    expect(await post('/sandbox/sim/fail-next-stack', { stack: 'app-user-api-dev-blue', reason: 'Resource handler returned message: "no capacity"' })).toMatchObject({
      status: 200,
      body: { ok: true, stack: 'app-user-api-dev-blue', exists: false },
    });
    await t.command('deploy blue release/3.0.0');
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get({ service: 'user-api', env: 'dev', lane: 'blue' }))?.last?.status === 'running');
    await post('/sandbox/sim/advance-clock', { hours: 1 });
    const failed = await waitFor('the failed stack', async () =>
      (await state()).stacks.find((s) => s.name === 'app-user-api-dev-blue' && s.lastOperation?.finished),
    );
    expect(failed).toMatchObject({ status: 'ROLLBACK_COMPLETE', lastOperation: { kind: 'create', succeeded: false } });
    const root = await waitFor('the root message', () => t.stub.rootMentioning('release/3.0.0'));
    await waitFor('the failure in the thread', () => t.stub.thread(root).find((m) => m.text.includes('no capacity')));
  });

  it('answers a pending manual approval', async () => {
    const sim = t.bot.sim!;
    const { executionId } = await sim.startExecution({
      pipelineName: 'user-api-prod',
      variables: { LANE: 'gray', BRANCH: 'release/1.2.3' },
      clientRequestToken: `approve-${Date.now()}`,
    });
    await post('/sandbox/sim/advance-clock', { hours: 1 });
    const waiting = (await state()).executions.find((e) => e.executionId === executionId)!;
    expect(waiting).toMatchObject({ status: 'InProgress', pendingApproval: { stageName: 'Approval', actionName: 'ManualApproval' } });
    expect((await state()).executions.filter((e) => e.executionId !== executionId).every((e) => e.pendingApproval === null)).toBe(true);

    expect(await post('/sandbox/sim/approve', { executionId, approved: false, summary: 'not during the freeze' })).toMatchObject({
      status: 200,
      body: { ok: true, executionId, approved: false },
    });
    const rejected = (await state()).executions.find((e) => e.executionId === executionId)!;
    expect(rejected).toMatchObject({ status: 'Failed', pendingApproval: null });

    expect(await post('/sandbox/sim/approve', { executionId, approved: true })).toMatchObject({ status: 400, body: { ok: false } });
  });

  it("arms faults for the bot's next AWS calls and lists them in the state until they are consumed", async () => {
    expect((await state()).faults).toEqual([]);
    expect(await post('/sandbox/sim/fail-next-call', { service: 'cloudformation', fault: 'unavailable', count: 2 })).toMatchObject({
      status: 200,
      body: { ok: true, service: 'cloudformation', fault: 'unavailable', count: 2, pending: [{ service: 'cloudformation', fault: 'unavailable', count: 2 }] },
    });
    expect(await post('/sandbox/sim/fail-next-call', { service: 'elbv2', fault: 'throttled' })).toMatchObject({ status: 200, body: { count: 1 } });
    expect((await state()).faults).toEqual([
      { service: 'cloudformation', fault: 'unavailable', count: 2 },
      { service: 'elbv2', fault: 'throttled', count: 1 },
    ]);
    // The console's own reads of the simulated account are not the bot's calls: they consume nothing.
    await post('/sandbox/sim/fail-next-stack', { stack: 'app-user-api-dev-purple' });
    expect((await state()).faults).toHaveLength(2);

    // The bot's next calls through its ports fail as armed, then go through.
    for (let i = 0; i < 2; i++) {
      await expect(t.bot.simStacks!.describeStack('app-user-api-dev-purple')).rejects.toMatchObject({ code: 'AWS_ERROR', retryable: true });
    }
    await expect(t.bot.simStacks!.describeStack('app-user-api-dev-purple')).resolves.toBeUndefined();
    await expect(t.bot.simHealth!.targetHealth('arn:aws:elasticloadbalancing:sim-1:000000000000:targetgroup/none/1')).rejects.toMatchObject({
      code: 'AWS_THROTTLED',
    });
    expect((await state()).faults).toEqual([]);
  });

  it('fails the next run of any simulated pipeline, infra and boot ones too', async () => {
    const { pipelines } = (await (await fetch(`${url}/sandbox/sim/state`)).json()) as { pipelines: string[] };
    expect(pipelines).toEqual(expect.arrayContaining(['user-api-dev', 'infra-dev', 'boot-dev', 'infra-prod', 'boot-prod']));
    expect(await post('/sandbox/sim/fail-next', { pipeline: 'infra-dev', stage: 'Deploy', message: 'no more EIPs' })).toMatchObject({ status: 200 });
    expect(await post('/sandbox/sim/fail-next', { pipeline: 'boot-dev', stage: 'Build' })).toMatchObject({
      status: 400,
      body: { error: expect.stringContaining('No stage "Build" to fail in boot-dev') },
    });
    const { executionId } = await t.bot.sim!.startExecution({ pipelineName: 'infra-dev', variables: {}, clientRequestToken: `infra-${Date.now()}` });
    await post('/sandbox/sim/advance-clock', { hours: 1 });
    const run = (await state()).executions.find((e) => e.executionId === executionId);
    expect(run).toMatchObject({ status: 'Failed' });
  });

  it('lists the images the builds pushed and deletes one, which the registry check then says is gone', async () => {
    await t.command('deploy teal release/4.0.0');
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get({ service: 'user-api', env: 'dev', lane: 'teal' }))?.last?.status === 'running');
    await post('/sandbox/sim/advance-clock', { hours: 1 });
    const stack = await waitFor('the lane stack', async () => (await state()).stacks.find((s) => s.name === 'app-user-api-dev-teal' && s.status === 'CREATE_COMPLETE'));
    const imageUri = stack.parameters.ImageUri!;
    const tag = imageUri.slice(imageUri.lastIndexOf(':') + 1);
    const image = (await state()).images.find((i) => i.tags.includes(tag));
    expect(image).toMatchObject({ repositoryUri: imageUri.slice(0, imageUri.lastIndexOf(':')), pinnedUri: expect.stringMatching(/@sha256:[0-9a-f]{64}$/) });
    expect(await t.bot.simImages!.imageExists(imageUri)).toMatchObject({ kind: 'exists', digest: image!.digest });

    expect(await post('/sandbox/sim/delete-image', { image: imageUri })).toMatchObject({ status: 200, body: { ok: true, image: imageUri, digest: image!.digest } });
    expect((await state()).images.find((i) => i.digest === image!.digest)).toBeUndefined();
    expect(await t.bot.simImages!.imageExists(image!.pinnedUri)).toMatchObject({ kind: 'missing', reason: expect.stringContaining('is no longer in ECR') });

    expect(await post('/sandbox/sim/delete-image', { image: imageUri })).toMatchObject({ status: 404, body: { ok: false, error: expect.stringContaining('has no image') } });
    expect(await post('/sandbox/sim/delete-image', { image: 'nginx:1.27' })).toMatchObject({ status: 400, body: { error: expect.stringContaining('not in an Amazon ECR registry') } });
    expect(await post('/sandbox/sim/delete-image', {})).toMatchObject({ status: 400, body: { error: expect.stringContaining('`image` is required') } });
  });

  it('names the field a bad control request got wrong', async () => {
    const bad = async (path: string, body: unknown, field: string) =>
      expect(await post(path, body)).toMatchObject({ status: 400, body: { ok: false, error: expect.stringContaining(field) } });
    await bad('/sandbox/sim/lane-health', { lane: 'gray' }, '`service`');
    await bad('/sandbox/sim/lane-health', { service: 'user-api', env: 'qa', lane: 'gray', errorRatePercent: 1 }, '`env`');
    await bad('/sandbox/sim/lane-health', { service: 'user-api', env: 'dev', lane: 'Gray!', errorRatePercent: 1 }, '`lane`');
    await bad('/sandbox/sim/lane-health', { service: 'user-api', env: 'dev', lane: 'gray' }, '`errorRatePercent`');
    await bad('/sandbox/sim/lane-health', { service: 'user-api', env: 'dev', lane: 'gray', errorRatePercent: 150 }, '`errorRatePercent`');
    await bad('/sandbox/sim/lane-health', { service: 'user-api', env: 'dev', lane: 'gray', errorRatePercent: '5' }, '`errorRatePercent`');
    await bad('/sandbox/sim/lane-health', { service: 'user-api', env: 'dev', lane: 'gray', unhealthyTargets: 1.5 }, '`unhealthyTargets`');
    await bad('/sandbox/sim/lane-health', { service: 'user-api', env: 'dev', lane: 'gray', failNextDeployment: 'yes' }, '`failNextDeployment`');
    await bad('/sandbox/sim/lane-health', { service: 'user-api', env: 'dev', lane: 'gray', p99Ms: 0 }, '`p99Ms`');
    await bad('/sandbox/sim/lane-health', { service: 'user-api', env: 'dev', lane: 'gray', p99Ms: 60_001 }, '`p99Ms`');
    await bad('/sandbox/sim/lane-health', { service: 'user-api', env: 'dev', lane: 'gray', p99Ms: '300' }, '`p99Ms`');
    await bad('/sandbox/sim/lane-health', { service: 'user-api', env: 'dev', lane: 'canary', p99Ms: 300 }, "behaves like that lane");
    await bad('/sandbox/sim/fail-next-stack', { stack: 42 }, '`stack`');
    await bad('/sandbox/sim/fail-next-stack', { stack: 'app-x', reason: ['no'] }, '`reason`');
    await bad('/sandbox/sim/approve', { approved: true }, '`executionId`');
    await bad('/sandbox/sim/approve', { executionId: 'e-1', approved: 'yes' }, '`approved`');
    await bad('/sandbox/sim/approve', { executionId: 'no-such-execution', approved: true }, 'no-such-execution');
    await bad('/sandbox/sim/fail-next-call', { fault: 'throttled' }, '`service`');
    await bad('/sandbox/sim/fail-next-call', { service: 'sqs', fault: 'throttled' }, '`service`');
    await bad('/sandbox/sim/fail-next-call', { service: 'codepipeline', fault: 'timeout' }, '`fault`');
    await bad('/sandbox/sim/fail-next-call', { service: 'codepipeline', fault: 'throttled', count: 0 }, '`count`');
    await bad('/sandbox/sim/fail-next-call', { service: 'codepipeline', fault: 'throttled', count: 101 }, '`count`');
    await bad('/sandbox/sim/fail-next-call', { service: 'codepipeline', fault: 'throttled', count: '3' }, '`count`');

    const notJson = await fetch(`${url}/sandbox/sim/approve`, { method: 'POST', body: '{nope' });
    expect(notJson.status).toBe(400);
    await notJson.arrayBuffer();
    expect(await post('/sandbox/sim/nothing', {})).toMatchObject({ status: 404 });
  });
});

interface SimState {
  faults: { service: string; fault: string; count: number }[];
  images: { repositoryUri: string; digest: string; pinnedUri: string; tags: string[]; pushedAt: number }[];
  executions: { executionId: string; status: string; pendingApproval: { stageName: string; actionName: string } | null }[];
  stacks: { name: string; family: string; status: string; lastOperation: { kind: string; finished: boolean; succeeded: boolean } | null; parameters: Record<string, string>; outputs: Record<string, string> }[];
  lanes: {
    service: string;
    env: string;
    lane: string;
    stack: string;
    stackStatus: string | null;
    errorRatePercent: number;
    unhealthyTargets: number;
    p99Ms: number;
    canaryOf: string | null;
    traffic: { requestsPerMinute: number; errorRatePercent: number | null; p99Ms: number | null } | null;
    targetHealth: { healthy: number; unhealthy: number; initial: number } | null;
    alarms: { kind: string; name: string; state: string; reason: string; updatedAt: number }[];
  }[];
}
