// The canary end to end (issue 14): a real bot on the simulator, a controlled clock, Slack through the
// local stub. The simulator's traffic splits default's requests between the default target group and
// the canary's by the canary stack's weights; the canary behaves like its source lane (gray), whose
// health controls make it fail.
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { StubMessage } from '../support/slack-stub';
import { SlackStub } from '../support/slack-stub';
import type { OperationRecord } from '../../src/domain/operation';
import { blockActionsBody, postSignedRequest } from '../../src/sandbox/slack-signing';
import { APPROVE_DEPLOY_ACTION_ID } from '../../src/slack/actions/approve-deploy';
import { connectTestRedis, deletePrefix, SIGNING_SECRET, startTestBot, waitFor, type TestBot } from '../support/harness';
import { forkWorkerProcess, killWorkerProcess, workerProcessEnv } from '../support/worker-process';
import { CANARY_TEST_CONFIG } from '../support/test-config';

const CANARY_CONFIG = CANARY_TEST_CONFIG;
const FULL_RUN_MS = 400_000;
const DEV = { service: 'user-api', env: 'dev' };
const lane = (name: string) => ({ ...DEV, lane: name });
const CANARY_STACK = 'app-user-api-dev-canary';

async function deploy(t: TestBot, name: string, branch: string): Promise<void> {
  await t.command(`deploy ${name} ${branch}`);
  const root = await waitFor('the root message', () => t.stub.rootMentioning(branch));
  await waitFor('the pipeline to run', async () => (await t.bot.lanes.get(lane(name)))?.last?.status === 'running');
  t.clock.advance(FULL_RUN_MS);
  await waitFor('the success reply', () => t.stub.thread(root).find((m) => m.text.includes('now runs')));
}

async function reply(t: TestBot, text: string, user?: string): Promise<string> {
  const sent = await t.command(text, user ? { user } : undefined);
  if (sent.body) return String((JSON.parse(sent.body) as { text: string }).text);
  const answer = await waitFor(`the answer to /lane ${text}`, () => t.stub.responsesFor(sent.id)[0]);
  return String(answer.body.text);
}

/** The canary operation of lane default (the newest), once recorded. */
async function canaryOp(t: TestBot): Promise<OperationRecord | undefined> {
  const last = (await t.bot.lanes.get(lane('default')))?.last;
  // A deploy waiting behind the canary is the lane's last operation; the audit log names the canary.
  const id = last?.kind === 'canary' ? last.id : (await t.bot.audit.recent({ ...DEV, lane: 'default' }, 200)).find((e) => e.action === 'operation:canary')?.operationId;
  return id ? ((await t.bot.operations.get(id)) ?? undefined) : undefined;
}

/**
 * Moves the clock 15 s at a time (the simulator's stacks, the holds and the metrics lag all run on it)
 * until `until` holds of the canary's record, or it ends.
 */
async function drive(t: TestBot, until: (op: OperationRecord) => boolean, maxSteps = 600): Promise<OperationRecord> {
  for (let i = 0; i < maxSteps; i++) {
    const op = await canaryOp(t);
    if (op && (until(op) || ['succeeded', 'failed', 'cancelled', 'error', 'refused'].includes(op.status))) return op;
    t.clock.advance(15_000);
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  const op = await canaryOp(t);
  throw new Error(`the canary did not get there: ${op ? JSON.stringify({ status: op.status, step: op.step, error: op.error, canary: op.canary && { ...op.canary, settings: undefined, checks: op.canary.checks.length }, stages: op.stages }) : 'no canary operation'}`);
}

async function click(t: TestBot, message: StubMessage, actionId: string, user = 'U0ALICE'): Promise<void> {
  const response = await fetch(`${t.stub.url}/sandbox/actions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, channel: message.channel, ts: message.ts, actionId }),
  });
  const result = (await response.json()) as { ok: boolean; error?: string };
  expect(result).toMatchObject({ ok: true, status: 200 });
}

/**
 * A click signed like Slack's on a canary button, whether or not the message still shows it (a
 * client that has not refreshed yet); returns what the clicker is told.
 */
async function signedClick(t: TestBot, root: StubMessage, user: string, operationId: string, actionId: string, value: object = { v: 1, op: operationId }): Promise<string> {
  const id = `click-${randomUUID().slice(0, 8)}`;
  const responseUrl = t.stub.workspace.responseUrl(t.stub.workspace.registerResponseUrl({ user, channel: root.channel, messageTs: root.ts }, id));
  const body = blockActionsBody({
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase() },
    channel: { id: root.channel, name: 'user-api-dev' },
    message: { ts: root.ts, text: root.text, blocks: root.blocks },
    button: { actionId, blockId: 'canary_controls', value: JSON.stringify(value), text: { type: 'plain_text', text: actionId } },
    responseUrl,
  });
  expect((await postSignedRequest(`${t.url}/slack/events`, body, SIGNING_SECRET)).status).toBe(200);
  return (await waitFor('the answer to the click', () => t.stub.responsesFor(id)[0])).body.text as string;
}

describe('canary promotion', () => {
  let t: TestBot;

  beforeEach(async () => {
    t = await startTestBot({ config: CANARY_CONFIG });
    t.stub.setBotUrl(t.url);
    await deploy(t, 'default', 'release/1.0.0');
    await deploy(t, 'gray', 'release/2.0.0');
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  async function canaryRoot(): Promise<StubMessage> {
    return waitFor('the canary root', () => t.stub.roots('C0USERAPIDEV').find((m) => m.text.includes('canary gray → default')));
  }

  it('walks every step, promotes default to the canary\'s image and removes the canary', async () => {
    const grayImage = (await t.bot.lanes.get(lane('gray')))!.image!;
    const defaultBefore = (await t.bot.lanes.get(lane('default')))!.image!;
    expect(await reply(t, 'promote gray --canary')).toContain('takes 1 % → 5 % → 10 % → 25 % → 50 % → 100 % of default\'s traffic');
    const root = await canaryRoot();

    // Mid-way: the canary stack exists with the step's weights, and the root shows the progress.
    const mid = await drive(t, (op) => op.canary?.phase === 'hold' && op.canary.index === 2);
    expect(mid.canary?.percent).toBe(10);
    const stack = (await t.bot.simStacks!.list()).find((s) => s.stackName === CANARY_STACK)!;
    expect(stack.parameters).toMatchObject({ CanaryWeight: '10', BaselineWeight: '90', SourceLane: 'gray', ImageUri: grayImage });
    await waitFor('the root to show the progress', () => JSON.stringify(root.blocks).includes('canary at *10 %*'));
    expect(JSON.stringify(root.blocks)).toContain('canary_pause');

    const done = await drive(t, () => false);
    expect(done.status).toBe('succeeded');
    expect(done.canary).toMatchObject({ outcome: 'passed', promoted: true, removed: true, failures: 0 });
    expect(done.canary!.checks.map((c) => `${c.percent}:${c.verdict}`)).toEqual(['1:pass', '5:pass', '10:pass', '25:pass', '50:pass', '100:pass']);
    // Every check compared both target groups with traffic in the window (the baseline has none at 100 %).
    for (const check of done.canary!.checks) expect(check.canary.requests).toBeGreaterThanOrEqual(50);
    expect(done.canary!.checks[0]!.baseline.requests).toBeGreaterThan(done.canary!.checks[0]!.canary.requests);

    expect((await t.bot.lanes.get(lane('default')))!.image).toBe(grayImage);
    const stacks = await t.bot.simStacks!.list();
    expect(stacks.find((s) => s.stackName === CANARY_STACK && s.status !== 'DELETE_COMPLETE')).toBeUndefined();
    const releases = await t.bot.lanes.releases(lane('default'));
    expect(releases[0]).toMatchObject({ kind: 'canary', image: grayImage, health: 'healthy', replaced: defaultBefore });

    const thread = t.stub.thread(root);
    await waitFor('the final reply', () => thread.find((m) => m.text.includes('Canary promoted')) ?? t.stub.thread(root).find((m) => m.text.includes('Canary promoted')));
    const replies = t.stub.thread(root).map((m) => m.text);
    expect(replies.filter((text) => / passed:\* canary/.test(text))).toHaveLength(6);
    expect(replies.find((text) => text.includes('Canary promoted'))).toMatch(/now runs .* from lane \*gray\* \(6 of 6 steps passed/);
    await waitFor('the root to say promoted', () => root.text.includes('promoted'));
    expect(JSON.stringify(root.blocks)).not.toContain('canary_pause');

    const audit = await t.bot.audit.recent(DEV, 200);
    expect(audit.filter((e) => e.action === 'operation:canary' && e.outcome === 'check-pass')).toHaveLength(6);
    const metrics = async () => (await fetch(`${t.url}/metrics`)).text();
    expect(await metrics()).toContain('lanebot_canary_checks_total{verdict="pass"} 6');
    await waitFor('the operation counted', async () => (await metrics()).includes('lanebot_operations_total{kind="canary",status="succeeded"} 1'));
  });

  it('rolls back at the second failed check when the canary answers 5 % of requests with a 5xx, and says which figure broke which threshold', async () => {
    const defaultBefore = (await t.bot.lanes.get(lane('default')))!.image!;
    await t.bot.simHealth!.setHealth(lane('gray'), { errorRatePercent: 5 });
    await reply(t, 'promote gray --canary');
    const root = await canaryRoot();
    const done = await drive(t, () => false);
    expect(done.status).toBe('failed');
    expect(done.canary).toMatchObject({ outcome: 'rolled-back', failures: 2, removed: true });
    expect(done.canary!.checks.map((c) => `${c.percent}:${c.verdict}`)).toEqual(['1:fail', '1:fail']);
    expect((await t.bot.lanes.get(lane('default')))!.image).toBe(defaultBefore);

    const final = await waitFor('the final reply', () => t.stub.thread(root).find((m) => m.text.includes('Canary rolled back')));
    expect(final.text).toMatch(/canary 5xx rate 5 % &gt; 1 % \(\d+ of \d+ requests\) at the 1 % step \(failed check 2 of 2\)/);
    expect(t.stub.thread(root).find((m) => m.text.includes('failed (1 of 2), holding the step'))).toBeDefined();
    expect(t.stub.thread(root).find((m) => m.text.includes('Rolling the canary back'))).toBeDefined();
    const stacks = await t.bot.simStacks!.list();
    expect(stacks.find((s) => s.stackName === CANARY_STACK && s.status !== 'DELETE_COMPLETE')).toBeUndefined();
    const audit = await t.bot.audit.recent(DEV, 200);
    expect(audit.find((e) => e.action === 'operation:canary' && e.outcome === 'rolled-back')?.detail).toContain('canary 5xx rate 5 %');
  });

  it('waits at the approval gate where promotes need one, and the approval names the canary', async () => {
    // The same account and lanes (deployed before the gate was configured), a bot with the gate.
    const { prefix, clock } = t;
    await t.stop();
    t = await startTestBot({ prefix, clock, config: CANARY_CONFIG.replace('  dev:\n', '  dev:\n    approvers: [U0APPROVER1]\n    approval: { approvalTimeout: 30m }\n') });
    t.stub.setBotUrl(t.url);
    await reply(t, 'promote gray --canary');
    const root = await canaryRoot();
    await waitFor('the approval request', () => root.text.includes('awaiting approval'));
    const op = (await canaryOp(t))!;
    expect(op.status).toBe('awaiting_approval');
    expect(await signedClick(t, root, 'U0APPROVER1', op.id, APPROVE_DEPLOY_ACTION_ID, { v: 1, operationId: op.id })).toBe(
      ":white_check_mark: Approved: the canary of lane *gray*'s release to lane *default* of user-api/dev starts now.",
    );
    const done = await drive(t, () => false);
    expect(done.status).toBe('succeeded');
  });

  it('rolls back a canary whose p99 is too slow', async () => {
    await t.bot.simHealth!.setHealth(lane('gray'), { p99Ms: 900 });
    await reply(t, 'promote gray --canary');
    const root = await canaryRoot();
    const done = await drive(t, () => false);
    expect(done.status).toBe('failed');
    const final = await waitFor('the final reply', () => t.stub.thread(root).find((m) => m.text.includes('Canary rolled back')));
    expect(final.text).toMatch(/canary p99 (8[89]\d|9[01]\d) ms &gt; 500 ms at the 1 % step/);
  });
});

describe('a canary with too little traffic, and its buttons', () => {
  let t: TestBot;
  // Far more requests than the simulator sends at 1 %: every check is inconclusive.
  const config = CANARY_CONFIG.replace('canary: { interval: 1m, minRequests: 50 }', 'canary: { interval: 1m, minRequests: 100000 }').replace('  dev:\n', '  dev:\n    deployers: [U0ALICE, U0BOB]\n');

  beforeEach(async () => {
    t = await startTestBot({ config });
    t.stub.setBotUrl(t.url);
    await deploy(t, 'default', 'release/1.0.0');
    await deploy(t, 'gray', 'release/2.0.0');
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  it('holds the step while the checks are inconclusive; Pause, Resume, and Abort with the access policy', async () => {
    await reply(t, 'promote gray --canary');
    const root = await waitFor('the canary root', () => t.stub.roots('C0USERAPIDEV').find((m) => m.text.includes('canary gray → default')));
    const held = await drive(t, (op) => (op.canary?.checks.length ?? 0) >= 3);
    expect(held.canary!.checks.every((c) => c.verdict === 'inconclusive' && c.percent === 1)).toBe(true);
    expect(held.canary!.index).toBe(0);
    expect(t.stub.thread(root).find((m) => m.text.includes('inconclusive, holding the step') && m.text.includes('too few canary requests to judge'))).toBeDefined();

    // Someone who may not deploy to dev (not a deployer there) may not pause it either.
    await waitFor('the buttons', () => JSON.stringify(root.blocks).includes('canary_pause'));
    expect(await signedClick(t, root, 'U0APPROVER1', held.id, 'canary_pause')).toContain(':no_entry:');
    expect((await canaryOp(t))!.canaryPause).toBeUndefined();

    await click(t, root, 'canary_pause', 'U0BOB');
    await waitFor('the pause in the thread', () => t.stub.thread(root).find((m) => m.text.includes('paused the canary at 1 %')));
    const checksWhenPaused = (await canaryOp(t))!.canary!.checks.length;
    for (let i = 0; i < 20; i++) {
      t.clock.advance(15_000);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    expect((await canaryOp(t))!.canary!.checks.length).toBe(checksWhenPaused);
    await waitFor('the Resume button', () => JSON.stringify(root.blocks).includes('canary_resume'));

    await click(t, root, 'canary_resume', 'U0ALICE');
    await drive(t, (op) => (op.canary?.checks.length ?? 0) > checksWhenPaused);
    expect(t.stub.thread(root).find((m) => m.text.includes('resumed the canary'))).toBeDefined();

    // The canary holds lane default: a deploy to it waits behind it, and its thread says so.
    await t.command('deploy default release/1.1.0');
    const deployRoot = await waitFor('the deploy root', () => t.stub.rootMentioning('release/1.1.0'));
    await waitFor('the deploy to wait', () => t.stub.thread(deployRoot).find((m) => m.text.includes('is busy') && m.text.includes('queued behind')));

    await waitFor('the Abort button', () => JSON.stringify(root.blocks).includes('canary_abort'));
    await click(t, root, 'canary_abort', 'U0ALICE');
    const done = await drive(t, () => false);
    expect(done.status).toBe('cancelled');
    expect(done.canary).toMatchObject({ outcome: 'aborted', outcomeBy: 'U0ALICE', removed: true });
    const final = await waitFor('the final reply', () => t.stub.thread(root).find((m) => m.text.includes('Canary aborted')));
    expect(final.text).toContain('<@U0ALICE> aborted the canary at 1 %');
    // The buttons are gone; a click from a message not yet refreshed changes nothing and says why.
    await waitFor('the buttons to go', () => !JSON.stringify(root.blocks).includes('canary_pause'));
    expect(await signedClick(t, root, 'U0ALICE', done.id, 'canary_pause')).toContain('This canary is not running (it is cancelled)');
    expect((await canaryOp(t))!.canaryPause).toEqual(expect.objectContaining({ paused: false }));
    // The waiting deploy starts once the canary freed the lane.
    await waitFor('the deploy to start', async () => (await t.bot.lanes.get(lane('default')))?.last?.kind === 'deploy');
  });

  it('Promote now puts the image on default without the remaining steps', async () => {
    const grayImage = (await t.bot.lanes.get(lane('gray')))!.image!;
    await reply(t, 'promote gray --canary');
    const root = await waitFor('the canary root', () => t.stub.roots('C0USERAPIDEV').find((m) => m.text.includes('canary gray → default')));
    await drive(t, (op) => (op.canary?.checks.length ?? 0) >= 1);
    await waitFor('the buttons', () => JSON.stringify(root.blocks).includes('canary_promote_now'));
    await click(t, root, 'canary_promote_now', 'U0BOB');
    const done = await drive(t, () => false);
    expect(done.status).toBe('succeeded');
    expect(done.canary).toMatchObject({ outcome: 'promoted-now', outcomeBy: 'U0BOB', promoted: true, removed: true });
    expect((await t.bot.lanes.get(lane('default')))!.image).toBe(grayImage);
    const final = await waitFor('the final reply', () => t.stub.thread(root).find((m) => m.text.includes('Canary promoted')));
    expect(final.text).toContain('<@U0BOB> promoted it at 1 % without waiting for the remaining steps; 0 of 6 steps passed');
  });
});

describe('a canary across a bot restart', () => {
  const prefix = `test-${randomUUID()}`;
  let stub: SlackStub;
  let first: TestBot | undefined;
  let second: TestBot | undefined;

  beforeAll(async () => {
    stub = await new SlackStub().start();
  });

  afterEach(async () => {
    await first?.stop();
    await second?.stop();
    first = undefined;
    second = undefined;
  });

  afterAll(async () => {
    await stub.stop();
    await deletePrefix(prefix);
  });

  it('resumes at the step it was in when the bot comes back, and rolls back one abandoned past abandonAfter', async () => {
    first = await startTestBot({ stub, prefix, config: CANARY_CONFIG });
    const clock = first.clock;
    await deploy(first, 'default', 'release/1.0.0');
    await deploy(first, 'gray', 'release/2.0.0');
    await reply(first, 'promote gray --canary');
    const at = await drive(first, (op) => op.canary?.phase === 'hold' && op.canary.index === 1);
    await first.stop();
    first = undefined;

    second = await startTestBot({ stub, prefix, clock, config: CANARY_CONFIG });
    const resumed = await drive(second, (op) => (op.canary?.index ?? 0) >= 2);
    // It went on from 5 %: the stack was not created again, no step was checked twice.
    expect(resumed.canary!.checks.map((c) => c.percent)).toEqual([1, 5]);
    expect(resumed.id).toBe(at.id);
    await second.stop();
    second = undefined;

    // Down for longer than abandonAfter (30 min): the canary is rolled back when lanebot is back.
    clock.advance(45 * 60_000);
    second = await startTestBot({ stub, prefix, clock, config: CANARY_CONFIG });
    const done = await drive(second, () => false);
    expect(done.status).toBe('failed');
    expect(done.canary!.reason).toMatch(/lanebot did not watch the canary for 4\dm/);
    expect(done.canary).toMatchObject({ removed: true, outcome: 'rolled-back' });
  });
});

describe('a worker killed mid-canary', () => {
  const prefix = `test-${randomUUID()}`;
  let stub: SlackStub;
  let web: TestBot | undefined;
  let rescuer: TestBot | undefined;
  let child: ChildProcess | undefined;
  const redis = connectTestRedis();

  beforeAll(async () => {
    stub = await new SlackStub().start();
  });

  afterAll(async () => {
    child?.kill('SIGKILL');
    await web?.stop();
    await rescuer?.stop();
    await stub.stop();
    await deletePrefix(prefix);
    redis.disconnect();
  });

  it('is picked up by another worker at the step it was in: every step checked once, one thread, promoted', async () => {
    // Real time, 100 times faster in the simulator: a 1-minute step holds 0.6 s; abandonAfter (30 min) is 18 s.
    child = await forkWorkerProcess('crashing-canary-worker.ts', workerProcessEnv({ slackApiUrl: stub.apiUrl, prefix, simTimeScale: 100 }));

    // The receiver alone: it queues, the child process works.
    web = await startTestBot({ stub, prefix, config: CANARY_CONFIG, env: { LANEBOT_ROLE: 'web' } });
    for (const [name, branch] of [['default', 'release/1.0.0'], ['gray', 'release/2.0.0']] as const) {
      await web.command(`deploy ${name} ${branch}`);
      const root = await waitFor('the root message', () => stub.rootMentioning(branch));
      await waitFor('the deploy to finish', () => stub.thread(root).find((m) => m.text.includes('now runs')), 30_000);
    }
    await web.command('promote gray --canary');
    await waitFor('the child to hang in the 5 % check', () => redis.get(`${prefix}:test:hung`), 30_000);
    await killWorkerProcess(child);

    // A second worker process takes over once the dead worker's job lock expires.
    rescuer = await startTestBot({
      stub,
      prefix,
      config: CANARY_CONFIG,
      env: { LANEBOT_ROLE: 'worker', SIM_TIME_SCALE: '100' },
      overrides: { workerOptions: { lockDuration: 2000, stalledInterval: 1000 }, clock: { now: () => Date.now() } },
    });
    const root = await waitFor('the canary root', () => stub.roots('C0USERAPIDEV').find((m) => m.text.includes('canary gray → default')));
    await waitFor('the canary to be promoted', () => stub.thread(root).find((m) => m.text.includes('Canary promoted')), 60_000);
    const op = (await rescuer.bot.lanes.get(lane('default')))!.last!;
    const record = (await rescuer.bot.operations.get(op.id))!;
    expect(record.status).toBe('succeeded');
    expect(record.canary!.checks.map((c) => `${c.percent}:${c.verdict}`)).toEqual(['1:pass', '5:pass', '10:pass', '25:pass', '50:pass', '100:pass']);
    for (const percent of [1, 5, 10, 25, 50, 100]) {
      expect(stub.thread(root).filter((m) => m.text.includes(`*${percent} % passed:*`))).toHaveLength(1);
    }
    // The canary stack is gone; there was one thread.
    const canaryStack = (await rescuer.bot.simStacks!.list()).find((s) => s.stackName === CANARY_STACK);
    expect(canaryStack === undefined || canaryStack.status === 'DELETE_COMPLETE').toBe(true);
    expect(stub.roots('C0USERAPIDEV').filter((m) => m.text.includes('canary gray → default'))).toHaveLength(1);
  }, 120_000);
});
