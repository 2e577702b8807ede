// `/lane renew <lane> [<duration>]`: the parse table, through the router as Slack's text arrives.
// The checks that need the config and Redis (maxRenewal, never, a lane that was never deployed)
// are in test/integration/lane-expiry.test.ts.
import { userPrincipal } from '../../../src/access/policy';
import { routeCommand, type Routed } from '../../../commands/index';
import { renewCommand } from '../../../commands/renew';
import { parseConfig } from '../../../src/config';
import { TEST_CONFIG } from '../../support/test-config';

const config = parseConfig(TEST_CONFIG);
const SCOPE = { service: 'user-api', env: 'dev' };
const USAGE = 'Usage: `/lane renew <lane> [<duration>]`';
const H = 3_600_000;
const DAY = 24 * H;

function route(text: string, userId = 'U0DEVELOPER', cfg = config): Routed {
  return routeCommand({ text, principal: userPrincipal(userId), channelId: 'C0USERAPIDEV' }, cfg);
}

describe('/lane renew parse', () => {
  it.each<[string, string[], { lane: string; durationMs?: number }]>([
    ['a lane alone (the environment\'s deleteAfter)', ['gray'], { lane: 'gray' }],
    ['days', ['gray', '14d'], { lane: 'gray', durationMs: 14 * DAY }],
    ['hours', ['gray', '36h'], { lane: 'gray', durationMs: 36 * H }],
    ['minutes', ['gray', '90m'], { lane: 'gray', durationMs: 90 * 60_000 }],
    ['lane default (refused later, with why)', ['default'], { lane: 'default' }],
  ])('reads %s', (_label, tokens, args) => {
    expect(renewCommand.parse(tokens, SCOPE)).toEqual({ ok: true, args });
  });

  it.each<[string, string[], RegExp]>([
    ['no lane', [], /missing the lane/],
    ['three arguments', ['gray', '7d', 'please'], /too many arguments \(3\)/],
    ['a word for a duration', ['gray', 'week'], /"week" is not a duration; write a whole number and a unit/],
    ['a unit spelt out', ['gray', '7days'], /"7days" is not a duration/],
    ['a zero duration', ['gray', '0d'], /"0d" is not a duration/],
    ['a negative duration', ['gray', '-1d'], /"-1d" is not a duration/],
    ['a fraction', ['gray', '1.5d'], /"1\.5d" is not a duration/],
    ['a bad lane', ['Gray', '7d'], /not a valid lane name/],
  ])('refuses %s, naming why', (_label, tokens, problem) => {
    const result = renewCommand.parse(tokens, SCOPE);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toMatch(problem);
  });
});

describe('/lane renew through the router', () => {
  it('runs in the channel\'s scope, for anyone who may deploy there', () => {
    const routed = route('renew gray 14d');
    expect(routed.kind).toBe('run');
    if (routed.kind === 'run') {
      expect(routed.command.name).toBe('renew');
      expect(routed.args).toEqual({ lane: 'gray', durationMs: 14 * DAY });
      expect(routed.ctx.scope).toEqual(SCOPE);
    }
  });

  it('answers bad input with the problem and the usage', () => {
    const routed = route('renew gray soon');
    expect(routed.kind).toBe('reply');
    if (routed.kind === 'reply') {
      expect(routed.reply.text).toContain('"soon" is not a duration');
      expect(routed.reply.text).toContain(USAGE);
    }
  });

  it('refuses someone who may not deploy to the environment, naming who may', () => {
    const cfg = parseConfig(TEST_CONFIG.replace('  dev:\n', '  dev:\n    deployers: [U0ALICE]\n'));
    const refused = route('renew gray', 'U0BOB', cfg);
    expect(refused.kind).toBe('reply');
    if (refused.kind === 'reply') expect(refused.reply.text).toMatch(/Only .*<@U0ALICE>.* may deploy to user-api\/dev/);
    expect(route('renew gray', 'U0ALICE', cfg).kind).toBe('run');
  });
});
