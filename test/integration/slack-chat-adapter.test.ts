// The Slack adapter against the sandbox's Slack over loopback HTTP: a thread reply broadcast to the
// channel (reply_broadcast), and later answers to a command posted to its response_url, with what
// each kind of failure becomes (a refusal, a 429, a call that never left, an ambiguous 500).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChatNotSentError, ChatRateLimitedError, ChatRejectedError, surelyNotPosted } from '../../src/chat/chat.port';
import { createSlackWebClient, SlackChatAdapter } from '../../src/chat/slack-chat.adapter';
import { startConsoleServer, type ConsoleServer } from '../../src/sandbox/console-server';
import { SlackWorkspace } from '../../src/sandbox/slack-workspace';
import { SIGNING_SECRET } from '../support/harness';

let workspace: SlackWorkspace;
let sandbox: ConsoleServer;
let chat: SlackChatAdapter;

beforeEach(async () => {
  workspace = new SlackWorkspace({ users: [{ id: 'U0ALICE', name: 'alice' }], channels: [{ id: 'C0DEV', name: 'dev' }] });
  sandbox = await startConsoleServer({ workspace, signingSecret: SIGNING_SECRET, port: 0 });
  chat = new SlackChatAdapter(createSlackWebClient('xoxb-test', sandbox.apiUrl));
});

afterEach(async () => {
  await sandbox.close();
});

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
}

describe('SlackChatAdapter.post with broadcast', () => {
  it('sends reply_broadcast with a thread reply, which Slack shows in the thread and in the channel', async () => {
    const root = await chat.post('C0DEV', { text: 'lane gray ← release/1.2.3' });
    const reply = await chat.post('C0DEV', { text: ':rotating_light: 5xx rate 4.2 % > 1 % on lane gray', broadcast: true }, { threadTs: root.ts });

    expect(workspace.calls.at(-1)).toMatchObject({ method: 'chat.postMessage', body: { thread_ts: root.ts, reply_broadcast: 'true' } }); // form-encoded, as WebClient sends it
    expect(workspace.message('C0DEV', reply.ts)).toMatchObject({ thread_ts: root.ts, broadcast: true });
    const history = workspace.handleWebApi('conversations.history', { channel: 'C0DEV' }).body as { messages: Array<{ ts: string; subtype?: string }> };
    expect(history.messages.map((m) => [m.ts, m.subtype])).toEqual([
      [reply.ts, 'thread_broadcast'],
      [root.ts, undefined],
    ]);
  });

  it('sends no reply_broadcast outside a thread, nor for a reply that is not broadcast', async () => {
    const root = await chat.post('C0DEV', { text: 'a root', broadcast: true });
    await chat.post('C0DEV', { text: 'a quiet reply' }, { threadTs: root.ts });
    for (const call of workspace.calls.filter((c) => c.method === 'chat.postMessage')) expect(call.body).not.toHaveProperty('reply_broadcast');
    expect(workspace.message('C0DEV', root.ts)).not.toHaveProperty('broadcast');
  });
});

describe('SlackChatAdapter.respond', () => {
  it('posts an ephemeral answer that keeps the first one, seen only by who typed the command', async () => {
    const id = workspace.registerResponseUrl({ user: 'U0ALICE', channel: 'C0DEV' });
    await chat.respond(workspace.responseUrl(id), { text: '*Health of lane gray*' });

    expect(workspace.responses).toEqual([{ id, body: { response_type: 'ephemeral', replace_original: false, text: '*Health of lane gray*' } }]);
    expect(workspace.consoleMessages('C0DEV', 'U0ALICE')).toEqual([expect.objectContaining({ text: '*Health of lane gray*', ephemeral: true, visibleTo: 'U0ALICE' })]);
    expect(workspace.consoleMessages('C0DEV')).toEqual([]);
  });

  it('turns Slack\'s refusals into ChatRejectedError with what to do', async () => {
    const unknown = await failure(chat.respond(`${sandbox.url}/response/no-such-id`, { text: 'hello' }));
    expect(unknown).toBeInstanceOf(ChatRejectedError);
    expect(unknown).toMatchObject({ slackError: 'no_active_hooks' });

    const id = workspace.registerResponseUrl({ user: 'U0ALICE', channel: 'C0DEV' });
    const empty = await failure(chat.respond(workspace.responseUrl(id), { text: '' }));
    expect(empty).toMatchObject({ slackError: 'no_text' });
    expect(surelyNotPosted(empty)).toBe(true);
  });

  it('says when the answer surely never left (connection refused)', async () => {
    const url = workspace.responseUrl(workspace.registerResponseUrl());
    await sandbox.close();
    const error = await failure(chat.respond(url, { text: 'hello' }));
    expect(error).toBeInstanceOf(ChatNotSentError);
    sandbox = await startConsoleServer({ workspace, signingSecret: SIGNING_SECRET, port: 0 });
  });

  describe('against a Slack that answers badly', () => {
    let server: Server;
    let base: string;
    const answers: Record<string, { status: number; body: string; headers?: Record<string, string> }> = {
      '/limited': { status: 429, body: 'rate_limited', headers: { 'retry-after': '7' } },
      '/expired': { status: 404, body: 'expired_url' },
      '/used': { status: 200, body: JSON.stringify({ ok: false, error: 'used_url' }) },
      '/broken': { status: 500, body: 'internal error' },
      '/plain-ok': { status: 200, body: 'ok' },
    };

    beforeAll(async () => {
      server = createServer((req, res) => {
        req.resume();
        const answer = answers[req.url ?? ''] ?? { status: 404, body: 'no_active_hooks' };
        res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
        res.end(answer.body);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('maps each answer: 429 waits Retry-After, bare and JSON error codes are refusals, a 500 is ambiguous, "ok" succeeds', async () => {
      const limited = await failure(chat.respond(`${base}/limited`, { text: 'x' }));
      expect(limited).toBeInstanceOf(ChatRateLimitedError);
      expect(limited).toMatchObject({ retryAfterMs: 7000 });

      const expired = await failure(chat.respond(`${base}/expired`, { text: 'x' }));
      expect(expired).toMatchObject({ name: 'ChatRejectedError', slackError: 'expired_url' });
      expect((expired as Error).message).toContain('more than 30 minutes old');

      expect(await failure(chat.respond(`${base}/used`, { text: 'x' }))).toMatchObject({ name: 'ChatRejectedError', slackError: 'used_url' });

      const broken = await failure(chat.respond(`${base}/broken`, { text: 'x' }));
      expect(surelyNotPosted(broken)).toBe(false);
      expect((broken as Error).message).toContain('HTTP 500');

      await expect(chat.respond(`${base}/plain-ok`, { text: 'x' })).resolves.toBeUndefined();
    });
  });
});
