// Promote and rollback end to end: a real bot on the simulator, a controlled clock, Slack through the
// local stub (commands, and the Roll back button clicked through the workspace as a person would).
import type { StubMessage } from '../support/slack-stub';
import { APPROVE_DEPLOY_ACTION_ID } from '../../src/slack/actions/approve-deploy';
import { deletePrefix, startTestBot, TEST_CONFIG, waitFor, type TestBot } from '../support/harness';

/** dev behind the approval gate (its pipeline has no manual stage: only lanebot's gate asks). */
const GATED_CONFIG = TEST_CONFIG.replace('  dev:\n', '  dev:\n    approvers: [U0APPROVER1]\n    approval: { approvalTimeout: 30m }\n');

const FULL_RUN_MS = 400_000;
const DEV = { service: 'user-api', env: 'dev' };
const lane = (name: string) => ({ ...DEV, lane: name });

describe('promote and rollback', () => {
  let t: TestBot;

  beforeEach(async () => {
    t = await startTestBot();
    // Clicks go through the workspace, which signs them for the bot as Slack does.
    t.stub.setBotUrl(t.url);
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  async function deploy(name: string, branch: string) {
    await t.command(`deploy ${name} ${branch}`);
    const root = await waitFor('the root message', () => t.stub.rootMentioning(branch));
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get(lane(name)))?.last?.status === 'running');
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the success reply', () => t.stub.thread(root).find((m) => m.text.includes('now runs')));
  }

  /** The answer to a command: in the ack itself, or through its response_url. */
  async function reply(text: string): Promise<string> {
    const sent = await t.command(text);
    if (sent.body) return String((JSON.parse(sent.body) as { text: string }).text);
    const answer = await waitFor(`the answer to /lane ${text}`, () => t.stub.responsesFor(sent.id)[0]);
    return String(answer.body.text);
  }

  /**
   * Runs an operation of the target lane to its end: its stack update takes a simulated minute, and
   * starts only once the image check passed, so the clock moves a little at a time until it is done.
   */
  async function finish(name: string, kind: string) {
    for (let i = 0; i < 200; i++) {
      const last = (await t.bot.lanes.get(lane(name)))?.last;
      if (last?.kind === kind && last.status === 'succeeded') return last;
      if (last?.kind === kind && last.status !== 'queued' && last.status !== 'starting' && last.status !== 'running') {
        throw new Error(`the ${kind} ended ${last.status}: ${last.error ?? last.statusSummary ?? ''}`);
      }
      if (last?.kind === kind) t.clock.advance(30_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the ${kind} of lane ${name} did not end`);
  }

  /** Runs a deploy already queued to its end. */
  async function finishDeploy(name: string) {
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get(lane(name)))?.last?.status === 'running');
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the deploy to succeed', async () => (await t.bot.lanes.get(lane(name)))?.last?.status === 'succeeded');
  }

  async function click(message: StubMessage, actionId: string, user = 'U0ALICE'): Promise<void> {
    const response = await fetch(`${t.stub.url}/sandbox/actions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user, channel: message.channel, ts: message.ts, actionId }),
    });
    const result = (await response.json()) as { ok: boolean; error?: string };
    expect(result).toMatchObject({ ok: true, status: 200 });
  }

  it('promotes gray to default with its very image, then the Roll back button returns default to what it ran', async () => {
    await deploy('default', 'release/1.0.0');
    await deploy('gray', 'release/2.0.0');
    const grayImage = (await t.bot.lanes.get(lane('gray')))!.image!;
    const defaultBefore = (await t.bot.lanes.get(lane('default')))!.image!;
    expect(grayImage).not.toBe(defaultBefore);

    expect(await reply('promote gray')).toContain('Promoting lane *gray* → *default*');
    const promoted = await finish('default', 'promote');
    expect(promoted.params).toMatchObject({ image: grayImage, from: 'gray', branch: 'release/2.0.0', replaced: defaultBefore });
    expect((await t.bot.lanes.get(lane('default')))!.image).toBe(grayImage);
    // Only ImageUri changed on the stack: the rest of its parameters are what the pipeline left.
    const stack = (await t.bot.simStacks!.list()).find((s) => s.stackName === 'app-user-api-dev-default')!;
    expect(stack.parameters.ImageUri).toBe(grayImage);
    expect(stack.parameters.Lane).toBe('default');

    const root = await waitFor('the promote root', () => t.stub.roots('C0USERAPIDEV').find((m) => m.text.includes('promote gray → default')));
    const done = await waitFor('the promote reply', () => t.stub.thread(root).find((m) => m.text.includes('now runs')));
    expect(done.text).toContain('promoted from lane *gray*');
    expect(done.text).toContain('Deployed and healthy');
    expect(JSON.stringify(done.blocks)).toContain('lane_roll_back');

    // Again: default runs that image already.
    expect(await reply('promote gray')).toContain('Lane *default* already runs');

    await click(done, 'lane_roll_back');
    const rolledBack = await finish('default', 'rollback');
    expect(rolledBack.params).toMatchObject({ image: defaultBefore, from: '2' });
    expect((await t.bot.lanes.get(lane('default')))!.image).toBe(defaultBefore);

    const releases = await reply('releases default');
    expect(releases.split('\n').filter((line) => /^\d\. /.test(line))).toHaveLength(3);
    expect(releases).toMatch(/1\. .*rollback by <@U0ALICE>/);
    expect(releases).toMatch(/2\. .*promote by <@U0ALICE>/);
  });

  it('promotes to an environment behind the approval gate only once an approver approves', async () => {
    await t.stop();
    t = await startTestBot({ config: GATED_CONFIG });
    t.stub.setBotUrl(t.url);
    expect(GATED_CONFIG).toContain('approval: { approvalTimeout: 30m }');
    const approve = async (needle: string) => {
      const root = await waitFor('the root', () => t.stub.roots('C0USERAPIDEV').find((m) => m.text.includes(needle)));
      await waitFor('the approval buttons', () => (JSON.stringify(root.blocks).includes(APPROVE_DEPLOY_ACTION_ID) ? true : undefined));
      await click(root, APPROVE_DEPLOY_ACTION_ID, 'U0APPROVER1');
      return root;
    };
    for (const [name, branch] of [['default', 'release/1.0.0'], ['gray', 'release/2.0.0']] as const) {
      await t.command(`deploy ${name} ${branch}`);
      await approve(`lane ${name} ← ${branch}`);
      await finishDeploy(name);
    }
    const before = (await t.bot.lanes.get(lane('default')))!.image;
    await reply('promote gray');
    await waitFor('the promote to wait for approval', async () => (await t.bot.approvalsPending(DEV)).find((op) => op.kind === 'promote' && op.status === 'awaiting_approval'));
    expect((await t.bot.lanes.get(lane('default')))!.image).toBe(before);
    await approve('promote gray → default');
    await finish('default', 'promote');
    expect((await t.bot.lanes.get(lane('default')))!.image).toBe((await t.bot.lanes.get(lane('gray')))!.image);
  });

  it('rolls back to the n-th release, and refuses what cannot be done with the reason', async () => {
    await deploy('gray', 'release/1.0.0');
    expect(await reply('rollback gray')).toContain('no earlier release that ran another image');
    await deploy('gray', 'release/2.0.0');
    await deploy('gray', 'release/3.0.0');
    const first = (await t.bot.lanes.releases(lane('gray')))[2]!.image!;
    expect(await reply('rollback gray 1')).toContain('already runs');
    expect(await reply('rollback gray 9')).toContain('there is no release 9: the lane has 3');
    expect(await reply('rollback gray 3')).toContain('Rolling lane *gray* back to release 3');
    await finish('gray', 'rollback');
    expect((await t.bot.lanes.get(lane('gray')))!.image).toBe(first);

    expect(await reply('promote gray')).toContain('Lane *default* of user-api/dev has never been deployed');
    expect(await reply('promote blue --to gray')).toContain('Lane *blue* of user-api/dev does not exist');
  });

  it('refuses a promote whose image is gone from the registry, in the thread, changing nothing', async () => {
    await deploy('default', 'release/1.0.0');
    await deploy('gray', 'release/2.0.0');
    const image = (await t.bot.lanes.get(lane('gray')))!.image!;
    const before = (await t.bot.lanes.get(lane('default')))!.image;
    await t.bot.simImages!.deleteImage(image);
    await reply('promote gray');
    await waitFor('the promote to be refused', async () => (await t.bot.lanes.get(lane('default')))?.last?.status === 'refused');
    const root = await waitFor('the promote root', () => t.stub.roots('C0USERAPIDEV').find((m) => m.text.includes('promote gray → default')));
    const refusal = await waitFor('the refusal', () => t.stub.thread(root).find((m) => m.text.includes('no longer exists')));
    expect(refusal.text).toContain('Nothing was changed');
    expect((await t.bot.lanes.get(lane('default')))!.image).toBe(before);
  });

  it('offers Roll back under a deploy that ended unhealthy, and the click returns the lane to its previous release', async () => {
    await deploy('gray', 'release/1.0.0');
    const healthyImage = (await t.bot.lanes.get(lane('gray')))!.image!;
    await t.bot.simHealth!.setHealth(lane('gray'), { unhealthyTargets: 1 });
    await t.command('deploy gray release/2.0.0');
    const root = await waitFor('the root message', () => t.stub.rootMentioning('release/2.0.0'));
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get(lane('gray')))?.last?.status === 'running');
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the health check', async () => ((await t.bot.lanes.get(lane('gray')))?.last?.progress as { phase?: string } | undefined)?.phase !== undefined);
    t.clock.advance(11 * 60_000); // past the check's 10-minute deadline
    const done = await waitFor('the unhealthy verdict', () => t.stub.thread(root).find((m) => m.text.includes('Deployed, but not healthy')));
    expect(JSON.stringify(done.blocks)).toContain('lane_roll_back');
    await t.bot.simHealth!.setHealth(lane('gray'), { unhealthyTargets: 0 });
    await click(done, 'lane_roll_back');
    await finish('gray', 'rollback');
    expect((await t.bot.lanes.get(lane('gray')))!.image).toBe(healthyImage);
  });

  it('refuses to promote a release that was not healthy', async () => {
    await deploy('default', 'release/1.0.0');
    await t.bot.simHealth!.failNextDeployment(lane('gray'));
    await t.command('deploy gray release/2.0.0');
    const root = await waitFor('the root message', () => t.stub.rootMentioning('release/2.0.0'));
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get(lane('gray')))?.last?.status === 'running');
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the verdict', () => t.stub.thread(root).find((m) => m.text.includes('did not roll it out')));
    // The rolled-back deploy recorded no release: gray has none to promote.
    expect(await reply('promote gray')).toContain('Lane *gray* has no release with a recorded image');
  });
});
