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
});
