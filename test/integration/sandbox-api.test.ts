// The sandbox driven through its console API alone, as a script would: `src/sandbox/main.ts` runs
// as its own process (the real bot with CLOUD=sim, and the console standing in for Slack), and this
// test only speaks HTTP to the console — commands in, messages out, simulator controls.
import { waitFor } from '../support/harness';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox-process';

interface ConsoleMessage {
  ts: string;
  thread_ts?: string;
  /** A thread reply also shown in the channel. */
  broadcast?: boolean;
  user: string;
  text: string;
  blocks?: unknown[];
}

const CHANNEL = 'C0USERAPIDEV';

describe('the sandbox through its console API', () => {
  let sandbox: SandboxProcess | undefined;
  let consoleUrl: string;

  beforeAll(async () => {
    sandbox = await startSandboxProcess();
    consoleUrl = sandbox.consoleUrl;
  }, 120_000);

  afterAll(async () => {
    await sandbox?.stop();
  });

  async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${consoleUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async function messages(channel = CHANNEL): Promise<ConsoleMessage[]> {
    return (await (await fetch(`${consoleUrl}/sandbox/messages?channel=${channel}`)).json()) as ConsoleMessage[];
  }

  /** The reply containing `needle` in the thread of the root containing `rootNeedle`. */
  async function reply(rootNeedle: string, needle: string, timeoutMs = 60_000): Promise<ConsoleMessage> {
    return waitFor(
      `"${needle}" in the thread of "${rootNeedle}"`,
      async () => {
        const all = await messages();
        const root = all.find((m) => !m.thread_ts && m.text.includes(rootNeedle));
        return root && all.find((m) => m.thread_ts === root.ts && m.ts !== root.ts && m.text.includes(needle));
      },
      timeoutMs,
    );
  }

  it('deploys lane gray and reads its successful thread', async () => {
    const sent = await post('/sandbox/commands', { user: 'U0ALICE', channel: CHANNEL, text: 'deploy gray release/1.2.3' });
    expect(sent.status).toBe(200);
    const done = await reply('lane gray ← release/1.2.3', 'now runs');
    expect(done.text).toContain('Lane *gray* of user-api/dev now runs `release/1.2.3`');
    // The health check's verdict (at SIM_TIME_SCALE=300 the 5-minute soak takes a second).
    expect(done.text).toContain('*Deployed and healthy:* 1/1 targets healthy, ECS deployment complete');
  });

  // While gray runs release/1.2.3, healthy (the alarm test below sets its 5xx rate back to 0 after).
  it('promotes gray to default with its image, rolls default back with the Roll back button, and lists the three releases', async () => {
    // The image a stack runs, as its digest: a pipeline names it by tag, a promote or rollback by the
    // digest its release recorded (the simulated registry maps one to the other).
    const imageOf = async (stackName: string) => {
      const state = (await (await fetch(`${consoleUrl}/sandbox/sim/state`)).json()) as {
        stacks: { name: string; parameters?: Record<string, string> }[];
        images: { repositoryUri: string; digest: string; tags: string[] }[];
      };
      const uri = state.stacks.find((s) => s.name === stackName)?.parameters?.ImageUri;
      if (!uri || uri.includes('@sha256:')) return uri?.slice(uri.indexOf('@') + 1);
      const tag = uri.slice(uri.lastIndexOf(':') + 1);
      return state.images.find((image) => uri.startsWith(image.repositoryUri) && image.tags.includes(tag))?.digest;
    };
    await post('/sandbox/commands', { user: 'U0ALICE', channel: CHANNEL, text: 'deploy default release/1.0.0' });
    await reply('lane default ← release/1.0.0', 'now runs');
    const grayImage = await imageOf('app-user-api-dev-gray');
    const defaultBefore = await imageOf('app-user-api-dev-default');
    expect(grayImage).toBeDefined();
    expect(defaultBefore).toBeDefined();
    expect(grayImage).not.toBe(defaultBefore);

    await post('/sandbox/commands', { user: 'U0ALICE', channel: CHANNEL, text: 'promote gray' });
    const promoted = await reply('promote gray → default', 'now runs');
    expect(promoted.text).toContain('promoted from lane *gray*');
    expect(promoted.text).toContain('Deployed and healthy');
    expect(await imageOf('app-user-api-dev-default')).toBe(grayImage);

    // The click as Slack sends it once its confirm dialog is accepted.
    const clicked = await post('/sandbox/actions', { user: 'U0ALICE', channel: CHANNEL, ts: promoted.ts, actionId: 'lane_roll_back' });
    expect(clicked.status).toBe(200);
    expect(clicked.body).toMatchObject({ ok: true });
    const rolledBack = await reply('roll back default to release 2', 'now runs');
    expect(rolledBack.text).toContain('rolled back to release 2');
    expect(await imageOf('app-user-api-dev-default')).toBe(defaultBefore);

    // The answer is ephemeral: only alice sees it.
    const answers = async () =>
      ((await (await fetch(`${consoleUrl}/sandbox/messages?channel=${CHANNEL}&user=U0ALICE`)).json()) as ConsoleMessage[]).filter((m) => m.text.includes('Releases of lane default'));
    const before = (await answers()).length;
    await post('/sandbox/commands', { user: 'U0ALICE', channel: CHANNEL, text: 'releases default' });
    const releases = await waitFor('the /lane releases answer', async () => ((await answers()).length > before ? (await answers()).at(-1) : undefined), 30_000);
    const lines = releases.text.split('\n').filter((line) => /^\d+\. /.test(line));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/rollback by <@U0ALICE>/);
    expect(lines[1]).toMatch(/promote by <@U0ALICE>/);
    expect(lines[2]).toMatch(/deploy by <@U0ALICE>/);
  }, 150_000);

  it('posts gray\'s 5xx alarm into its thread (also in the channel) when its 5xx rate is set, and the recovery when it is set back', async () => {
    expect((await post('/sandbox/sim/lane-health', { service: 'user-api', env: 'dev', lane: 'gray', errorRatePercent: 5 })).status).toBe(200);
    const fired = await reply('lane gray ← release/1.2.3', ':rotating_light:');
    expect(fired.text).toContain('5xx rate>: 5 % &gt; 1 % on lane *gray*');
    // Firing is shown in the channel too; the clear stays in the thread.
    expect(fired.broadcast).toBe(true);
    expect((await post('/sandbox/sim/lane-health', { service: 'user-api', env: 'dev', lane: 'gray', errorRatePercent: 0 })).status).toBe(200);
    const cleared = await reply('lane gray ← release/1.2.3', 'cleared after');
    expect(cleared.text).toMatch(/5xx rate> on lane \*gray\* cleared after/);
    expect(cleared.broadcast).toBeUndefined();
  }, 150_000);

  it('shows the reason of a stage made to fail', async () => {
    expect((await post('/sandbox/sim/fail-next', { pipeline: 'user-api-dev', stage: 'Build', message: 'unit tests failed: 3 of 120' })).status).toBe(200);
    await post('/sandbox/commands', { user: 'U0ALICE', channel: CHANNEL, text: 'deploy blue feature/checkout' });
    const failed = await reply('lane blue ← feature/checkout', 'Stage *Build* failed');
    expect(failed.text).toContain('unit tests failed: 3 of 120');
  });

  it('lets an admin set up the pipelines, then run infra and boot', async () => {
    await post('/sandbox/commands', { user: 'U0BOB', channel: CHANNEL, text: 'setup' });
    expect((await reply('pipeline setup', 'are set up')).text).toContain('`pipeline-user-api-dev`');
    await post('/sandbox/commands', { user: 'U0BOB', channel: CHANNEL, text: 'infra' });
    await reply('environment infrastructure', 'The infrastructure of *dev* is deployed');
    await post('/sandbox/commands', { user: 'U0BOB', channel: CHANNEL, text: 'boot' });
    await reply('service bootstrap', 'is bootstrapped');
    const state = (await (await fetch(`${consoleUrl}/sandbox/sim/state`)).json()) as { stacks: { name?: string; stackName?: string; status: string }[] };
    const names = state.stacks.map((s) => s.name ?? s.stackName);
    expect(names).toEqual(expect.arrayContaining(['pipeline-user-api-dev', 'infra-environment-dev', 'boot-user-api-dev', 'app-user-api-dev-gray']));
  });

  // Last: moving the clock 14 days expires every lane of this sandbox.
  it('warns idle gray after 6 simulated days in its thread (and the channel), renews it from the prompt\'s button, and deletes it when 8 more days pass', async () => {
    const GRAY = 'lane gray ← release/1.2.3';
    const advance = async (days: number) => expect((await post('/sandbox/sim/advance-clock', { days })).status).toBe(200);
    const grayThread = async () => {
      const all = await messages();
      const root = all.find((m) => !m.thread_ts && m.text.includes(GRAY));
      return root ? all.filter((m) => m.thread_ts === root.ts && m.ts !== root.ts) : [];
    };
    const prompts = async () => (await grayThread()).filter((m) => m.text.includes('will be deleted on'));

    await advance(6);
    const [prompt] = await waitFor('the expiry prompt in gray\'s thread', async () => ((await prompts()).length === 1 ? prompts() : undefined), 60_000);
    expect(prompt!.text).toMatch(/Lane \*gray\* of user-api\/dev has been idle for 6 days and will be deleted on <!date\^\d+\^\{date_long\} at \{time\}\|[^>]+ UTC> unless renewed\. <@U0ALICE>/);
    expect(prompt!.broadcast).toBe(true);
    const buttons = (prompt!.blocks as { type: string; elements?: { action_id?: string }[] }[]).flatMap((b) => b.elements ?? []).map((e) => e.action_id);
    expect(buttons).toEqual(['lane_renew', 'lane_renew_long', 'lane_delete_confirm']);

    expect((await post('/sandbox/actions', { user: 'U0ALICE', channel: CHANNEL, ts: prompt!.ts, actionId: 'lane_renew' })).status).toBe(200);
    const renewed = await waitFor('the prompt to say it was renewed', async () => (await grayThread()).find((m) => m.ts === prompt!.ts && m.text.includes('was renewed by <@U0ALICE> until')), 30_000);
    expect(renewed.blocks?.some((b) => (b as { type: string }).type === 'actions')).toBeFalsy();

    // Renewed for 7 days: warned again 6 days on, deleted a day after that.
    await advance(6);
    const second = await waitFor('a second prompt in gray\'s thread', async () => (await prompts()).find((m) => m.ts !== prompt!.ts), 60_000);
    expect(second.text).toContain('will be deleted on');
    await advance(1);
    await advance(1);
    await waitFor('gray\'s stack to be gone', async () => {
      const state = (await (await fetch(`${consoleUrl}/sandbox/sim/state`)).json()) as { stacks: { name: string }[] };
      return !state.stacks.some((s) => s.name === 'app-user-api-dev-gray');
    }, 90_000);
    await waitFor('the prompt to say the lane is being deleted', async () => (await grayThread()).find((m) => m.ts === second.ts && m.text.includes('was not renewed, so lanebot is deleting it')), 30_000);
    // The delete has its own root, as /lane delete's would, requested by lanebot itself.
    await waitFor('the delete\'s root to say deleted', async () => (await messages()).find((m) => !m.thread_ts && m.text === 'user-api · dev · delete lane gray, requested by lanebot (the lane expired), deleted'), 30_000);
  }, 240_000);
});
