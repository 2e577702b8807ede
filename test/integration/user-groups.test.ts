// User groups end to end over loopback HTTP: the Slack adapter reads the sandbox's Web API, the
// refresh fills lanebot's copy in the real Redis, and a change made in the sandbox console reaches a
// real Bolt app as a signed subteam_members_changed event, whose listener asks for a refresh.
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver } from '@slack/bolt';
import pino from 'pino';
import { refreshUserGroups, UserGroupCache } from '../../src/access/user-groups';
import { startConsoleServer, type ConsoleServer } from '../../src/sandbox/console-server';
import { SlackWorkspace } from '../../src/sandbox/slack-workspace';
import { ChatRateLimitedError, ChatRejectedError } from '../../src/chat/chat.port';
import { registerSubteamMembersChanged } from '../../src/slack/events/subteam-members-changed';
import { createSlackWebClient } from '../../src/chat/slack-chat.adapter';
import { SlackUserGroupDirectory } from '../../src/chat/slack-user-group-directory';
import { RedisKeys } from '../../src/state/keys';
import { SIGNING_SECRET, waitFor } from '../support/harness';
import { redisPerTest, T0 } from '../support/fixtures';

const ctx = redisPerTest();
const silent = pino({ level: 'silent' });

const USERS = [
  { id: 'U0ALICE', name: 'alice' },
  { id: 'U0BOB', name: 'bob' },
  { id: 'U0CAROL', name: 'carol' },
];

let workspace: SlackWorkspace;
let sandbox: ConsoleServer;

beforeEach(async () => {
  workspace = new SlackWorkspace({
    users: USERS,
    channels: [{ id: 'C0DEV', name: 'dev' }],
    userGroups: [
      { id: 'S0PRODAPPROVERS', handle: 'prod-approvers', users: ['U0BOB'] },
      { id: 'S0DEVS', handle: 'devs', users: ['U0ALICE', 'U0BOB'] },
    ],
  });
  sandbox = await startConsoleServer({ workspace, signingSecret: SIGNING_SECRET, port: 0, ackTimeoutMs: 5000 });
});

afterEach(async () => {
  await sandbox.close();
});

function directory(): SlackUserGroupDirectory {
  return new SlackUserGroupDirectory(createSlackWebClient('xoxb-test', sandbox.apiUrl));
}

function cache(): UserGroupCache {
  return new UserGroupCache(ctx.redis, new RedisKeys(ctx.prefix));
}

async function postJson(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('SlackUserGroupDirectory', () => {
  it('reads members with usergroups.users.list through SLACK_API_URL', async () => {
    expect(await directory().members('S0DEVS')).toEqual(['U0ALICE', 'U0BOB']);
    expect(workspace.calls.at(-1)).toMatchObject({ method: 'usergroups.users.list', body: { usergroup: 'S0DEVS' }, status: 200 });
  });

  it('turns no_such_subteam into a rejection that says what to check', async () => {
    const error = await directory().members('S0NOPE').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatRejectedError);
    expect(error).toMatchObject({ slackError: 'no_such_subteam' });
    expect((error as Error).message).toContain('S0NOPE: No user group has this id');
  });

  it('turns a 429 into ChatRateLimitedError with Slack\'s Retry-After, without retrying', async () => {
    workspace.failNext({ status: 429, retryAfterSeconds: 7 });
    const error = await directory().members('S0DEVS').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatRateLimitedError);
    expect((error as ChatRateLimitedError).retryAfterMs).toBe(7000);
    expect(workspace.calls.filter((c) => c.method === 'usergroups.users.list')).toHaveLength(1);
  });
});

describe('refreshUserGroups against the sandbox Slack', () => {
  it('copies the groups into Redis, and keeps the last known members when Slack fails', async () => {
    const c = cache();
    expect(await refreshUserGroups(directory(), c, ['S0PRODAPPROVERS', 'S0DEVS'], T0, silent)).toEqual({
      refreshed: ['S0PRODAPPROVERS', 'S0DEVS'],
      failed: [],
    });
    expect([...(await c.principal('U0BOB', ['S0PRODAPPROVERS', 'S0DEVS'])).groups].sort()).toEqual(['S0DEVS', 'S0PRODAPPROVERS']);

    workspace.setUserGroupMembers('S0PRODAPPROVERS', ['U0CAROL']);
    workspace.setUserGroupMembers('S0DEVS', ['U0CAROL']);
    workspace.failNext({ status: 500 });
    const outcome = await refreshUserGroups(directory(), c, ['S0PRODAPPROVERS', 'S0DEVS'], T0 + 60_000, silent);
    expect(outcome.refreshed).toEqual(['S0DEVS']);
    expect(outcome.failed).toEqual([{ groupId: 'S0PRODAPPROVERS', error: expect.any(String) }]);
    // Slack failed for prod-approvers: bob stays in lanebot's copy, dated at the last good refresh.
    expect([...(await c.principal('U0BOB', ['S0PRODAPPROVERS', 'S0DEVS'])).groups]).toEqual(['S0PRODAPPROVERS']);
    expect(await c.refreshedAt('S0PRODAPPROVERS')).toBe(T0);
    expect([...(await c.principal('U0CAROL', ['S0DEVS'])).groups]).toEqual(['S0DEVS']);
  });
});

describe('POST /sandbox/usergroups', () => {
  it('changes the group and delivers a signed subteam_members_changed that a Bolt listener turns into a refresh', async () => {
    const receiver = new HTTPReceiver({ signingSecret: SIGNING_SECRET, endpoints: '/slack/events', processBeforeResponse: false });
    const app = new App({ receiver, authorize: async () => ({ botToken: 'xoxb-test' }), clientOptions: { slackApiUrl: sandbox.apiUrl } });
    const c = cache();
    await refreshUserGroups(directory(), c, ['S0PRODAPPROVERS'], T0, silent);
    const changed: string[] = [];
    registerSubteamMembersChanged(app, {
      // What the lead's refresh job will do, inline.
      onChanged: async (groupId) => {
        changed.push(groupId);
        await refreshUserGroups(directory(), c, [groupId], T0 + 1000, silent);
      },
      logger: silent,
    });
    const server = await receiver.start(0);
    try {
      sandbox.setBotUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      expect((await c.principal('U0CAROL', ['S0PRODAPPROVERS'])).groups.size).toBe(0);

      const answer = await postJson(`${sandbox.url}/sandbox/usergroups`, { id: 'S0PRODAPPROVERS', users: ['U0BOB', 'U0CAROL'] });
      expect(answer).toEqual({
        status: 200,
        body: {
          ok: true,
          usergroup: expect.objectContaining({ id: 'S0PRODAPPROVERS', handle: 'prod-approvers', users: ['U0BOB', 'U0CAROL'] }),
          added: ['U0CAROL'],
          removed: [],
          event: { delivered: true, status: 200 },
        },
      });
      await waitFor('the refresh the event asked for', async () => (await c.refreshedAt('S0PRODAPPROVERS')) === T0 + 1000);
      expect(changed).toEqual(['S0PRODAPPROVERS']);
      expect([...(await c.principal('U0CAROL', ['S0PRODAPPROVERS'])).groups]).toEqual(['S0PRODAPPROVERS']);
    } finally {
      await receiver.stop();
    }
  });

  it('logs and swallows a refresh that cannot be queued (Slack has its ack already)', async () => {
    const receiver = new HTTPReceiver({ signingSecret: SIGNING_SECRET, endpoints: '/slack/events', processBeforeResponse: false });
    const app = new App({ receiver, authorize: async () => ({ botToken: 'xoxb-test' }), clientOptions: { slackApiUrl: sandbox.apiUrl } });
    const warnings: Array<Record<string, unknown>> = [];
    registerSubteamMembersChanged(app, {
      onChanged: async () => {
        throw new Error('Redis is down');
      },
      // A real pino logger writing into the test, not a stand-in.
      logger: pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line) as Record<string, unknown>) }),
    });
    const server = await receiver.start(0);
    try {
      sandbox.setBotUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const answer = await postJson(`${sandbox.url}/sandbox/usergroups`, { id: 'S0DEVS', users: [] });
      expect(answer.body).toMatchObject({ ok: true, removed: ['U0ALICE', 'U0BOB'], event: { delivered: true, status: 200 } });
      await waitFor('the warning', () => warnings.length > 0);
      expect(warnings[0]).toMatchObject({ level: 40, groupId: 'S0DEVS', err: expect.objectContaining({ message: 'Redis is down' }) });
    } finally {
      await receiver.stop();
    }
  });

  it('keeps the change but says the event was not delivered when the bot is not running', async () => {
    const answer = await postJson(`${sandbox.url}/sandbox/usergroups`, { id: 'S0DEVS', users: ['U0CAROL'] });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ ok: true, event: { delivered: false, error: 'the bot is not running yet (no bot URL is set)' } });
    expect(workspace.userGroup('S0DEVS')!.users).toEqual(['U0CAROL']);

    sandbox.setBotUrl('http://127.0.0.1:9'); // discard port: nothing listens
    const unreachable = await postJson(`${sandbox.url}/sandbox/usergroups`, { id: 'S0DEVS', users: ['U0ALICE'] });
    expect(unreachable.body).toMatchObject({ ok: true, event: { delivered: false, error: expect.stringContaining('unreachable') } });
  });

  it('answers 4xx naming the problem, and lists the groups with GET', async () => {
    expect(await postJson(`${sandbox.url}/sandbox/usergroups`, { id: 'S0NOPE', users: [] })).toEqual({
      status: 404,
      body: { ok: false, error: 'no user group with id S0NOPE' },
    });
    expect(await postJson(`${sandbox.url}/sandbox/usergroups`, { id: 'S0DEVS', users: ['U0GHOST'] })).toEqual({
      status: 400,
      body: { ok: false, error: 'not users of the workspace: U0GHOST' },
    });
    expect(await postJson(`${sandbox.url}/sandbox/usergroups`, { id: 'S0DEVS', users: 'U0BOB' })).toEqual({
      status: 400,
      body: { ok: false, error: 'users is required (an array of user ids, possibly empty)' },
    });
    const listed = (await (await fetch(`${sandbox.url}/sandbox/usergroups`)).json()) as Array<{ id: string; users: string[] }>;
    expect(listed.map((g) => [g.id, g.users])).toEqual([
      ['S0PRODAPPROVERS', ['U0BOB']],
      ['S0DEVS', ['U0ALICE', 'U0BOB']],
    ]);
  });
});
