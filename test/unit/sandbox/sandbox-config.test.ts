// The sandbox's config: the shipped sandbox.yml loads, and user groups are checked against the
// workspace's users and against the groups the bot's config names.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSandboxConfig } from '../../../src/sandbox/sandbox-config';

const dir = mkdtempSync(join(tmpdir(), 'sandbox-config-'));
let n = 0;

function write(text: string): string {
  const path = join(dir, `sandbox-${++n}.yml`);
  writeFileSync(path, text);
  return path;
}

function sandboxYml(userGroups: string, approvers = '[U0BOB]'): string {
  return `
workspace:
  users:
    - { id: U0ALICE, name: alice }
    - { id: U0BOB, name: bob }
  channels:
    - { id: C0DEV, name: dev }
${userGroups}
lanebot:
  services: { api: {} }
  environments:
    prod: { protected: true, approvers: ${approvers} }
`;
}

describe('loadSandboxConfig', () => {
  it('loads the shipped sandbox.yml, whose prod approvers include the prod-approvers group with bob', () => {
    const config = loadSandboxConfig(join(__dirname, '../../../src/sandbox/sandbox.yml'));
    expect(config.userGroups).toEqual([expect.objectContaining({ id: 'S0PRODAPPROVERS', handle: 'prod-approvers', users: ['U0BOB'] })]);
    expect(config.lanebot.environments.prod?.approvers).toContain('S0PRODAPPROVERS');
  });

  it('defaults to no user groups', () => {
    expect(loadSandboxConfig(write(sandboxYml(''))).userGroups).toEqual([]);
  });

  it.each([
    ['a member who is not a user', '  userGroups:\n    - { id: S0X1, handle: x, users: [U0CAROL] }', '[U0BOB]', /workspace\.userGroups\.x\.users: "U0CAROL" is not a declared user/],
    ['a bad group id', '  userGroups:\n    - { id: U0X1, handle: x }', '[U0BOB]', /workspace\.userGroups\.0\.id: must be a Slack user group id/],
    ['a group declared twice', '  userGroups:\n    - { id: S0X1, handle: x }\n    - { id: S0X1, handle: y }', '[U0BOB]', /S0X1 is declared twice/],
    ['a group the bot names that the workspace lacks', '', '[S0PRODAPPROVERS]', /names user group S0PRODAPPROVERS, not declared under workspace\.userGroups/],
  ])('refuses %s, naming the key', (_name, groups, approvers, message) => {
    expect(() => loadSandboxConfig(write(sandboxYml(groups, approvers)))).toThrow(message);
  });
});
