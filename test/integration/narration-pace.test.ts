// Issue 15, Must 1: narration at Slack's pace. A Slack stand-in that enforces Slack's limits (posts
// per channel, chat.update per workspace: src/sandbox/workspace/slack-rate-limits.ts, the load
// benchmark's too), here ten to twenty times faster than Slack, and the narrator paced to match.
// Guarantees tested: with 30 threads in one channel finishing at once, every final reply arrives,
// Slack never answers 429, every root ends showing its final state, intermediate root edits are
// dropped while edits are saturated, and the replies do not wait behind the root edits.
import { randomUUID } from 'node:crypto';
import type { SlackPacing } from '../../src/chat/thread-narrator';
import { ThreadNarrator } from '../../src/chat/thread-narrator';
import type { OperationRequest } from '../../src/domain/operation';
import type { SlackLimits } from '../../src/sandbox/workspace/slack-rate-limits';
import { deletePrefix, startTestBot, waitFor, type TestBot } from '../support/harness';
import { SlackStub, type ApiCall } from '../support/slack-stub';

const CHANNEL = 'C0PACE';
const THREADS = 30;
// Posts are cheaper than edits here, as in Slack (1/s per channel against 50/min for the workspace,
// with one busy channel the edits are the scarcer): replies that waited for edit slots would show.
// The narrator keeps 10 % under the limits: the stand-in shares this process's event loop, so on a
// loaded machine calls sent on time may arrive bunched.
const LIMITS: SlackLimits = { postsPerChannel: { intervalMs: 90, burst: 5 }, updates: { intervalMs: 360, burst: 5 } };
const PACING: SlackPacing = { postIntervalMs: 100, updateIntervalMs: 400, editBacklogMs: 1200, threadLockMs: 2000, rootSettleMs: 0 };

function markerOf(call: ApiCall): { operationId?: string; entry?: string } {
  const metadata = call.body.metadata;
  const parsed = (typeof metadata === 'string' ? JSON.parse(metadata) : metadata) as { event_payload?: { deploy_id?: string; entry?: string } } | undefined;
  return { operationId: parsed?.event_payload?.deploy_id, entry: parsed?.event_payload?.entry };
}

describe('narration at Slack’s pace', () => {
  let t: TestBot;
  let stub: SlackStub;
  beforeEach(async () => {
    stub = await new SlackStub({ rateLimits: LIMITS }).start();
    t = await startTestBot({ stub, overrides: { pacing: PACING } });
  });
  afterEach(async () => {
    await t.stop();
    await stub.stop();
    await deletePrefix(t.prefix);
  });

  async function settled(): Promise<void> {
    await waitFor('every thread to settle', async () => (await t.bot.redis.zcard(t.bot.keys.narratePending)) === 0, 90_000);
  }

  function request(i: number): OperationRequest {
    return {
      id: `${Date.now().toString(36)}-${randomUUID().slice(0, 12)}`,
      kind: 'deploy',
      service: 'user-api',
      env: 'dev',
      lane: `pace${i}`,
      params: { branch: `feature/pace-${i}`, pipeline: 'user-api-dev' },
      requester: 'U0ALICE',
      channel: CHANNEL,
      requestedAt: t.clock.now(),
    };
  }

  it('sends 30 final replies in one channel without a 429, ahead of the root edits, and every root ends final', async () => {
    const narrator = new ThreadNarrator(t.bot.redis, t.bot.keys, t.bot.queues);
    const ops = Array.from({ length: THREADS }, (_, i) => request(i));
    for (const op of ops) {
      await t.bot.operations.create(op);
      await t.bot.operations.transition(op.id, ['queued'], 'running', { startedAt: t.clock.now() });
      await narrator.refreshRoot(op.id);
    }
    await settled();
    expect(stub.roots(CHANNEL)).toHaveLength(THREADS);

    // Cosmetic churn: each running deploy's root is marked stale three times, and the edits begin
    // (every thread has asked for its edit slot by then). Then all finish at once.
    const from = stub.calls.length;
    for (let round = 0; round < 3; round++) for (const op of ops) await narrator.refreshRoot(op.id);
    await waitFor('the root edits to begin', () => stub.calls.slice(from).filter((c) => c.method === 'chat.update').length >= 2);
    for (const op of ops) {
      await t.bot.operations.transition(op.id, ['running'], 'succeeded', { finishedAt: t.clock.now() });
      await narrator.say(op.id, 'finished', { kind: 'finished' });
      await narrator.refreshRoot(op.id);
    }
    // Edits take no post slots: the channel's next post slot is at most the 30 replies away (each
    // reservation moves it one post interval past the moment it was made, all of which are past).
    const nextPostAt = Number(await t.bot.redis.get(t.bot.keys.pace(`channel:${CHANNEL}`)));
    expect(nextPostAt).toBeLessThanOrEqual(Date.now() + THREADS * PACING.postIntervalMs);
    await settled();

    // Slack never had to refuse a call.
    expect(stub.calls.filter((c) => c.status === 429)).toEqual([]);
    expect(stub.workspace.rateLimits?.refused).toEqual(new Map());

    const after = stub.calls.slice(from);
    const finishedPosts = after.filter((c) => c.method === 'chat.postMessage' && markerOf(c).entry === 'finished');
    // Every final reply arrived, once.
    expect(new Set(finishedPosts.map((c) => markerOf(c).operationId))).toEqual(new Set(ops.map((op) => op.id)));
    expect(finishedPosts).toHaveLength(THREADS);
    for (const root of stub.roots(CHANNEL)) {
      // The final edit of every root happened.
      expect(root.text).toContain('deployed');
      expect(stub.thread(root)).toHaveLength(1);
    }

    const edits = after.filter((c) => c.method === 'chat.update');
    // Intermediate edits were dropped: the final one of each root, and the few cosmetic ones the
    // backlog allowed before edits were saturated (editBacklogMs / updateIntervalMs, plus the 2 seen).
    expect(edits.length).toBeLessThanOrEqual(THREADS + 6);
    // The replies did not wait for the edits: most root edits came after the last final reply.
    const lastReply = after.lastIndexOf(finishedPosts[finishedPosts.length - 1]!);
    const editsBeforeLastReply = edits.filter((c) => after.indexOf(c) < lastReply).length;
    expect(editsBeforeLastReply).toBeLessThan(edits.length / 2);
  }, 120_000);
});

describe('a narrator paced faster than Slack allows', () => {
  let t: TestBot;
  let stub: SlackStub;
  beforeEach(async () => {
    // Slack takes a post per 200 ms in a channel (bursts of 2); the narrator tries one per 10 ms.
    stub = await new SlackStub({ rateLimits: { postsPerChannel: { intervalMs: 200, burst: 2 }, updates: { intervalMs: 10, burst: 100 } } }).start();
    t = await startTestBot({ stub, overrides: { pacing: { postIntervalMs: 10, updateIntervalMs: 10, threadLockMs: 2000, rootSettleMs: 0 } } });
  });
  afterEach(async () => {
    await t.stop();
    await stub.stop();
    await deletePrefix(t.prefix);
  });

  it('waits as Retry-After says on 429 and loses, repeats or reorders nothing', async () => {
    const narrator = new ThreadNarrator(t.bot.redis, t.bot.keys, t.bot.queues);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const op: OperationRequest = {
        id: `${Date.now().toString(36)}-${randomUUID().slice(0, 12)}`,
        kind: 'deploy',
        service: 'user-api',
        env: 'dev',
        lane: `fast${i}`,
        params: { branch: `feature/fast-${i}`, pipeline: 'user-api-dev' },
        requester: 'U0ALICE',
        channel: CHANNEL,
        requestedAt: t.clock.now(),
      };
      await t.bot.operations.create(op);
      await t.bot.operations.transition(op.id, ['queued'], 'running', { startedAt: t.clock.now() });
      for (let n = 1; n <= 3; n++) await narrator.say(op.id, `note-${n}`, { kind: 'note', text: `note ${n} of ${op.lane}` });
      ids.push(op.id);
    }
    await waitFor('every thread to settle', async () => (await t.bot.redis.zcard(t.bot.keys.narratePending)) === 0, 90_000);

    // Slack refused some posts (the narrator was too fast for it) ...
    const refused = stub.calls.filter((c) => c.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((c) => c.method === 'chat.postMessage')).toBe(true);
    // ... and every thread still has its three notes, once each, in order.
    const roots = stub.roots(CHANNEL);
    expect(roots).toHaveLength(4);
    for (const root of roots) {
      const lane = /fast\d/.exec(root.text)?.[0];
      expect(stub.thread(root).map((m) => m.text)).toEqual([1, 2, 3].map((n) => `note ${n} of ${lane}`));
    }
  }, 120_000);
});
