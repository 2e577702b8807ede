// The admin operations against the simulated account, end to end: `/lane setup` creates the
// pipeline stacks, `/lane infra` and `/lane boot` run their pipelines (which create the environment
// and service stacks), and lane deploys carry the lane's rule priority to the pipeline.
import { deletePrefix, startTestBot, waitFor, type TestBot } from '../support/harness';
import { adminConfig, TEST_ADMIN as ADMIN } from '../support/test-config';

const CONFIG = adminConfig();
/** Longer than any simulated pipeline or stack operation. */
const LONG_ENOUGH_MS = 30 * 60_000;

describe('admin operations (simulated account)', () => {
  let t: TestBot;

  beforeEach(async () => {
    t = await startTestBot({ config: CONFIG });
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  /** Moves simulated time on until `check` holds (the sim advances only when the clock does). */
  async function advanceUntil<T>(what: string, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
    return waitFor(what, async () => {
      const value = await check();
      if (!value) t.clock.advance(LONG_ENOUGH_MS / 10);
      return value;
    });
  }

  it('/lane setup creates the three pipeline stacks, and running it again changes nothing', async () => {
    await t.command('setup', { user: ADMIN });
    const root = await waitFor('the setup root', () => t.stub.rootMentioning('pipeline setup'));
    const done = await advanceUntil('the setup to finish', () => t.stub.thread(root).find((m) => m.text.includes('are set up')));
    expect(done.text).toContain('`pipeline-infra-dev`, `pipeline-boot-dev`, `pipeline-user-api-dev`');
    for (const name of ['pipeline-infra-dev', 'pipeline-boot-dev', 'pipeline-user-api-dev']) {
      expect((await t.bot.simStacks!.describeStack(name))?.status).toBe('CREATE_COMPLETE');
    }
    expect((await t.bot.simStacks!.describeStack('pipeline-user-api-dev'))?.parameters).toMatchObject({ AppRepo: 'acme/user-api', RequireApproval: 'false' });

    await t.command('setup', { user: ADMIN });
    const again = await waitFor('the second setup root', () => t.stub.roots().filter((m) => m.text.includes('pipeline setup'))[1]);
    const second = await advanceUntil('the second setup to finish', () => t.stub.thread(again).find((m) => m.text.includes('are set up')));
    expect(second).toBeTruthy();
    await waitFor('the root to list no changes', () => (JSON.stringify(again.blocks).match(/no changes/g) ?? []).length === 3);
  });

  it('/lane infra and /lane boot run their pipelines, which create the environment and service stacks', async () => {
    await t.command('infra', { user: ADMIN });
    const infra = await waitFor('the infra root', () => t.stub.rootMentioning('environment infrastructure'));
    await advanceUntil('infra to finish', () => t.stub.thread(infra).find((m) => m.text.includes('The infrastructure of *dev* is deployed')));
    expect((await t.bot.simStacks!.describeStack('infra-environment-dev'))?.status).toBe('CREATE_COMPLETE');

    await t.command('boot', { user: ADMIN });
    const boot = await waitFor('the boot root', () => t.stub.rootMentioning('service bootstrap'));
    await advanceUntil('boot to finish', () => t.stub.thread(boot).find((m) => m.text.includes('is bootstrapped')));
    expect((await t.bot.simStacks!.describeStack('boot-user-api-dev'))?.status).toBe('CREATE_COMPLETE');
    const executions = await t.bot.sim!.recentExecutions();
    expect(executions.find((e) => e.pipelineName === 'boot-dev')?.variables).toEqual({ SERVICE: 'user-api' });
    expect(executions.find((e) => e.pipelineName === 'infra-dev')?.variables).toEqual({});
  });

  it('runs one /lane infra at a time per environment, whichever channel asks', async () => {
    await t.command('infra', { user: ADMIN });
    const first = await waitFor('the first infra root', () => t.stub.rootMentioning('environment infrastructure'));
    await waitFor('the first infra to run', () => first.text.includes('running'));
    await t.command('infra', { user: ADMIN, channel: 'C0ORDERSDEV' });
    const second = await waitFor('the second infra root', () => t.stub.roots().filter((m) => m.text.includes('environment infrastructure'))[1]);
    const queued = await waitFor('the queued reply', () => t.stub.thread(second).find((m) => m.text.includes('Another `/lane infra`')));
    expect(queued.text).toContain('|thread>');
  });

  it('passes every lane its own listener rule priority, the same on each deploy', async () => {
    const variablesOf = async (lane: string) =>
      (await t.bot.sim!.recentExecutions()).filter((e) => e.variables.LANE === lane).map((e) => e.variables.RULE_PRIORITY);
    await t.command('deploy gray release/1.0.0');
    await waitFor('gray to start', async () => (await variablesOf('gray')).length === 1);
    await t.command('deploy blue release/1.0.0');
    await waitFor('blue to start', async () => (await variablesOf('blue')).length === 1);
    await t.command('deploy default release/1.0.0');
    await waitFor('default to start', async () => (await variablesOf('default')).length === 1);
    await advanceUntil('the three deploys to end', async () => (await t.bot.lanes.list({ service: 'user-api', env: 'dev' })).every((l) => l.activeId === undefined) || undefined);
    await t.command('deploy gray release/1.0.1');
    await waitFor('gray to start again', async () => (await variablesOf('gray')).length === 2);

    expect(await variablesOf('gray')).toEqual(['1', '1']);
    expect(await variablesOf('blue')).toEqual(['2']);
    expect(await variablesOf('default')).toEqual(['0']);
  });
});
