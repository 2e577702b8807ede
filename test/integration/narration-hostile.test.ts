// Issue 9, the Slack half: what lanebot says in Slack when Slack or the users are hostile or unlucky.
// Guarantees tested (see the top of src/chat/thread-narrator.ts):
//  - with channel history unreadable, a thread reply whose answer was lost (a 500 after Slack stored
//    it, or a sender that died mid-post) is not posted twice (at most once), and a root whose answer
//    was lost is posted again without a status, so no copy shows "queued" for ever;
//  - when the bot is not in the channel, the requester gets one DM with the fix, the deploy goes on,
//    and its outcome comes as a second DM;
//  - 2,000 deploys to one lane cost a handful of Slack posts and a bounded set of Redis keys, and a
//    deploy in another channel gets its root before the flooded channel's backlog is through;
//  - the channel membership cache follows Slack's events and conversations.info.
import { randomUUID } from 'node:crypto';
import { ChannelMembership, refreshChannelMembership } from '../../src/chat/channel-membership';
import pino from 'pino';
import { createSlackWebClient, SlackChatAdapter } from '../../src/chat/slack-chat.adapter';
import { ThreadNarrator } from '../../src/chat/thread-narrator';
import type { OperationRequest } from '../../src/domain/operation';
import { requestJobId } from '../../src/queue/queues';
import { dmChannelId } from '../../src/sandbox/slack-workspace';
import { UNSTARTED_RETENTION_SECONDS } from '../../src/state/operation-store';
import { deletePrefix, startTestBot, waitFor, type TestBot } from '../support/harness';

const FULL_RUN_MS = 400_000;
const GRAY = { service: 'user-api', env: 'dev', lane: 'gray' };
const CHANNEL = 'C0USERAPIDEV';

async function settled(t: TestBot): Promise<void> {
  await waitFor('every thread to settle', async () => (await t.bot.redis.zcard(t.bot.keys.narratePending)) === 0, 60_000);
}

async function runningDeploy(t: TestBot, branch: string): Promise<void> {
  await waitFor(`${branch} to run`, async () => {
    const last = (await t.bot.lanes.get(GRAY))?.last;
    return last?.params.branch === branch && last.status === 'running';
  });
}

describe('exactly-once replies with channel history unreadable', () => {
  let t: TestBot;
  beforeEach(async () => {
    t = await startTestBot();
    t.stub.workspace.setScope('channels:history', false);
  });
  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  it('posts a reply whose answer was lost (a 500 after Slack stored it) once, and the root ends with the outcome', async () => {
    await t.command('deploy gray release/7.0.0');
    await runningDeploy(t, 'release/7.0.0');
    const root = await waitFor('the root', () => t.stub.rootMentioning('release/7.0.0'));
    await settled(t);
    // The next post is the final reply (root edits are updates): Slack stores it, then answers 500.
    t.stub.failNext({ status: 500, afterApplying: true, method: 'chat.postMessage' });
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the root to show the outcome', () => root.text.includes('deployed'));
    await settled(t);

    const replies = t.stub.thread(root).filter((m) => m.text.includes('now runs'));
    expect(replies).toHaveLength(1);
    expect(t.stub.roots(CHANNEL)).toHaveLength(1);
    // The lookup was tried and refused; the reply was not posted again.
    expect(t.stub.calls.filter((c) => c.method === 'conversations.replies').map((c) => c.status)).toEqual([200]);
    const posts = t.stub.calls.filter((c) => c.method === 'chat.postMessage' && c.body.thread_ts === root.ts);
    expect(posts.filter((c) => c.status === 500)).toHaveLength(1);
  });

  it('re-posts a root whose answer was lost without a status, and no root stays "queued"', async () => {
    t.stub.failNext({ status: 500, afterApplying: true });
    await t.command('deploy gray release/7.1.0');
    await runningDeploy(t, 'release/7.1.0');
    const roots = await waitFor('two copies of the root', () => {
      const found = t.stub.roots(CHANNEL).filter((m) => m.text.includes('release/7.1.0'));
      return found.length === 2 ? found : undefined;
    });
    await settled(t);
    const [lost, kept] = roots as [(typeof roots)[0], (typeof roots)[0]];
    // The copy whose ts was lost says who asked for what, never a status.
    expect(lost.text).not.toMatch(/queued|waiting|running|deployed/);
    expect(lost.edits).toBe(0);
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the kept root to show the outcome', () => kept.text.includes('deployed'));
    await settled(t);
    expect(t.stub.thread(kept).filter((m) => m.text.includes('now runs'))).toHaveLength(1);
    expect(t.stub.thread(lost)).toHaveLength(0);
  });

  it('does not post twice a reply whose sender died after Slack stored it (crash mid-post)', async () => {
    await t.command('deploy gray release/7.2.0');
    await runningDeploy(t, 'release/7.2.0');
    const root = await waitFor('the root', () => t.stub.rootMentioning('release/7.2.0'));
    await settled(t);
    const op = (await t.bot.lanes.get(GRAY))!.last!;

    // What a sender killed between Slack's answer and its own bookkeeping leaves behind: the
    // attempt recorded, the message in Slack (with its marker), the entry still at the outbox head.
    const keys = t.bot.keys;
    const entry = { id: 'note-crash', event: { kind: 'note', text: 'a note the dead sender had posted' } };
    const adapter = new SlackChatAdapter(createSlackWebClient('xoxb-test', t.stub.apiUrl));
    await adapter.post(CHANNEL, { text: entry.event.text }, { threadTs: root.ts, marker: { operationId: op.id, entry: entry.id } });
    await t.bot.redis
      .multi()
      .sadd(keys.outboxSeen(op.id), entry.id)
      .rpush(keys.outbox(op.id), JSON.stringify(entry))
      .set(keys.threadSending(op.id), JSON.stringify({ entry: entry.id, at: Date.now() }))
      .zadd(keys.narratePending, Date.now(), op.id)
      .exec();
    await t.bot.queues.narrate.add('flush', { operationId: op.id }, { jobId: `flush-${op.id}` });
    await waitFor('the attempt to be resolved', async () => !(await t.bot.redis.exists(keys.threadSending(op.id))));
    await settled(t);
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the final reply', () => t.stub.thread(root).find((m) => m.text.includes('now runs')));
    await settled(t);

    expect(t.stub.thread(root).filter((m) => m.text === entry.event.text)).toHaveLength(1);
    expect(t.stub.thread(root).filter((m) => m.text.includes('now runs'))).toHaveLength(1);
  });
});

describe('a deploy in a channel the bot is not in', () => {
  let t: TestBot;
  beforeEach(async () => {
    t = await startTestBot();
    t.stub.workspace.setBotMembership(CHANNEL, false);
  });
  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  it('tells the requester once by DM how to fix it, runs the deploy, and DMs its outcome', async () => {
    await t.command('deploy gray release/8.0.0', { user: 'U0ALICE' });
    await runningDeploy(t, 'release/8.0.0');
    const dm = dmChannelId('U0ALICE');
    const notice = await waitFor('the DM', () => t.stub.messages.find((m) => m.channel === dm));
    expect(notice.text).toContain('not_in_channel');
    expect(notice.text).toContain('/invite @lanebot');
    expect(notice.text).toContain('goes on');

    t.clock.advance(FULL_RUN_MS);
    await waitFor('the deploy to succeed', async () => (await t.bot.lanes.get(GRAY))?.last?.status === 'succeeded');
    const outcome = await waitFor('the outcome DM', () => t.stub.messages.filter((m) => m.channel === dm)[1]);
    await settled(t);
    expect(outcome.text).toContain('Outcome of');
    expect(outcome.text).toContain('now runs');
    expect(t.stub.messages.filter((m) => m.channel === dm)).toHaveLength(2);
    expect(t.stub.roots(CHANNEL)).toHaveLength(0);
    // The refusal taught lanebot that it cannot post there.
    expect(await new ChannelMembership(t.bot.redis, t.bot.keys).canPost(CHANNEL)).toBe('no');
  });
});

describe('the channel membership cache', () => {
  let t: TestBot;
  beforeEach(async () => {
    t = await startTestBot();
    t.stub.setBotUrl(t.url);
  });
  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  async function setBot(channel: string, member: boolean): Promise<{ event?: { delivered: boolean } }> {
    const response = await fetch(`${t.stub.url}/sandbox/channels/bot`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel, member, by: 'U0ALICE' }),
    });
    return (await response.json()) as { event?: { delivered: boolean } };
  }

  it('follows channel_left and member_joined_channel events for the bot', async () => {
    const membership = new ChannelMembership(t.bot.redis, t.bot.keys);
    expect(await membership.canPost(CHANNEL)).toBe('unknown');
    expect((await setBot(CHANNEL, false)).event?.delivered).toBe(true);
    await waitFor('the removal to be recorded', async () => (await membership.canPost(CHANNEL)) === 'no');
    expect((await setBot(CHANNEL, true)).event?.delivered).toBe(true);
    await waitFor('the join to be recorded', async () => (await membership.canPost(CHANNEL)) === 'yes');
    expect((await membership.fact(CHANNEL))?.source).toBe('event');
  });

  it('is filled from conversations.info by the refresh job, and an older fact never replaces a newer one', async () => {
    const membership = new ChannelMembership(t.bot.redis, t.bot.keys);
    const chat = new SlackChatAdapter(createSlackWebClient('xoxb-test', t.stub.apiUrl));
    t.stub.workspace.setBotMembership('C0ORDERSDEV', false);
    const result = await refreshChannelMembership(chat, membership, [CHANNEL, 'C0ORDERSDEV'], () => Date.now(), pino({ level: 'silent' }));
    expect(result).toEqual({ refreshed: 2, failed: 0 });
    expect(await membership.canPost(CHANNEL)).toBe('yes');
    expect(await membership.canPost('C0ORDERSDEV')).toBe('no');
    // A late event from before the refresh does not undo it.
    expect(await membership.record('C0ORDERSDEV', { canPost: true, at: Date.now() - 60_000, source: 'event' })).toBe(false);
    expect(await membership.canPost('C0ORDERSDEV')).toBe('no');
  });
});

describe('a flood of deploys to one lane', () => {
  let t: TestBot;
  beforeEach(async () => {
    // Production-like settling of waiting roots; posts paced per channel.
    t = await startTestBot({ overrides: { pacing: { postIntervalMs: 20, updateIntervalMs: 5, threadLockMs: 2000, rootSettleMs: 1500 } } });
  });
  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  function request(branch: string, overrides: Partial<OperationRequest> = {}): OperationRequest {
    return {
      id: `${Date.now().toString(36)}-${randomUUID().slice(0, 12)}`,
      kind: 'deploy',
      ...GRAY,
      params: { branch, pipeline: 'user-api-dev' },
      requester: 'U0ALICE',
      channel: CHANNEL,
      requestedAt: t.clock.now(),
      ...overrides,
    };
  }

  it('costs a handful of Slack posts and bounded Redis keys for 2,000 deploys, and another channel is not held up', async () => {
    await t.command('deploy gray release/first');
    await runningDeploy(t, 'release/first');
    const requests = Array.from({ length: 2000 }, (_, i) => request(`loop/${i}`));
    for (let i = 0; i < requests.length; i += 500) {
      await t.bot.queues.operations.addBulk(
        requests.slice(i, i + 500).map((r) => ({ name: 'request', data: { kind: 'request' as const, request: r }, opts: { jobId: requestJobId(r.id) } })),
      );
    }
    // Another channel's deploy, requested while the flood is being processed.
    await t.command('deploy green release/orders', { channel: 'C0ORDERSDEV' });
    const last = requests[requests.length - 1]!;
    await waitFor('every request to be handled', async () => (await t.bot.operations.get(last.id))?.status === 'waiting', 120_000);
    const ordersRoot = await waitFor('the other channel root', () => t.stub.rootMentioning('release/orders'));
    await settled(t);

    const grayRoots = t.stub.roots(CHANNEL);
    // The running deploy and the one left waiting; none of the 1,999 superseded ones.
    expect(grayRoots.map((m) => m.text.match(/release\/first|loop\/\d+/)?.[0])).toEqual(['release/first', 'loop/1999']);
    const channelPosts = t.stub.calls.filter((c) => c.method === 'chat.postMessage' && c.body.channel === CHANNEL);
    expect(channelPosts.length).toBeLessThanOrEqual(5);
    // The other channel's root did not wait for the flooded channel (it came before the last waiting root).
    expect(t.stub.messages.indexOf(ordersRoot)).toBeLessThan(t.stub.messages.indexOf(grayRoots[1]!));

    // Redis: a superseded request leaves only its record, expiring within hours; no thread keys.
    const superseded = requests.slice(0, 1000);
    const ttls = await Promise.all(superseded.map((r) => t.bot.redis.ttl(t.bot.keys.operation(r.id))));
    expect(ttls.every((ttl) => ttl > 0 && ttl <= UNSTARTED_RETENTION_SECONDS)).toBe(true);
    let threadKeys = 0;
    let cursor = '0';
    do {
      const [next, keys] = await t.bot.redis.scan(cursor, 'MATCH', `${t.prefix}:thread:*`, 'COUNT', 1000);
      cursor = next;
      threadKeys += keys.length;
    } while (cursor !== '0');
    expect(threadKeys).toBeLessThan(20);
  }, 180_000);

  it('one channel with 1,000 threads to post does not hold up another channel', async () => {
    const slow = await startTestBot({ stub: t.stub, clock: t.clock, overrides: { pacing: { postIntervalMs: 50, updateIntervalMs: 5, threadLockMs: 2000 } } });
    try {
      const busy = Array.from({ length: 1000 }, (_, i) => request(`busy/${i}`, { lane: `l${i}`, channel: 'C0BUSY' }));
      for (const r of busy) {
        await slow.bot.operations.create(r);
        await slow.bot.operations.transition(r.id, ['queued'], 'running', { startedAt: t.clock.now() });
      }
      const narrator = new ThreadNarrator(slow.bot.redis, slow.bot.keys, slow.bot.queues);
      for (const r of busy) await narrator.refreshRoot(r.id);
      const quiet = request('quiet/1', { channel: 'C0QUIET', lane: 'quiet' });
      await slow.bot.operations.create(quiet);
      await slow.bot.operations.transition(quiet.id, ['queued'], 'running', { startedAt: t.clock.now() });
      await narrator.refreshRoot(quiet.id);
      const quietRoot = await waitFor('the quiet channel root', () => t.stub.roots('C0QUIET')[0], 60_000);
      // When it arrived, the busy channel had posted only a small part of its backlog.
      const busyBefore = t.stub.messages.slice(0, t.stub.messages.indexOf(quietRoot)).filter((m) => m.channel === 'C0BUSY');
      expect(busyBefore.length).toBeLessThan(200);
    } finally {
      await slow.stop();
      await deletePrefix(slow.prefix);
    }
  }, 120_000);
});
