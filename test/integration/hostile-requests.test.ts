// The HTTP edge against hostile or unlucky requests (issue 9): replays of a signed request, Slack's
// retries, timestamps from the future, oversized bodies and clicks on buttons lanebot does not have.
// Real bots on a real Redis; requests signed as Slack signs them.
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { CONSOLE_BODY_LIMIT_BYTES } from '../../src/sandbox/console-server';
import { blockActionsBody, signSlackRequest } from '../../src/sandbox/slack-signing';
import { DEPLOY_AGAIN_ACTION_ID } from '../../src/slack/actions/deploy-again';
import { SLACK_BODY_LIMIT_BYTES } from '../../src/slack/receiver/bounded-body';
import { deletePrefix, ManualClock, SIGNING_SECRET, startTestBot, statusOf, waitFor, type TestBot } from '../support/harness';
import { slashCommandBody } from '../support/signed-request';
import type { StubMessage } from '../support/slack-stub';

const CHANNEL = 'C0USERAPIDEV';
const DEV = { service: 'user-api', env: 'dev' };
const FULL_RUN_MS = 400_000; // longer than the simulated Source + Build + Deploy
const FAILING_BRANCH = 'feature/sim-fail-build';

interface Answer {
  status: number;
  body: string;
}

/** POSTs `body` to the bot's /slack/events with exactly these headers. */
async function post(url: string, body: string, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(`${url}/slack/events`, { method: 'POST', headers, body });
  return { status: response.status, body: await response.text() };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Pipeline executions the simulator started for a lane of user-api/dev. */
async function executionsOf(t: TestBot, lane: string): Promise<number> {
  const runs = await t.bot.sim!.recentExecutions(500);
  return runs.filter((run) => run.variables.LANE === lane).length;
}

function rootsOf(t: TestBot, lane: string, branch: string): StubMessage[] {
  return t.stub.roots(CHANNEL).filter((m) => m.text.includes(`lane ${lane} ← ${branch}`));
}

describe('the Slack edge against replays', () => {
  let t: TestBot;

  beforeEach(async () => {
    t = await startTestBot();
    t.stub.setBotUrl(t.url);
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  it('acts once on a signed /lane deploy sent 20 times; the copies get an empty 200', async () => {
    const body = slashCommandBody({ text: 'deploy gray release/2.0.0', responseUrl: t.stub.responseUrl(`replayed-${randomUUID()}`) });
    const headers = signSlackRequest(body, SIGNING_SECRET);
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(t.url, body, headers)));

    expect(answers.every((a) => a.status === 200)).toBe(true);
    const acted = answers.filter((a) => a.body !== '');
    expect(acted).toHaveLength(1);
    expect(acted[0]!.body).toContain('Queued the deploy');
    // The copies were answered by the edge before Bolt saw them: nothing else is in flight.
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get({ ...DEV, lane: 'gray' }))?.last?.status === 'running');
    await waitFor('the root message', () => rootsOf(t, 'gray', 'release/2.0.0')[0]);
    expect(rootsOf(t, 'gray', 'release/2.0.0')).toHaveLength(1);
    expect(await executionsOf(t, 'gray')).toBe(1);
  });

  it('does not act on a Slack retry (x-slack-retry-num) of a delivery already taken, though it is signed anew', async () => {
    const body = slashCommandBody({ text: 'deploy teal release/2.0.1', responseUrl: t.stub.responseUrl(`retried-${randomUUID()}`) });
    const first = await post(t.url, body, signSlackRequest(body, SIGNING_SECRET, nowSeconds() - 2));
    expect(first.status).toBe(200);
    expect(first.body).toContain('Queued the deploy');

    const retry = await post(t.url, body, { ...signSlackRequest(body, SIGNING_SECRET, nowSeconds()), 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' });
    expect(retry).toEqual({ status: 200, body: '' });

    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get({ ...DEV, lane: 'teal' }))?.last?.status === 'running');
    // The root is posted by a narrate job, a moment after the operation runs: wait for every thread to settle.
    await waitFor('the root', () => rootsOf(t, 'teal', 'release/2.0.1')[0]);
    await waitFor('every thread to settle', async () => (await t.bot.redis.zcard(t.bot.keys.narratePending)) === 0);
    expect(rootsOf(t, 'teal', 'release/2.0.1')).toHaveLength(1);
    expect(await executionsOf(t, 'teal')).toBe(1);
  });

  it('acts on a retry whose first delivery never arrived', async () => {
    // `/lane deploy` without a lane: answered in the ack itself (usage), so the HTTP body shows it was taken.
    const body = slashCommandBody({ text: 'deploy', responseUrl: t.stub.responseUrl(`lost-${randomUUID()}`) });
    const retry = await post(t.url, body, { ...signSlackRequest(body, SIGNING_SECRET), 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_error' });
    expect(retry.status).toBe(200);
    expect(retry.body).toContain('/lane deploy');
  });

  it('refuses timestamps 1 hour and 1 year in the future like stale ones (401), and takes 30 s of clock drift', async () => {
    const body = () => slashCommandBody({ text: 'deploy', responseUrl: t.stub.responseUrl(`future-${randomUUID()}`) });
    for (const ahead of [3600, 365 * 24 * 3600]) {
      const b = body();
      expect((await post(t.url, b, signSlackRequest(b, SIGNING_SECRET, nowSeconds() + ahead))).status).toBe(401);
    }
    const stale = body();
    expect((await post(t.url, stale, signSlackRequest(stale, SIGNING_SECRET, nowSeconds() - 301))).status).toBe(401);
    const drifted = body();
    const answer = await post(t.url, drifted, signSlackRequest(drifted, SIGNING_SECRET, nowSeconds() + 30));
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('/lane deploy');
  });

  it('deploys once for a "Deploy again" click replayed 10 times', async () => {
    await t.command(`deploy blue ${FAILING_BRANCH}`);
    const root = await waitFor('the root message', () => rootsOf(t, 'blue', FAILING_BRANCH)[0]);
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get({ ...DEV, lane: 'blue' }))?.last?.status === 'running');
    t.clock.advance(FULL_RUN_MS);
    const final = await waitFor('the failure reply', () => t.stub.thread(root).find((m) => m.text.includes('failed at stage *Build*')));
    const failed = (await t.bot.lanes.get({ ...DEV, lane: 'blue' }))!.last!;
    expect(await executionsOf(t, 'blue')).toBe(1);

    const id = `click-${randomUUID().slice(0, 8)}`;
    const responseUrl = t.stub.workspace.responseUrl(
      t.stub.workspace.registerResponseUrl({ user: 'U0BOB', channel: CHANNEL, threadTs: final.threadTs, messageTs: final.ts }, id),
    );
    const body = blockActionsBody({
      user: { id: 'U0BOB', username: 'bob', name: 'bob' },
      channel: { id: CHANNEL, name: 'user-api-dev' },
      message: { ts: final.ts, text: final.text, thread_ts: final.threadTs, blocks: final.blocks },
      button: { actionId: DEPLOY_AGAIN_ACTION_ID, blockId: 'deploy_again', value: JSON.stringify({ v: 1, deployId: failed.id }), text: { type: 'plain_text', text: 'Deploy again' } },
      responseUrl,
    });
    const headers = signSlackRequest(body, SIGNING_SECRET);
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(t.url, body, headers)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));

    const answer = await waitFor('the answer to the click', () => t.stub.responsesFor(id)[0]);
    expect(answer.body.text).toContain('Queued the deploy');
    await waitFor('the second pipeline run', async () => ((await executionsOf(t, 'blue')) === 2 ? true : undefined));
    await waitFor('the deploy again to run', async () => (await t.bot.lanes.get({ ...DEV, lane: 'blue' }))?.last?.status === 'running');
    // Nine copies were answered by the edge before Bolt saw them; one click, one answer, one more run.
    expect(t.stub.responsesFor(id)).toHaveLength(1);
    expect(await executionsOf(t, 'blue')).toBe(2);
  });

  it('acks a click on a button lanebot does not have with 200 at once (not a 404 after 3 s)', async () => {
    const body = blockActionsBody({
      user: { id: 'U0BOB', username: 'bob', name: 'bob' },
      channel: { id: CHANNEL, name: 'user-api-dev' },
      message: { ts: '1700000000.000100', text: 'an old message' },
      button: { actionId: 'lane_promote_from_the_future', blockId: 'b', value: '{}', text: { type: 'plain_text', text: 'Promote' } },
      responseUrl: t.stub.responseUrl(`unknown-${randomUUID()}`),
    });
    expect(await post(t.url, body, signSlackRequest(body, SIGNING_SECRET))).toEqual({ status: 200, body: '' });
  });
});

describe('two bots sharing one Redis prefix', () => {
  it('agree on replays: a request taken by one is not acted on by the other', async () => {
    const prefix = `test-${randomUUID()}`;
    const clock = new ManualClock();
    const a = await startTestBot({ prefix, clock });
    const b = await startTestBot({ prefix, clock, stub: a.stub });
    try {
      const body = slashCommandBody({ text: 'deploy green release/3.0.0', responseUrl: a.stub.responseUrl(`shared-${randomUUID()}`) });
      const headers = signSlackRequest(body, SIGNING_SECRET);
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => post(i % 2 === 0 ? a.url : b.url, body, headers)));
      expect(answers.every((x) => x.status === 200)).toBe(true);
      expect(answers.filter((x) => x.body !== '')).toHaveLength(1);
      await waitFor('the pipeline to run', async () => (await a.bot.lanes.get({ ...DEV, lane: 'green' }))?.last?.status === 'running');
      await waitFor('the root message', () => rootsOf(a, 'green', 'release/3.0.0')[0]);
      expect(rootsOf(a, 'green', 'release/3.0.0')).toHaveLength(1);
      expect(await executionsOf(a, 'green')).toBe(1);
    } finally {
      await b.stop();
      await a.stop();
      await deletePrefix(prefix);
    }
  });
});

/** Sends raw HTTP on a socket and resolves with what the server answered and how much was sent. */
function rawRequest(port: number, head: string, chunks: Buffer[]): Promise<{ response: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let response = '';
    socket.on('data', (data: Buffer) => {
      response += data.toString('latin1');
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ response }));
    socket.write(head);
    for (const chunk of chunks) socket.write(chunk);
    // The body is never finished: a server that waited for all of it would never answer.
  });
}

describe('the Slack edge against oversized bodies', () => {
  let t: TestBot;

  beforeAll(async () => {
    t = await startTestBot();
  });

  afterAll(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  const port = () => Number(new URL(t.url).port);

  it('answers 413 to a 4 MB body by its content-length, having read 1 KB of it', async () => {
    const head = `POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${4 * 1024 * 1024}\r\n\r\n`;
    const { response } = await rawRequest(port(), head, [Buffer.alloc(1024, 'a')]);
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(response).toMatch(/connection: close/i);
  });

  it('cuts off a chunked body without a length once it passes the limit, before it ends', async () => {
    const head = 'POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n';
    const piece = Buffer.alloc(8 * 1024, 'a');
    const chunk = Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
    const count = Math.ceil(SLACK_BODY_LIMIT_BYTES / piece.length) + 1;
    const { response } = await rawRequest(port(), head, Array(count).fill(chunk));
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('takes a body at the limit (then refuses it as unsigned, 401)', async () => {
    const body = 'a'.repeat(SLACK_BODY_LIMIT_BYTES);
    expect((await post(t.url, body, { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(401);
  });

  it('takes no body and no POST on /healthz and /metrics', async () => {
    expect(await statusOf(`${t.url}/metrics`, { method: 'POST', body: 'x' })).toBe(405);
    expect(await statusOf(`${t.url}/healthz`, { method: 'POST', body: 'x' })).toBe(405);
    const head = 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n';
    const { response } = await rawRequest(port(), head, [Buffer.alloc(1024, 'a')]);
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(await statusOf(`${t.url}/healthz`)).toBe(200);
  });
});

describe('the sandbox console against oversized bodies', () => {
  let t: TestBot;

  beforeAll(async () => {
    t = await startTestBot();
    t.stub.setBotUrl(t.url);
  });

  afterAll(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  const port = () => Number(new URL(t.stub.url).port);

  it('answers 413 (JSON) to a console POST over its limit by content-length, unread', async () => {
    const head = `POST /sandbox/commands HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${4 * 1024 * 1024}\r\n\r\n`;
    const { response } = await rawRequest(port(), head, [Buffer.from('{"text":"')]);
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(response).toContain(`"error":"the body is larger than ${CONSOLE_BODY_LIMIT_BYTES} bytes"`);
  });

  it('cuts off a chunked console POST once it passes the limit', async () => {
    const head = 'POST /sandbox/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
    const piece = Buffer.alloc(32 * 1024, 'a');
    const chunk = Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
    const { response } = await rawRequest(port(), head, Array(Math.ceil(CONSOLE_BODY_LIMIT_BYTES / piece.length) + 1).fill(chunk));
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('still takes a console command of ordinary size', async () => {
    const response = await fetch(`${t.stub.url}/sandbox/commands`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'U0ALICE', channel: CHANNEL, text: 'deploy' }),
    });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
  });
});
