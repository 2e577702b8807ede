// What happens when parts fail: Redis down when a command arrives, a worker killed mid-deploy,
// Slack failing transiently or rate limiting, two bot processes on one Redis, forged requests.
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connectTestRedis, deletePrefix, SIGNING_SECRET, startTestBot, waitFor, type TestBot } from '../support/harness';
import { forkWorkerProcess, killWorkerProcess, workerProcessEnv } from '../support/worker-process';
import { signSlackBody, slashCommandBody } from '../support/signed-request';
import { SlackStub } from '../support/slack-stub';
import type { ChatPort } from '../../src/chat/chat.port';
import { createSlackWebClient, SlackChatAdapter } from '../../src/chat/slack-chat.adapter';

const FULL_RUN_MS = 400_000;

describe('when Redis is down at ack time', () => {
  let t: TestBot;

  beforeAll(async () => {
    // Nothing listens on port 1: every Redis connection is refused.
    t = await startTestBot({ env: { REDIS_URL: 'redis://127.0.0.1:1' } });
  });

  afterAll(async () => {
    await t.stop();
  });

  it('says in the ack itself that nothing was queued (never "queued" first)', async () => {
    const sent = await t.command('deploy gray release/1.2.3');
    expect(sent.status).toBe(200);
    const ack = JSON.parse(sent.body) as { response_type: string; text: string };
    expect(ack.response_type).toBe('ephemeral');
    expect(ack.text).toContain('Nothing was queued');
    expect(ack.text).toContain('Redis');
    expect(ack.text).not.toContain('Queued');
    expect(t.stub.responsesFor(sent.id)).toEqual([]);
    expect(t.stub.roots()).toHaveLength(0);
  });

  it('answers status with the reason instead of silence', async () => {
    const sent = await t.command('status gray');
    const reply = await waitFor('the ephemeral reply', () => t.stub.responsesFor(sent.id)[0]);
    expect(reply.body.text).toContain('could not read its Redis');
  });

  it('reports 503 on /healthz', async () => {
    const response = await fetch(`${t.url}/healthz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: 'unavailable', redis: 'down' });
  });
});

describe('HTTP endpoints', () => {
  let t: TestBot;

  beforeAll(async () => {
    t = await startTestBot();
  });

  afterAll(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  it('rejects a forged signature with 401 and queues nothing', async () => {
    const body = slashCommandBody({ text: 'deploy gray release/1.2.3', responseUrl: t.stub.responseUrl('forged') });
    const response = await fetch(`${t.url}/slack/events`, { method: 'POST', headers: signSlackBody(body, 'not-the-secret'), body });
    expect(response.status).toBe(401);
    await response.arrayBuffer();
    expect(await t.bot.queues.operations.count()).toBe(0);
  });

  it('rejects a replayed request with an old timestamp', async () => {
    const body = slashCommandBody({ text: 'deploy gray release/1.2.3', responseUrl: t.stub.responseUrl('replay') });
    const tenMinutesAgo = Math.floor(Date.now() / 1000) - 600;
    const response = await fetch(`${t.url}/slack/events`, { method: 'POST', headers: signSlackBody(body, SIGNING_SECRET, tenMinutesAgo), body });
    expect(response.status).toBe(401);
    await response.arrayBuffer();
  });

  it('reports healthy Redis on /healthz and serves Prometheus metrics', async () => {
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', redis: 'up' });

    await t.command('help');
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain('lanebot_commands_total{command="help",outcome="run"} 1');
    expect(metrics).toContain('lanebot_command_ack_seconds_count');
  });
});

describe('Slack failing transiently', () => {
  let t: TestBot;

  beforeEach(async () => {
    t = await startTestBot();
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  it('honours Retry-After on 429 and retries 5xx without losing or reordering messages', async () => {
    // The first calls fail: the root post is rate limited, then Slack errors twice.
    t.stub.failNext({ status: 429, retryAfterSeconds: 1 }, { status: 500 }, { status: 500 });
    await t.command('deploy gray feature/sim-fail-deploy');
    const root = await waitFor('the root message', () => t.stub.rootMentioning('feature/sim-fail-deploy'));
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get({ service: 'user-api', env: 'dev', lane: 'gray' }))?.last?.status === 'running');

    t.stub.failNext({ status: 500 }, { status: 429, retryAfterSeconds: 1 }, { status: 500 });
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the final reply', () => t.stub.thread(root).find((m) => m.text.includes('failed at stage *Deploy*')));

    const thread = t.stub.thread(root).map((m) => m.text);
    expect(thread).toHaveLength(2);
    expect(thread[0]).toContain('Stage *Deploy* failed');
    expect(thread[1]).toContain('failed at stage *Deploy*');
    expect(t.stub.roots()).toHaveLength(1);

    const posts = t.stub.calls.filter((c) => c.method === 'chat.postMessage');
    expect(posts.filter((c) => c.status === 429).length).toBeGreaterThanOrEqual(1);
    expect(t.stub.calls.filter((c) => c.status === 500).length).toBeGreaterThanOrEqual(3);
  });
});

describe('a sender that dies between Slack taking a message and recording it', () => {
  it('finds the message by its marker instead of posting it twice', async () => {
    const stub = await new SlackStub().start();
    const real = new SlackChatAdapter(createSlackWebClient('xoxb-test', stub.apiUrl));
    const interrupted = new Set<string>();
    // Each first post of an entry reaches Slack, then the "process" loses the answer.
    const chat: ChatPort = {
      post: async (channel, message, options) => {
        const result = await real.post(channel, message, options);
        const entry = options?.marker?.entry ?? '';
        if (!interrupted.has(entry)) {
          interrupted.add(entry);
          throw new Error('connection reset after Slack accepted the message');
        }
        return result;
      },
      update: (channel, ts, message) => real.update(channel, ts, message),
      permalink: (channel, ts) => real.permalink(channel, ts),
      findPosted: (channel, marker, options) => real.findPosted(channel, marker, options),
      dm: (user, message) => real.dm(user, message),
      channelInfo: (channel) => real.channelInfo(channel),
      openModal: (triggerId, view) => real.openModal(triggerId, view),
      respond: (responseUrl, message) => real.respond(responseUrl, message),
    };
    const t = await startTestBot({ stub, overrides: { chat } });
    try {
      await t.command('deploy gray release/1.2.3');
      await waitFor('the pipeline to run', async () => (await t.bot.lanes.get({ service: 'user-api', env: 'dev', lane: 'gray' }))?.last?.status === 'running');
      t.clock.advance(FULL_RUN_MS);
      const root = await waitFor('the root message', () => stub.rootMentioning('release/1.2.3'));
      await waitFor('the success reply', () => stub.thread(root).find((m) => m.text.includes('now runs')), 30_000);
      // The interrupted success reply is looked up in the thread before anything else is sent.
      await waitFor('the thread to settle', async () => (await t.bot.redis.zcard(t.bot.keys.narratePending)) === 0);
      expect(interrupted).toEqual(new Set(['root', 'finished']));
      expect(stub.roots()).toHaveLength(1);
      expect(stub.thread(root)).toHaveLength(1);
      expect(stub.calls.map((c) => c.method).filter((m) => m.startsWith('conversations.'))).toEqual(['conversations.history', 'conversations.replies']);
    } finally {
      await t.stop();
      await stub.stop();
      await deletePrefix(t.prefix);
    }
  });
});

describe('two bot processes on one Redis', () => {
  const prefix = `test-${randomUUID()}`;
  let stub: SlackStub;
  let a: TestBot;
  let b: TestBot;

  beforeAll(async () => {
    stub = await new SlackStub().start();
    a = await startTestBot({ stub, prefix });
    b = await startTestBot({ stub, prefix, clock: a.clock });
  });

  afterAll(async () => {
    await a.stop();
    await b.stop();
    await stub.stop();
    await deletePrefix(prefix);
  });

  it('posts every message once and starts every pipeline once', async () => {
    await a.command('deploy gray release/1.0.0');
    await b.command('deploy blue release/2.0.0');
    await a.command('deploy green release/3.0.0', { channel: 'C0ORDERSDEV' });
    await b.command('deploy gray release/1.0.1');
    const lanes = [
      { service: 'user-api', env: 'dev', lane: 'gray' },
      { service: 'user-api', env: 'dev', lane: 'blue' },
      { service: 'orders', env: 'dev', lane: 'green' },
    ];
    await waitFor('the first deploys to run', async () => {
      const views = await Promise.all(lanes.map((l) => a.bot.lanes.get(l)));
      return views.every((v) => v?.last?.status === 'running');
    });
    a.clock.advance(FULL_RUN_MS);
    await waitFor('gray to take its second deploy', async () => (await a.bot.lanes.get(lanes[0]!))?.last?.params.branch === 'release/1.0.1');
    await waitFor('its pipeline to run', async () => (await a.bot.lanes.get(lanes[0]!))?.last?.status === 'running');
    a.clock.advance(FULL_RUN_MS);

    for (const branch of ['release/1.0.0', 'release/2.0.0', 'release/3.0.0', 'release/1.0.1']) {
      const root = await waitFor(`the root of ${branch}`, () => stub.rootMentioning(branch));
      await waitFor(`${branch} to succeed`, () => stub.thread(root).find((m) => m.text.includes('now runs')));
    }
    // Let any duplicate that would come arrive, then count.
    await waitFor('the queues to drain', async () => (await a.bot.queues.narrate.getJobCounts('waiting', 'active', 'delayed')).waiting === 0);
    expect(stub.roots()).toHaveLength(4);
    for (const root of stub.roots()) {
      const thread = stub.thread(root);
      expect(thread.filter((m) => m.text.includes('now runs'))).toHaveLength(1);
      const queuedReplies = thread.filter((m) => m.text.includes('queued behind'));
      expect(queuedReplies.length).toBeLessThanOrEqual(1);
    }
    expect(await a.bot.sim!.executionIds('user-api-dev')).toHaveLength(3);
    expect(await a.bot.sim!.executionIds('orders-dev')).toHaveLength(1);
  });
});

describe('a worker killed mid-deploy', () => {
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

  it('is picked up by another worker without a second pipeline start', async () => {
    child = await forkWorkerProcess('crashing-worker.ts', workerProcessEnv({ slackApiUrl: stub.apiUrl, prefix, simTimeScale: 100000 }));

    // The receiver alone: it queues, the child process works.
    web = await startTestBot({ stub, prefix, env: { LANEBOT_ROLE: 'web' } });
    await web.command('deploy gray release/1.2.3');
    const executionId = await waitFor('the child to start the pipeline', () => redis.get(`${prefix}:test:started`));

    await killWorkerProcess(child);

    // A second worker process takes over once the dead worker's job lock expires.
    rescuer = await startTestBot({
      stub,
      prefix,
      env: { LANEBOT_ROLE: 'worker', SIM_TIME_SCALE: '100000' },
      overrides: { workerOptions: { lockDuration: 2000, stalledInterval: 1000 }, clock: { now: () => Date.now() } },
    });
    const root = await waitFor('the root message', () => stub.rootMentioning('release/1.2.3'));
    await waitFor('the deploy to succeed', () => stub.thread(root).find((m) => m.text.includes('now runs')), 30_000);

    expect(await rescuer.bot.sim!.executionIds('user-api-dev')).toEqual([executionId]);
    const deploy = (await rescuer.bot.lanes.get({ service: 'user-api', env: 'dev', lane: 'gray' }))?.last;
    expect(deploy).toMatchObject({ status: 'succeeded', executionId });
    expect(stub.roots()).toHaveLength(1);
  }, 60_000);
});

describe('many deploys in one channel', () => {
  it('paces Slack calls per channel and still completes every thread', async () => {
    const t = await startTestBot({
      env: { SIM_TIME_SCALE: '3000' },
      overrides: { clock: { now: () => Date.now() }, pacing: { postIntervalMs: 40, updateIntervalMs: 50, threadLockMs: 2000 } },
    });
    try {
      const lanes = Array.from({ length: 12 }, (_, i) => `lane-${i}`);
      for (const lane of lanes) await t.command(`deploy ${lane} release/${lane}`);
      for (const lane of lanes) {
        const root = await waitFor(`the root of ${lane}`, () => t.stub.rootMentioning(`release/${lane}`), 30_000);
        await waitFor(`${lane} to succeed`, () => t.stub.thread(root).find((m) => m.text.includes('now runs')), 30_000);
        await waitFor(`the root of ${lane} to say deployed`, () => root.text.includes('deployed'), 30_000);
      }
      expect(t.stub.roots()).toHaveLength(12);
      // Every thread settles: nothing is left waiting to be sent.
      await waitFor('every thread to settle', async () => (await t.bot.redis.zcard(t.bot.keys.narratePending)) === 0);
      expect(await t.bot.redis.zcard(t.bot.keys.narratePending)).toBe(0);
    } finally {
      await t.stop();
      await deletePrefix(t.prefix);
    }
  }, 90_000);
});
