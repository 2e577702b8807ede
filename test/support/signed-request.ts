// Builds slash-command requests exactly as Slack sends them: form-encoded, signed with the app's
// signing secret (v0 HMAC-SHA256 over "v0:{timestamp}:{body}").
import { createHmac } from 'node:crypto';

export interface SlashCommand {
  text: string;
  user?: string;
  channel?: string;
  responseUrl: string;
  command?: string;
}

export function signSlackBody(body: string, signingSecret: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': signature,
  };
}

export function slashCommandBody(cmd: SlashCommand): string {
  return new URLSearchParams({
    token: 'legacy-verification-token',
    team_id: 'T1',
    team_domain: 'example',
    channel_id: cmd.channel ?? 'C0USERAPIDEV',
    channel_name: 'user-api-dev',
    user_id: cmd.user ?? 'U0ALICE',
    user_name: 'alice',
    command: cmd.command ?? '/lane',
    text: cmd.text,
    api_app_id: 'A1',
    response_url: cmd.responseUrl,
    trigger_id: '1.2.3',
  }).toString();
}

export async function postSlashCommand(
  botUrl: string,
  cmd: SlashCommand,
  signingSecret: string,
): Promise<{ status: number; body: string }> {
  const body = slashCommandBody(cmd);
  const response = await fetch(`${botUrl}/slack/events`, { method: 'POST', headers: signSlackBody(body, signingSecret), body });
  return { status: response.status, body: await response.text() };
}
