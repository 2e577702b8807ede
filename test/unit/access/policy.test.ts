import { can, referencedGroups, userPrincipal, type AccessAction, type AccessScope, type Principal } from '../../../src/access/policy';
import { mention, mentionAll } from '../../../src/access/mention';
import { parseConfig } from '../../../src/config';

// dev: open to everyone. staging: deployers (a group and a user). qa: `deployers: []`.
// prod: protected, approved by a user and a group. Admins: a user and a group.
const CONFIG = parseConfig(`
services:
  user-api: {}
environments:
  dev: {}
  staging:
    deployers: [S0DEVS, U0CONTRACTOR]
    approvers: [U0STGOWNER]
  qa:
    deployers: []
  prod:
    protected: true
    approvers: [U0APPROVER, S0PRODAPPROVERS]
admins: [U0ADMIN, S0PLATFORM]
`);

/** Nobody is configured anywhere. */
const BARE = parseConfig(`
services:
  user-api: {}
environments:
  dev: {}
  locked: { deployers: [] }
`);

function who(userId: string, ...groups: string[]): Principal {
  return { userId, groups: new Set(groups) };
}

const at = (env: string, extra: Partial<AccessScope> = {}): AccessScope => ({ service: 'user-api', env, ...extra });

describe('can', () => {
  it.each<[string, Principal, AccessAction, AccessScope, boolean]>([
    // admin
    ['an admin by user id may run admin commands', who('U0ADMIN'), 'admin', at('dev'), true],
    ['a member of an admin group may run admin commands', who('U0ANY', 'S0PLATFORM'), 'admin', at('dev'), true],
    ['anyone else may not run admin commands', who('U0ALICE', 'S0DEVS'), 'admin', at('dev'), false],
    ['an approver is not an admin', who('U0APPROVER'), 'admin', at('prod'), false],
    // deploy, open environment
    ['anyone may deploy to an environment without deployers', who('U0ALICE'), 'deploy', at('dev'), true],
    // deploy, environment with deployers
    ['a deployer by user id may deploy', who('U0CONTRACTOR'), 'deploy', at('staging'), true],
    ['a member of a deployer group may deploy', who('U0ALICE', 'S0DEVS'), 'deploy', at('staging'), true],
    ['an approver may deploy where deployers are listed', who('U0STGOWNER'), 'deploy', at('staging'), true],
    ['an admin (through a group) may deploy where deployers are listed', who('U0X', 'S0PLATFORM'), 'deploy', at('staging'), true],
    ['someone not listed may not deploy where deployers are listed', who('U0ALICE'), 'deploy', at('staging'), false],
    ['a group the config does not list does not help', who('U0ALICE', 'S0OTHER'), 'deploy', at('staging'), false],
    ['deployers: [] leaves admins', who('U0ADMIN'), 'deploy', at('qa'), true],
    ['deployers: [] refuses everyone else', who('U0ALICE'), 'deploy', at('qa'), false],
    // deploy, protected environment
    ['an approver by user id may deploy to a protected env', who('U0APPROVER'), 'deploy', at('prod'), true],
    ['a member of the approver group may deploy to a protected env', who('U0BOB', 'S0PRODAPPROVERS'), 'deploy', at('prod'), true],
    ['an admin may deploy to a protected env', who('U0ADMIN'), 'deploy', at('prod'), true],
    // The approval gate, not the policy, decides whether a protected deploy starts.
    ['a developer may request a deploy to a protected env', who('U0ALICE', 'S0DEVS'), 'deploy', at('prod'), true],
    ['a developer may not approve in a protected env', who('U0ALICE', 'S0DEVS'), 'approve', at('prod'), false],
    // approve
    ['an approver by user id may approve', who('U0APPROVER'), 'approve', at('prod'), true],
    ['a member of the approver group may approve', who('U0BOB', 'S0PRODAPPROVERS'), 'approve', at('prod'), true],
    ['an admin is not automatically an approver', who('U0ADMIN', 'S0PLATFORM'), 'approve', at('prod'), false],
    ['an approver of another env may not approve here', who('U0STGOWNER'), 'approve', at('prod'), false],
    ['nobody may approve where there are no approvers', who('U0ADMIN'), 'approve', at('dev'), false],
    // delete
    ['the lane owner may delete their lane', who('U0ALICE'), 'delete', at('dev', { lane: 'gray', laneOwner: 'U0ALICE' }), true],
    ['someone else may not delete it', who('U0CAROL'), 'delete', at('dev', { lane: 'gray', laneOwner: 'U0ALICE' }), false],
    ['an approver (group) may delete any lane of the env', who('U0BOB', 'S0PRODAPPROVERS'), 'delete', at('prod', { lane: 'gray', laneOwner: 'U0ALICE' }), true],
    ['an admin may delete any lane', who('U0ADMIN'), 'delete', at('dev', { lane: 'gray', laneOwner: 'U0ALICE' }), true],
    ['a lane without a known owner is deleted by approvers/admins only', who('U0ALICE'), 'delete', at('staging', { lane: 'gray' }), false],
    // unknown environment
    ['nothing is allowed in an environment lanebot does not know', who('U0ADMIN'), 'deploy', at('staging2'), false],
    ['not even through an Object.prototype name', who('U0ADMIN'), 'delete', at('constructor'), false],
  ])('%s', (_name, principal, action, scope, allowed) => {
    expect(can(principal, action, scope, CONFIG).allowed).toBe(allowed);
  });
});

describe('refusal reasons', () => {
  function reasonOf(principal: Principal, action: AccessAction, scope: AccessScope, config = CONFIG): string {
    const decision = can(principal, action, scope, config);
    if (decision.allowed) throw new Error(`expected ${action} to be refused`);
    return decision.reason;
  }

  it.each<[string, Principal, AccessAction, AccessScope, Array<string | RegExp>]>([
    [
      'admin: names the admins, users and groups, as mentions',
      who('U0ALICE'),
      'admin',
      at('dev'),
      ['only lanebot admins (<@U0ADMIN>, <!subteam^S0PLATFORM>)', /try again in a few minutes/],
    ],
    [
      'deployers: names deployers, approvers and admins, and the key to add someone under',
      who('U0ALICE'),
      'deploy',
      at('staging'),
      [
        'Only its deployers (<!subteam^S0DEVS>, <@U0CONTRACTOR>), its approvers (<@U0STGOWNER>) or lanebot admins (<@U0ADMIN>, <!subteam^S0PLATFORM>) may deploy to user-api/staging.',
        '`environments.staging.deployers`',
      ],
    ],
    [
      'approve: says admins are not approvers when an admin tries',
      who('U0ADMIN'),
      'approve',
      at('prod'),
      ["Only prod's approvers (<@U0APPROVER>, <!subteam^S0PRODAPPROVERS>) may approve there.", /does not make you an approver/],
    ],
    [
      'approve: no admin note for others',
      who('U0ALICE'),
      'approve',
      at('prod'),
      [/^Only prod's approvers/],
    ],
    [
      'delete: names the lane owner first',
      who('U0CAROL'),
      'delete',
      at('dev', { lane: 'gray', laneOwner: 'U0ALICE' }),
      ['Only the person who last deployed it (<@U0ALICE>) or lanebot admins (<@U0ADMIN>, <!subteam^S0PLATFORM>) may delete lane *gray* of user-api/dev.'],
    ],
    [
      'unknown environment',
      who('U0ADMIN'),
      'deploy',
      at('staging2'),
      ["staging2 is not an environment in lanebot's configuration"],
    ],
  ])('%s', (_name, principal, action, scope, expected) => {
    const reason = reasonOf(principal, action, scope);
    for (const part of expected) {
      if (typeof part === 'string') expect(reason).toContain(part);
      else expect(reason).toMatch(part);
    }
  });

  it('has no group note when only users are eligible', () => {
    const reason = reasonOf(who('U0CAROL'), 'delete', at('dev', { lane: 'gray', laneOwner: 'U0ALICE' }), BARE);
    expect(reason).toBe('Only the person who last deployed it (<@U0ALICE>) may delete lane *gray* of user-api/dev. Ask them.');
  });

  it.each<[string, AccessAction, AccessScope, string[]]>([
    ['admin', 'admin', at('dev'), ['none are configured', 'under `admins:` in lanebot.yml']],
    ['deploy with deployers: []', 'deploy', at('locked'), ['Nobody may deploy to user-api/locked', 'under `environments.locked.deployers` in lanebot.yml']],
    ['approve', 'approve', at('dev'), ['dev has no approvers, so nobody can approve there', 'under `environments.dev.approvers` in lanebot.yml']],
    ['delete of a lane without owner', 'delete', at('dev', { lane: 'gray' }), ['Nobody may delete lane *gray* of user-api/dev', '`environments.dev.approvers` or `admins:`']],
  ])('says what to configure when nobody may %s', (_name, action, scope, expected) => {
    const reason = reasonOf(userPrincipal('U0ALICE'), action, scope, BARE);
    for (const part of expected) expect(reason).toContain(part);
    expect(reason).not.toContain('<@');
  });

  it('still lets everyone deploy where nothing is configured', () => {
    expect(can(userPrincipal('U0ALICE'), 'deploy', at('dev'), BARE)).toEqual({ allowed: true });
  });
});

describe('referencedGroups', () => {
  it('lists every user group of admins, approvers and deployers once, sorted', () => {
    expect(referencedGroups(CONFIG)).toEqual(['S0DEVS', 'S0PLATFORM', 'S0PRODAPPROVERS']);
  });

  it('is empty when the config names users only', () => {
    expect(referencedGroups(BARE)).toEqual([]);
  });

  it('counts a group listed in several places once', () => {
    const config = parseConfig(`
services:
  a: {}
environments:
  dev: { deployers: [S0SAME] }
  prod: { protected: true, approvers: [S0SAME, U0ONE] }
admins: [S0SAME]
`);
    expect(referencedGroups(config)).toEqual(['S0SAME']);
  });
});

describe('mention', () => {
  it.each([
    ['U0ALICE', '<@U0ALICE>'],
    ['W0ENTERPRISE', '<@W0ENTERPRISE>'],
    ['S0PLATFORM', '<!subteam^S0PLATFORM>'],
  ])('renders %s as %s', (id, expected) => {
    expect(mention(id)).toBe(expected);
  });

  it('joins several with commas', () => {
    expect(mentionAll(['U0A', 'S0B'])).toBe('<@U0A>, <!subteam^S0B>');
  });
});
