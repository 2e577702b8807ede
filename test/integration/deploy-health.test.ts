// The health verification after a deploy, end to end: the simulator's pipeline deploys the lane
// stack, then the verify-health step watches the simulated ECS service, targets and alarms while
// the test moves the clock. dev has a 5-minute soak and a 10-minute deadline here (TEST_CONFIG has
// none, so the other tests need not wait for it).
import { randomUUID } from 'node:crypto';
import { deletePrefix, startTestBot, TEST_CONFIG, waitFor, type TestBot } from '../support/harness';
import { SlackStub, type StubMessage } from '../support/slack-stub';

const MIN = 60_000;
const FULL_RUN_MS = 400_000; // longer than the simulated Source + Build + Deploy
const SOAK_MS = 5 * MIN;
const DEADLINE_MS = 10 * MIN;
const GRAY = { service: 'user-api', env: 'dev', lane: 'gray' };

/** TEST_CONFIG with a soak for dev (TEST_CONFIG's is 0s). */
function soakConfig(soak: string): string {
  return TEST_CONFIG.replace(/dev:\n {4}verify: \{ soak: 0s \}/, `dev:\n    verify: { soak: ${soak}, deadline: 10m }`);
}
const SOAK_CONFIG = soakConfig('5m');

/** The text of the root's blocks (its stages live there, not in `text`). */
function rootBlocks(root: StubMessage): string {
  return JSON.stringify(root.blocks ?? []);
}

/**
 * Resolves once the health check has read the lane again (at the clock's time now): a throttling
 * fault armed on the ECS service read (every look reads it) is consumed by its next look, and
 * waited out without harm.
 */
async function lookedAgain(t: TestBot): Promise<void> {
  await t.bot.simFaults!.inject({ service: 'ecs', fault: 'throttled' });
  await waitFor('the health check to look again', async () => (await t.bot.simFaults!.pending()).length === 0);
}

/** When the soak of the lane's current deploy ends, as its health check recorded it. */
async function soakEndsAt(t: TestBot, soakMs = SOAK_MS): Promise<number> {
  const op = await t.bot.operations.get((await t.bot.lanes.get(GRAY))!.last!.id);
  const progress = (op?.progress ?? {}) as { phase?: string; phaseStartedAt?: number; soakEndsAt?: number };
  expect(progress).toMatchObject({ phase: 'soak' });
  expect(progress.soakEndsAt! - progress.phaseStartedAt!).toBe(soakMs);
  return progress.soakEndsAt!;
}

function finalReply(t: TestBot, root: StubMessage): StubMessage | undefined {
  return t.stub.thread(root).find((m) => m.text.includes('now runs'));
}

describe('health verification after a deploy', () => {
  let t: TestBot;

  beforeAll(() => {
    // The config really has the soak (a TEST_CONFIG edit that no longer matches would test nothing).
    expect(SOAK_CONFIG).toContain('verify: { soak: 5m, deadline: 10m }');
  });

  beforeEach(async () => {
    t = await startTestBot({ config: SOAK_CONFIG });
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  /** Requests a deploy and moves the clock past its pipeline; resolves with its root once the health check runs. */
  async function deployThroughPipeline(branch: string, lane = 'gray'): Promise<StubMessage> {
    await t.command(`deploy ${lane} ${branch}`);
    const root = await waitFor('the root message', () => t.stub.rootMentioning(branch));
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get({ ...GRAY, lane }))?.last?.status === 'running');
    t.clock.advance(FULL_RUN_MS);
    // Its first state may be edited over before Slack sees it (root edits are coalesced).
    await waitFor('the health check to show', () => rootBlocks(root).includes('Health check —'));
    return root;
  }

  it('says "deployed and healthy" only after the soak, and records the lane resources', async () => {
    const root = await deployThroughPipeline('release/1.2.3');
    // Targets are in their initial health checks for a minute after the lane stack is created.
    t.clock.advance(MIN);
    await waitFor('the soak to start', () => rootBlocks(root).includes('alarms, 5 min soak'));
    // A second before the soak ends: the deploy is still running, its stage in progress, no final reply yet.
    const end = await soakEndsAt(t);
    t.clock.advance(end - t.clock.now() - 1000);
    await lookedAgain(t);
    expect(finalReply(t, root)).toBeUndefined();
    expect(rootBlocks(root)).toContain('Health check — in progress');

    t.clock.advance(1000);
    const done = await waitFor('the final reply', () => finalReply(t, root));
    expect(done.text).toContain('Lane *gray* of user-api/dev now runs `release/1.2.3`');
    expect(done.text).toMatch(/\*Deployed and healthy:\* 1\/1 targets healthy, ECS deployment complete, 1\/1 running, alarms OK for 5 min\./);
    await waitFor('the root to say deployed and healthy', () => root.text.includes('deployed and healthy'));
    expect(rootBlocks(root)).toContain('Health check — succeeded (healthy)');
    expect(t.stub.thread(root).filter((m) => m.text.includes('now runs'))).toHaveLength(1);

    const op = (await t.bot.lanes.get(GRAY))!.last!;
    expect(op).toMatchObject({ status: 'succeeded', health: { verdict: 'healthy', reasons: [] } });
    const resources = await t.bot.lanes.resources(GRAY);
    expect(resources).toMatchObject({ stackName: 'app-user-api-dev-gray', serviceName: expect.any(String), clusterName: expect.any(String), targetGroupArn: expect.stringContaining('targetgroup/') });
    expect(Object.keys(resources!.alarms).sort()).toEqual(['errorRate', 'runningTasks', 'unhealthyHosts']);
    expect(await t.bot.lanes.laneOfAlarm(resources!.alarms.errorRate!)).toEqual(GRAY);

    const [release] = await t.bot.lanes.releases(GRAY);
    expect(release).toMatchObject({ operationId: op.id, branch: 'release/1.2.3', health: 'healthy' });
  });

  it('says "deployed, unhealthy" with the targets\' reason and links once the deadline passes', async () => {
    await t.command('deploy gray release/1.2.3');
    const root = await waitFor('the root message', () => t.stub.rootMentioning('release/1.2.3'));
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get(GRAY))?.last?.status === 'running');
    // The new version fails its health checks (set while the pipeline runs).
    await t.bot.simHealth!.setHealth(GRAY, { unhealthyTargets: 1 });
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the health check to start', () => rootBlocks(root).includes('Health check — in progress'));
    t.clock.advance(DEADLINE_MS - MIN);
    await lookedAgain(t);
    expect(finalReply(t, root)).toBeUndefined();

    t.clock.advance(2 * MIN);
    const done = await waitFor('the final reply', () => finalReply(t, root));
    expect(done.text).toContain(':warning: Lane *gray* of user-api/dev now runs `release/1.2.3`');
    expect(done.text).toContain('*Deployed, but not healthy:*');
    // The targets' reason first (it is why ECS is short of tasks), then what the deadline saw of ECS.
    expect(done.text).toContain(
      '*Deployed, but not healthy:* 1/1 targets unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [503]); ECS service below desired: 0/1 running after 10 min.',
    );
    expect(done.text).toMatch(/<https:[^|>]+\|target group>/);
    expect(done.text).toMatch(/<https:[^|>]+\|ECS service>/);
    await waitFor('the root to say deployed, unhealthy', () => root.text.includes('deployed, unhealthy'));
    expect(rootBlocks(root)).toContain('Health check — failed (not healthy)');

    const op = (await t.bot.lanes.get(GRAY))!.last!;
    expect(op).toMatchObject({ status: 'succeeded', health: { verdict: 'unhealthy' } });
    expect((await t.bot.lanes.releases(GRAY))[0]).toMatchObject({ operationId: op.id, health: 'unhealthy' });
  });

  it('reports an ECS deployment the circuit breaker failed at once, with its reason', async () => {
    await t.bot.simHealth!.failNextDeployment(GRAY);
    const root = await deployThroughPipeline('release/1.2.3');
    // No time passes: the verdict needs neither the deadline nor the soak.
    const done = await waitFor('the final reply', () => t.stub.thread(root).find((m) => m.text.includes('did not roll it out')));
    expect(done.text).toContain(':warning: The pipeline deployed `release/1.2.3` to lane *gray* of user-api/dev in ');
    expect(done.text).toContain('*Deployed, but not healthy:* ECS deployment failed (circuit breaker: tasks failed to start).');
    expect(done.text).toContain('ECS rolled the service back to its previous deployment, so the lane does not run this version');
    expect(done.text).not.toContain('The lane runs the new version');
    await waitFor('the root to say deployed, unhealthy', () => root.text.includes('deployed, unhealthy'));
    expect((await t.bot.lanes.get(GRAY))!.last).toMatchObject({ status: 'succeeded', health: { verdict: 'unhealthy', rolloutFailed: true } });
  });

  it('gives way to a newer deploy during the soak: the check is cut short and the newer one runs at once', async () => {
    const root = await deployThroughPipeline('release/1.0.0');
    t.clock.advance(MIN);
    await waitFor('the soak to start', () => rootBlocks(root).includes('alarms, 5 min soak'));

    await t.command('deploy gray release/2.0.0', { user: 'U0BOB' });
    const second = await waitFor('the second root', () => t.stub.rootMentioning('release/2.0.0'));
    // Without moving the clock: the first ends and the second's pipeline starts.
    const done = await waitFor('the first deploy\'s final reply', () => finalReply(t, root));
    expect(done.text).toContain(':grey_question: Lane *gray* of user-api/dev now runs `release/1.0.0`');
    expect(done.text).toContain('*Health not checked:* another operation is waiting for this lane');
    await waitFor('the first root to say health not checked', () => root.text.includes('health not checked'));
    expect(rootBlocks(root)).toContain('Health check — stopped (not checked)');
    await waitFor('the second deploy to run', async () => {
      const last = (await t.bot.lanes.get(GRAY))?.last;
      return last?.params.branch === 'release/2.0.0' && last.status === 'running';
    });
    expect(await t.bot.sim!.executionIds('user-api-dev')).toHaveLength(2);
    expect(t.stub.thread(second).some((m) => m.text.includes('now runs'))).toBe(false);

    const [release] = await t.bot.lanes.releases(GRAY);
    expect(release).toMatchObject({ branch: 'release/1.0.0', health: 'unchecked' });
  });
});

describe('a bot restarted during the soak', () => {
  const prefix = `test-${randomUUID()}`;
  let stub: SlackStub;
  let first: TestBot | undefined;
  let second: TestBot | undefined;

  beforeAll(async () => {
    stub = await new SlackStub().start();
  });

  afterAll(async () => {
    await first?.stop();
    await second?.stop();
    await stub.stop();
    await deletePrefix(prefix);
  });

  it('resumes the check on the new process and gives one verdict and one final reply', async () => {
    first = await startTestBot({ stub, prefix, config: SOAK_CONFIG });
    const clock = first.clock;
    await first.command('deploy gray release/1.2.3');
    const root = await waitFor('the root message', () => stub.rootMentioning('release/1.2.3'));
    await waitFor('the pipeline to run', async () => (await first!.bot.lanes.get(GRAY))?.last?.status === 'running');
    clock.advance(FULL_RUN_MS + MIN);
    await waitFor('the soak to start', () => rootBlocks(root).includes('alarms, 5 min soak'));
    await first.stop();
    first = undefined;

    second = await startTestBot({ stub, prefix, clock, config: SOAK_CONFIG });
    clock.advance(SOAK_MS);
    const done = await waitFor('the final reply', () => stub.thread(root).find((m) => m.text.includes('now runs')));
    expect(done.text).toContain('*Deployed and healthy:* 1/1 targets healthy');
    await waitFor('the root to say deployed and healthy', () => root.text.includes('deployed and healthy'));
    await waitFor('the thread to settle', async () => (await second!.bot.redis.zcard(second!.bot.keys.narratePending)) === 0);
    expect(stub.thread(root).filter((m) => m.text.includes('now runs'))).toHaveLength(1);
    expect(stub.thread(root).filter((m) => m.text.includes('Deployed and healthy'))).toHaveLength(1);
    expect(stub.roots()).toHaveLength(1);
    const releases = await second.bot.lanes.releases(GRAY);
    expect(releases).toHaveLength(1);
    expect(releases[0]).toMatchObject({ health: 'healthy' });
  });
});

describe('an alarm that fires during the soak', () => {
  let t: TestBot;

  beforeEach(async () => {
    // A soak longer than the 5xx alarm's 5-minute window, so the alarm can fire well inside it.
    t = await startTestBot({ config: soakConfig('10m') });
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  it('makes the lane unhealthy at once, with the alarm named', async () => {
    await t.command('deploy gray release/1.2.3');
    const root = await waitFor('the root message', () => t.stub.rootMentioning('release/1.2.3'));
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get(GRAY))?.last?.status === 'running');
    t.clock.advance(FULL_RUN_MS + MIN);
    await waitFor('the soak to start', () => rootBlocks(root).includes('alarms, 10 min soak'));
    const end = await soakEndsAt(t, 10 * MIN);

    // 5 % of requests fail from now on; the 5xx alarm follows once its 5-minute window is over.
    await t.bot.simHealth!.setHealth(GRAY, { errorRatePercent: 5 });
    t.clock.advance(4 * MIN);
    await lookedAgain(t);
    expect(finalReply(t, root)).toBeUndefined();
    t.clock.advance(MIN);
    const done = await waitFor('the final reply', () => finalReply(t, root));
    expect(done.text).toContain('*Deployed, but not healthy:* alarm 5xx rate: ALARM (Threshold Crossed: 1 datapoint [5] was greater than the threshold (1.0)');
    await waitFor('the root to say deployed, unhealthy', () => root.text.includes('deployed, unhealthy'));
    const op = (await t.bot.lanes.get(GRAY))!.last!;
    expect(op.health).toMatchObject({ verdict: 'unhealthy' });
    // Judged when the alarm fired, five minutes before the soak's end.
    expect(op.health!.checkedAt).toBe(end - 5 * MIN);
    expect((await t.bot.lanes.releases(GRAY))[0]).toMatchObject({ operationId: op.id, health: 'unhealthy' });
  });
});
