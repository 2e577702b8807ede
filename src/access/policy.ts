// Who may do what: the one access policy every command and button asks. Pure (no Redis, no Slack):
// the caller hands in the principal with the user groups it belongs to (src/access/user-groups.ts
// reads them from lanebot's Redis copy, never from Slack on the ack path) and the config.
//
// The rules:
//   admin    (`/lane setup`, `infra`, `boot`)  admins.
//   deploy   an environment that lists `deployers`: its deployers, its approvers and the admins;
//            otherwise everyone. In a protected environment this is who may *request* a deploy;
//            the approval gate then asks its approvers.
//   approve  the environment's approvers only. Admins are not approvers by virtue of being admins:
//            an approval says that the environment's owners agree, which an admin cannot stand in
//            for; an admin who should approve is listed under `approvers`.
//   delete   the lane's last deployer, the environment's approvers and the admins.
// Ids in every list may be users (U…/W…) or user groups (S…). A refusal names who may do it, as
// Slack mentions, and what to change in lanebot.yml when nobody could.
import type { LanebotConfig } from '../config';
import { isUserGroupId, mention, mentionAll } from './mention';

export type AccessAction = 'deploy' | 'delete' | 'approve' | 'admin';

export interface Principal {
  userId: string;
  /** Ids of the configured user groups the user belongs to. */
  groups: ReadonlySet<string>;
}

export interface AccessScope {
  service: string;
  env: string;
  lane?: string;
  /** The lane's last deployer (Slack user id), for delete. */
  laneOwner?: string;
}

export type AccessDecision = { allowed: true } | { allowed: false; reason: string };

const ALLOWED: AccessDecision = { allowed: true };
const ADD_IDS = 'Slack user ids (U…) or user group ids (S…)';

/** A principal known by user id only (no group memberships). */
export function userPrincipal(userId: string): Principal {
  return { userId, groups: new Set() };
}

export function can(principal: Principal, action: AccessAction, scope: AccessScope, config: LanebotConfig): AccessDecision {
  if (action === 'admin') return admin(principal, config);
  const env = Object.hasOwn(config.environments, scope.env) ? config.environments[scope.env] : undefined;
  if (!env) return refuse(`${scope.env} is not an environment in lanebot's configuration, so lanebot does nothing there.`, []);
  switch (action) {
    case 'deploy':
      return deploy(principal, scope, env, config);
    case 'approve':
      return approve(principal, scope, env, config);
    case 'delete':
      return deleteLane(principal, scope, env, config);
  }
}

/** Every user group id (S…) the config mentions (admins, approvers, deployers), once each, sorted. */
export function referencedGroups(config: LanebotConfig): string[] {
  const ids = new Set<string>(config.admins);
  for (const env of Object.values(config.environments)) {
    for (const id of env.approvers) ids.add(id);
    for (const id of env.deployers ?? []) ids.add(id);
  }
  return [...ids].filter(isUserGroupId).sort();
}

type Environment = LanebotConfig['environments'][string];

function admin(principal: Principal, config: LanebotConfig): AccessDecision {
  if (listed(principal, config.admins)) return ALLOWED;
  if (config.admins.length === 0) {
    return refuse(
      `Only lanebot admins may change shared infrastructure (\`/lane setup\`, \`infra\`, \`boot\`), and none are configured: ` +
        `add ${ADD_IDS} under \`admins:\` in lanebot.yml.`,
      [],
    );
  }
  return refuse(
    `This changes shared infrastructure, so only lanebot admins (${mentionAll(config.admins)}) may run it. Ask one of them.`,
    config.admins,
  );
}

function deploy(principal: Principal, scope: AccessScope, env: Environment, config: LanebotConfig): AccessDecision {
  const where = `${scope.service}/${scope.env}`;
  // A protected environment takes requests like any other: its approval gate (src/operations/gates/)
  // decides whether they start.
  if (env.deployers === undefined) return ALLOWED;
  if (listed(principal, env.deployers) || listed(principal, env.approvers) || listed(principal, config.admins)) return ALLOWED;
  const groups: Array<[string, readonly string[]]> = [
    ['its deployers', env.deployers],
    ['its approvers', env.approvers],
    ['lanebot admins', config.admins],
  ];
  const everyone = groups.flatMap(([, ids]) => ids);
  if (everyone.length === 0) {
    return refuse(
      `Nobody may deploy to ${where}: \`environments.${scope.env}.deployers\` is empty and there are no approvers or admins. ` +
        `Add ${ADD_IDS} under \`environments.${scope.env}.deployers\` in lanebot.yml.`,
      [],
    );
  }
  return refuse(
    `Only ${anyOf(groups)} may deploy to ${where}. Ask one of them to run this deploy, or to have you added under ` +
      `\`environments.${scope.env}.deployers\` in lanebot.yml.`,
    everyone,
  );
}

function approve(principal: Principal, scope: AccessScope, env: Environment, config: LanebotConfig): AccessDecision {
  if (listed(principal, env.approvers)) return ALLOWED;
  if (env.approvers.length === 0) {
    return refuse(
      `${scope.env} has no approvers, so nobody can approve there. Add ${ADD_IDS} under \`environments.${scope.env}.approvers\` in lanebot.yml.`,
      [],
    );
  }
  const adminNote = listed(principal, config.admins)
    ? ` Being a lanebot admin does not make you an approver: approvers are listed under \`environments.${scope.env}.approvers\`.`
    : '';
  return refuse(`Only ${scope.env}'s approvers (${mentionAll(env.approvers)}) may approve there.${adminNote}`, env.approvers);
}

function deleteLane(principal: Principal, scope: AccessScope, env: Environment, config: LanebotConfig): AccessDecision {
  if (scope.laneOwner !== undefined && principal.userId === scope.laneOwner) return ALLOWED;
  if (listed(principal, env.approvers) || listed(principal, config.admins)) return ALLOWED;
  const lane = scope.lane ? `lane *${scope.lane}*` : 'this lane';
  const owner = scope.laneOwner ? [scope.laneOwner] : [];
  const groups: Array<[string, readonly string[]]> = [
    ['the person who last deployed it', owner],
    [`${scope.env}'s approvers`, env.approvers],
    ['lanebot admins', config.admins],
  ];
  const everyone = groups.flatMap(([, ids]) => ids);
  if (everyone.length === 0) {
    return refuse(
      `Nobody may delete ${lane} of ${scope.service}/${scope.env}: lanebot knows no deployer of it, and there are no approvers or admins. ` +
        `Add ${ADD_IDS} under \`environments.${scope.env}.approvers\` or \`admins:\` in lanebot.yml.`,
      [],
    );
  }
  return refuse(`Only ${anyOf(groups)} may delete ${lane} of ${scope.service}/${scope.env}. Ask ${everyone.length === 1 ? 'them' : 'one of them'}.`, everyone);
}

/** Whether the user is listed by user id or through one of their groups. */
function listed(principal: Principal, ids: readonly string[]): boolean {
  return ids.some((id) => id === principal.userId || (isUserGroupId(id) && principal.groups.has(id)));
}

/** "its approvers (<@U1>, <!subteam^S1>) or a lanebot admin (<@U2>)", leaving out empty lists. */
function anyOf(groups: ReadonlyArray<readonly [string, readonly string[]]>): string {
  const parts = groups.filter(([, ids]) => ids.length > 0).map(([label, ids]) => `${label} (${mentionAll(ids)})`);
  if (parts.length <= 1) return parts[0] ?? 'nobody';
  return `${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1]!}`;
}

/**
 * A refusal. When any of `eligible` is a user group, says that memberships come from lanebot's copy
 * of the group: someone just added in Slack is recognised after the next refresh, not at once.
 */
function refuse(reason: string, eligible: readonly string[]): AccessDecision {
  const groups = eligible.filter(isUserGroupId);
  const note =
    groups.length > 0
      ? ` (lanebot reads the members of ${groups.length === 1 ? mention(groups[0]!) : 'user groups'} from its own copy, refreshed from Slack: ` +
        'if you were just added, try again in a few minutes.)'
      : '';
  return { allowed: false, reason: `${reason}${note}` };
}
