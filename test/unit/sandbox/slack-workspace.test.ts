// The sandbox's Slack workspace: Web API semantics the bot relies on, Slack's error codes, failure
// injection, response_urls and the change events the console streams.
import { SlackWorkspace, tsMicros, type MessageChange } from '../../../src/sandbox/slack-workspace';

const CONSOLE = 'http://console.test:4000';

function newWorkspace(options: { autoCreateChannels?: boolean } = {}): SlackWorkspace {
  return new SlackWorkspace({
    users: [
      { id: 'U0ALICE', name: 'alice', realName: 'Alice Example', title: 'Developer' },
      { id: 'U0BOB', name: 'bob' },
    ],
    channels: [
      { id: 'C0DEV', name: 'user-api-dev', binding: { service: 'user-api', env: 'dev' } },
      { id: 'C0PRIVATE', name: 'alice-only', members: ['U0ALICE'] },
    ],
    consoleUrl: CONSOLE,
    ...options,
  });
}

/** The JSON answer of a Web API call that Slack answers with HTTP 200. */
function call(ws: SlackWorkspace, method: string, params: Record<string, unknown>): Record<string, unknown> {
  const response = ws.handleWebApi(method, params);
  expect(response.status).toBe(200);
  if (typeof response.body === 'string') throw new Error(`expected JSON, got ${response.body}`);
  return response.body;
}

function post(ws: SlackWorkspace, params: Record<string, unknown>): string {
  const answer = call(ws, 'chat.postMessage', params);
  expect(answer).toMatchObject({ ok: true });
  return String(answer.ts);
}

function apiMessages(answer: Record<string, unknown>): Array<Record<string, unknown>> {
  return answer.messages as Array<Record<string, unknown>>;
}

const MARKER = { event_type: 'lanebot_message', event_payload: { deploy_id: 'd1', entry: 'root' } };

describe('SlackWorkspace Web API', () => {
  it('answers auth.test with the bot identity', () => {
    expect(call(newWorkspace(), 'auth.test', {})).toMatchObject({ ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T1' });
  });

  it('posts messages with Slack-like, strictly increasing ts values', () => {
    const ws = newWorkspace();
    const answers = [1, 2, 3].map((n) => call(ws, 'chat.postMessage', { channel: 'C0DEV', text: `message ${n}` }));
    const stamps = answers.map((a) => String(a.ts));
    for (const ts of stamps) expect(ts).toMatch(/^\d{10}\.\d{6}$/);
    const micros = stamps.map((ts) => tsMicros(ts)!);
    expect(micros[1]).toBeGreaterThan(micros[0]!);
    expect(micros[2]).toBeGreaterThan(micros[1]!);
    expect(answers[0]).toMatchObject({ ok: true, channel: 'C0DEV', message: { text: 'message 1', bot_id: 'BBOT', user: 'UBOT' } });
  });

  it('parses blocks and metadata sent form-encoded (JSON strings) or as JSON', () => {
    const ws = newWorkspace();
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }];
    const formTs = post(ws, { channel: 'C0DEV', text: 'form', blocks: JSON.stringify(blocks), metadata: JSON.stringify(MARKER) });
    const jsonTs = post(ws, { channel: 'C0DEV', text: 'json', blocks, metadata: MARKER });
    for (const ts of [formTs, jsonTs]) {
      const message = ws.message('C0DEV', ts)!;
      expect(message.metadata).toEqual(MARKER);
      expect(message.blocks).toEqual([expect.objectContaining({ type: 'section', text: { type: 'mrkdwn', text: 'hi' }, block_id: expect.any(String) })]);
    }
  });

  it('threads replies under their root, also when the reply names another reply', () => {
    const ws = newWorkspace();
    const root = post(ws, { channel: 'C0DEV', text: 'root' });
    const first = post(ws, { channel: 'C0DEV', text: 'first', thread_ts: root });
    const second = post(ws, { channel: 'C0DEV', text: 'second', thread_ts: first });
    expect(ws.message('C0DEV', second)?.thread_ts).toBe(root);

    const history = apiMessages(call(ws, 'conversations.history', { channel: 'C0DEV' }));
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ ts: root, thread_ts: root, reply_count: 2, latest_reply: second });

    const replies = apiMessages(call(ws, 'conversations.replies', { channel: 'C0DEV', ts: root }));
    expect(replies.map((m) => m.text)).toEqual(['root', 'first', 'second']);
    expect(replies[1]).toMatchObject({ thread_ts: root, parent_user_id: 'UBOT' });
  });

  it('shows a reply sent with reply_broadcast in its thread and in the channel, as Slack does', () => {
    const ws = newWorkspace();
    const root = post(ws, { channel: 'C0DEV', text: 'root' });
    const quiet = post(ws, { channel: 'C0DEV', text: 'only in the thread', thread_ts: root });
    // Form bodies carry the flag as a string.
    const loud = post(ws, { channel: 'C0DEV', text: '5xx rate 4.2 % > 1 %', thread_ts: root, reply_broadcast: 'true' });
    expect(ws.message('C0DEV', loud)).toMatchObject({ thread_ts: root, broadcast: true });
    expect(ws.message('C0DEV', quiet)).not.toHaveProperty('broadcast');

    const history = apiMessages(call(ws, 'conversations.history', { channel: 'C0DEV' }));
    expect(history.map((m) => m.ts)).toEqual([loud, root]);
    expect(history[0]).toMatchObject({ subtype: 'thread_broadcast', thread_ts: root, root: { ts: root, text: 'root' } });
    expect(history[1]).toMatchObject({ reply_count: 2, latest_reply: loud });
    const replies = apiMessages(call(ws, 'conversations.replies', { channel: 'C0DEV', ts: root }));
    expect(replies.map((m) => m.ts)).toEqual([root, quiet, loud]);
    expect(ws.consoleMessages('C0DEV').find((m) => m.ts === loud)).toMatchObject({ thread_ts: root, broadcast: true });

    // Outside a thread there is nothing to broadcast from: a plain channel message.
    const plain = post(ws, { channel: 'C0DEV', text: 'no thread', reply_broadcast: true });
    expect(ws.message('C0DEV', plain)).not.toHaveProperty('broadcast');
    expect(apiMessages(call(ws, 'conversations.history', { channel: 'C0DEV' }))[0]).not.toHaveProperty('subtype');
  });

  it('edits in place with chat.update, counting edits', () => {
    const ws = newWorkspace();
    const ts = post(ws, { channel: 'C0DEV', text: 'v1', blocks: JSON.stringify([{ type: 'divider' }]) });
    expect(call(ws, 'chat.update', { channel: 'C0DEV', ts, text: 'v2', blocks: '[]' })).toMatchObject({ ok: true, channel: 'C0DEV', ts });
    call(ws, 'chat.update', { channel: 'C0DEV', ts, text: 'v3', blocks: JSON.stringify([{ type: 'section', text: { type: 'mrkdwn', text: 'v3' } }]) });
    const message = ws.message('C0DEV', ts)!;
    expect(message).toMatchObject({ text: 'v3', edits: 2, edited: { user: 'UBOT' } });
    expect(message.blocks).toHaveLength(1);
    expect(ws.consoleMessages('C0DEV')[0]).toMatchObject({ text: 'v3', edited: true, edits: 2 });
  });

  it('refuses updates Slack refuses', () => {
    const ws = newWorkspace();
    const mine = post(ws, { channel: 'C0DEV', text: 'bot' });
    const theirs = ws.postAsUser({ user: 'U0ALICE', channel: 'C0DEV', text: 'human' }).ts;
    expect(call(ws, 'chat.update', { channel: 'C0DEV', ts: '1.000001', text: 'x' })).toEqual({ ok: false, error: 'message_not_found' });
    expect(call(ws, 'chat.update', { channel: 'C0DEV', ts: theirs, text: 'x' })).toEqual({ ok: false, error: 'cant_update_message' });
    expect(call(ws, 'chat.update', { channel: 'C0DEV', text: 'x' })).toMatchObject({ ok: false, error: 'invalid_arguments' });
    expect(call(ws, 'chat.update', { channel: 'C0DEV', ts: mine })).toEqual({ ok: false, error: 'no_text' });
  });

  it('gives permalinks into the console', () => {
    const ws = newWorkspace();
    const ts = post(ws, { channel: 'C0DEV', text: 'root' });
    expect(call(ws, 'chat.getPermalink', { channel: 'C0DEV', message_ts: ts })).toEqual({
      ok: true,
      channel: 'C0DEV',
      permalink: `${CONSOLE}/#/channel/C0DEV/${ts}`,
    });
    expect(call(ws, 'chat.getPermalink', { channel: 'C0DEV', message_ts: '1.000001' })).toEqual({ ok: false, error: 'message_not_found' });
  });

  it('lists history newest first, with metadata only when asked, after an exclusive oldest', () => {
    const ws = newWorkspace();
    const a = post(ws, { channel: 'C0DEV', text: 'a', metadata: JSON.stringify(MARKER) });
    const b = post(ws, { channel: 'C0DEV', text: 'b' });
    const c = post(ws, { channel: 'C0DEV', text: 'c' });

    const all = apiMessages(call(ws, 'conversations.history', { channel: 'C0DEV' }));
    expect(all.map((m) => m.ts)).toEqual([c, b, a]);
    expect(all[2]).not.toHaveProperty('metadata');

    const withMetadata = apiMessages(call(ws, 'conversations.history', { channel: 'C0DEV', include_all_metadata: 'true' }));
    expect(withMetadata[2]).toMatchObject({ ts: a, metadata: MARKER });

    expect(apiMessages(call(ws, 'conversations.history', { channel: 'C0DEV', oldest: a })).map((m) => m.ts)).toEqual([c, b]);
    expect(apiMessages(call(ws, 'conversations.history', { channel: 'C0DEV', oldest: a, inclusive: true })).map((m) => m.ts)).toEqual([c, b, a]);
    // The bot's own form: epoch seconds with six decimals.
    const before = (tsMicros(a)! - 1) / 1_000_000;
    expect(apiMessages(call(ws, 'conversations.history', { channel: 'C0DEV', oldest: before.toFixed(6) }))).toHaveLength(3);
    expect(call(ws, 'conversations.history', { channel: 'C0DEV', oldest: 'yesterday' })).toEqual({ ok: false, error: 'invalid_ts_oldest' });
  });

  it('pages history with limit and cursor', () => {
    const ws = newWorkspace();
    const stamps = [1, 2, 3].map((n) => post(ws, { channel: 'C0DEV', text: String(n) }));
    const first = call(ws, 'conversations.history', { channel: 'C0DEV', limit: 2 });
    expect(apiMessages(first).map((m) => m.ts)).toEqual([stamps[2], stamps[1]]);
    expect(first.has_more).toBe(true);
    const cursor = (first.response_metadata as { next_cursor: string }).next_cursor;
    const second = call(ws, 'conversations.history', { channel: 'C0DEV', limit: 2, cursor });
    expect(apiMessages(second).map((m) => m.ts)).toEqual([stamps[0]]);
    expect(second.has_more).toBe(false);
  });

  it('lists replies with the parent first, filtering replies by oldest, with metadata', () => {
    const ws = newWorkspace();
    const root = post(ws, { channel: 'C0DEV', text: 'root' });
    const early = post(ws, { channel: 'C0DEV', text: 'early', thread_ts: root });
    post(ws, { channel: 'C0DEV', text: 'late', thread_ts: root, metadata: { event_type: 'lanebot_message', event_payload: { deploy_id: 'd1', entry: 'e2' } } });
    const answer = call(ws, 'conversations.replies', { channel: 'C0DEV', ts: root, oldest: early, include_all_metadata: true, limit: 200 });
    const messages = apiMessages(answer);
    expect(messages.map((m) => m.text)).toEqual(['root', 'late']);
    expect(messages[1]).toMatchObject({ metadata: { event_payload: { entry: 'e2' } } });
    expect(call(ws, 'conversations.replies', { channel: 'C0DEV', ts: '1.000001' })).toEqual({ ok: false, error: 'thread_not_found' });
  });

  it('shows ephemeral messages only to their user and never in history', () => {
    const ws = newWorkspace();
    const answer = call(ws, 'chat.postEphemeral', { channel: 'C0DEV', user: 'U0ALICE', text: 'psst' });
    expect(answer).toMatchObject({ ok: true, message_ts: expect.stringMatching(/^\d+\.\d{6}$/) });
    expect(apiMessages(call(ws, 'conversations.history', { channel: 'C0DEV' }))).toEqual([]);
    expect(ws.consoleMessages('C0DEV', 'U0ALICE')).toEqual([expect.objectContaining({ text: 'psst', ephemeral: true, visibleTo: 'U0ALICE', username: 'lanebot' })]);
    expect(ws.consoleMessages('C0DEV', 'U0BOB')).toEqual([]);
    expect(ws.consoleMessages('C0DEV')).toEqual([]);
    expect(call(ws, 'chat.postEphemeral', { channel: 'C0PRIVATE', user: 'U0BOB', text: 'x' })).toEqual({ ok: false, error: 'user_not_in_channel' });
    expect(call(ws, 'chat.postEphemeral', { channel: 'C0DEV', user: 'U0NOBODY', text: 'x' })).toEqual({ ok: false, error: 'user_not_found' });
  });

  it('answers users.info and conversations.info', () => {
    const ws = newWorkspace();
    expect(call(ws, 'users.info', { user: 'U0ALICE' })).toMatchObject({ ok: true, user: { id: 'U0ALICE', name: 'alice', real_name: 'Alice Example', profile: { title: 'Developer' } } });
    expect(call(ws, 'users.info', { user: 'U0NOBODY' })).toEqual({ ok: false, error: 'user_not_found' });
    expect(call(ws, 'conversations.info', { channel: 'C0DEV' })).toMatchObject({ ok: true, channel: { id: 'C0DEV', name: 'user-api-dev', is_member: true } });
    expect(call(ws, 'conversations.info', { channel: 'C0NOPE' })).toEqual({ ok: false, error: 'channel_not_found' });
  });

  it('returns the errors Slack returns for bad calls', () => {
    const ws = newWorkspace();
    expect(call(ws, 'chat.postMessage', { channel: 'C0NOPE', text: 'x' })).toEqual({ ok: false, error: 'channel_not_found' });
    expect(call(ws, 'chat.postMessage', { text: 'x' })).toEqual({ ok: false, error: 'channel_not_found' });
    expect(call(ws, 'chat.postMessage', { channel: 'C0DEV' })).toEqual({ ok: false, error: 'no_text' });
    expect(call(ws, 'chat.postMessage', { channel: 'C0DEV', text: 'x', blocks: '[{' })).toEqual({ ok: false, error: 'invalid_blocks_format' });
    expect(call(ws, 'chat.postMessage', { channel: 'C0DEV', text: 'x', blocks: '[{"text":"no type"}]' })).toMatchObject({ ok: false, error: 'invalid_blocks' });
    expect(call(ws, 'chat.postMessage', { channel: 'C0DEV', text: 'x', metadata: '{"event_payload":{}}' })).toEqual({ ok: false, error: 'invalid_metadata_format' });
    expect(call(ws, 'chat.postMessage', { channel: 'C0DEV', text: 'x'.repeat(40_001) })).toEqual({ ok: false, error: 'msg_too_long' });
    expect(call(ws, 'chat.unfurl', {})).toMatchObject({ ok: false, error: 'unknown_method' });
    expect(ws.consoleMessages('C0DEV')).toEqual([]);
  });

  it('finds channels by #name and, when asked to, creates unknown channel ids on first use', () => {
    expect(call(newWorkspace(), 'chat.postMessage', { channel: '#user-api-dev', text: 'x' })).toMatchObject({ ok: true, channel: 'C0DEV' });
    const open = newWorkspace({ autoCreateChannels: true });
    expect(call(open, 'chat.postMessage', { channel: 'C0ELSEWHERE', text: 'x' })).toMatchObject({ ok: true, channel: 'C0ELSEWHERE' });
    expect(open.channel('C0ELSEWHERE')).toMatchObject({ name: 'c0elsewhere', binding: null });
  });

  it('fails the next calls as told (429 with Retry-After, 500) and records every call', () => {
    const ws = newWorkspace();
    ws.failNext({ status: 429, retryAfterSeconds: 7 }, { status: 500 });
    const limited = ws.handleWebApi('chat.postMessage', { channel: 'C0DEV', text: 'x' });
    expect(limited).toEqual({ status: 429, headers: { 'retry-after': '7' }, body: { ok: false, error: 'ratelimited' } });
    const broken = ws.handleWebApi('chat.postMessage', { channel: 'C0DEV', text: 'x' });
    expect(broken.status).toBe(500);
    post(ws, { channel: 'C0DEV', text: 'x' });
    expect(ws.calls.map((c) => [c.method, c.status])).toEqual([
      ['chat.postMessage', 429],
      ['chat.postMessage', 500],
      ['chat.postMessage', 200],
    ]);
    expect(ws.consoleMessages('C0DEV')).toHaveLength(1);
  });
});

describe('SlackWorkspace people, response_urls and events', () => {
  it('posts messages of people who are members, and refuses others clearly', () => {
    const ws = newWorkspace();
    const root = ws.postAsUser({ user: 'U0ALICE', channel: 'C0DEV', text: 'hello' });
    expect(root).toMatchObject({ user: 'U0ALICE', username: 'alice', isBot: false, ephemeral: false, edited: false });
    const reply = ws.postAsUser({ user: 'U0BOB', channel: 'C0DEV', text: 'hi', threadTs: root.ts });
    expect(reply.thread_ts).toBe(root.ts);
    expect(ws.consoleMessages('C0DEV')).toEqual([expect.objectContaining({ ts: root.ts, reply_count: 1 }), expect.objectContaining({ ts: reply.ts })]);
    expect(() => ws.postAsUser({ user: 'U0BOB', channel: 'C0PRIVATE', text: 'x' })).toThrow('bob (U0BOB) is not a member of #alice-only');
    expect(() => ws.postAsUser({ user: 'U0NOBODY', channel: 'C0DEV', text: 'x' })).toThrow('no user with id U0NOBODY');
    expect(() => ws.postAsUser({ user: 'U0ALICE', channel: 'C0NOPE', text: 'x' })).toThrow('no channel with id C0NOPE');
  });

  it('turns response_url posts into ephemeral or channel messages for the command sender', () => {
    const ws = newWorkspace();
    const id = ws.registerResponseUrl({ user: 'U0ALICE', channel: 'C0DEV' });
    expect(ws.responseUrl(id)).toBe(`${CONSOLE}/response/${id}`);
    expect(ws.handleResponseUrl(id, { text: 'only you' })).toMatchObject({ status: 200 });
    expect(ws.handleResponseUrl(id, { text: 'everyone', response_type: 'in_channel' })).toMatchObject({ status: 200 });
    expect(ws.consoleMessages('C0DEV', 'U0ALICE').map((m) => [m.text, m.ephemeral])).toEqual([
      ['only you', true],
      ['everyone', false],
    ]);
    expect(ws.consoleMessages('C0DEV', 'U0BOB').map((m) => m.text)).toEqual(['everyone']);
    expect(ws.responses.map((r) => r.body.text)).toEqual(['only you', 'everyone']);
    expect(ws.handleResponseUrl(id, {})).toEqual({ status: 400, headers: {}, body: { ok: false, error: 'no_text' } });
  });

  it('answers in the thread a command came from', () => {
    const ws = newWorkspace();
    const root = post(ws, { channel: 'C0DEV', text: 'root' });
    const id = ws.registerResponseUrl({ user: 'U0ALICE', channel: 'C0DEV', threadTs: root });
    ws.handleResponseUrl(id, { text: 'in thread', response_type: 'in_channel' });
    expect(ws.consoleMessages('C0DEV').find((m) => m.text === 'in thread')?.thread_ts).toBe(root);
  });

  it('honours replace_original and delete_original for clicks', () => {
    const ws = newWorkspace();
    const ts = post(ws, { channel: 'C0DEV', text: 'approve?' });
    const id = ws.registerResponseUrl({ user: 'U0ALICE', channel: 'C0DEV', messageTs: ts });
    ws.handleResponseUrl(id, { text: 'approved', replace_original: true });
    expect(ws.message('C0DEV', ts)).toMatchObject({ text: 'approved', edits: 1 });
    ws.handleResponseUrl(id, { delete_original: true });
    expect(ws.message('C0DEV', ts)).toBeUndefined();
  });

  it('records posts to response_urls without a context, and refuses unknown ones', () => {
    const ws = newWorkspace();
    ws.registerResponseUrl(undefined, 'cmd1');
    expect(ws.handleResponseUrl('cmd1', { text: 'hi', response_type: 'ephemeral' }).status).toBe(200);
    expect(ws.responses).toEqual([{ id: 'cmd1', body: { text: 'hi', response_type: 'ephemeral' } }]);
    expect(ws.consoleMessages('C0DEV', 'U0ALICE')).toEqual([]);
    expect(ws.handleResponseUrl('nope', { text: 'x' })).toEqual({ status: 404, headers: {}, body: { ok: false, error: 'no_active_hooks' } });
  });

  it('takes 5 posts to one response_url within 30 minutes, as Slack does', () => {
    let now = Date.UTC(2026, 10, 23, 9, 0, 0);
    const ws = new SlackWorkspace({ users: [{ id: 'U0ALICE', name: 'alice' }], channels: [{ id: 'C0DEV', name: 'dev' }], now: () => now });
    const busy = ws.registerResponseUrl({ user: 'U0ALICE', channel: 'C0DEV' });
    for (let n = 1; n <= 5; n++) expect(ws.handleResponseUrl(busy, { text: `answer ${n}` }).status).toBe(200);
    expect(ws.handleResponseUrl(busy, { text: 'a sixth' })).toEqual({ status: 404, headers: {}, body: { ok: false, error: 'used_url' } });
    expect(ws.consoleMessages('C0DEV', 'U0ALICE')).toHaveLength(5);

    const late = ws.registerResponseUrl({ user: 'U0ALICE', channel: 'C0DEV' });
    now += 30 * 60_000;
    expect(ws.handleResponseUrl(late, { text: 'just in time' }).status).toBe(200);
    now += 1;
    expect(ws.handleResponseUrl(late, { text: 'too late' })).toEqual({ status: 404, headers: {}, body: { ok: false, error: 'expired_url' } });
  });

  it('emits posted, updated and deleted changes', () => {
    const ws = newWorkspace();
    const changes: MessageChange[] = [];
    ws.on('change', (change) => changes.push(change));
    const root = post(ws, { channel: 'C0DEV', text: 'root' });
    post(ws, { channel: 'C0DEV', text: 'reply', thread_ts: root });
    call(ws, 'chat.update', { channel: 'C0DEV', ts: root, text: 'root v2' });
    call(ws, 'chat.postEphemeral', { channel: 'C0DEV', user: 'U0BOB', text: 'psst' });
    call(ws, 'chat.delete', { channel: 'C0DEV', ts: root });
    expect(changes.map((c) => [c.kind, c.message.text])).toEqual([
      ['posted', 'root'],
      ['posted', 'reply'],
      ['updated', 'root'], // its reply count changed
      ['updated', 'root v2'],
      ['posted', 'psst'],
      ['deleted', 'root v2'],
    ]);
    expect(changes[2]!.message.reply_count).toBe(1);
    expect(changes[4]!.message).toMatchObject({ ephemeral: true, visibleTo: 'U0BOB' });
  });

  it('rejects workspace data with unknown channel members', () => {
    expect(() => new SlackWorkspace({ users: [], channels: [{ id: 'C1', name: 'x', members: ['U0GHOST'] }] })).toThrow('unknown members: U0GHOST');
  });
});
