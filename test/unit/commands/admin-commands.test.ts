import { userPrincipal } from '../../../src/access/policy';
// The admin commands (`/lane setup`, `/lane infra`, `/lane boot`) through the real router: who may
// run them, what the config must hold, and that bad input is answered without running anything.
import { routeCommand, type Routed } from '../../../commands/index';
import { parseConfig, type LanebotConfig } from '../../../src/config';
import { operationRef } from '../../../src/domain/names';
import { TEST_CONFIG } from '../../support/test-config';

const ADMIN = 'U0PLATFORM1';
const USER = 'U0DEVELOPER';
const SETUP = `
setup:
  connectionArn: arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-1111-2222-3333-444455556666
  infraRepo: acme/infra-devops
admins: [${ADMIN}, S0PLATFORM]
`;

function configWith(extra: string, services = '  user-api: { repo: acme/user-api }\n  orders: {}'): LanebotConfig {
  return parseConfig(TEST_CONFIG.replace(/services:\n(  .*\n)+/, `services:\n${services}\n`) + extra);
}

const config = configWith(SETUP);

function route(text: string, { userId = ADMIN, channelId = 'C0USERAPIDEV', cfg = config } = {}): Routed {
  return routeCommand({ text, principal: userPrincipal(userId), channelId }, cfg);
}

function replyText(routed: Routed): string {
  if (routed.kind !== 'reply') throw new Error(`expected a reply, got a run of ${routed.command.name}`);
  expect(routed.reply.visibility).toBe('ephemeral');
  return routed.reply.text;
}

describe.each(['setup', 'infra', 'boot'])('/lane %s', (name) => {
  it('runs for an admin listed by user id, with the channel scope', () => {
    const routed = route(name);
    if (routed.kind !== 'run') throw new Error(replyText(routed));
    expect(routed.command.name).toBe(name);
    expect(routed.ctx.scope).toEqual({ service: 'user-api', env: 'dev' });
  });

  it('refuses anyone else and names the admins', () => {
    const text = replyText(route(name, { userId: USER }));
    expect(text).toContain(`\`/lane ${name}\` changes shared infrastructure`);
    expect(text).toContain(`<@${ADMIN}>`);
    expect(text).toContain('<!subteam^S0PLATFORM>');
    // Someone just added to the group is told that lanebot's copy catches up.
    expect(text).toContain('if you were just added, try again in a few minutes');
  });

  it('lets a member of an admin user group run it', () => {
    const routed = routeCommand({ text: name, principal: { userId: USER, groups: new Set(['S0PLATFORM']) }, channelId: 'C0USERAPIDEV' }, config);
    expect(routed.kind).toBe('run');
  });

  it('says when no admins are configured at all', () => {
    const text = replyText(route(name, { cfg: configWith(SETUP.replace(/admins:.*\n/, '')) }));
    expect(text).toContain('none are configured: add Slack user ids (U…) or user group ids (S…) under `admins:` in lanebot.yml');
  });

  it('takes no arguments', () => {
    const text = replyText(route(`${name} now please`));
    expect(text).toContain('this command takes no arguments (got 2)');
    expect(text).toContain(`Usage: \`/lane ${name}\``);
  });

  it('honours --service and --env', () => {
    const routed = route(`${name} --service user-api --env prod`, { channelId: 'C0RANDOM' });
    if (routed.kind !== 'run') throw new Error(replyText(routed));
    expect(routed.ctx.scope).toEqual({ service: 'user-api', env: 'prod' });
  });

  it('asks for a scope in an unbound channel', () => {
    expect(replyText(route(name, { channelId: 'C0RANDOM' }))).toContain('this channel is not bound');
  });

  it('acknowledges with what it queues', () => {
    const routed = route(name);
    if (routed.kind !== 'run') throw new Error(replyText(routed));
    const ack = routed.command.acknowledge?.(routed.ctx, routed.args) ?? '';
    expect(ack).toMatch(/Queued/);
    expect(ack).toContain('thread');
  });
});

describe('/lane setup preconditions', () => {
  it('explains a missing setup: section', () => {
    const text = replyText(route('setup', { cfg: configWith(`admins: [${ADMIN}]`) }));
    expect(text).toContain('lanebot.yml lacks a `setup:` section with `connectionArn`');
    expect(text).toContain('Usage: `/lane setup`');
  });

  it("explains a service without its app repository", () => {
    const text = replyText(route('setup', { channelId: 'C0ORDERSDEV' }));
    expect(text).toContain('`services.orders.repo`');
    expect(text).not.toContain('`setup:` section');
  });

  it('infra and boot need no setup: section', () => {
    const cfg = configWith(`admins: [${ADMIN}]`);
    expect(route('infra', { cfg }).kind).toBe('run');
    expect(route('boot', { cfg }).kind).toBe('run');
  });
});

describe('operation slots', () => {
  it('are never valid lanes, and infra is environment-wide', () => {
    expect(operationRef('infra', { service: 'user-api', env: 'dev' })).toEqual({ service: '*', env: 'dev', lane: '@infra' });
    expect(operationRef('boot', { service: 'user-api', env: 'dev' })).toEqual({ service: 'user-api', env: 'dev', lane: '@boot' });
    const routed = route('deploy @boot main');
    expect(replyText(routed)).toContain('is not a valid lane name');
  });
});

describe('help', () => {
  it('lists the admin commands in the order a new environment needs them', () => {
    const routed = route('help', { userId: USER });
    if (routed.kind !== 'run') throw new Error(replyText(routed));
    return routed.command
      .run(routed.ctx, routed.args, { config } as never)
      .then((reply) => expect(reply?.text).toContain('For lanebot admins (order on a new environment: setup, infra, boot): `/lane setup`, `/lane infra`, `/lane boot`.'));
  });
});
