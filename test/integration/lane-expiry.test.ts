// Lane expiry end to end: a real bot on the simulator, a controlled clock, the sweep and the digest
// driven by hand, Slack through the local stub (commands and button clicks signed into the receiver;
// clicks go through the sandbox console's POST /sandbox/actions, which only clicks buttons that the
// message has). A second bot process on the same Redis prefix, stub and clock stands for a replica.
import { DELETE_LANE_ACTION_ID } from '../../commands/delete';
import type { AuditEntry } from '../../src/audit/audit-log';
import { slackDate } from '../../src/domain/expiry';
import { RENEW_LANE_ACTION_ID, RENEW_LANE_LONG_ACTION_ID } from '../../src/slack/actions/renew-lane';
import { deletePrefix, startTestBot, waitFor, type TestBot, type TestBotOptions } from '../support/harness';
import type { StubMessage } from '../support/slack-stub';
import { TEST_CONFIG } from '../support/test-config';

const FULL_RUN_MS = 400_000;
/** Longer than the simulated delete of a lane stack. */
const DELETE_MS = 60_000;
const MIN = 60_000;
const DAY = 86_400_000;
const CHANNEL = 'C0USERAPIDEV';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const SCOPE = { service: 'user-api', env: 'dev' };
const GRAY = { ...SCOPE, lane: 'gray' };
const GRAY_STACK = 'app-user-api-dev-gray';

/** dev where only alice may deploy (and so renew). */
const ALICE_DEPLOYS = TEST_CONFIG.replace('  dev:\n', `  dev:\n    deployers: [${ALICE}]\n`);
/** dev lanes never expire. */
const DEV_NEVER = TEST_CONFIG.replace('  dev:\n', '  dev:\n    expiry: never\n');
/**
 * dev with a one-hour soak after each deploy (the deploy holds its lane that long without touching
 * it) and expiry in minutes, so a lane can be due for deletion while a deploy still runs on it.
 */
const BUSY_CONFIG = TEST_CONFIG.replace('  dev:\n    verify: { soak: 0s }', '  dev:\n    verify: { soak: 1h, deadline: 10m }\n    expiry: { warnAfter: 10m, deleteAfter: 20m }');

describe('lane expiry', () => {
  let t: TestBot;
  let bots: TestBot[] = [];

  /** Starts the bot the test talks to (the first) or another process on its Redis prefix, stub and clock. */
  async function start(options: TestBotOptions = {}): Promise<TestBot> {
    const bot = bots.length === 0 ? await startTestBot(options) : await startTestBot({ ...options, stub: t.stub, clock: t.clock, prefix: t.prefix });
    if (bots.length === 0) {
      t = bot;
      t.stub.setBotUrl(t.url);
    }
    bots.push(bot);
    return bot;
  }

  afterEach(async () => {
    // The first bot owns the stub: stop the replicas first.
    for (const bot of [...bots].reverse()) await bot.stop();
    if (bots[0]) await deletePrefix(bots[0].prefix);
    bots = [];
  });

  // ---- what a person does in Slack ---------------------------------------------------------------

  async function deploy(lane: string, branch: string, user = ALICE): Promise<StubMessage> {
    await t.command(`deploy ${lane} ${branch}`, { user });
    const root = await waitFor('the root message', () => t.stub.roots(CHANNEL).find((m) => m.text.includes(`lane ${lane} ← ${branch}`)));
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get({ ...SCOPE, lane }))?.last?.status === 'running');
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the success reply', () => t.stub.thread(root).find((m) => m.text.includes('now runs')));
    return root;
  }

  /** `/lane <text>` by `user`: its answer, from the ack or through response_url. */
  async function answer(text: string, user = ALICE): Promise<string> {
    const sent = await t.command(text, { user });
    expect(sent.status).toBe(200);
    if (sent.body) {
      const ack = JSON.parse(sent.body) as { text?: string };
      if (ack.text) return ack.text;
    }
    return (await waitFor(`the answer to /lane ${text}`, () => t.stub.responsesFor(sent.id)[0])).body.text ?? '';
  }

  /** `user` clicks the button `actionId` of `message` (Slack shows a confirm dialog first; they confirm). Its response_url id. */
  async function click(message: StubMessage, actionId: string, user: string): Promise<string> {
    const response = await fetch(`${t.stub.url}/sandbox/actions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user, channel: message.channel, ts: message.ts, actionId }),
    });
    const result = (await response.json()) as { ok: boolean; status: number; ack: unknown; responseUrl: string };
    expect(result).toMatchObject({ ok: true, status: 200, ack: null });
    return result.responseUrl.split('/').pop()!;
  }

  // ---- what the bot did ------------------------------------------------------------------------

  /** Runs the sweep (of `bot`), then waits for the work it queued to be done. */
  async function sweep(bot: TestBot = t) {
    const result = await bot.bot.expiry.sweep();
    await expiryWorkDone();
    return result;
  }

  async function expiryWorkDone(): Promise<void> {
    await waitFor('the expiry work to be done', async () => {
      const counts = await t.bot.queues.expiry.getJobCounts('waiting', 'active');
      return (counts.waiting ?? 0) + (counts.active ?? 0) === 0;
    });
  }

  /** Every thread reply and root edit is out (the narrator's outboxes are empty). */
  async function threadsSettled(): Promise<void> {
    await waitFor('every thread to settle', async () => (await t.bot.redis.zcard(t.bot.keys.narratePending)) === 0);
  }

  function prompts(root: StubMessage): StubMessage[] {
    return t.stub.thread(root).filter((m) => m.text.includes('has been idle for'));
  }

  function buttonIds(message: StubMessage): string[] {
    const blocks = (message.blocks ?? []) as { type: string; elements?: { action_id?: string }[] }[];
    return blocks.flatMap((b) => (b.type === 'actions' ? (b.elements ?? []).map((e) => e.action_id ?? '') : []));
  }

  async function audit(lane = 'gray'): Promise<AuditEntry[]> {
    return t.bot.audit.recent({ ...SCOPE, lane }, 500);
  }

  async function auditActions(lane = 'gray'): Promise<string[]> {
    return (await audit(lane)).map((e) => e.action);
  }

  /** Ids of every operation request ever queued (BullMQ's event stream keeps their "added" events). */
  async function queuedRequests(): Promise<string[]> {
    const entries = await t.bot.redis.xrange(t.bot.queues.operations.keys.events!, '-', '+');
    return entries.flatMap(([, fields]) => {
      const event: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) event[fields[i]!] = fields[i + 1]!;
      return event.event === 'added' && event.name === 'request' ? [event.jobId!] : [];
    });
  }

  function deleteRoots(): StubMessage[] {
    return t.stub.roots(CHANNEL).filter((m) => m.text.includes('delete lane'));
  }

  /** Moves the clock to `at` (never back). */
  function advanceTo(at: number): void {
    expect(at).toBeGreaterThanOrEqual(t.clock.now());
    t.clock.advance(at - t.clock.now());
  }

  /** Moves simulated time on until `check` holds (the simulator advances only when the clock does). */
  async function advanceUntil<T>(what: string, check: () => T | undefined | Promise<T | undefined>, stepMs = DELETE_MS): Promise<T> {
    return waitFor(what, async () => {
      const value = await check();
      if (!value) t.clock.advance(stepMs);
      return value;
    });
  }

  // ---- warn, renew, delete -----------------------------------------------------------------------

  it('warns once after 6 idle days in the home thread, renews by command, and deletes on day 7 when not renewed', async () => {
    await start();
    const root = await deploy('gray', 'release/1.2.3');
    expect(await answer('list')).toContain(`• *gray* — runs \`release/1.2.3\``);
    const base = (await t.bot.lanes.expiryBase(GRAY))!;
    expect(await answer('list')).toContain(`expires ${slackDate(base + 7 * DAY)}`);

    t.clock.advance(6 * DAY);
    expect(await sweep()).toMatchObject({ warn: 1, expire: 0 });
    await sweep();
    const prompt = await waitFor('the prompt', () => t.stub.thread(root).find((m) => m.text.includes('has been idle for 6 days')));
    expect(prompt.text).toContain(`will be deleted on ${slackDate(base + 7 * DAY)} unless renewed. <@${ALICE}>`);
    expect(prompt.broadcast).toBe(true);
    expect(buttonIds(prompt)).toEqual([RENEW_LANE_ACTION_ID, RENEW_LANE_LONG_ACTION_ID, DELETE_LANE_ACTION_ID]);
    await threadsSettled();
    expect(prompts(root)).toHaveLength(1);
    // /lane list and /lane status say it is pending deletion.
    expect(await answer('list')).toContain(`:hourglass: pending deletion on ${slackDate(base + 7 * DAY)} unless renewed`);
    expect(await answer('status gray')).toContain(`:hourglass: pending deletion on ${slackDate(base + 7 * DAY)}`);

    const renewReply = await answer('renew gray 14d');
    const renewedAt = t.clock.now();
    expect(renewReply).toContain(`renewed by <@${ALICE}> until ${slackDate(renewedAt + 14 * DAY)}; it is no longer pending deletion`);
    await waitFor('the prompt to say renewed', () => prompt.text.includes(`was renewed by <@${ALICE}>`));
    expect(buttonIds(prompt)).toEqual([]);
    expect(await answer('list')).toContain(`expires ${slackDate(renewedAt + 14 * DAY)}`);

    // 14 days from the renewal: warned again on day 13, deleted on day 14.
    t.clock.advance(13 * DAY + 60_000);
    expect(await sweep()).toMatchObject({ warn: 1 });
    // The first prompt still says it was renewed; a second one comes for the new idle spell.
    const second = await waitFor('the second prompt', () => t.stub.thread(root).find((m) => m.text.includes('has been idle for 13 days')));
    expect(prompt.text).toContain('was renewed by');
    t.clock.advance(DAY);
    expect(await sweep()).toMatchObject({ expire: 1 });
    const deleteRoot = await waitFor('the delete root', () => t.stub.roots(CHANNEL).find((m) => m.text.includes('delete lane gray')));
    expect(deleteRoot.text).toContain('lanebot (the lane expired)');
    await waitFor('the delete to run', async () => (await t.bot.lanes.get(GRAY))?.last?.status === 'running');
    // The prompt says so, and its buttons are gone.
    await waitFor('the prompt to say so', () => second.text.includes('was not renewed, so lanebot is deleting it'));
    expect(buttonIds(second)).toEqual([]);
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the lane to be gone', async () => (await t.bot.lanes.get(GRAY)) === undefined);
    await waitFor('the delete thread to say so', () => t.stub.thread(deleteRoot).find((m) => m.text.includes('Lane *gray* of user-api/dev is deleted')));
    expect((await t.bot.simStacks!.list()).find((stack) => stack.stackName === GRAY_STACK)).toBeUndefined();
    // Deleted once: sweeping again finds nothing.
    expect(await sweep()).toMatchObject({ warn: 0, expire: 0 });
    expect(deleteRoots()).toHaveLength(1);

    // Everything audited, and /lane history shows it.
    const actions = await auditActions();
    expect(actions.filter((a) => a === 'expiry:warned')).toHaveLength(2);
    expect(actions.filter((a) => a === 'expiry:renewed')).toHaveLength(1);
    expect(actions.filter((a) => a === 'expiry:expired')).toHaveLength(1);
    const renewed = (await audit()).find((e) => e.action === 'expiry:renewed')!;
    expect(renewed).toMatchObject({ actor: ALICE, outcome: 'renewed' });
    const expired = (await audit()).find((e) => e.action === 'expiry:expired')!;
    expect(expired).toMatchObject({ actor: 'lanebot', outcome: 'expired', operationId: expect.stringMatching(/^exp-/) });
    const history = await answer('history gray');
    expect(history).toContain('lanebot warned · lane gray → *warned*');
    expect(history).toContain(`<@${ALICE}> renewed · lane gray → *renewed*`);
    expect(history).toContain('lanebot expired · lane gray → *expired*');
  }, 60_000);

  it('a lane warned late is still deleted on day 7 by its clock: the finished warning does not hold the delete back', async () => {
    await start();
    const root = await deploy('gray', 'release/1.2.3');
    const base = (await t.bot.lanes.expiryBase(GRAY))!;
    // The sweep comes an hour after the warning was due (the bot was down, or the clock jumped).
    advanceTo(base + 6 * DAY + 3_600_000);
    expect(await sweep()).toMatchObject({ warn: 1 });
    const prompt = await waitFor('the prompt', () => prompts(root)[0]);
    const deleteAt = base + 7 * DAY;
    expect(prompt.text).toContain(`will be deleted on ${slackDate(deleteAt)} unless renewed`);

    // A minute before day 7: nothing yet.
    advanceTo(deleteAt - MIN);
    expect(await sweep()).toMatchObject({ expire: 0 });
    expect(deleteRoots()).toEqual([]);

    // Day 7: the next sweep deletes it, although its warning job finished hours ago.
    advanceTo(deleteAt + MIN);
    expect(await sweep()).toMatchObject({ expire: 1 });
    await waitFor('the delete root', () => deleteRoots()[0]);
    await waitFor('the prompt to say so', () => prompt.text.includes('was not renewed, so lanebot is deleting it'));
    await advanceUntil('the lane to be gone', async () => (await t.bot.lanes.get(GRAY)) === undefined);
  }, 30_000);

  it('warns once with two bot processes sweeping again and again', async () => {
    await start();
    const replica = await start();
    const root = await deploy('gray', 'release/1.2.3');
    t.clock.advance(6 * DAY);

    const results = await Promise.all([t.bot.expiry.sweep(), replica.bot.expiry.sweep(), t.bot.expiry.sweep(), replica.bot.expiry.sweep()]);
    expect(results.map((r) => r.warn)).toEqual([1, 1, 1, 1]);
    await expiryWorkDone();
    await sweep(replica);
    await sweep(t);
    await waitFor('the prompt', () => prompts(root)[0]);
    await threadsSettled();

    expect(prompts(root)).toHaveLength(1);
    expect(t.stub.calls.filter((c) => c.method === 'chat.postMessage' && String(c.body.text ?? '').includes('has been idle'))).toHaveLength(1);
    expect((await auditActions()).filter((a) => a === 'expiry:warned')).toHaveLength(1);
  }, 30_000);

  it('renews by button: the prompt says who renewed until when, in place; someone who may not deploy is refused and nothing changes', async () => {
    await start({ config: ALICE_DEPLOYS });
    const root = await deploy('gray', 'release/1.2.3');
    t.clock.advance(6 * DAY);
    await sweep();
    const prompt = await waitFor('the prompt', () => prompts(root)[0]);
    await threadsSettled();

    // Bob may not deploy to user-api/dev, so he may not renew.
    const refusedId = await click(prompt, RENEW_LANE_ACTION_ID, BOB);
    const refusal = await waitFor('the refusal', () => t.stub.responsesFor(refusedId)[0]);
    expect(refusal.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(refusal.body.text).toContain(':no_entry:');
    expect(refusal.body.text).toContain(`may deploy to user-api/dev`);
    expect(prompt.text).toContain('has been idle for 6 days');
    expect(prompt.edits).toBe(0);
    expect(await t.bot.lanes.get(GRAY)).toMatchObject({ deleteAt: expect.any(Number) });
    expect((await t.bot.lanes.get(GRAY))?.renewedBy).toBeUndefined();
    expect(await audit()).toContainEqual(expect.objectContaining({ actor: BOB, action: 'click:renew_lane', outcome: 'refused' }));
    expect(await auditActions()).not.toContain('expiry:renewed');

    // Alice may: the prompt (the same message) says so, and its buttons are gone.
    const clickedAt = t.clock.now();
    const acceptedId = await click(prompt, RENEW_LANE_ACTION_ID, ALICE);
    await waitFor('the click to be answered', () => t.stub.responsesFor(acceptedId)[0]);
    await waitFor('the prompt to say renewed', () => prompt.text.includes(`was renewed by <@${ALICE}> until ${slackDate(clickedAt + 7 * DAY)}`));
    await threadsSettled();
    expect(prompt.edits).toBeGreaterThan(0);
    expect(buttonIds(prompt)).toEqual([]);
    expect(t.stub.thread(root).filter((m) => m.ts === prompt.ts)).toHaveLength(1);
    expect(await t.bot.lanes.get(GRAY)).toMatchObject({ renewedBy: ALICE, renewedUntil: clickedAt + 7 * DAY, expiryBase: clickedAt });
    expect((await t.bot.lanes.get(GRAY))?.deleteAt).toBeUndefined();
    expect(await audit()).toContainEqual(expect.objectContaining({ actor: ALICE, action: 'click:renew_lane', outcome: 'accepted' }));
    expect(await audit()).toContainEqual(expect.objectContaining({ actor: ALICE, action: 'expiry:renewed', outcome: 'renewed' }));

    // Day 7 passes without a deletion (nor a second prompt before day 13).
    advanceTo(clickedAt + 5 * DAY);
    expect(await sweep()).toMatchObject({ warn: 0, expire: 0 });
    expect(deleteRoots()).toEqual([]);
    expect(prompts(root)).toHaveLength(0); // the only one now says "renewed"
  }, 30_000);

  it('Delete now: the delete confirmation\'s button queues the delete, for those who may delete the lane', async () => {
    await start();
    const root = await deploy('gray', 'release/1.2.3');
    t.clock.advance(6 * DAY);
    await sweep();
    const prompt = await waitFor('the prompt', () => prompts(root)[0]);
    await threadsSettled();
    const before = await queuedRequests();

    // Bob neither deployed gray nor approves dev: refused, nothing queued.
    const refusedId = await click(prompt, DELETE_LANE_ACTION_ID, BOB);
    const refusal = await waitFor('the refusal', () => t.stub.responsesFor(refusedId)[0]);
    expect(refusal.body.text).toContain(':no_entry:');
    expect(refusal.body.text).toContain(`<@${ALICE}>`);
    expect(await queuedRequests()).toEqual(before);
    expect((await t.bot.lanes.get(GRAY))?.state).toBe('active');

    // Alice, its last deployer, may.
    const acceptedId = await click(prompt, DELETE_LANE_ACTION_ID, ALICE);
    await waitFor('the click to be answered', () => t.stub.responsesFor(acceptedId)[0]);
    expect(await queuedRequests()).toHaveLength(before.length + 1);
    const deleteRoot = await waitFor('the delete root', () => t.stub.roots(CHANNEL).find((m) => m.text.includes('delete lane gray')));
    expect(deleteRoot.text).toContain(`requested by <@${ALICE}>`);
    // The prompt is replaced by what happens now.
    await waitFor('the prompt to say deleting', () => prompt.text.includes('Deleting lane *gray*'));
    expect(buttonIds(prompt)).toEqual([]);

    // A sweep while it is deleted withdraws the warning (it is no longer pending: it is going).
    expect(await sweep()).toMatchObject({ withdrawn: 1, expire: 0 });
    await advanceUntil('the lane to be gone', async () => (await t.bot.lanes.get(GRAY)) === undefined);
    expect((await t.bot.simStacks!.list()).map((s) => s.stackName)).not.toContain(GRAY_STACK);
    expect(await audit()).toContainEqual(expect.objectContaining({ actor: ALICE, action: 'click:delete_lane', outcome: 'accepted' }));
    expect(await auditActions()).not.toContain('expiry:expired');
  }, 30_000);

  it('a deploy after the warning cancels the deletion: the next sweep withdraws the warning and says so in the prompt', async () => {
    await start();
    const root = await deploy('gray', 'release/1.2.3');
    const base = (await t.bot.lanes.expiryBase(GRAY))!;
    t.clock.advance(6 * DAY);
    await sweep();
    const prompt = await waitFor('the prompt', () => prompts(root)[0]);
    await threadsSettled();

    await deploy('gray', 'release/1.2.4');
    const newBase = (await t.bot.lanes.expiryBase(GRAY))!;
    expect(newBase).toBeGreaterThan(base);
    // Already before the sweep, the list no longer calls it pending deletion.
    const list = await answer('list');
    expect(list).toContain(`expires ${slackDate(newBase + 7 * DAY)}`);
    expect(list).not.toContain('pending deletion');
    expect(await answer('status gray')).toContain(`Expires ${slackDate(newBase + 7 * DAY)}`);

    expect(await sweep()).toMatchObject({ withdrawn: 1, warn: 0, expire: 0 });
    await waitFor('the prompt to say used again', () => prompt.text.includes('was used again (a deploy), so it is no longer pending deletion'));
    expect(prompt.text).toContain(`Next warning ${slackDate(newBase + 6 * DAY)} if it stays idle.`);
    expect(buttonIds(prompt)).toEqual([]);
    expect(await audit()).toContainEqual(expect.objectContaining({ actor: 'lanebot', action: 'expiry:withdrawn' }));

    // Day 7 of the first deploy passes: nothing is deleted.
    advanceTo(base + 7 * DAY + MIN);
    expect(await sweep()).toMatchObject({ warn: 0, expire: 0, withdrawn: 0 });
    expect(deleteRoots()).toEqual([]);
    expect(await t.bot.lanes.get(GRAY)).toMatchObject({ state: 'active', branch: 'release/1.2.4' });
    expect(await auditActions()).not.toContain('expiry:expired');
  }, 30_000);

  it('a lane busy when its delete is due is not deleted; the expire work looks again later, and a later idle spell deletes it', async () => {
    // The config really has the soak and the short expiry (a TEST_CONFIG edit that no longer matches would test nothing).
    expect(BUSY_CONFIG).toContain('expiry: { warnAfter: 10m, deleteAfter: 20m }');
    await start({ config: BUSY_CONFIG });
    await t.command('deploy gray release/1.2.3');
    const root = await waitFor('the root message', () => t.stub.rootMentioning('release/1.2.3'));
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get(GRAY))?.last?.status === 'running');
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the health check', async () => ((await t.bot.lanes.get(GRAY))?.last?.progress as { phase?: string } | undefined)?.phase !== undefined);
    // Targets are in their initial health checks for a minute; then the hour-long soak holds the lane.
    t.clock.advance(MIN);
    const soakEndsAt = await waitFor('the soak to start', async () => {
      const progress = (await t.bot.lanes.get(GRAY))?.last?.progress as { phase?: string; soakEndsAt?: number } | undefined;
      return progress?.phase === 'soak' ? progress.soakEndsAt : undefined;
    });
    const base = (await t.bot.lanes.expiryBase(GRAY))!;

    advanceTo(base + 10 * MIN);
    expect(await sweep()).toMatchObject({ warn: 1 });
    const prompt = await waitFor('the prompt', () => prompts(root)[0]);
    expect(prompt.text).toContain(`will be deleted on ${slackDate(base + 20 * MIN)}`);

    // Due, but the deploy still runs on the lane: the expire work waits for it.
    advanceTo(base + 20 * MIN + 1000);
    expect(soakEndsAt).toBeGreaterThan(t.clock.now());
    const requests = await queuedRequests();
    expect(await sweep()).toMatchObject({ expire: 1 });
    const delayedOnce = async () => {
      const counts = await t.bot.queues.expiry.getJobCounts('waiting', 'active', 'delayed');
      return (counts.waiting ?? 0) + (counts.active ?? 0) === 0 && counts.delayed === 1;
    };
    await waitFor('the expire work to wait', delayedOnce);
    // The next sweep (a minute later) brings that work forward rather than queuing it twice; the lane
    // is still busy, so it waits again.
    const job = (await t.bot.queues.expiry.getJobs(['delayed']))[0]!;
    /** When the delayed work is due to run again (its score in BullMQ's delayed set). */
    const dueAgain = () => t.bot.redis.zscore(t.bot.queues.expiry.keys.delayed!, job.id!);
    const firstDue = await dueAgain();
    t.clock.advance(MIN);
    expect(await sweep()).toMatchObject({ expire: 1 });
    await waitFor('the expire work to wait again', async () => (await delayedOnce()) && (await dueAgain()) !== firstDue);
    expect((await t.bot.queues.expiry.getJobs(['delayed'])).map((j) => j.id)).toEqual([job.id]);
    expect(await queuedRequests()).toEqual(requests);
    expect(deleteRoots()).toEqual([]);
    expect(await t.bot.lanes.get(GRAY)).toMatchObject({ state: 'active', activeId: expect.any(String) });
    expect(await auditActions()).not.toContain('expiry:expired');

    // The deploy ends: that is activity, so the lane gets a new idle spell instead of a delete.
    advanceTo(soakEndsAt);
    await waitFor('the deploy to end', () => t.stub.thread(root).find((m) => m.text.includes('now runs')));
    const newBase = (await t.bot.lanes.expiryBase(GRAY))!;
    expect(newBase).toBeGreaterThan(base);
    // No sweep queues work for the old base any more: the work's own delay (real time) runs out; promote it.
    await t.bot.queues.expiry.promoteJobs();
    await waitFor('the expire work to be done', async () => {
      const counts = await t.bot.queues.expiry.getJobCounts('waiting', 'active', 'delayed');
      return (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0) === 0;
    });
    expect(deleteRoots()).toEqual([]);
    expect(await sweep()).toMatchObject({ withdrawn: 1 });
    await waitFor('the prompt to say used again', () => prompt.text.includes('was used again'));

    // Idle again, and not busy: warned, then deleted.
    advanceTo(newBase + 10 * MIN + 1000);
    expect(await sweep()).toMatchObject({ warn: 1 });
    await waitFor('the second prompt', () => prompts(root)[0]);
    advanceTo(newBase + 20 * MIN + 1000);
    expect(await sweep()).toMatchObject({ expire: 1 });
    await waitFor('the delete root', () => deleteRoots()[0]);
    await advanceUntil('the lane to be gone', async () => (await t.bot.lanes.get(GRAY)) === undefined);
    expect(await auditActions()).toContain('expiry:expired');
  }, 60_000);

  // ---- never ---------------------------------------------------------------------------------

  it('`expiry: never` for an environment: no prompt, no delete, and /lane renew says why', async () => {
    await start({ config: DEV_NEVER });
    const root = await deploy('gray', 'release/1.2.3');
    expect(await answer('list')).toContain('• *gray* — runs `release/1.2.3` · :white_check_mark: deployed');
    expect(await answer('list')).toContain('· never expires');
    expect(await answer('status gray')).toContain('Never expires');

    t.clock.advance(30 * DAY);
    // The sweep reads it once, finds it never expires, and drops it from the index.
    expect(await sweep()).toMatchObject({ candidates: 1, warn: 0, expire: 0 });
    expect(await t.bot.lanes.expiryBase(GRAY)).toBeUndefined();
    expect(await sweep()).toMatchObject({ candidates: 0 });
    await threadsSettled();
    expect(prompts(root)).toEqual([]);
    expect(deleteRoots()).toEqual([]);
    expect(await t.bot.lanes.get(GRAY)).toMatchObject({ state: 'active' });

    const refused = await answer('renew gray');
    expect(refused).toContain('Lane *gray* of user-api/dev never expires (dev has `expiry: never`): there is nothing to renew.');
    expect(await auditActions()).not.toContain('expiry:renewed');
  }, 30_000);

  it('lane default never expires: no prompt, no delete, and /lane renew default is refused with why', async () => {
    await start();
    const root = await deploy('default', 'main');
    expect(await answer('list')).toContain('• *default* — runs `main` · :white_check_mark: deployed');
    expect(await answer('list')).toContain('never expires');

    t.clock.advance(8 * DAY);
    expect(await sweep()).toMatchObject({ warn: 0, expire: 0 });
    await threadsSettled();
    expect(prompts(root)).toEqual([]);
    expect(deleteRoots()).toEqual([]);
    expect(await t.bot.lanes.get({ ...SCOPE, lane: 'default' })).toMatchObject({ state: 'active' });
    expect(await answer('renew default')).toContain('Lane *default* of user-api/dev never expires (the baseline lane): there is nothing to renew.');
  }, 30_000);

  // ---- /lane renew: bad input ------------------------------------------------------------------

  it('/lane renew refuses bad input, naming why, and changes nothing', async () => {
    await start();
    await deploy('gray', 'release/1.2.3');
    const before = await t.bot.lanes.get(GRAY);

    const noLane = await answer('renew');
    expect(noLane).toContain('missing the lane');
    expect(noLane).toContain('/lane renew <lane> [<duration>]');
    expect(await answer('renew gray soon')).toContain('"soon" is not a duration; write a whole number and a unit');
    expect(await answer('renew gray 31d')).toContain('at most 30 days at a time (`expiry.maxRenewal`); 31 days is longer');
    expect(await answer('renew gray 12h')).toContain('Renew for at least 1 day');
    expect(await answer('renew ghost')).toContain('Lane *ghost* of user-api/dev does not exist: it was never deployed, or it was deleted.');
    // A renewal shorter than what the lane has left (it was just deployed) would cut it short: nothing changes.
    expect(await answer('renew gray 3d')).toContain(`is already kept until ${slackDate(before!.expiryBase! + 7 * DAY)}, longer than a renewal for 3 days would keep it; nothing changed.`);

    const after = await t.bot.lanes.get(GRAY);
    expect(after).toMatchObject({ expiryBase: before!.expiryBase, lastActivityAt: before!.lastActivityAt });
    expect(after?.renewedBy).toBeUndefined();
    expect(await t.bot.redis.exists(t.bot.keys.lane({ ...SCOPE, lane: 'ghost' }))).toBe(0);
    expect(await auditActions()).not.toContain('expiry:renewed');
  }, 30_000);

  // ---- the daily digest ------------------------------------------------------------------------

  it('the daily digest: one message per bound channel listing its lanes pending deletion, once a day across processes', async () => {
    await start();
    const replica = await start();
    // A lane of orders/dev, deployed from its own channel.
    const GREEN = { service: 'orders', env: 'dev', lane: 'green' };
    await t.command('deploy green release/3.0.0', { channel: 'C0ORDERSDEV' });
    await waitFor('the orders pipeline to run', async () => (await t.bot.lanes.get(GREEN))?.last?.status === 'running');
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the orders deploy to succeed', async () => (await t.bot.lanes.get(GREEN))?.last?.status === 'succeeded');
    await deploy('gray', 'release/1.2.3');
    const grayBase = (await t.bot.lanes.expiryBase(GRAY))!;
    t.clock.advance(2 * 3_600_000);
    await deploy('blue', 'release/2.0.0', BOB);
    const blueBase = (await t.bot.lanes.expiryBase({ ...SCOPE, lane: 'blue' }))!;

    // Nothing pending yet: no digest.
    expect(await t.bot.expiry.digest()).toBe(0);

    advanceTo(grayBase + 6 * DAY);
    expect(await sweep()).toMatchObject({ warn: 2 }); // green and gray
    advanceTo(blueBase + 6 * DAY);
    // The sweep counts every lane due a warning (green and gray again: their work is queued once).
    expect(await sweep()).toMatchObject({ warn: 3 });
    await threadsSettled();
    const digests = (channel: string) => t.stub.roots(channel).filter((m) => m.text.includes('pending deletion*'));

    const sent = await Promise.all([t.bot.expiry.digest(), replica.bot.expiry.digest(), t.bot.expiry.digest(), replica.bot.expiry.digest()]);
    expect(sent.reduce((a, b) => a + b, 0)).toBe(2);
    await waitFor('the digests', () => digests(CHANNEL).length === 1 && digests('C0ORDERSDEV').length === 1);

    const [userApi] = digests(CHANNEL);
    const lines = userApi!.text.split('\n');
    expect(lines[0]).toBe(':hourglass: *Lanes of user-api/dev pending deletion*');
    const gray = (await t.bot.lanes.get(GRAY))!;
    const blue = (await t.bot.lanes.get({ ...SCOPE, lane: 'blue' }))!;
    expect(gray.deleteAt).toBe(grayBase + 7 * DAY);
    expect(blue.deleteAt).toBe(blueBase + 7 * DAY);
    // Soonest first, each with its deletion date and last deployer.
    expect(lines.slice(1, 3)).toEqual([
      `• *gray* — deleted ${slackDate(gray.deleteAt!)} unless renewed · last deployed by <@${ALICE}>`,
      `• *blue* — deleted ${slackDate(blue.deleteAt!)} unless renewed · last deployed by <@${BOB}>`,
    ]);
    expect(userApi!.text).toContain('/lane renew <lane>');
    expect(userApi!.text).not.toContain('green');
    expect(digests('C0ORDERSDEV')[0]!.text).toContain('• *green* —');

    // Renewed lanes leave the next day's digest; a channel with none left gets none.
    expect(await answer('renew blue')).toContain('renewed by');
    const renewGreen = await t.command('renew green', { channel: 'C0ORDERSDEV' });
    expect((await waitFor('the renew of green', () => t.stub.responsesFor(renewGreen.id)[0])).body.text).toContain('renewed by');
    t.clock.advance(DAY - 2 * MIN); // the next UTC day
    const nextSent = await Promise.all([replica.bot.expiry.digest(), t.bot.expiry.digest(), replica.bot.expiry.digest()]);
    expect(nextSent.reduce((a, b) => a + b, 0)).toBe(1);
    await waitFor("the next day's digest", () => digests(CHANNEL).length === 2);
    const next = digests(CHANNEL)[1]!;
    expect(next.text).toContain('• *gray* —');
    expect(next.text).not.toContain('• *blue* —');
    expect(digests('C0ORDERSDEV')).toHaveLength(1);
  }, 60_000);
});
