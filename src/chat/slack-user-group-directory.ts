// UserGroupDirectory over @slack/web-api: who is in a user group, from usergroups.users.list (scope
// usergroups:read). Only the refresh job calls it, never the ack path (src/access/user-groups.ts).
// Build the WebClient with createSlackWebClient so that SLACK_API_URL (the sandbox, tests) applies;
// like the chat adapter, it does not retry: the job that refreshes is retried instead.
import type { WebClient } from '@slack/web-api';
import type { UserGroupDirectory } from '../access/user-groups';
import { slackCallError } from './slack-chat.adapter';

/** Slack errors of usergroups.users.list that retrying cannot fix, with what to do about them. */
const PERMANENT_ERRORS: Record<string, string> = {
  no_such_subteam: 'No user group has this id: check the S… ids under admins, approvers and deployers in lanebot.yml.',
  missing_scope: 'The app lacks the usergroups:read scope; add it and reinstall the app.',
  invalid_auth: 'SLACK_BOT_TOKEN is not valid; reinstall the app and update the token.',
  not_authed: 'SLACK_BOT_TOKEN is missing.',
  account_inactive: 'The bot token belongs to a deleted user or app; reinstall the app.',
  token_revoked: 'The bot token was revoked; reinstall the app and update SLACK_BOT_TOKEN.',
  team_access_not_granted: 'The app is not installed in the workspace that owns this user group.',
};

export class SlackUserGroupDirectory implements UserGroupDirectory {
  constructor(private readonly client: Pick<WebClient, 'usergroups'>) {}

  async members(groupId: string): Promise<string[]> {
    try {
      // include_disabled: a disabled group's members are still its members; whether a disabled
      // group should count is for the config to say (remove it there), not for a refresh to guess.
      const result = await this.client.usergroups.users.list({ usergroup: groupId, include_disabled: true });
      return result.users ?? [];
    } catch (error) {
      throw slackCallError(error, PERMANENT_ERRORS, `${groupId}: `);
    }
  }
}
