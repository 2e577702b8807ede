// The sandbox workspace's user groups: usergroups.list and usergroups.users.list answered like
// Slack, and the console's change of a group's members with the subteam_members_changed it makes.
import { SlackWorkspace, type UserGroupChange } from '../../../src/sandbox/slack-workspace';
import { subteamMembersChangedBody, subteamMembersChangedEvent } from '../../../src/sandbox/workspace/events-api';

function newWorkspace(): SlackWorkspace {
  return new SlackWorkspace({
    users: [
      { id: 'U0ALICE', name: 'alice' },
      { id: 'U0BOB', name: 'bob' },
      { id: 'U0CAROL', name: 'carol' },
    ],
    channels: [{ id: 'C0DEV', name: 'dev' }],
    userGroups: [
      { id: 'S0PRODAPPROVERS', handle: 'prod-approvers', name: 'Prod approvers', users: ['U0BOB'] },
      { id: 'S0EMPTY', handle: 'nobody' },
    ],
  });
}

function call(ws: SlackWorkspace, method: string, params: Record<string, unknown>): Record<string, unknown> {
  const response = ws.handleWebApi(method, params);
  expect(response.status).toBe(200);
  if (typeof response.body === 'string') throw new Error(`expected JSON, got ${response.body}`);
  return response.body;
}

describe('user groups in the Web API', () => {
  it('usergroups.users.list answers the members like Slack', () => {
    const ws = newWorkspace();
    expect(call(ws, 'usergroups.users.list', { usergroup: 'S0PRODAPPROVERS' })).toEqual({ ok: true, users: ['U0BOB'] });
    expect(call(ws, 'usergroups.users.list', { usergroup: 'S0EMPTY', include_disabled: 'true' })).toEqual({ ok: true, users: [] });
  });

  it('refuses an unknown group with no_such_subteam, and a missing one with invalid_arguments', () => {
    const ws = newWorkspace();
    expect(call(ws, 'usergroups.users.list', { usergroup: 'S0NOPE' })).toEqual({ ok: false, error: 'no_such_subteam' });
    expect(call(ws, 'usergroups.users.list', {})).toMatchObject({ ok: false, error: 'invalid_arguments' });
  });

  it('usergroups.list lists the groups, with users and counts when asked', () => {
    const ws = newWorkspace();
    const plain = call(ws, 'usergroups.list', {});
    expect(plain.ok).toBe(true);
    const groups = plain.usergroups as Array<Record<string, unknown>>;
    expect(groups.map((g) => [g.id, g.handle, g.name, g.is_usergroup])).toEqual([
      ['S0PRODAPPROVERS', 'prod-approvers', 'Prod approvers', true],
      ['S0EMPTY', 'nobody', 'nobody', true],
    ]);
    expect(groups[0]).not.toHaveProperty('users');
    const full = call(ws, 'usergroups.list', { include_users: 'true', include_count: 'true' }).usergroups as Array<Record<string, unknown>>;
    expect(full[0]).toMatchObject({ id: 'S0PRODAPPROVERS', users: ['U0BOB'], user_count: 1, team_id: 'T1' });
  });
});

describe('setUserGroupMembers', () => {
  it('changes the members, says who came and went, moves date_update and emits usergroup', () => {
    const ws = newWorkspace();
    const before = ws.userGroup('S0PRODAPPROVERS')!.dateUpdate;
    const seen: UserGroupChange[] = [];
    ws.on('usergroup', (change) => seen.push(change));
    const change = ws.setUserGroupMembers('S0PRODAPPROVERS', ['U0ALICE', 'U0CAROL', 'U0ALICE']);
    expect(change).toMatchObject({ added: ['U0ALICE', 'U0CAROL'], removed: ['U0BOB'], datePreviousUpdate: before });
    expect(change.group.users).toEqual(['U0ALICE', 'U0CAROL']);
    expect(change.group.dateUpdate).toBeGreaterThan(before);
    expect(seen).toEqual([change]);
    expect(call(ws, 'usergroups.users.list', { usergroup: 'S0PRODAPPROVERS' })).toEqual({ ok: true, users: ['U0ALICE', 'U0CAROL'] });
  });

  it('refuses an unknown group (404) and users the workspace does not have (400), changing nothing', () => {
    const ws = newWorkspace();
    expect(() => ws.setUserGroupMembers('S0NOPE', [])).toThrow(expect.objectContaining({ status: 404, message: 'no user group with id S0NOPE' }));
    expect(() => ws.setUserGroupMembers('S0PRODAPPROVERS', ['U0ALICE', 'U0GHOST', 'UBOT'])).toThrow(
      expect.objectContaining({ status: 400, message: 'not users of the workspace: U0GHOST, UBOT' }),
    );
    expect(ws.userGroup('S0PRODAPPROVERS')!.users).toEqual(['U0BOB']);
  });

  it('refuses a group declared with an unknown user or a bad id', () => {
    const base = { users: [{ id: 'U0ALICE', name: 'alice' }], channels: [] };
    expect(() => new SlackWorkspace({ ...base, userGroups: [{ id: 'S0X1', handle: 'x', users: ['U0BOB'] }] })).toThrow(/unknown users: U0BOB/);
    expect(() => new SlackWorkspace({ ...base, userGroups: [{ id: 'G0X1', handle: 'x' }] })).toThrow(/user group id/);
  });
});

describe('subteam_members_changed', () => {
  it('is built like Slack sends it, inside an event_callback envelope', () => {
    const ws = newWorkspace();
    const change = ws.setUserGroupMembers('S0PRODAPPROVERS', ['U0CAROL']);
    expect(subteamMembersChangedEvent(change)).toEqual({
      type: 'subteam_members_changed',
      subteam_id: 'S0PRODAPPROVERS',
      team_id: 'T1',
      date_previous_update: change.datePreviousUpdate,
      date_update: change.group.dateUpdate,
      added_users: ['U0CAROL'],
      added_users_count: '1',
      removed_users: ['U0BOB'],
      removed_users_count: '1',
      event_ts: `${change.group.dateUpdate}.000000`,
    });
    const envelope = JSON.parse(subteamMembersChangedBody(change, ws.bot, ws.team)) as Record<string, unknown>;
    expect(envelope).toMatchObject({
      type: 'event_callback',
      team_id: 'T1',
      api_app_id: 'A1',
      event: { type: 'subteam_members_changed', subteam_id: 'S0PRODAPPROVERS' },
      authorizations: [{ team_id: 'T1', user_id: 'UBOT', is_bot: true }],
    });
    expect(envelope.event_id).toMatch(/^Ev[0-9A-F]+$/);
  });

  it('leaves out the lists that are empty', () => {
    const ws = newWorkspace();
    const event = subteamMembersChangedEvent(ws.setUserGroupMembers('S0EMPTY', ['U0ALICE']));
    expect(event).toMatchObject({ added_users: ['U0ALICE'] });
    expect(event).not.toHaveProperty('removed_users');
  });
});
