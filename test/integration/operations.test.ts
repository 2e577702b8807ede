// The operations seam end to end (real Bolt receiver, real Redis, BullMQ, the simulated account):
// a job that fails for good ends its operation and frees the lane, the recovery pass brings back
// operations whose job was lost (and gives up after MAX_RECOVERIES), user-group approvers are read
// from lanebot's copy that Slack's subteam_members_changed keeps fresh, and /lane history reads the
// audit log.
import pino from 'pino';
import type { LaneRef } from '../../src/domain/names';
import type { OperationRecord } from '../../src/domain/operation';
import { OPERATION_KINDS } from '../../src/operations/kinds/index';
import { MAX_RECOVERIES } from '../../src/operations/recovery';
import { OperationRegistry } from '../../src/operations/registry';
import type { OperationStep } from '../../src/operations/step';
import { requestJobId, runJobId } from '../../src/queue/queues';
import { deletePrefix, startTestBot, waitFor, type TestBot } from '../support/harness';
import { SlackStub, type StubMessage } from '../support/slack-stub';
import { TEST_CONFIG } from '../support/test-config';

const FULL_RUN_MS = 400_000; // longer than the simulated Source + Build + Deploy
const GRAY: LaneRef = { service: 'user-api', env: 'dev', lane: 'gray' };
/** The recovery pass runs when the test says so (its schedule's first run comes at start). */
const RECOVERY = { graceMs: 0, intervalMs: 3_600_000 };

/** A pino logger writing JSON lines into `lines`, so a test can find what was logged. */
function capturingLogger(lines: Array<Record<string, unknown>>) {
  return pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
}

async function lastOf(t: TestBot, ref: LaneRef): Promise<OperationRecord | undefined> {
  return (await t.bot.lanes.get(ref))?.last;
}

/** The job that carries an operation's steps: its request job (admitted at once) or its run job (it waited). */
async function carrierJob(t: TestBot, operationId: string) {
  return (await t.bot.queues.operations.getJob(runJobId(operationId))) ?? (await t.bot.queues.operations.getJob(requestJobId(operationId)));
}

/**
 * Loses the job that carries an operation, as a Redis restarted without persistence would. An active
 * job is locked by its worker and cannot be removed: try again once it is back in the delayed set.
 */
async function loseRunJob(t: TestBot, operationId: string): Promise<void> {
  await waitFor(`the job of ${operationId} to be removed`, async () => {
    const job = await carrierJob(t, operationId);
    if (!job) throw new Error('no job carries it');
    try {
      await job.remove();
      return true;
    } catch {
      return false;
    }
  });
}

async function deployRoot(t: TestBot, branch: string): Promise<StubMessage> {
  return waitFor(`the root of ${branch}`, () => t.stub.rootMentioning(branch));
}

describe('a job that fails for good', () => {
  const EXPLODING = 'feature/explode';
  let t: TestBot;
  const lines: Array<Record<string, unknown>> = [];

  beforeEach(async () => {
    lines.length = 0;
    // The deploy kind with its first step replaced: it throws a plain Error every time for one
    // branch, and runs the real pipeline step for any other (so a later deploy can show the lane free).
    const deploy = OPERATION_KINDS.find((k) => k.kind === 'deploy')!;
    const [pipeline, ...rest] = deploy.steps;
    const exploding: OperationStep = {
      name: pipeline!.name,
      run: (op, deps) => (op.params.branch === EXPLODING ? Promise.reject(new Error('the step exploded')) : pipeline!.run(op, deps)),
    };
    const registry = new OperationRegistry(OPERATION_KINDS.map((k) => (k.kind === 'deploy' ? { ...k, steps: [exploding, ...rest] } : k)));
    t = await startTestBot({
      overrides: { registry, logger: capturingLogger(lines), jobRetry: { attempts: 2, backoffMs: 10 }, recovery: RECOVERY },
    });
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  it('ends the operation in error, says so with a reference that is in the log, frees the lane, and audits it', async () => {
    await t.command(`deploy gray ${EXPLODING}`);
    const root = await deployRoot(t, EXPLODING);
    const op = await waitFor('the deploy to end', async () => {
      const last = await lastOf(t, GRAY);
      return last?.status === 'error' ? last : undefined;
    });
    expect(op.correlationId).toMatch(/^[0-9a-f]{8}$/);
    expect(op.error).toContain('the step exploded');

    const reply = await waitFor('the error reply', () => t.stub.thread(root).find((m) => m.text.includes('could not run')));
    expect(t.stub.thread(root).at(-1)).toBe(reply);
    expect(reply.text).toContain(':warning: The deploy could not run: lanebot hit an unexpected error and stopped this operation (the step exploded).');
    expect(reply.text).toContain(`(reference \`${op.correlationId}\`)`);
    await waitFor('the root to show the error', () => root.text.includes('could not run'));

    // The reference finds the log line with the whole error.
    const logged = lines.find((l) => l.correlationId === op.correlationId);
    expect(logged).toMatchObject({ level: 50, operationId: op.id, msg: 'operation job failed for good; ending the operation' });
    expect(logged!.err).toMatchObject({ message: 'the step exploded' });
    // The first attempt was retried (jobRetry: 2 attempts) before the operation was ended.
    expect(lines.filter((l) => l.msg === 'job failed' && l.jobId === requestJobId(op.id))).toHaveLength(1);

    const audit = await t.bot.audit.recent(GRAY, 20);
    expect(audit.find((e) => e.operationId === op.id && e.outcome === 'error')).toMatchObject({
      action: 'operation:deploy',
      actor: 'U0ALICE',
      lane: 'gray',
      detail: expect.stringContaining('the step exploded'),
    });
    expect(await t.bot.redis.sismember(t.bot.keys.operationsInFlight, op.id)).toBe(0);

    // The lane is free: the next deploy is admitted at once and runs to the end.
    expect((await t.bot.lanes.get(GRAY))?.activeId).toBeUndefined();
    await t.command('deploy gray release/1.2.3');
    const next = await deployRoot(t, 'release/1.2.3');
    await waitFor('the next deploy to run', async () => (await lastOf(t, GRAY))?.status === 'running');
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the next deploy to succeed', () => t.stub.thread(next).find((m) => m.text.includes('now runs `release/1.2.3`')));
    expect(t.stub.thread(next).some((m) => m.text.includes('queued behind'))).toBe(false);
  });
});

describe('the recovery pass', () => {
  let t: TestBot;

  beforeEach(async () => {
    t = await startTestBot({ overrides: { recovery: RECOVERY } });
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  async function runningDeploy(lane: string, branch: string): Promise<OperationRecord> {
    await t.command(`deploy ${lane} ${branch}`);
    return waitFor(`${branch} to run`, async () => {
      const last = await lastOf(t, { ...GRAY, lane });
      return last?.status === 'running' && last.params.branch === branch ? last : undefined;
    });
  }

  it('resumes a running operation whose job was lost, and it finishes', async () => {
    const op = await runningDeploy('gray', 'release/1.0.0');
    await loseRunJob(t, op.id);

    const report = await t.bot.recover();
    expect(report.resumed).toEqual([op.id]);
    expect(report.ended).toEqual([]);
    expect(await t.bot.queues.operations.getJob(runJobId(op.id))).toBeDefined();
    expect((await t.bot.operations.get(op.id))?.recoveries).toBe(1);

    t.clock.advance(FULL_RUN_MS);
    const root = await deployRoot(t, 'release/1.0.0');
    await waitFor('the resumed deploy to succeed', () => t.stub.thread(root).find((m) => m.text.includes('now runs `release/1.0.0`')));
    expect(await t.bot.operations.get(op.id)).toMatchObject({ status: 'succeeded', executionId: op.executionId });
    // Resumed, not started again: one pipeline execution.
    expect(await t.bot.sim!.executionIds('user-api-dev')).toEqual([op.executionId]);
    // Nothing left for a later pass.
    expect(await t.bot.recover()).toMatchObject({ resumed: [], released: [], ended: [] });
  });

  it('releases a slot still held by an operation that ended, and the one waiting behind it runs', async () => {
    const first = await runningDeploy('gray', 'release/1.0.0');
    await t.command('deploy gray release/2.0.0', { user: 'U0BOB' });
    const second = await waitFor('the second deploy to wait', async () => {
      const pending = (await t.bot.lanes.get(GRAY))?.pending;
      return pending?.status === 'waiting' ? pending : undefined;
    });

    // The first one's job died after recording its end but before releasing the lane. Its pipeline
    // runs to the end first, so the second one's pipeline does not meet its stack still changing.
    await loseRunJob(t, first.id);
    t.clock.advance(FULL_RUN_MS);
    expect(await t.bot.operations.transition(first.id, ['running'], 'succeeded', { finishedAt: t.clock.now() })).toBe(true);
    expect(await t.bot.lanes.get(GRAY)).toMatchObject({ activeId: first.id, pendingId: second.id });

    const report = await t.bot.recover();
    expect(report.released).toContain(first.id);
    expect(report.ended).toEqual([]);
    const firstRoot = await deployRoot(t, 'release/1.0.0');
    await waitFor('the first thread to say it ended', () => t.stub.thread(firstRoot).find((m) => m.text.includes('now runs `release/1.0.0`')));
    expect(await t.bot.redis.sismember(t.bot.keys.operationsInFlight, first.id)).toBe(0);

    await waitFor('the second deploy to run', async () => (await t.bot.operations.get(second.id))?.status === 'running');
    expect((await t.bot.lanes.get(GRAY))?.activeId).toBe(second.id);
    t.clock.advance(FULL_RUN_MS);
    const secondRoot = await deployRoot(t, 'release/2.0.0');
    await waitFor('the second deploy to succeed', () => t.stub.thread(secondRoot).find((m) => m.text.includes('now runs `release/2.0.0`')));
  });

  it(`ends an operation in error once its job was lost more than ${MAX_RECOVERIES} times`, async () => {
    const op = await runningDeploy('gray', 'release/1.0.0');
    for (let i = 1; i <= MAX_RECOVERIES; i++) {
      await loseRunJob(t, op.id);
      expect((await t.bot.recover()).resumed).toEqual([op.id]);
      expect((await t.bot.operations.get(op.id))?.recoveries).toBe(i);
    }
    await loseRunJob(t, op.id);
    const report = await t.bot.recover();
    expect(report).toMatchObject({ resumed: [], ended: [op.id] });

    const ended = (await t.bot.operations.get(op.id))!;
    expect(ended).toMatchObject({ status: 'error', error: expect.stringContaining(`its job was lost ${MAX_RECOVERIES + 1} times`) });
    expect(ended.correlationId).toBeTruthy();
    const root = await deployRoot(t, 'release/1.0.0');
    const reply = await waitFor('the error reply', () => t.stub.thread(root).find((m) => m.text.includes('could not run')));
    expect(reply.text).toContain(`(reference \`${ended.correlationId}\`)`);
    expect((await t.bot.lanes.get(GRAY))?.activeId).toBeUndefined();
    expect(await t.bot.redis.sismember(t.bot.keys.operationsInFlight, op.id)).toBe(0);
    expect((await t.bot.audit.recent(GRAY, 20)).find((e) => e.operationId === op.id && e.outcome === 'error')).toBeDefined();
  });
});

describe('a user group as approvers', () => {
  const GROUP = 'S0PRODAPPROVERS';
  const CONFIG = TEST_CONFIG.replace('approvers: [U0APPROVER1]', `approvers: [${GROUP}]`);
  let stub: SlackStub;
  let t: TestBot;

  beforeEach(async () => {
    stub = await new SlackStub({ userGroups: [{ id: GROUP, handle: 'prod-approvers', users: ['U0BOB'] }] }).start();
    t = await startTestBot({ stub, config: CONFIG, overrides: { recovery: RECOVERY } });
    stub.setBotUrl(t.url);
  });

  afterEach(async () => {
    await t.stop();
    await stub.stop();
    await deletePrefix(t.prefix);
  });

  const isMember = async (user: string) => (await t.bot.userGroups.principal(user, [GROUP])).groups.has(GROUP);

  it('fills the copy at start and follows membership changes (approving with it: approvals.test.ts)', async () => {
    // The scheduled full refresh runs once at start.
    await waitFor('the refresh at start', async () => (await t.bot.userGroups.refreshedAt(GROUP)) !== undefined);
    expect(stub.calls.some((c) => c.method === 'usergroups.users.list' && (c.body as Record<string, unknown>).usergroup === GROUP)).toBe(true);
    expect(await isMember('U0BOB')).toBe(true);
    expect(await isMember('U0ALICE')).toBe(false);

    // An admin adds alice in Slack; Slack tells the bot, whose refresh job updates its copy.
    const refreshedBefore = stub.calls.filter((c) => c.method === 'usergroups.users.list').length;
    const change = await stub.setUserGroupMembers(GROUP, ['U0BOB', 'U0ALICE']);
    expect(change).toMatchObject({ ok: true, event: { delivered: true, status: 200 } });
    await waitFor('alice to be in the copy', () => isMember('U0ALICE'));
    expect(stub.calls.filter((c) => c.method === 'usergroups.users.list').length).toBeGreaterThan(refreshedBefore);

    // Removed in Slack, gone from the copy.
    await stub.setUserGroupMembers(GROUP, ['U0ALICE']);
    await waitFor('bob to leave the copy', async () => !(await isMember('U0BOB')));
    expect(await isMember('U0ALICE')).toBe(true);
  });
});

describe('/lane history', () => {
  let t: TestBot;

  beforeEach(async () => {
    t = await startTestBot({ overrides: { recovery: RECOVERY } });
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  async function historyLines(text: string): Promise<string[]> {
    const sent = await t.command(text);
    const reply = await waitFor(`the answer to /lane ${text}`, () => t.stub.responsesFor(sent.id)[0]);
    expect(reply.body).toMatchObject({ response_type: 'ephemeral' });
    return String(reply.body.text).split('\n');
  }

  it('lists who did what and how it ended, newest first, for the service/env or one lane', async () => {
    await t.command('deploy gray release/1.0.0');
    await waitFor('the gray deploy to run', async () => (await lastOf(t, GRAY))?.status === 'running');
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the gray deploy to succeed', async () => (await lastOf(t, GRAY))?.status === 'succeeded');
    await t.command('deploy blue release/2.0.0', { user: 'U0BOB' });
    await waitFor('the blue deploy to run', async () => (await lastOf(t, { ...GRAY, lane: 'blue' }))?.status === 'running');
    // Bob may not delete the lane Alice deployed: refused, and recorded against lane gray.
    const refused = await t.command('delete gray', { user: 'U0BOB' });
    const refusal = await waitFor('the refusal', () => t.stub.responsesFor(refused.id)[0]);
    expect(refusal.body.text).toContain('may delete lane *gray*');
    await waitFor('the refusal to be audited', async () => (await t.bot.audit.recent(GRAY, 1))[0]?.outcome === 'refused');

    const all = await historyLines('history');
    expect(all[0]).toBe('*History of user-api/dev* (newest first)');
    const entries = all.slice(1);
    // Newest first: the refused command, then blue's deploy, then gray's.
    expect(entries[0]).toMatch(/^• <!date\^\d+\^\{date_short\} \{time\}\|[^>]+> <@U0BOB> `\/lane delete` · lane gray → \*refused\* — .*<@U0ALICE>/);
    const at = (needle: string) => {
      const index = entries.findIndex((line) => line.includes(needle));
      expect(index).toBeGreaterThanOrEqual(0);
      return index;
    };
    expect(at('<@U0BOB> deploy · lane blue → *running*')).toBeLessThan(at('<@U0BOB> deploy · lane blue → *queued*'));
    expect(at('<@U0BOB> deploy · lane blue → *queued*')).toBeLessThan(at('<@U0ALICE> deploy · lane gray → *succeeded*'));
    expect(at('<@U0ALICE> deploy · lane gray → *succeeded*')).toBeLessThan(at('<@U0ALICE> deploy · lane gray → *running*'));
    expect(at('<@U0ALICE> deploy · lane gray → *running*')).toBeLessThan(at('<@U0ALICE> deploy · lane gray → *admitted*'));
    expect(at('<@U0ALICE> deploy · lane gray → *admitted*')).toBeLessThan(at('<@U0ALICE> deploy · lane gray → *queued*'));
    at('<@U0ALICE> `/lane deploy` · lane gray → *accepted*');

    const gray = await historyLines('history gray');
    expect(gray[0]).toBe('*History of lane *gray* of user-api/dev* (newest first)');
    expect(gray.length).toBeGreaterThan(4);
    expect(gray.slice(1).every((line) => line.includes('· lane gray →'))).toBe(true);
    expect(gray[1]).toContain('<@U0BOB> `/lane delete` · lane gray → *refused*');
    expect(gray[2]).toContain('<@U0ALICE> deploy · lane gray → *succeeded*');

    const empty = await historyLines('history green');
    expect(empty).toEqual(['Nothing recorded yet for lane *green* of user-api/dev.']);
  });
});
