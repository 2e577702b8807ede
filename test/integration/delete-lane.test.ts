// `/lane delete <lane>` end to end: signed slash commands and clicks into the real Bolt receiver,
// the real Redis, the simulated account behind the stack port. Commands go through the sandbox
// console's POST /sandbox/commands, so the confirmation lands in the Slack stand-in as the ephemeral
// message Slack would show, and clicks go through POST /sandbox/actions, which only clicks buttons
// that message has. Payloads Slack itself would never send (a forged clicker, a tampered value) are
// built by hand with blockActionsBody and signed like the rest.
import { randomUUID } from 'node:crypto';
import { DELETE_LANE_ACTION_ID } from '../../commands/delete';
import type { ConsoleMessage } from '../../src/sandbox/slack-workspace';
import { blockActionsBody, postSignedRequest } from '../../src/sandbox/slack-signing';
import { MAX_ACTION_VALUE_LENGTH } from '../../src/slack/actions/button-value';
import { deletePrefix, SIGNING_SECRET, startTestBot, waitFor, type TestBot } from '../support/harness';
import { SlackStub, TEST_USERS, type StubMessage, type StubResponse } from '../support/slack-stub';
import { adminConfig, TEST_ADMIN } from '../support/test-config';

/** dev's approvers are a user group (empty at first); there is an admin. */
const DEV_APPROVERS = 'S0DEVAPPROVERS';
const CONFIG = adminConfig().replace('  dev:\n', `  dev:\n    approvers: [${DEV_APPROVERS}]\n`);
const CHANNEL = 'C0USERAPIDEV';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const SCOPE = { service: 'user-api', env: 'dev' };
const GRAY = { ...SCOPE, lane: 'gray' };
const GRAY_STACK = 'app-user-api-dev-gray';
/** Longer than the simulated Source + Build + Deploy of a lane. */
const FULL_RUN_MS = 400_000;
/** Longer than the simulated delete of a lane stack (30 s). */
const DELETE_MS = 60_000;

/** What the console answers to a command or a click; `id` names its response_url. */
interface Sent {
  id: string;
  ack: { text?: string } | null;
}

describe('/lane delete', () => {
  let t: TestBot;
  let stub: SlackStub;

  beforeEach(async () => {
    // The tests' workspace plus the admin, a member of the channels like everyone, and dev's approver group.
    stub = await new SlackStub({ users: [...TEST_USERS, { id: TEST_ADMIN, name: 'platform', realName: 'Pat Platform', title: 'Platform engineer' }] }).start();
    stub.workspace.addUserGroup({ id: DEV_APPROVERS, handle: 'dev-approvers', users: [] });
    t = await startTestBot({ stub, config: CONFIG });
    t.stub.setBotUrl(t.url);
  });

  afterEach(async () => {
    await t.stop();
    await stub.stop();
    await deletePrefix(t.prefix);
  });

  // ---- what a person does in Slack ---------------------------------------------------------------

  async function consolePost(path: string, body: Record<string, unknown>): Promise<Sent> {
    const response = await fetch(`${t.stub.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answer = (await response.json()) as { ok: boolean; status: number; ack: { text?: string } | null; responseUrl: string; error?: string };
    expect(answer).toMatchObject({ ok: true, status: 200 });
    return { id: answer.responseUrl.split('/').pop()!, ack: answer.ack };
  }

  /** `user` types `/lane <text>` in #user-api-dev. */
  function slash(text: string, user = ALICE): Promise<Sent> {
    return consolePost('/sandbox/commands', { user, channel: CHANNEL, text });
  }

  /** The first answer through the response_url of `sent` (the ack, if it carried the answer). */
  async function answerTo(sent: Sent): Promise<StubResponse> {
    return waitFor('the answer through response_url', () => t.stub.responsesFor(sent.id)[0]);
  }

  /** `/lane delete <lane>` by `user`: the confirmation, as the ephemeral message `user` sees. */
  async function askToDelete(lane: string, user = ALICE): Promise<ConsoleMessage> {
    const sent = await slash(`delete ${lane}`, user);
    expect(sent.ack).toBeNull(); // the confirmation needs Redis: it comes through response_url
    const answer = await answerTo(sent);
    expect(answer.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    // The newest one with that text: asking twice shows two confirmations.
    return waitFor('the confirmation in the channel', () =>
      t.stub.workspace.consoleMessages(CHANNEL, user).findLast((m) => m.ephemeral && m.visibleTo === user && m.text === answer.body.text && deleteButtonOf(m)),
    );
  }

  /** `user` clicks the confirmation's danger button (Slack shows the confirm dialog first; they confirm). */
  function clickDelete(confirmation: ConsoleMessage, user = ALICE): Promise<Sent> {
    return consolePost('/sandbox/actions', { user, channel: CHANNEL, ts: confirmation.ts, actionId: DELETE_LANE_ACTION_ID });
  }

  /** A signed click on a delete button with this value by `user`: a forged or corrupted payload. */
  async function forgedClick(value: string, user: string): Promise<Sent> {
    const id = `forged-${randomUUID().slice(0, 8)}`;
    const responseUrl = t.stub.workspace.responseUrl(t.stub.workspace.registerResponseUrl({ user, channel: CHANNEL }, id));
    const body = blockActionsBody({
      user: { id: user, username: user.toLowerCase(), name: user.toLowerCase() },
      channel: { id: CHANNEL, name: 'user-api-dev' },
      message: { ts: '1700000000.000100', text: 'Delete lane?' },
      isEphemeral: true,
      button: { actionId: DELETE_LANE_ACTION_ID, blockId: 'delete_lane', value, text: { type: 'plain_text', text: 'Delete lane' }, style: 'danger' },
      responseUrl,
    });
    const { status } = await postSignedRequest(`${t.url}/slack/events`, body, SIGNING_SECRET);
    expect(status).toBe(200);
    return { id, ack: null };
  }

  function deleteButtonOf(message: { blocks?: unknown[] }): Record<string, unknown> | undefined {
    const blocks = (message.blocks ?? []) as { type: string; elements?: Record<string, unknown>[] }[];
    return blocks.find((b) => b.type === 'actions')?.elements?.find((e) => e.action_id === DELETE_LANE_ACTION_ID);
  }

  // ---- what the bot did ------------------------------------------------------------------------

  /** Moves simulated time on until `check` holds (the simulator advances only when the clock does). */
  async function advanceUntil<T>(what: string, check: () => T | undefined | Promise<T | undefined>, stepMs = DELETE_MS): Promise<T> {
    return waitFor(what, async () => {
      const value = await check();
      if (!value) t.clock.advance(stepMs);
      return value;
    });
  }

  /** Deploys `branch` to `lane` as `user` and waits for its success; the deploy's root. */
  async function deployed(lane: string, branch: string, user = ALICE): Promise<StubMessage> {
    const root = await startDeploy(lane, branch, user);
    t.clock.advance(FULL_RUN_MS);
    await waitFor(`the deploy of ${branch} to ${lane} to succeed`, () => t.stub.thread(root).find((m) => m.text.includes('now runs')));
    return root;
  }

  /** Requests a deploy and waits for its pipeline to run; the deploy's root. */
  async function startDeploy(lane: string, branch: string, user = ALICE): Promise<StubMessage> {
    await slash(`deploy ${lane} ${branch}`, user);
    const root = await waitFor(`the root of ${branch}`, () => t.stub.roots(CHANNEL).find((m) => m.text.includes(`lane ${lane} ← ${branch}`)));
    await waitFor(`the deploy of ${branch} to run`, async () => (await t.bot.lanes.get({ ...SCOPE, lane }))?.last?.status === 'running');
    return root;
  }

  function deleteRoot(lane: string): Promise<StubMessage> {
    return waitFor(`the delete root of ${lane}`, () => t.stub.roots(CHANNEL).find((m) => m.text.includes(`lane ${lane}* — delete`) || m.text.includes(`delete lane ${lane}`)));
  }

  async function deleteRoots(): Promise<StubMessage[]> {
    return t.stub.roots(CHANNEL).filter((m) => m.text.includes('delete lane') || m.text.includes('— delete'));
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

  async function stackNames(): Promise<string[]> {
    return (await t.bot.simStacks!.list()).map((s) => s.stackName);
  }

  async function listText(): Promise<string> {
    return (await answerTo(await slash('list'))).body.text ?? '';
  }

  it('asks to confirm, and the confirmed delete removes the stack, the lane and its rule priority', async () => {
    await deployed('gray', 'release/1.0.0');
    expect(await stackNames()).toContain(GRAY_STACK);
    const grayPriority = (await t.bot.rulePriorities.all(SCOPE)).gray!;
    expect(grayPriority).toBeGreaterThan(0);
    await deployed('blue', 'release/1.0.0'); // holds another priority, so gray's is not simply "the lowest"
    expect(await queuedRequests()).toHaveLength(2);

    const confirmation = await askToDelete('gray');
    expect(confirmation.text).toContain('Delete lane *gray* of user-api/dev?');
    expect(confirmation.text).toContain('It runs `release/1.0.0`.');
    expect(confirmation.text).toContain(`This deletes stack \`${GRAY_STACK}\``);
    expect(deleteButtonOf(confirmation)).toMatchObject({
      type: 'button',
      style: 'danger',
      text: { type: 'plain_text', text: 'Delete lane gray' },
      value: JSON.stringify({ v: 1, ...GRAY }),
      confirm: {
        title: { type: 'plain_text', text: 'Delete the lane?' },
        confirm: { type: 'plain_text', text: 'Delete' },
        deny: { type: 'plain_text', text: 'Cancel' },
        style: 'danger',
      },
    });
    // Only alice sees it, and asking changed nothing.
    expect(t.stub.workspace.consoleMessages(CHANNEL, BOB).some((m) => m.ts === confirmation.ts)).toBe(false);
    expect(await queuedRequests()).toHaveLength(2);
    expect((await t.bot.lanes.get(GRAY))?.state).toBe('active');
    expect(await deleteRoots()).toEqual([]);

    const clicked = await clickDelete(confirmation);
    expect(clicked.ack).toBeNull(); // a click's ack carries no message
    // The confirmation is replaced in place, buttons and all, by what happens now.
    const replaced = await waitFor('the confirmation to be replaced', () =>
      t.stub.workspace.consoleMessages(CHANNEL, ALICE).find((m) => m.ts === confirmation.ts && m.edits > 0),
    );
    expect(replaced.text).toBe(':wastebasket: Deleting lane *gray* of user-api/dev: lanebot posts its progress in a thread in this channel.');
    expect(replaced).toMatchObject({ ephemeral: true, visibleTo: ALICE });
    expect(deleteButtonOf(replaced)).toBeUndefined();
    expect(t.stub.responsesFor(clicked.id)).toEqual([expect.objectContaining({ body: expect.objectContaining({ replace_original: true }) })]);
    expect(await queuedRequests()).toHaveLength(3);

    const root = await deleteRoot('gray');
    expect(root.text).toContain('user-api · dev · delete lane gray, requested by <@U0ALICE>');
    await waitFor('the stack as a stage', () => JSON.stringify(root.blocks).includes(`${GRAY_STACK} — in progress`));
    expect((await t.bot.lanes.get(GRAY))?.state).toBe('deleting');

    const done = await advanceUntil('the delete to end', () => t.stub.thread(root).find((m) => m.text.includes('of user-api/dev is deleted')));
    expect(done.text).toContain(`Lane *gray* of user-api/dev is deleted`);
    expect(done.text).toContain(`stack \`${GRAY_STACK}\` is gone`);
    await waitFor('the root to show success', () => JSON.stringify(root.blocks).includes(`${GRAY_STACK} — succeeded`));
    expect(root.text).toContain('user-api · dev · delete lane gray, requested by <@U0ALICE>, deleted');
    expect(JSON.stringify(root.blocks)).toContain(':wastebasket: deleted');

    expect(await stackNames()).not.toContain(GRAY_STACK);
    expect(await stackNames()).toContain('app-user-api-dev-blue');
    expect((await t.bot.simStacks!.list({ includeDeleted: true })).find((s) => s.stackName === GRAY_STACK)?.deletedAt).toBeDefined();
    expect((await t.bot.simStacks!.listenerRules('user-api', 'dev')).map((r) => r.lane)).toEqual(['blue']);
    expect(await t.bot.lanes.get(GRAY)).toBeUndefined();
    const list = await listText();
    expect(list).toContain('*blue*');
    expect(list).not.toContain('gray');
    expect(await t.bot.rulePriorities.all(SCOPE)).not.toHaveProperty('gray');

    // The next new lane gets the freed priority (the lowest free one).
    await deployed('green', 'release/2.0.0');
    expect((await t.bot.rulePriorities.all(SCOPE)).green).toBe(grayPriority);
    const greenRun = (await t.bot.sim!.recentExecutions()).find((e) => e.variables.LANE === 'green');
    expect(greenRun?.variables.RULE_PRIORITY).toBe(String(grayPriority));
  }, 60_000);

  describe('refuses, with nothing queued', () => {
    it('lane default, and a lane that does not exist', async () => {
      const byDefault = await slash('delete default');
      expect(byDefault.ack?.text).toContain('lane `default` is the baseline');
      expect(byDefault.ack?.text).toContain('/lane delete <lane>');

      const missing = await answerTo(await slash('delete ghost'));
      expect(missing.body).toMatchObject({ response_type: 'ephemeral' });
      expect(missing.body.text).toContain('Lane *ghost* of user-api/dev does not exist');
      expect(deleteButtonOf(missing.body as { blocks?: unknown[] })).toBeUndefined();

      expect(await queuedRequests()).toEqual([]);
      expect(t.stub.roots(CHANNEL)).toEqual([]);
    });

    it('someone who is neither the last deployer, nor an approver, nor an admin — and allows those', async () => {
      await deployed('gray', 'release/1.0.0');

      const bob = await answerTo(await slash('delete gray', BOB));
      expect(bob.body).toMatchObject({ response_type: 'ephemeral' });
      expect(bob.body.text).toContain(':no_entry:');
      // It names who may: the last deployer, dev's approvers, the admins.
      expect(bob.body.text).toContain('<@U0ALICE>');
      expect(bob.body.text).toContain(DEV_APPROVERS);
      expect(bob.body.text).toContain(`<@${TEST_ADMIN}>`);
      expect(deleteButtonOf(bob.body as { blocks?: unknown[] })).toBeUndefined();
      // prod's approver is not dev's: no more right to delete a dev lane than bob, until dev's group takes them in.
      expect((await answerTo(await slash('delete gray', 'U0APPROVER1'))).body.text).toContain(':no_entry:');

      // An admin adds them to dev's approver group in Slack; Slack tells lanebot (subteam_members_changed).
      const changed = await fetch(`${t.stub.url}/sandbox/usergroups`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: DEV_APPROVERS, users: ['U0APPROVER1'] }),
      });
      expect(await changed.json()).toMatchObject({ ok: true, event: { delivered: true } });
      await waitFor('lanebot to know the new member', async () => (await t.bot.userGroups.principal('U0APPROVER1', [DEV_APPROVERS])).groups.has(DEV_APPROVERS));
      expect(deleteButtonOf(await askToDelete('gray', 'U0APPROVER1'))).toBeDefined();
      // The admin may too.
      expect(deleteButtonOf(await askToDelete('gray', TEST_ADMIN))).toBeDefined();

      expect(await queuedRequests()).toHaveLength(1);
      expect(await deleteRoots()).toEqual([]);
      expect((await t.bot.lanes.get(GRAY))?.state).toBe('active');
    });

    it('a click by someone who may not delete the lane, whatever the value says', async () => {
      await deployed('gray', 'release/1.0.0');
      const confirmation = await askToDelete('gray');
      const value = deleteButtonOf(confirmation)!.value as string;

      // Bob cannot see alice's ephemeral confirmation; a payload with its value is forged.
      const forged = await answerTo(await forgedClick(value, BOB));
      expect(forged.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
      expect(forged.body.text).toContain(':no_entry:');
      expect(forged.body.text).toContain('<@U0ALICE>');

      // Rights are read at click time: once bob deploys the lane, alice's confirmation is no longer hers to use.
      await deployed('gray', 'release/2.0.0', BOB);
      const stale = await clickDelete(confirmation);
      const refusal = await answerTo(stale);
      expect(refusal.body.text).toContain(':no_entry:');
      expect(refusal.body.text).toContain('<@U0BOB>');
      expect(t.stub.workspace.consoleMessages(CHANNEL, ALICE).find((m) => m.ts === confirmation.ts)?.edits).toBe(0);

      expect(await queuedRequests()).toHaveLength(2); // the two deploys
      expect(await deleteRoots()).toEqual([]);
      expect((await t.bot.lanes.get(GRAY))?.state).toBe('active');
    });

    it('a click on a confirmation of a lane being or already deleted', async () => {
      await deployed('gray', 'release/1.0.0');
      const first = await askToDelete('gray');
      const second = await askToDelete('gray');
      await clickDelete(first);
      const root = await deleteRoot('gray');

      const whileDeleting = await answerTo(await clickDelete(second));
      expect(whileDeleting.body.text).toContain('Lane *gray* of user-api/dev is already being deleted');

      await advanceUntil('the delete to end', () => t.stub.thread(root).find((m) => m.text.includes('of user-api/dev is deleted')));
      const afterwards = await answerTo(await forgedClick(deleteButtonOf(second)!.value as string, ALICE));
      expect(afterwards.body.text).toContain('Lane *gray* of user-api/dev does not exist');

      expect(await queuedRequests()).toHaveLength(2); // the deploy and one delete
      expect(await deleteRoots()).toHaveLength(1);
    }, 30_000);

    it('a tampered or oversized button value', async () => {
      await deployed('gray', 'release/1.0.0');
      const cases: [string, string][] = [
        ['not JSON', 'delete gray please'],
        ['a newer version', JSON.stringify({ v: 2, ...GRAY })],
        ['a lane that is not a lane name', JSON.stringify({ v: 1, ...SCOPE, lane: 'gray:*' })],
        ['a service reaching for other keys', JSON.stringify({ v: 1, service: 'user-api:dev', env: 'dev', lane: 'gray' })],
        ['no lane', JSON.stringify({ v: 1, ...SCOPE })],
        ['oversized', JSON.stringify({ v: 1, ...GRAY, pad: 'x'.repeat(MAX_ACTION_VALUE_LENGTH) })],
      ];
      for (const [label, value] of cases) {
        const answer = await answerTo(await forgedClick(value, ALICE));
        expect({ label, body: answer.body }).toMatchObject({
          label,
          body: { response_type: 'ephemeral', text: expect.stringContaining('This button is broken or outdated') },
        });
        expect(answer.body.text).toContain('type `/lane delete <lane>` instead');
        expect(answer.body.text).not.toContain('please'); // problems never quote the value
      }
      // Well-formed, but for a service/env of another channel.
      const elsewhere = await answerTo(await forgedClick(JSON.stringify({ v: 1, service: 'orders', env: 'dev', lane: 'gray' }), ALICE));
      expect(elsewhere.body.text).toContain('this channel is bound to user-api/dev');

      expect(await queuedRequests()).toHaveLength(1);
      expect(await deleteRoots()).toEqual([]);
      expect((await t.bot.lanes.get(GRAY))?.state).toBe('active');
    });
  });

  it('waits behind a running deploy, refuses new deploys meanwhile, and is never superseded', async () => {
    const first = await startDeploy('gray', 'release/1.0.0');
    const confirmation = await askToDelete('gray');
    expect(confirmation.text).toContain('An operation is running on it now: the delete waits for it to end.');
    await clickDelete(confirmation);

    const root = await deleteRoot('gray');
    const queued = await waitFor('the queued-behind reply', () => t.stub.thread(root).find((m) => m.text.includes('queued behind')));
    expect(queued.text).toContain('the delete is queued behind the deploy of `release/1.0.0` by <@U0ALICE>');
    expect(queued.text).toContain('|thread>');
    expect((await t.bot.lanes.get(GRAY))?.state).toBe('deleting');

    // A deploy requested now is refused with the reason, and never starts.
    const refused = await slash('deploy gray release/2.0.0', BOB);
    // A command that queues work answers in its ack, once it knows: here, that nothing was queued.
    expect((refused.ack as { text: string }).text).toContain(':no_entry: Nothing was queued: lane *gray* of user-api/dev is being deleted, so it takes no deploy.');
    const requests = await queuedRequests();
    expect(requests).toHaveLength(2);
    expect(t.stub.roots(CHANNEL).some((m) => m.text.includes('release/2.0.0'))).toBe(false);
    // Another delete is refused too (one is enough).
    expect((await answerTo(await slash('delete gray'))).body.text).toContain('is already being deleted');

    // The running deploy ends; then the delete runs, and nothing supersedes it.
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the deploy to succeed', () => t.stub.thread(first).find((m) => m.text.includes('now runs')));
    const done = await advanceUntil('the delete to end', () => t.stub.thread(root).find((m) => m.text.includes('of user-api/dev is deleted')));
    expect(done.text).toContain('Lane *gray* of user-api/dev is deleted');
    expect(t.stub.thread(root).some((m) => /supersed/i.test(m.text))).toBe(false);
    const deleteOp = await t.bot.operations.get(requests[1]!.replace(/^request-/, ''));
    expect(deleteOp).toMatchObject({ kind: 'delete', status: 'succeeded', requester: ALICE });

    expect(await t.bot.sim!.executionIds('user-api-dev')).toHaveLength(1); // release/2.0.0 never ran
    expect(await stackNames()).not.toContain(GRAY_STACK);
    expect(await t.bot.lanes.get(GRAY)).toBeUndefined();
  }, 30_000);

  it('reports DELETE_FAILED with the reasons, keeps the lane active and deployable, and a second delete succeeds', async () => {
    await deployed('gray', 'release/1.0.0');
    const reason = 'Target group is currently in use by a listener or a rule (changed outside CloudFormation)';
    await t.bot.simStacks!.failNextOperation(GRAY_STACK, reason);

    await clickDelete(await askToDelete('gray'));
    const root = await deleteRoot('gray');
    const final = await advanceUntil('the delete to fail', () => t.stub.thread(root).find((m) => m.text.includes('Deleting lane *gray* failed')));
    const stageFailed = t.stub.thread(root).find((m) => m.text.includes(`Stack *${GRAY_STACK}* failed`));
    expect(stageFailed?.text).toContain(`Action \`DeleteStack\`: Service: ${reason}`);
    expect(stageFailed?.text).toContain('The following resource(s) failed to delete: [Service]');
    expect(t.stub.thread(root).indexOf(stageFailed!)).toBeLessThan(t.stub.thread(root).indexOf(final));
    expect(final.text).toContain('CloudFormation could not delete every resource');
    expect(final.text).toContain('The lane stays active');
    await waitFor('the root to say failed', () => root.text.includes('failed'));

    expect((await t.bot.simStacks!.describeStack(GRAY_STACK))?.status).toBe('DELETE_FAILED');
    const lane = await t.bot.lanes.get(GRAY);
    expect(lane).toMatchObject({ state: 'active', lastDeployer: ALICE });
    expect(lane?.activeId).toBeUndefined();
    expect((await t.bot.rulePriorities.all(SCOPE)).gray).toBeGreaterThan(0); // the rule is still there
    expect(await listText()).toContain('*gray*');

    // Still a lane: a deploy is admitted and runs its pipeline, whose Deploy action then meets what
    // CloudFormation says of a DELETE_FAILED stack: it can only be deleted.
    const again = await startDeploy('gray', 'release/2.0.0');
    t.clock.advance(FULL_RUN_MS);
    const deployFailed = await waitFor('the deploy to end', () => t.stub.thread(again).find((m) => m.text.includes('failed at stage *Deploy*')));
    expect(deployFailed.text).toContain('is in DELETE_FAILED state and can not be updated');
    expect(await t.bot.sim!.executionIds('user-api-dev')).toHaveLength(2);

    await clickDelete(await askToDelete('gray'));
    const second = await waitFor('the second delete root', async () => (await deleteRoots()).find((m) => m.ts !== root.ts));
    await advanceUntil('the second delete to end', () => t.stub.thread(second).find((m) => m.text.includes('of user-api/dev is deleted')));
    expect(await stackNames()).not.toContain(GRAY_STACK);
    expect(await t.bot.lanes.get(GRAY)).toBeUndefined();
    expect(await t.bot.rulePriorities.all(SCOPE)).not.toHaveProperty('gray');
  }, 60_000);

  it('/lane history shows the deploy and the delete, newest first', async () => {
    await deployed('gray', 'release/1.0.0');
    await clickDelete(await askToDelete('gray'));
    const root = await deleteRoot('gray');
    await advanceUntil('the delete to end', () => t.stub.thread(root).find((m) => m.text.includes('of user-api/dev is deleted')));

    for (const typed of ['history', 'history gray']) {
      const text = (await answerTo(await slash(typed))).body.text ?? '';
      const lines = text.split('\n');
      expect(lines[0]).toContain(typed === 'history' ? '*History of user-api/dev* (newest first)' : '*History of lane *gray* of user-api/dev* (newest first)');
      const at = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l));
      const deleted = at(/<@U0ALICE> delete · lane gray → \*succeeded\*/);
      const clicked = at(/<@U0ALICE> clicked \*delete_lane\* · lane gray → \*accepted\*/);
      const asked = at(/<@U0ALICE> `\/lane delete` · lane gray → \*accepted\*/);
      const deployedLine = at(/<@U0ALICE> deploy · lane gray → \*succeeded\*/);
      const typedDeploy = at(/<@U0ALICE> `\/lane deploy` · lane gray → \*accepted\*/);
      expect({ typed, deleted, clicked, asked, deployedLine, typedDeploy }).toEqual({
        typed,
        deleted: expect.any(Number),
        clicked: expect.any(Number),
        asked: expect.any(Number),
        deployedLine: expect.any(Number),
        typedDeploy: expect.any(Number),
      });
      for (const index of [deleted, clicked, asked, deployedLine, typedDeploy]) expect(index).toBeGreaterThan(0);
      // Newest first: the delete's outcome, the click, the command; then the deploy's outcome and its command.
      expect(deleted).toBeLessThan(clicked);
      expect(clicked).toBeLessThan(asked);
      expect(asked).toBeLessThan(deployedLine);
      expect(deployedLine).toBeLessThan(typedDeploy);
    }
  }, 30_000);
});
