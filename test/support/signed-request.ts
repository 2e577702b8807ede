// Builds slash-command requests exactly as Slack sends them, through the sandbox's signing module
// (one implementation of "what Slack sends" for the tests and the sandbox console).
import { postSignedRequest, signSlackRequest, slashCommandBody as buildSlashCommandBody } from '../../src/sandbox/slack-signing';

export interface SlashCommand {
  text: string;
  user?: string;
  channel?: string;
  responseUrl: string;
  command?: string;
}

/** The user and channel names the tests' Slack workspace gives their ids. */
const USER_NAMES: Record<string, string> = { U0ALICE: 'alice', U0BOB: 'bob', U0APPROVER1: 'approver' };
const CHANNEL_NAMES: Record<string, string> = { C0USERAPIDEV: 'user-api-dev', C0ORDERSDEV: 'orders-dev' };

export function signSlackBody(body: string, signingSecret: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  return signSlackRequest(body, signingSecret, timestamp);
}

export function slashCommandBody(cmd: SlashCommand): string {
  const userId = cmd.user ?? 'U0ALICE';
  const channelId = cmd.channel ?? 'C0USERAPIDEV';
  return buildSlashCommandBody({
    text: cmd.text,
    command: cmd.command,
    userId,
    userName: USER_NAMES[userId] ?? userId.toLowerCase(),
    channelId,
    channelName: CHANNEL_NAMES[channelId] ?? channelId.toLowerCase(),
    responseUrl: cmd.responseUrl,
    triggerId: '1.2.3',
  });
}

export async function postSlashCommand(
  botUrl: string,
  cmd: SlashCommand,
  signingSecret: string,
): Promise<{ status: number; body: string }> {
  const { status, body } = await postSignedRequest(`${botUrl}/slack/events`, slashCommandBody(cmd), signingSecret);
  return { status, body };
}
