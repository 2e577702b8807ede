// The sandbox console server: Slack's Web API and response_urls for the bot, the console API the
// web page drives (commands reaching a real lanebot, button clicks reaching a Bolt app, signed as
// Slack signs them), the event stream, static files, and clear 4xx answers to bad input.
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, HTTPReceiver } from '@slack/bolt';
import { startConsoleServer, type ConsoleServer } from '../../src/sandbox/console-server';
import { SlackWorkspace, type ConsoleMessage, type MessageChange } from '../../src/sandbox/slack-workspace';
import { deletePrefix, SIGNING_SECRET, startTestBot, statusOf, waitFor, type TestBot } from '../support/harness';
import { SlackStub, TEST_CHANNELS, TEST_USERS } from '../support/slack-stub';

interface JsonAnswer {
  status: number;
  body: Record<string, unknown>;
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

async function postJson(url: string, body: unknown): Promise<JsonAnswer> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function postRaw(url: string, body: string, contentType: string): Promise<JsonAnswer> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function messagesOf(base: string, channel: string, user?: string): Promise<ConsoleMessage[]> {
  return getJson<ConsoleMessage[]>(`${base}/sandbox/messages?channel=${channel}${user ? `&user=${user}` : ''}`);
}

/** A GET with the path sent exactly as written (fetch would normalize `..` away). */
function rawGet(base: string, path: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Reads a Server-Sent Events stream until a `message` event matches. */
class EventStream {
  private buffer = '';
  private readonly decoder = new TextDecoder();
  private constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly abort: AbortController,
  ) {}

  /** Opens the stream and waits until the server says it is connected (so no change is missed). */
  static async open(url: string): Promise<EventStream> {
    const abort = new AbortController();
    const response = await fetch(url, { signal: abort.signal });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const stream = new EventStream(response.body!.getReader(), abort);
    while (!stream.buffer.includes(': connected')) await stream.readChunk();
    return stream;
  }

  async next(matches: (change: MessageChange) => boolean): Promise<MessageChange> {
    for (;;) {
      let end = this.buffer.indexOf('\n\n');
      while (end >= 0) {
        const frame = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const change = parseFrame(frame);
        if (change && matches(change)) return change;
        end = this.buffer.indexOf('\n\n');
      }
      await this.readChunk();
    }
  }

  close(): void {
    this.abort.abort();
  }

  private async readChunk(): Promise<void> {
    const { value, done } = await this.reader.read();
    if (done) throw new Error('the event stream ended');
    this.buffer += this.decoder.decode(value, { stream: true });
  }
}

function parseFrame(frame: string): MessageChange | undefined {
  const lines = frame.split('\n');
  if (!lines.includes('event: message')) return undefined;
  const data = lines.find((l) => l.startsWith('data: '));
  return data ? (JSON.parse(data.slice('data: '.length)) as MessageChange) : undefined;
}

const PRIVATE_CHANNEL = { id: 'C0PRIVATE', name: 'alice-only', binding: null, members: ['U0ALICE'] };

describe('the console with a real lanebot', () => {
  let stub: SlackStub;
  let t: TestBot;

  beforeAll(async () => {
    stub = await new SlackStub({ channels: [...TEST_CHANNELS, PRIVATE_CHANNEL] }).start();
    t = await startTestBot({ stub });
    stub.setBotUrl(t.url);
  });

  afterAll(async () => {
    await t.stop();
    await stub.stop();
    await deletePrefix(t.prefix);
  });

  it('lists users and channels with their bindings and members', async () => {
    const users = await getJson<unknown[]>(`${stub.url}/sandbox/users`);
    expect(users).toEqual([
      { id: 'U0ALICE', name: 'alice', realName: 'Alice Example', title: 'Developer' },
      { id: 'U0BOB', name: 'bob', realName: 'Bob Example', title: 'Developer' },
      { id: 'U0APPROVER1', name: 'approver', realName: 'Ada Approver', title: 'Release manager' },
    ]);
    const channels = await getJson<unknown[]>(`${stub.url}/sandbox/channels`);
    expect(channels).toEqual([
      { id: 'C0USERAPIDEV', name: 'user-api-dev', binding: { service: 'user-api', env: 'dev' }, members: ['U0ALICE', 'U0BOB', 'U0APPROVER1'], botMember: true, im: false },
      { id: 'C0ORDERSDEV', name: 'orders-dev', binding: { service: 'orders', env: 'dev' }, members: ['U0ALICE', 'U0BOB', 'U0APPROVER1'], botMember: true, im: false },
      { id: 'C0PRIVATE', name: 'alice-only', binding: null, members: ['U0ALICE'], botMember: true, im: false },
    ]);
  });

  it('sends a signed slash command: the bot acks to the sender only and posts the deploy thread', async () => {
    const sent = await postJson(`${stub.url}/sandbox/commands`, { user: 'U0ALICE', channel: 'C0USERAPIDEV', text: 'deploy gray release/1.2.3' });
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ ok: true, status: 200, ack: { response_type: 'ephemeral' } });
    expect((sent.body.ack as { text: string }).text).toContain('Queued the deploy of `release/1.2.3` to lane *gray*');

    const root = await waitFor('the root message', async () =>
      (await messagesOf(stub.url, 'C0USERAPIDEV', 'U0BOB')).find((m) => !m.ephemeral && m.text.includes('release/1.2.3')),
    );
    expect(root).toMatchObject({ user: 'UBOT', username: 'lanebot', isBot: true });
    expect(root.text).toContain('<@U0ALICE>');

    const forAlice = await messagesOf(stub.url, 'C0USERAPIDEV', 'U0ALICE');
    expect(forAlice.filter((m) => m.ephemeral)).toEqual([
      expect.objectContaining({ visibleTo: 'U0ALICE', text: expect.stringContaining('Queued the deploy') }),
    ]);
    const forBob = await messagesOf(stub.url, 'C0USERAPIDEV', 'U0BOB');
    expect(forBob.some((m) => m.ephemeral)).toBe(false);
    expect(forBob.map((m) => m.ts)).toContain(root.ts);
  });

  it('shows answers the bot sends through the response_url to the sender', async () => {
    const sent = await postJson(`${stub.url}/sandbox/commands`, { user: 'U0BOB', channel: 'C0ORDERSDEV', text: 'status nolane' });
    expect(sent.body).toMatchObject({ ok: true, status: 200 });
    const reply = await waitFor('the status reply', async () =>
      (await messagesOf(stub.url, 'C0ORDERSDEV', 'U0BOB')).find((m) => m.text.includes('has never been deployed')),
    );
    expect(reply).toMatchObject({ ephemeral: true, visibleTo: 'U0BOB' });
    expect(await messagesOf(stub.url, 'C0ORDERSDEV', 'U0ALICE')).toEqual([]);
  });

  it('refuses commands from unknown users, unknown channels and non-members', async () => {
    const unknownUser = await postJson(`${stub.url}/sandbox/commands`, { user: 'U0NOBODY', channel: 'C0USERAPIDEV', text: 'help' });
    expect(unknownUser).toEqual({ status: 404, body: { ok: false, error: 'no user with id U0NOBODY' } });
    const unknownChannel = await postJson(`${stub.url}/sandbox/commands`, { user: 'U0ALICE', channel: 'C0NOPE', text: 'help' });
    expect(unknownChannel).toEqual({ status: 404, body: { ok: false, error: 'no channel with id C0NOPE' } });
    const outsider = await postJson(`${stub.url}/sandbox/commands`, { user: 'U0BOB', channel: 'C0PRIVATE', text: 'help' });
    expect(outsider).toEqual({ status: 403, body: { ok: false, error: 'bob (U0BOB) is not a member of #alice-only' } });
  });

  it('answers bad input with 400 and what is wrong', async () => {
    const notJson = await postRaw(`${stub.url}/sandbox/commands`, '{"user":', 'application/json');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error).toContain('not valid JSON');
    const array = await postJson(`${stub.url}/sandbox/messages`, ['x']);
    expect(array).toEqual({ status: 400, body: { ok: false, error: 'the body must be a JSON object' } });
    const noText = await postJson(`${stub.url}/sandbox/commands`, { user: 'U0ALICE', channel: 'C0USERAPIDEV' });
    expect(noText.status).toBe(400);
    expect(noText.body.error).toContain('text is required');
    const badCommand = await postJson(`${stub.url}/sandbox/commands`, { user: 'U0ALICE', channel: 'C0USERAPIDEV', text: '', command: 'lane' });
    expect(badCommand.status).toBe(400);
    const noUser = await postJson(`${stub.url}/sandbox/actions`, { channel: 'C0USERAPIDEV', ts: '1.1', actionId: 'x' });
    expect(noUser).toEqual({ status: 400, body: { ok: false, error: 'user is required (a non-empty string)' } });
    const noChannel = await fetch(`${stub.url}/sandbox/messages`);
    expect(noChannel.status).toBe(400);
    await noChannel.arrayBuffer();
    const wrongMethod = await fetch(`${stub.url}/sandbox/commands`);
    expect(wrongMethod.status).toBe(405);
    await wrongMethod.arrayBuffer();
    const badResponse = await postRaw(stub.responseUrl('bad-json'), 'not json', 'application/json');
    expect(badResponse).toEqual({ status: 400, body: { ok: false, error: 'invalid_payload' } });
  });

  it('posts plain messages of people and streams every change as an event', async () => {
    const events = await EventStream.open(`${stub.url}/sandbox/events`);
    try {
      const posted = await postJson(`${stub.url}/sandbox/messages`, { user: 'U0BOB', channel: 'C0ORDERSDEV', text: 'anyone deploying?' });
      expect(posted.status).toBe(200);
      expect(posted.body).toMatchObject({ ok: true, message: { user: 'U0BOB', username: 'bob', text: 'anyone deploying?' } });
      const change = await events.next((c) => c.kind === 'posted' && c.message.text === 'anyone deploying?');
      expect(change.message).toMatchObject({ channel: 'C0ORDERSDEV', ts: posted.body.ts, ephemeral: false });

      const reply = await postJson(`${stub.url}/sandbox/messages`, { user: 'U0ALICE', channel: 'C0ORDERSDEV', text: 'not me', thread_ts: posted.body.ts });
      expect(reply.body).toMatchObject({ ok: true, message: { thread_ts: posted.body.ts } });
      const rootChange = await events.next((c) => c.kind === 'updated' && c.message.ts === posted.body.ts);
      expect(rootChange.message.reply_count).toBe(1);
    } finally {
      events.close();
    }
  });
});

describe('the console without a reachable bot', () => {
  const workspace = new SlackWorkspace({ users: TEST_USERS, channels: TEST_CHANNELS });
  let sandbox: ConsoleServer;

  beforeAll(async () => {
    sandbox = await startConsoleServer({ workspace, signingSecret: 'secret', port: 0 });
  });

  afterAll(async () => {
    await sandbox.close();
  });

  it('says so with 503 before a bot URL is set', async () => {
    const sent = await postJson(`${sandbox.url}/sandbox/commands`, { user: 'U0ALICE', channel: 'C0USERAPIDEV', text: 'help' });
    expect(sent).toEqual({ status: 503, body: { ok: false, error: 'the bot is not running yet (no bot URL is set)' } });
  });

  it('answers 502 naming the bot when nothing listens there, and shows the sender what Slack shows', async () => {
    // Port 1: nothing listens, the connection is refused.
    sandbox.setBotUrl('http://127.0.0.1:1');
    const sent = await postJson(`${sandbox.url}/sandbox/commands`, { user: 'U0ALICE', channel: 'C0USERAPIDEV', text: 'help' });
    expect(sent.status).toBe(502);
    expect(sent.body.ok).toBe(false);
    expect(sent.body.error).toContain('the bot at http://127.0.0.1:1/slack/events is unreachable');
    const seen = await messagesOf(sandbox.url, 'C0USERAPIDEV', 'U0ALICE');
    expect(seen).toEqual([expect.objectContaining({ username: 'slackbot', ephemeral: true, text: '/lane failed with the error "dispatch_failed"' })]);
  });
});

describe('button clicks', () => {
  const secret = 'click-secret';
  const workspace = new SlackWorkspace({ users: TEST_USERS, channels: TEST_CHANNELS });
  let sandbox: ConsoleServer;

  const approvalBlocks = [
    { type: 'section', text: { type: 'mrkdwn', text: 'Deploy to prod needs an approval' } },
    {
      type: 'actions',
      block_id: 'approval',
      elements: [
        { type: 'button', action_id: 'approve', value: 'deploy-1', style: 'primary', text: { type: 'plain_text', text: 'Approve' } },
        { type: 'button', action_id: 'reject', value: 'deploy-1', text: { type: 'plain_text', text: 'Reject' } },
      ],
    },
  ];

  /** The bot posts a message with buttons through the Web API, as lanebot would. */
  async function postApproval(): Promise<string> {
    const answer = await postRaw(
      `${sandbox.apiUrl}chat.postMessage`,
      new URLSearchParams({ channel: 'C0USERAPIDEV', text: 'approval needed', blocks: JSON.stringify(approvalBlocks) }).toString(),
      'application/x-www-form-urlencoded',
    );
    expect(answer.body).toMatchObject({ ok: true });
    return String(answer.body.ts);
  }

  beforeAll(async () => {
    sandbox = await startConsoleServer({ workspace, signingSecret: secret, port: 0 });
  });

  afterAll(async () => {
    await sandbox.close();
  });

  it('sends the bot a signed block_actions payload as Slack does', async () => {
    const captured: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
    const bot: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        captured.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => bot.listen(0, '127.0.0.1', resolve));
    try {
      sandbox.setBotUrl(`http://127.0.0.1:${(bot.address() as AddressInfo).port}`);
      const ts = await postApproval();
      const clicked = await postJson(`${sandbox.url}/sandbox/actions`, { user: 'U0BOB', channel: 'C0USERAPIDEV', ts, actionId: 'approve', value: 'deploy-1' });
      expect(clicked.status).toBe(200);
      expect(clicked.body).toMatchObject({ ok: true, status: 200, ack: null });

      expect(captured).toHaveLength(1);
      const { headers, body } = captured[0]!;
      expect(headers['content-type']).toBe('application/x-www-form-urlencoded');
      const timestamp = String(headers['x-slack-request-timestamp']);
      const expected = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
      expect(headers['x-slack-signature']).toBe(expected);
      expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(300);

      const payload = JSON.parse(new URLSearchParams(body).get('payload')!) as Record<string, unknown>;
      expect(payload).toMatchObject({
        type: 'block_actions',
        user: { id: 'U0BOB', username: 'bob', name: 'bob', team_id: 'T1' },
        api_app_id: 'A1',
        token: expect.any(String),
        container: { type: 'message', message_ts: ts, channel_id: 'C0USERAPIDEV', is_ephemeral: false },
        trigger_id: expect.stringMatching(/^\d+\.\d+\.[0-9a-f]+$/),
        team: { id: 'T1', domain: 'example' },
        channel: { id: 'C0USERAPIDEV', name: 'user-api-dev' },
        message: { type: 'message', ts, text: 'approval needed', bot_id: 'BBOT', blocks: [expect.objectContaining({ type: 'section' }), expect.objectContaining({ block_id: 'approval' })] },
        response_url: expect.stringMatching(new RegExp(`^${sandbox.url}/response/`)),
        actions: [
          {
            action_id: 'approve',
            block_id: 'approval',
            value: 'deploy-1',
            style: 'primary',
            type: 'button',
            action_ts: expect.stringMatching(/^\d+\.\d{6}$/),
            text: { type: 'plain_text', text: 'Approve' },
          },
        ],
      });
      expect(payload.response_url).toBe(clicked.body.responseUrl);
    } finally {
      await new Promise<void>((resolve) => bot.close(() => resolve()));
    }
  });

  it('reaches a Bolt app, whose respond() replaces the original message', async () => {
    const receiver = new HTTPReceiver({ signingSecret: secret, endpoints: '/slack/events' });
    const app = new App({ receiver, authorize: async () => ({ botToken: 'xoxb-test' }), clientOptions: { slackApiUrl: sandbox.apiUrl } });
    const clicks: string[] = [];
    app.action('approve', async ({ ack, body, respond }) => {
      await ack();
      clicks.push(body.user.id);
      await respond({ replace_original: true, text: `Approved by <@${body.user.id}>` });
    });
    const server = await receiver.start(0);
    try {
      sandbox.setBotUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const ts = await postApproval();
      const clicked = await postJson(`${sandbox.url}/sandbox/actions`, { user: 'U0ALICE', channel: 'C0USERAPIDEV', ts, actionId: 'approve' });
      expect(clicked.body).toMatchObject({ ok: true, status: 200 });
      const replaced = await waitFor('the original to be replaced', () => {
        const message = workspace.message('C0USERAPIDEV', ts);
        return message?.text.startsWith('Approved') ? message : undefined;
      });
      expect(replaced).toMatchObject({ text: 'Approved by <@U0ALICE>', edits: 1 });
      expect(replaced.blocks).toBeUndefined();
      expect(clicks).toEqual(['U0ALICE']);
    } finally {
      await receiver.stop();
    }
  });

  it('answers 404 naming what is missing when the message or the button does not exist', async () => {
    const ts = await postApproval();
    const noMessage = await postJson(`${sandbox.url}/sandbox/actions`, { user: 'U0ALICE', channel: 'C0USERAPIDEV', ts: '1.000001', actionId: 'approve' });
    expect(noMessage).toEqual({ status: 404, body: { ok: false, error: 'no message 1.000001 in #user-api-dev that alice can see' } });
    const noButton = await postJson(`${sandbox.url}/sandbox/actions`, { user: 'U0ALICE', channel: 'C0USERAPIDEV', ts, actionId: 'renew' });
    expect(noButton).toEqual({ status: 404, body: { ok: false, error: `message ${ts} has no button with action_id "renew"` } });
    const wrongValue = await postJson(`${sandbox.url}/sandbox/actions`, { user: 'U0ALICE', channel: 'C0USERAPIDEV', ts, actionId: 'approve', value: 'deploy-2' });
    expect(wrongValue.status).toBe(404);
    expect(wrongValue.body.error).toContain('and value "deploy-2"');
  });
});

describe('the Web API, static files and extra routes', () => {
  const workspace = new SlackWorkspace({ users: TEST_USERS, channels: TEST_CHANNELS });
  const publicDir = mkdtempSync(join(tmpdir(), 'sandbox-public-'));
  let sandbox: ConsoleServer;

  beforeAll(async () => {
    writeFileSync(join(publicDir, 'index.html'), '<!doctype html><title>lanebot sandbox</title>');
    writeFileSync(join(publicDir, 'app.js'), 'console.log("app");');
    writeFileSync(join(publicDir, 'style.css'), 'body { margin: 0 }');
    // A file next to the public directory that traversal would reach.
    writeFileSync(join(publicDir, '..', `${publicDir.split('/').pop()}-secret.txt`), 'secret');
    sandbox = await startConsoleServer({
      workspace,
      signingSecret: SIGNING_SECRET,
      port: 0,
      publicDir,
      extraRoutes: async (req, res, url) => {
        if (url.pathname !== '/sandbox/sim/clock' || req.method !== 'GET') return false;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, scale: 1 }));
        return true;
      },
    });
  });

  afterAll(async () => {
    await sandbox.close();
  });

  it('takes form-encoded and JSON Web API calls with a bearer token', async () => {
    const auth = { authorization: 'Bearer xoxb-anything' };
    const form = await fetch(`${sandbox.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ channel: 'C0USERAPIDEV', text: 'from a form' }).toString(),
    });
    expect(await form.json()).toMatchObject({ ok: true, channel: 'C0USERAPIDEV' });
    const json = await fetch(`${sandbox.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: 'C0USERAPIDEV', text: 'from JSON', metadata: { event_type: 'x', event_payload: { a: 1 } } }),
    });
    const posted = (await json.json()) as { ts: string };
    const permalink = (await (await fetch(`${sandbox.apiUrl}chat.getPermalink?channel=C0USERAPIDEV&message_ts=${posted.ts}`)).json()) as { permalink: string };
    expect(permalink.permalink).toBe(`${sandbox.url}/#/channel/C0USERAPIDEV/${posted.ts}`);
    const broken = await postRaw(`${sandbox.apiUrl}chat.postMessage`, '{"channel":', 'application/json');
    expect(broken).toEqual({ status: 200, body: { ok: false, error: 'invalid_form_data' } });
    expect((await messagesOf(sandbox.url, 'C0USERAPIDEV')).map((m) => m.text)).toEqual(['from a form', 'from JSON']);
  });

  it('answers injected failures over HTTP as Slack does', async () => {
    workspace.failNext({ status: 429, retryAfterSeconds: 3 }, { status: 500 });
    const limited = await fetch(`${sandbox.apiUrl}chat.postMessage`, { method: 'POST', body: 'channel=C0USERAPIDEV&text=x' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    await limited.arrayBuffer();
    const broken = await fetch(`${sandbox.apiUrl}chat.postMessage`, { method: 'POST', body: 'channel=C0USERAPIDEV&text=x' });
    expect(broken.status).toBe(500);
    await broken.arrayBuffer();
  });

  it('serves the page with the right content types', async () => {
    const index = await fetch(`${sandbox.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await index.text()).toContain('lanebot sandbox');
    const script = await fetch(`${sandbox.url}/app.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    await script.arrayBuffer();
    const style = await fetch(`${sandbox.url}/style.css`);
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
    await style.arrayBuffer();
    expect(await statusOf(`${sandbox.url}/missing.js`)).toBe(404);
    expect(await statusOf(`${sandbox.url}/nothing/here`)).toBe(404);
  });

  it('refuses paths that would leave the public directory', async () => {
    const secretName = `${publicDir.split('/').pop()}-secret.txt`;
    for (const path of [`/../${secretName}`, `/%2e%2e/${secretName}`, `/..%2f${secretName}`, `/a/..%5c..%5c${secretName}`]) {
      const answer = await rawGet(sandbox.url, path);
      expect({ path, status: answer.status }).toEqual({ path, status: 400 });
      expect(answer.body).not.toBe('secret');
    }
  });

  it('tries the extra routes before answering 404', async () => {
    expect(await getJson(`${sandbox.url}/sandbox/sim/clock`)).toEqual({ ok: true, scale: 1 });
    const unknown = await fetch(`${sandbox.url}/sandbox/sim/nothing`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ ok: false, error: 'nothing at POST /sandbox/sim/nothing' });
  });
});
