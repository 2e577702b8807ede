// The sandbox's config file (src/sandbox/sandbox.yml by default): the pretend Slack workspace and
// the lanebot.yml its bot runs with. Validated like lanebot.yml, with errors naming the key.
import { readFileSync } from 'node:fs';
import { parseDocument, stringify } from 'yaml';
import { z } from 'zod';
import { referencedGroups } from '../access/policy';
import { parseConfig, type LanebotConfig } from '../config';
import { ConfigError } from '../errors';

const userSchema = z.strictObject({
  id: z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id such as U0ALICE'),
  name: z.string().regex(/^[a-z][a-z0-9._-]*$/, 'must be a lowercase handle such as alice'),
  realName: z.string().min(1).optional(),
  title: z.string().optional(),
});

const channelSchema = z.strictObject({
  id: z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel id such as C0USERAPIDEV'),
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be a channel name such as user-api-dev'),
  members: z.array(z.string()).default([]),
});

const userGroupSchema = z.strictObject({
  id: z.string().regex(/^S[A-Z0-9]{2,}$/, 'must be a Slack user group id such as S0PRODAPPROVERS'),
  handle: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be a lowercase handle such as prod-approvers'),
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  users: z.array(z.string()).default([]),
});

const sandboxSchema = z.strictObject({
  workspace: z.strictObject({
    name: z.string().default('lanebot sandbox'),
    users: z.array(userSchema).min(1, 'declare at least one user'),
    channels: z.array(channelSchema).min(1, 'declare at least one channel'),
    /** Slack user groups, which lanebot.yml may name as admins, approvers or deployers. */
    userGroups: z.array(userGroupSchema).default([]),
  }),
  lanebot: z.record(z.string(), z.unknown()),
});

export interface SandboxConfig {
  workspaceName: string;
  users: z.output<typeof userSchema>[];
  userGroups: z.output<typeof userGroupSchema>[];
  channels: (z.output<typeof channelSchema> & { binding: { service: string; env: string } | null })[];
  lanebot: LanebotConfig;
}

export function loadSandboxConfig(path: string): SandboxConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the sandbox config ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new ConfigError(`${path} is not valid YAML: ${doc.errors[0]!.message}`);
  const result = sandboxSchema.safeParse(doc.toJS());
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  - ${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new ConfigError(`${path} is invalid:\n${lines.join('\n')}`);
  }
  const { workspace } = result.data;
  // The lanebot section is checked by lanebot's own parser, so the rules are exactly the bot's.
  const lanebot = parseConfig(stringify(result.data.lanebot), `${path} (lanebot:)`);
  const userIds = new Set(workspace.users.map((u) => u.id));
  for (const channel of workspace.channels) {
    const stranger = channel.members.find((m) => !userIds.has(m));
    if (stranger) throw new ConfigError(`${path} is invalid:\n  - workspace.channels.${channel.name}.members: "${stranger}" is not a declared user`);
  }
  const groupIds = new Set<string>();
  for (const group of workspace.userGroups) {
    const stranger = group.users.find((m) => !userIds.has(m));
    if (stranger) throw new ConfigError(`${path} is invalid:\n  - workspace.userGroups.${group.handle}.users: "${stranger}" is not a declared user`);
    if (groupIds.has(group.id)) throw new ConfigError(`${path} is invalid:\n  - workspace.userGroups.${group.handle}.id: ${group.id} is declared twice`);
    groupIds.add(group.id);
  }
  // A group the bot's config names but the workspace lacks would make every refresh fail with
  // no_such_subteam: say so at start instead.
  const missing = referencedGroups(lanebot).filter((id) => !groupIds.has(id));
  if (missing.length > 0) {
    throw new ConfigError(`${path} is invalid:\n  - lanebot: names user group${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, not declared under workspace.userGroups`);
  }
  return {
    workspaceName: workspace.name,
    users: workspace.users,
    userGroups: workspace.userGroups,
    channels: workspace.channels.map((c) => ({ ...c, binding: Object.hasOwn(lanebot.channels, c.id) ? lanebot.channels[c.id]! : null })),
    lanebot,
  };
}
