// Socket Mode end to end: the real composition root with SLACK_APP_TOKEN set (so Bolt's
// SocketModeReceiver and @slack/socket-mode, no HTTP edge), against a local Slack that answers
// apps.connections.open with its own WebSocket server and speaks the Socket Mode protocol. A prod
// deploy is asked for by slash command, approved by a member of an approvers group that Slack
// announced over the socket (subteam_members_changed), survives a `disconnect` (refresh_requested)
// with the client reconnecting, has its pipeline approval clicked over the new connection, and runs
// to its finished reply in the thread.
import { blockActionsPayload, type ClickedButton } from '../../src/sandbox/slack-signing';
import { eventCallbackEnvelope, subteamMembersChangedEvent } from '../../src/sandbox/workspace/events-api';
import { APPROVE_DEPLOY_ACTION_ID } from '../../src/slack/actions/approve-deploy';
import { APPROVE_PIPELINE_ACTION_ID } from '../../src/slack/actions/pipeline-approval';
import { deletePrefix, startTestBot, statusOf, waitFor, type TestBot } from '../support/harness';
import { SlackStub, type StubMessage } from '../support/slack-stub';
import { SocketModeSlack } from '../support/socket-mode-slack';
import { TEST_CONFIG } from '../support/test-config';
import { freePort } from '../support/free-port';

const APP_TOKEN = 'xapp-1-A1-test';
const CHANNEL = { id: 'C0USERAPIDEV', name: 'user-api-dev' };
const GROUP = 'S0PRODAPPROVERS';
const CONFIG = TEST_CONFIG.replace('    approvers: [U0APPROVER1]', `    approvers: [${GROUP}]`);
const LANE = { service: 'user-api', env: 'prod', lane: 'gray' };
const ALICE = { id: 'U0ALICE', name: 'alice' };
const BOB = { id: 'U0BOB', name: 'bob' };
const ADA = { id: 'U0APPROVER1', name: 'approver' };
const FULL_RUN_MS = 400_000; // longer than the simulated Source + Build + Deploy
/** @slack/socket-mode waits clientPingTimeout (5 s by default) before it reconnects. */
const RECONNECT_MS = 20_000;

describe('Socket Mode', () => {
  let stub: SlackStub;
  let slack: SocketModeSlack;
  let t: TestBot;
  let port: number;

  beforeEach(async () => {
    stub = await new SlackStub({ userGroups: [{ id: GROUP, handle: 'prod-approvers', users: [] }] }).start();
    slack = await new SocketModeSlack(stub.apiUrl).start();
    // A fixed free port: in Socket Mode, Bolt's receiver serves /healthz and /metrics on PORT but does not say which port it bound.
    port = await freePort();
    t = await startTestBot({ stub, config: CONFIG, env: { SLACK_APP_TOKEN: APP_TOKEN, SLACK_API_URL: slack.apiUrl, PORT: String(port) } });
  });

  afterEach(async () => {
    // A bot that never got its hello leaves `t` unset: the servers still go.
    await t?.stop();
    await slack?.stop();
    await stub?.stop();
    if (t) await deletePrefix(t.prefix);
  });

  /** A `/lane` command as Slack puts it into a slash_commands envelope. */
  function slashCommand(text: string, user: { id: string; name: string }, responseId: string): Record<string, unknown> {
    return {
      token: 'legacy-verification-token',
      team_id: 'T1',
      team_domain: 'example',
      channel_id: CHANNEL.id,
      channel_name: CHANNEL.name,
      user_id: user.id,
      user_name: user.name,
      command: '/lane',
      text,
      api_app_id: 'A1',
      is_enterprise_install: 'false',
      response_url: stub.responseUrl(responseId),
      trigger_id: `${Date.now()}.1.${responseId}`,
    };
  }

  /** A click on a button of `message` by `user`, as Slack puts it into an interactive envelope; answers go to response_url `responseId`. */
  function click(message: StubMessage, button: ClickedButton, user: { id: string; name: string }, responseId: string): Record<string, unknown> {
    const responseUrl = stub.workspace.responseUrl(stub.workspace.registerResponseUrl({ user: user.id, channel: CHANNEL.id, messageTs: message.ts }, responseId));
    return blockActionsPayload({
      user: { id: user.id, username: user.name, name: user.name },
      channel: CHANNEL,
      message: { ts: message.ts, text: message.text, blocks: message.blocks },
      button,
      responseUrl,
    });
  }

  it('connects with the app token, acks commands, clicks and an event by envelope_id, reconnects on disconnect, and the deploy finishes', async () => {
    // start() resolved: the client called apps.connections.open with the app-level token and got its hello.
    expect(slack.connectionsOpened).toEqual([APP_TOKEN]);
    expect(slack.connections).toBe(1);
    // No HTTP edge for Slack, but the health check and metrics are still served on PORT.
    const health = await waitFor('GET /healthz', () => fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined));
    expect(health.status).toBe(200);
    expect(await statusOf(`http://127.0.0.1:${port}/slack/events`, { method: 'POST' })).toBe(404);

    // The slash command: acked with the answer in the ack's payload.
    const deploy = await slack.send('slash_commands', slashCommand('deploy gray feature/x --env prod', ALICE, 'deploy'));
    expect(deploy.connection).toBe(1);
    expect(deploy.payload).toMatchObject({ response_type: 'ephemeral' });
    expect(String(deploy.payload?.text)).toContain('Queued the deploy of `feature/x` to lane *gray* of user-api/prod');

    const root = await waitFor('the root message', () => stub.rootMentioning('feature/x'));
    const approveDeploy = await waitFor('the Approve button', () => buttonIn(root, APPROVE_DEPLOY_ACTION_ID));

    // Slack tells the app over the socket that bob and ada joined the approvers group; the app acks
    // at once and reads the group again through the Web API.
    const change = stub.workspace.setUserGroupMembers(GROUP, [BOB.id, ADA.id]);
    const event = await slack.send('events_api', eventCallbackEnvelope(subteamMembersChangedEvent(change), { botUserId: stub.workspace.bot.userId }));
    await waitFor('bob to count as an approver', async () => (await t.bot.userGroups.principal(BOB.id, [GROUP])).groups.has(GROUP));

    // Bob approves the deploy: a block_actions envelope, acked with no payload (a click's ack carries
    // no message; the answer goes through response_url).
    const approved = await slack.send('interactive', click(root, approveDeploy, BOB, 'approve-deploy'));
    expect(approved.connection).toBe(1);
    expect(approved.payload ?? {}).toEqual({});
    expect(String((await waitFor('the answer to the click', () => stub.responsesFor('approve-deploy')[0])).body.text)).toContain('Approved');
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get(LANE))?.last?.status === 'running');

    // Slack recycles the connection: the client asks for a new URL (apps.connections.open again) and reconnects.
    slack.disconnect('refresh_requested');
    await waitFor('the client to reconnect', () => slack.connections === 2 && slack.connected, RECONNECT_MS);
    expect(slack.connectionsOpened).toEqual([APP_TOKEN, APP_TOKEN]);

    // The new connection carries commands as the first did (a read: acked empty, answered through response_url).
    const status = await slack.send('slash_commands', slashCommand('status gray --env prod', ALICE, 'status'));
    expect(status.connection).toBe(2);
    expect(String((await waitFor('the status answer', () => stub.responsesFor('status')[0])).body.text)).toContain('gray');

    // The pipeline stops at its own manual approval; ada approves it over the new connection.
    t.clock.advance(FULL_RUN_MS);
    const approvePipeline = await waitFor('the pipeline approval buttons', () => buttonIn(root, APPROVE_PIPELINE_ACTION_ID));
    const pipelineApproved = await slack.send('interactive', click(root, approvePipeline, ADA, 'approve-pipeline'));
    expect(pipelineApproved.connection).toBe(2);
    expect(String((await waitFor('the answer to the click', () => stub.responsesFor('approve-pipeline')[0])).body.text)).toContain('Approved');
    await waitFor('the decision in the thread', () => stub.thread(root).find((m) => m.text.includes(`<@${ADA.id}> approved *Approval*`)));

    // Thread replies go through the Web API: the deploy runs to its end.
    t.clock.advance(FULL_RUN_MS);
    const done = await waitFor('the success reply', () => stub.thread(root).find((m) => m.text.includes('now runs')));
    expect(done.text).toContain('Lane *gray* of user-api/prod now runs `feature/x`');

    // Every envelope was acked exactly once, by its own envelope_id.
    expect(slack.acks.map((a) => a.envelopeId)).toEqual([deploy, event, approved, status, pipelineApproved].map((a) => a.envelopeId));

    // Stopping closes the connection (a close handshake, awaited) before the bot is gone.
    await t.bot.stop();
    expect(slack.connected).toBe(false);
  }, 60_000);
});


/** The button with `actionId` in a message's actions blocks, as a click reports it. */
function buttonIn(message: StubMessage, actionId: string): ClickedButton | undefined {
  for (const block of (message.blocks ?? []) as Array<{ type?: string; block_id?: string; elements?: Array<Record<string, unknown>> }>) {
    if (block.type !== 'actions') continue;
    const element = block.elements?.find((e) => e.action_id === actionId);
    if (element) return { actionId, blockId: String(block.block_id), value: element.value as string | undefined, text: element.text, style: element.style as string | undefined };
  }
  return undefined;
}

describe('Socket Mode when Slack cannot be reached at start', () => {
  it.each(['internal_error', 'invalid_auth'])('keeps the bot up and connects on a later try (%s first)', async (error) => {
    const stub = await new SlackStub().start();
    const slack = await new SocketModeSlack(stub.apiUrl).start();
    slack.failOpens = 1;
    slack.failWith = error;
    const port = await freePort();
    const t = await startTestBot({ stub, config: CONFIG, env: { SLACK_APP_TOKEN: APP_TOKEN, SLACK_API_URL: slack.apiUrl, PORT: String(port) } });
    try {
      // The health endpoint answers while Slack is unreachable: the workers run.
      const health = await waitFor('GET /healthz', () => fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined));
      expect(health.status).toBe(200);
      // The retry reconnects the client only (the receiver's HTTP server already listens).
      await waitFor('the second apps.connections.open and its hello', () => slack.connections === 1, 20_000);
      expect(slack.connectionsOpened).toEqual([APP_TOKEN, APP_TOKEN]);
    } finally {
      await t.stop();
      await slack.stop();
      await stub.stop();
      await deletePrefix(t.prefix);
    }
  });
});
