import { userPrincipal } from '../../../src/access/policy';
import { closest, extractFlags, routeCommand, resolveScope, type Routed } from '../../../commands/index';
import { parseConfig, type LanebotConfig } from '../../../src/config';
import { TEST_CONFIG } from '../../support/test-config';

const config: LanebotConfig = parseConfig(TEST_CONFIG);

const BOUND = 'C0USERAPIDEV';
const UNBOUND = 'C0RANDOM';
const USER = 'U0DEVELOPER';
const APPROVER = 'U0APPROVER1';

const DEPLOY_USAGE = 'Usage: `/lane deploy <lane> <branch>`';
const STATUS_USAGE = 'Usage: `/lane status [<lane>]`';
const LIST_USAGE = 'Usage: `/lane list [<text>]`';

/** Characters that must never reach a reply raw: controls (but \n), bidi controls, zero-width. */
const INVISIBLE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]/u;

function route(text: string, { channelId = BOUND, userId = USER, cfg = config } = {}): Routed {
  return routeCommand({ text, principal: userPrincipal(userId), channelId }, cfg);
}

/** The text of an ephemeral reply; fails when the router would run a command instead. */
function replyText(routed: Routed): string {
  if (routed.kind !== 'reply') throw new Error(`expected a reply, got a run of ${routed.command.name} with ${JSON.stringify(routed.args)}`);
  expect(routed.reply.visibility).toBe('ephemeral');
  expect(routed.reply.text).not.toMatch(INVISIBLE);
  return routed.reply.text;
}

function runOf(routed: Routed): Extract<Routed, { kind: 'run' }> {
  if (routed.kind !== 'run') throw new Error(`expected a run, got the reply ${JSON.stringify(routed.reply.text)}`);
  return routed;
}

/** A lowercase name of `length` characters. */
function nameOf(length: number, first = 'l'): string {
  return (first + 'abcdefghij0123456789'.repeat(20)).slice(0, length);
}

describe('routeCommand: what a refusal is about (for the audit log)', () => {
  it('carries the scope of a command that got past the channel binding, and its lane once parsed', () => {
    const bad = route('deploy gray');
    expect(bad.kind === 'reply' && bad.scope).toEqual({ service: 'user-api', env: 'dev' });
    const cfg = parseConfig(TEST_CONFIG.replace('    approvers: [U0APPROVER1]', '    approvers: [U0APPROVER1]\n    deployers: [U0APPROVER1]'));
    const refused = route('deploy gray release/1.2.3 --env prod', { cfg });
    expect(refused.kind === 'reply' && refused.scope).toEqual({ service: 'user-api', env: 'prod', lane: 'gray' });
  });

  it('has no scope when the channel gives none', () => {
    const routed = route('deploy gray main', { channelId: UNBOUND });
    expect(routed.kind === 'reply' && routed.scope).toBeUndefined();
  });
});

describe('routeCommand: deploy', () => {
  it('routes a valid deploy with the scope of the channel binding', () => {
    const routed = runOf(route('deploy gray release/1.2.3'));
    expect(routed.command.name).toBe('deploy');
    expect(routed.args).toEqual({ lane: 'gray', branch: 'release/1.2.3' });
    expect(routed.ctx).toEqual({ userId: USER, principal: userPrincipal(USER), channelId: BOUND, scope: { service: 'user-api', env: 'dev' } });
  });

  it.each<[string, string, string, { service: string; env: string }]>([
    ['--service and --env after the args', 'deploy gray release/1.2.3 --service orders --env dev', USER, { service: 'orders', env: 'dev' }],
    ['--service and --env before the args', 'deploy --service orders --env dev gray release/1.2.3', USER, { service: 'orders', env: 'dev' }],
    ['flags between the args', 'deploy gray --service orders release/1.2.3 --env dev', USER, { service: 'orders', env: 'dev' }],
    ['--flag=value forms', 'deploy --service=orders gray --env=dev release/1.2.3', USER, { service: 'orders', env: 'dev' }],
    ['only --service (env from binding)', 'deploy gray release/1.2.3 --service orders', USER, { service: 'orders', env: 'dev' }],
    ['--env=prod by an approver', 'deploy gray release/1.2.3 --env=prod', APPROVER, { service: 'user-api', env: 'prod' }],
    ['--env prod by an approver', 'deploy --env prod gray release/1.2.3', APPROVER, { service: 'user-api', env: 'prod' }],
    ['uppercase flag names', 'deploy gray release/1.2.3 --SERVICE=orders --Env dev', USER, { service: 'orders', env: 'dev' }],
  ])('overrides the scope: %s', (_label, text, userId, scope) => {
    const routed = runOf(route(text, { userId }));
    expect(routed.args).toEqual({ lane: 'gray', branch: 'release/1.2.3' });
    expect(routed.ctx.scope).toEqual(scope);
  });

  it('works in an unbound channel when both flags are given', () => {
    const routed = runOf(route('deploy gray main --service orders --env dev', { channelId: UNBOUND }));
    expect(routed.ctx).toEqual({ userId: USER, principal: userPrincipal(USER), channelId: UNBOUND, scope: { service: 'orders', env: 'dev' } });
  });

  it.each(['DEPLOY', 'Deploy', 'dEpLoY'])('accepts the subcommand in any case: %s', (sub) => {
    const routed = runOf(route(`${sub} gray release/1.2.3`));
    expect(routed.command.name).toBe('deploy');
    expect(routed.args).toEqual({ lane: 'gray', branch: 'release/1.2.3' });
  });

  it.each<[string, string, string]>([
    ['lane default', 'default', 'main'],
    ['lane a', 'a', 'main'],
    ['lane feature-123', 'feature-123', 'main'],
    ['a 63-character lane', nameOf(63), 'main'],
    ['branch release/1.2.3', 'gray', 'release/1.2.3'],
    ['branch feature/JIRA-12_fix+x', 'gray', 'feature/JIRA-12_fix+x'],
    ['branch v1.0.0', 'gray', 'v1.0.0'],
    ['a 255-character branch', 'gray', 'b'.repeat(255)],
    ['uppercase branch', 'gray', 'Feature/ABC'],
  ])('accepts %s', (_label, lane, branch) => {
    expect(runOf(route(`deploy ${lane} ${branch}`)).args).toEqual({ lane, branch });
  });

  it('treats any whitespace (spaces, tabs, newlines) as a token separator', () => {
    for (const text of ['  deploy   gray   main  ', 'deploy\tgray\tmain', 'deploy\ngray\nmain', 'deploy\r\ngray\r\nmain']) {
      expect(runOf(route(text)).args).toEqual({ lane: 'gray', branch: 'main' });
    }
  });

  it.each<[string, string, RegExp]>([
    ['no lane and no branch', 'deploy', /missing the lane and the branch/],
    ['no branch', 'deploy gray', /missing the branch/],
    ['three arguments', 'deploy gray main extra', /too many arguments \(3\); expected a lane and a branch/],
    ['flags only', 'deploy --service orders --env dev', /missing the lane and the branch/],
  ])('rejects %s', (_label, text, message) => {
    const reply = replyText(route(text));
    expect(reply).toMatch(/^:warning: /);
    expect(reply).toMatch(message);
    expect(reply).toContain(DEPLOY_USAGE);
  });

  describe('protected environment', () => {
    it('takes a deploy request from anyone who may deploy: its approval gate decides whether it starts', () => {
      expect(runOf(route('deploy gray release/1.2.3 --env prod', { userId: USER })).command.name).toBe('deploy');
    });

    it('lets an approver deploy', () => {
      const routed = runOf(route('deploy gray release/1.2.3 --env prod', { userId: APPROVER }));
      expect(routed.ctx).toEqual({ userId: APPROVER, principal: userPrincipal(APPROVER), channelId: BOUND, scope: { service: 'user-api', env: 'prod' } });
    });

    it('refuses someone who is not among its deployers, naming them with user groups as subteam mentions', () => {
      const cfg = parseConfig(TEST_CONFIG.replace('    approvers: [U0APPROVER1]', '    approvers: [U0APPROVER1]\n    deployers: [S0RELEASERS]'));
      const reply = replyText(route('deploy gray main --env prod', { cfg }));
      expect(reply).toMatch(/^:no_entry: /);
      expect(reply).toContain('<!subteam^S0RELEASERS>');
      expect(reply).toContain('<@U0APPROVER1>');
    });

    it('does not gate read-only commands', () => {
      expect(runOf(route('status gray --env prod')).ctx.scope.env).toBe('prod');
      expect(runOf(route('list --env prod')).ctx.scope.env).toBe('prod');
    });

    it('does not gate unprotected environments', () => {
      expect(runOf(route('deploy gray main --service orders --env dev')).ctx.scope).toEqual({ service: 'orders', env: 'dev' });
    });
  });

  // Every row must be refused with an ephemeral reply that names the problem and gives the usage.
  // (Tokens are split on whitespace, so a branch with a space becomes extra arguments.)
  it.each<[string, string, RegExp]>([
    // unicode and invisible characters in the lane
    ['Cyrillic а in the lane', 'deploy gr\u0430y main', /not a valid lane name/],
    ['CJK lane', 'deploy 灰色 main', /not a valid lane name/],
    ['emoji lane', 'deploy 🚀 main', /not a valid lane name/],
    ['emoji in the lane', 'deploy gray🚀 main', /not a valid lane name/],
    ['Slack emoji code as the lane', 'deploy :rocket: main', /not a valid lane name/],
    ['zero-width space inside the lane', 'deploy gr\u200bay main', /not a valid lane name/],
    ['zero-width joiner inside the lane', 'deploy gr\u200day main', /not a valid lane name/],
    ['word joiner inside the lane', 'deploy gr\u2060ay main', /not a valid lane name/],
    ['BOM inside the lane (splits the token)', 'deploy gr\ufeffay main', /too many arguments/],
    ['RTL override inside the lane', 'deploy gr\u202eay main', /not a valid lane name/],
    ['RTL override before the lane', 'deploy \u202egray main', /not a valid lane name/],
    ['left-to-right isolate in the lane', 'deploy \u2066gray\u2069 main', /not a valid lane name/],
    ['RTL override in the branch', 'deploy gray ma\u202ein', /characters lanebot does not accept/],
    ['zero-width space in the branch', 'deploy gray ma\u200bin', /characters lanebot does not accept/],
    ['fullwidth letters in the branch', 'deploy gray ｍａｉｎ', /characters lanebot does not accept/],
    // lane shape
    ['uppercase lane', 'deploy Gray main', /not a valid lane name/],
    ['lane starting with a digit', 'deploy 1gray main', /not a valid lane name/],
    ['lane starting with -', 'deploy -gray main', /not a valid lane name/],
    ['lane starting with -- (read as an option)', 'deploy --gray main', /unknown option `--gray`/],
    ['lane with _', 'deploy gr_ay main', /not a valid lane name/],
    ['lane with .', 'deploy gr.ay main', /not a valid lane name/],
    ['lane with --', 'deploy gr--ay main', /must not end with `-` or contain `--`/],
    ['lane ending with -', 'deploy gray- main', /must not end with `-`/],
    ['lane ..', 'deploy .. main', /not a valid lane name/],
    ['lane ../x', 'deploy ../x main', /not a valid lane name/],
    ['lane with shell metacharacters', 'deploy gray;ls main', /not a valid lane name/],
    ['lane $(id)', 'deploy $(id) main', /not a valid lane name/],
    ['64-character lane', `deploy ${nameOf(64)} main`, /64 characters; lanes are at most 63/],
    ['200-character lane', `deploy ${nameOf(200)} main`, /200 characters; lanes are at most 63/],
    // shell metacharacters in the branch
    ['branch main;rm', 'deploy gray main;rm', /characters lanebot does not accept/],
    ['branch main;rm -rf / (splits)', 'deploy gray main;rm -rf /', /too many arguments/],
    ['branch $(whoami)', 'deploy gray $(whoami)', /characters lanebot does not accept/],
    ['branch ${HOME}', 'deploy gray ${HOME}', /characters lanebot does not accept/],
    ['branch `id`', 'deploy gray `id`', /characters lanebot does not accept/],
    ['branch a|b', 'deploy gray a|b', /characters lanebot does not accept/],
    ['branch a&&b', 'deploy gray a&&b', /characters lanebot does not accept/],
    ['branch x>y', 'deploy gray x>y', /characters lanebot does not accept/],
    ['branch a<b', 'deploy gray a<b', /characters lanebot does not accept/],
    ['branch with quotes', `deploy gray "main'`, /characters lanebot does not accept/],
    ['branch with #', 'deploy gray a#b', /characters lanebot does not accept/],
    ['branch with %', 'deploy gray a%20b', /characters lanebot does not accept/],
    // Slack escapes &, < and > in slash command text; the router decodes them first
    ['Slack-escaped && in the branch', 'deploy gray a&amp;&amp;b', /characters lanebot does not accept/],
    ['Slack-escaped > in the branch', 'deploy gray x&gt;y', /characters lanebot does not accept/],
    ['Slack-escaped < in the branch', 'deploy gray a&lt;b', /characters lanebot does not accept/],
    ['Slack-escaped <script> as the lane', 'deploy &lt;script&gt; main', /not a valid lane name/],
    ['Slack-escaped & as the lane', 'deploy &amp; main', /not a valid lane name/],
    ['doubly escaped &amp;lt; (decoded once)', 'deploy gray a&amp;lt;b', /characters lanebot does not accept/],
    // path traversal
    ['branch ../../etc/passwd', 'deploy gray ../../etc/passwd', /must not contain `\.\.`/],
    ['branch release/../x', 'deploy gray release/../x', /must not contain `\.\.`/],
    // git check-ref-format rules
    ['branch -x', 'deploy gray -x', /must not start with `-`/],
    ['branch @', 'deploy gray @', /characters lanebot does not accept/],
    ['branch a..b', 'deploy gray a..b', /must not contain `\.\.`/],
    ['branch a//b', 'deploy gray a//b', /must not contain `\/\/`/],
    ['branch /a', 'deploy gray /a', /must not start or end with `\/`/],
    ['branch a/', 'deploy gray a/', /must not start or end with `\/`/],
    ['branch a.', 'deploy gray a.', /must not end with `\.`/],
    ['branch a/.b', 'deploy gray a/.b', /path component starting with `\.`/],
    ['branch .hidden', 'deploy gray .hidden', /path component starting with `\.`/],
    ['branch x.lock', 'deploy gray x.lock', /ending with `\.lock`/],
    ['branch a.lock/b', 'deploy gray a.lock/b', /ending with `\.lock`/],
    ['branch a@{b', 'deploy gray a@{b', /characters lanebot does not accept/],
    ['branch a~1', 'deploy gray a~1', /characters lanebot does not accept/],
    ['branch a^2', 'deploy gray a^2', /characters lanebot does not accept/],
    ['branch a:b', 'deploy gray a:b', /characters lanebot does not accept/],
    ['branch a?b', 'deploy gray a?b', /characters lanebot does not accept/],
    ['branch a*b', 'deploy gray a*b', /characters lanebot does not accept/],
    ['branch a[b', 'deploy gray a[b', /characters lanebot does not accept/],
    ['branch a\\b', 'deploy gray a\\b', /characters lanebot does not accept/],
    ['256-character branch', `deploy gray ${'b'.repeat(256)}`, /256 characters; branches are at most 255/],
    // control characters
    ['NUL in the lane', 'deploy gr\u0000ay main', /not a valid lane name/],
    ['BEL in the lane', 'deploy gray\u0007 main', /not a valid lane name/],
    ['NUL in the branch', 'deploy gray ma\u0000in', /characters lanebot does not accept/],
    ['BEL in the branch', 'deploy gray ma\u0007in', /characters lanebot does not accept/],
    ['ANSI escape in the branch', 'deploy gray \u001b[31mred', /characters lanebot does not accept/],
    ['DEL in the lane', 'deploy gray\u007f main', /not a valid lane name/],
    ['C1 control (NEL) in the lane', 'deploy gray\u0085x main', /not a valid lane name/],
    // newline-separated extra tokens
    ['a second command on a new line', 'deploy gray main\n/lane deploy gray other', /too many arguments/],
    ['a shell command on a new line', 'deploy gray release/1.2.3\nrm -rf /', /too many arguments/],
    ['an option on a new line', 'deploy gray main\n--force', /unknown option `--force`/],
  ])('refuses %s', (_label, text, message) => {
    const reply = replyText(route(text));
    expect(reply).toMatch(/^:warning: /);
    expect(reply).toMatch(message);
    expect(reply).toContain(DEPLOY_USAGE);
  });

  it('shows invisible characters of a bad lane escaped in the reply', () => {
    const reply = replyText(route('deploy gr\u202eay main'));
    expect(reply).toContain('gr\\u{202e}ay');
  });

  it('refuses text longer than 2000 characters', () => {
    const reply = replyText(route(`deploy gray ${'x'.repeat(2000)}`));
    expect(reply).toMatch(/^:warning: /);
    expect(reply).toContain('2012 characters');
  });

  it('still routes a command of exactly 2000 characters', () => {
    const text = `deploy gray main${' '.repeat(2000 - 'deploy gray main'.length)}`;
    expect(text).toHaveLength(2000);
    expect(runOf(route(text)).args).toEqual({ lane: 'gray', branch: 'main' });
  });

  // DESIGN.md: "Bad input always gets a clear ephemeral reply naming what is wrong and the usage".
  // Fails today: the over-2000 reply is built without a command, so it has no Usage line.
  it('gives the deploy usage when a deploy command is longer than 2000 characters', () => {
    expect(replyText(route(`deploy gray ${'x'.repeat(2000)}`))).toContain(DEPLOY_USAGE);
  });

  describe('lane length against derived AWS names', () => {
    const LONG_SERVICE = nameOf(40, 's');
    const LONG_ENV = nameOf(16, 'e');

    it('with the longest service (40) and env (16) the config allows, a 63-character lane fits and 64 does not', () => {
      const cfg = parseConfig(
        `services:\n  ${LONG_SERVICE}: {}\nenvironments:\n  ${LONG_ENV}: {}\nchannels:\n  C0LONG: { service: ${LONG_SERVICE}, env: ${LONG_ENV} }\n`,
      );
      const ok = runOf(route(`deploy ${nameOf(63)} main`, { channelId: 'C0LONG', cfg }));
      expect(ok.ctx.scope).toEqual({ service: LONG_SERVICE, env: LONG_ENV });
      const reply = replyText(route(`deploy ${nameOf(64)} main`, { channelId: 'C0LONG', cfg }));
      expect(reply).toContain('lanes are at most 63');
      expect(reply).toContain(DEPLOY_USAGE);
    });

    // With the config's caps, app-{40}-{16}-{63} is 125 characters, so no accepted config makes the
    // stack name overflow. A config built by hand (bypassing parseConfig) shows the message.
    it('explains a lane that fits 63 characters but overflows the 128-character stack name', () => {
      const service = nameOf(60, 's');
      const cfg: LanebotConfig = {
        ...config,
        services: { ...config.services, [service]: {} },
        channels: { ...config.channels, C0LONG: { service, env: 'dev' } },
      };
      const lane = nameOf(63);
      const reply = replyText(route(`deploy ${lane} main`, { channelId: 'C0LONG', cfg }));
      expect(reply).toContain('stack name');
      expect(reply).toContain(`${'app-'.length + 60 + '-dev-'.length + 63} characters`);
      expect(reply).toContain('CloudFormation stack names are at most 128 characters');
      expect(reply).toContain(DEPLOY_USAGE);
      // ...while a lane that fits is accepted
      const fits = 128 - ('app-'.length + 60 + '-dev-'.length);
      expect(runOf(route(`deploy ${nameOf(fits)} main`, { channelId: 'C0LONG', cfg })).args).toEqual({ lane: nameOf(fits), branch: 'main' });
    });
  });
});

describe('routeCommand: flags and scope', () => {
  it('explains an unbound channel and names --service and --env', () => {
    const reply = replyText(route('deploy gray main', { channelId: UNBOUND }));
    expect(reply).toContain('this channel is not bound to a service and environment');
    expect(reply).toContain('Add --service and --env');
    expect(reply).toContain('services: user-api, orders');
    expect(reply).toContain('environments: dev, prod');
    expect(reply).toContain('channels:');
    expect(reply).toContain(DEPLOY_USAGE);
  });

  it('in an unbound channel with only --service, asks for --env alone', () => {
    const reply = replyText(route('deploy gray main --service orders', { channelId: UNBOUND }));
    expect(reply).toContain('Add --env ');
    expect(reply).not.toContain('Add --service');
  });

  it.each<[string, string, RegExp[]]>([
    ['unknown service with a suggestion', 'deploy gray main --service user-apu', [/unknown service `user-apu`/, /did you mean `user-api`\?/, /services: user-api, orders/]],
    ['unknown service in another case', 'deploy gray main --service ORDERS', [/unknown service `ORDERS`/, /did you mean `orders`\?/]],
    ['unknown service without a suggestion', 'deploy gray main --service zzzzzzzz', [/unknown service `zzzzzzzz`;/, /services: user-api, orders/]],
    ['unknown env with a suggestion', 'deploy gray main --env prd', [/unknown environment `prd`/, /did you mean `prod`\?/, /environments: dev, prod/]],
    ['unknown env (staging)', 'deploy gray main --env staging', [/unknown environment `staging`/]],
    ['unknown option --force', 'deploy gray main --force', [/unknown option `--force` \(options: --service, --env\)/]],
    ['unknown option --force=yes', 'deploy --force=yes gray main', [/unknown option `--force=yes`/]],
    ['a bare --', 'deploy gray main --', [/unknown option `--`/]],
    ['--service without a value at the end', 'deploy gray main --service', [/`--service` needs a value/]],
    ['--service= with an empty value', 'deploy gray main --service=', [/`--service` needs a value/]],
    ['--service followed by another flag', 'deploy gray main --service --env dev', [/`--service` needs a value/]],
    ['--env without a value', 'deploy gray main --env', [/`--env` needs a value/]],
    ['--env given twice', 'deploy gray main --env dev --env=prod', [/`--env` is given twice/]],
    ['--service given twice', 'deploy gray main --service orders --service orders', [/`--service` is given twice/]],
  ])('refuses %s', (_label, text, messages) => {
    const reply = replyText(route(text));
    expect(reply).toMatch(/^:warning: /);
    for (const message of messages) expect(reply).toMatch(message);
    expect(reply).toContain(DEPLOY_USAGE);
  });

  // Fails today: resolveScope checks `name in config.services` / `in config.environments`, which is
  // true for Object.prototype keys, so these are routed as runs (a deploy to pipeline
  // `constructor-dev`, or to env `toString`, whose authorize sees no `protected` flag).
  it.each<[string, string, RegExp]>([
    ['--service constructor', 'deploy gray main --service constructor', /unknown service `constructor`/],
    ['--service __proto__', 'deploy gray main --service __proto__', /unknown service `__proto__`/],
    ['--service toString', 'deploy gray main --service toString', /unknown service `toString`/],
    ['--env hasOwnProperty', 'deploy gray main --env hasOwnProperty', /unknown environment `hasOwnProperty`/],
    ['--env __proto__', 'deploy gray main --env=__proto__', /unknown environment `__proto__`/],
  ])('refuses a service or env named like an Object.prototype key: %s', (_label, text, message) => {
    const reply = replyText(route(text));
    expect(reply).toMatch(message);
    expect(reply).toContain(DEPLOY_USAGE);
  });

  it('escapes invisible characters in an unknown service name', () => {
    const reply = replyText(route('deploy gray main --service ord\u202eers'));
    expect(reply).toContain('ord\\u{202e}ers');
  });

  describe('extractFlags', () => {
    it('returns the remaining tokens in order', () => {
      expect(extractFlags(['a', '--env', 'dev', 'b', '--service=x', 'c'])).toEqual({ ok: true, service: 'x', env: 'dev', rest: ['a', 'b', 'c'] });
    });

    it('keeps = inside an inline value', () => {
      expect(extractFlags(['--env=a=b'])).toEqual({ ok: true, service: undefined, env: 'a=b', rest: [] });
    });
  });

  describe('resolveScope', () => {
    it('prefers flags over the binding', () => {
      expect(resolveScope(BOUND, 'orders', undefined, config)).toEqual({ ok: true, scope: { service: 'orders', env: 'dev' } });
    });
  });

  describe('closest', () => {
    it.each<[string, string[], string | undefined]>([
      ['deplyo', ['deploy', 'status'], 'deploy'],
      ['DEPLY', ['deploy', 'status'], 'deploy'],
      ['stauts', ['deploy', 'status'], 'status'],
      ['lst', ['list', 'help'], 'list'],
      ['xyz', ['deploy', 'status', 'list'], undefined],
      ['deploying', ['deploy'], undefined],
    ])('%s → %s', (word, candidates, expected) => {
      expect(closest(word, candidates)).toBe(expected);
    });
  });
});

describe('routeCommand: subcommands', () => {
  it.each(['', '   ', '\n\t'])('answers empty text %j with the help', (text) => {
    const routed = route(text);
    const reply = replyText(routed);
    expect(reply).toContain('Type a command after `/lane`');
    for (const usage of ['/lane deploy <lane> <branch>', '/lane status [<lane>]', '/lane list', '/lane help']) expect(reply).toContain(usage);
    expect(reply).not.toContain('not bound');
  });

  it('the empty-text help in an unbound channel explains the binding', () => {
    expect(replyText(route('', { channelId: UNBOUND }))).toContain('not bound to a service: add `--service <name> --env <name>`');
  });

  it.each<[string, string]>([
    ['deplyo gray main', 'deploy'],
    ['delpoy gray main', 'deploy'],
    ['stauts', 'status'],
    ['lsit', 'list'],
    ['hepl', 'help'],
    ['Deplyo gray main', 'deploy'],
  ])('suggests a command for %j', (text, suggestion) => {
    const reply = replyText(route(text));
    expect(reply).toContain(`is not a lanebot command. Did you mean \`/lane ${suggestion}\`?`);
    expect(reply).toContain('Type `/lane help` for the commands.');
  });

  it('names an unknown command without a suggestion when nothing is close', () => {
    const reply = replyText(route('frobnicate gray'));
    expect(reply).toContain('`frobnicate` is not a lanebot command.');
    expect(reply).not.toContain('Did you mean');
    expect(reply).toContain('/lane help');
  });

  it('escapes and cuts an unknown command', () => {
    const reply = replyText(route(`x\u202e${'y'.repeat(100)}`));
    expect(reply).toContain('x\\u{202e}');
    expect(reply).not.toContain('y'.repeat(40));
  });

  it('routes promote to default, or to the lane --to names, with or without a canary', () => {
    expect(runOf(route('promote gray')).args).toEqual({ from: 'gray', to: 'default' });
    expect(runOf(route('promote gray --to blue')).args).toEqual({ from: 'gray', to: 'blue' });
    expect(runOf(route('PROMOTE gray --to=blue')).args).toEqual({ from: 'gray', to: 'blue' });
    expect(runOf(route('promote gray --canary')).args).toEqual({ from: 'gray', to: 'default', canary: true });
    expect(runOf(route('promote gray --no-canary')).args).toEqual({ from: 'gray', to: 'default', canary: false });
    expect(runOf(route('promote gray --to default --CANARY')).args).toEqual({ from: 'gray', to: 'default', canary: true });
    expect(replyText(route('promote gray --canary --to blue'))).toContain('`--canary` promotes to default only');
    expect(replyText(route('promote gray --canary --no-canary'))).toContain('cannot both be given');
    expect(replyText(route('promote gray --canary --canary'))).toContain('given twice');
    expect(replyText(route('promote canary'))).toContain('lane `canary` is reserved');
    expect(replyText(route('promote gray --to gray'))).toContain('cannot be promoted to itself');
    expect(replyText(route('promote'))).toContain('missing the lane to promote');
    expect(replyText(route('promote gray blue'))).toContain('too many arguments');
    expect(replyText(route('promote gray --to'))).toContain('`--to` needs a lane');
    expect(replyText(route('promote gray --force'))).toContain('unknown option `--force` (options: --service, --env, --to, --canary, --no-canary)');
    // --to is promote's own: other commands refuse it.
    expect(replyText(route('deploy gray main --to blue'))).toContain('unknown option `--to` (options: --service, --env)');
  });

  it('routes rollback with an optional release: a number, a tag or a digest', () => {
    expect(runOf(route('rollback gray')).args).toEqual({ lane: 'gray' });
    expect(runOf(route('ROLLBACK gray 3')).args).toEqual({ lane: 'gray', selector: '3' });
    expect(runOf(route('rollback default sha256:ab12cd')).args).toEqual({ lane: 'default', selector: 'sha256:ab12cd' });
    expect(replyText(route('rollback'))).toContain('missing the lane');
    expect(replyText(route('rollback gray 1 2'))).toContain('too many arguments');
    expect(replyText(route('rollback gray <evil>'))).toContain('must be a number');
  });

  describe('status', () => {
    it('routes status without a lane', () => {
      const routed = runOf(route('status'));
      expect(routed.command.name).toBe('status');
      expect(routed.args).toEqual({});
      expect(routed.ctx.scope).toEqual({ service: 'user-api', env: 'dev' });
    });

    it.each(['gray', 'default', 'a'])('routes status of lane %s', (lane) => {
      expect(runOf(route(`status ${lane}`)).args).toEqual({ lane });
    });

    it('routes STATUS with flags', () => {
      const routed = runOf(route('STATUS --service orders gray'));
      expect(routed.args).toEqual({ lane: 'gray' });
      expect(routed.ctx.scope).toEqual({ service: 'orders', env: 'dev' });
    });

    it.each<[string, string, RegExp]>([
      ['invalid lane', 'status Gray', /not a valid lane name/],
      ['unicode lane', 'status gr\u0430y', /not a valid lane name/],
      ['overlong lane', `status ${nameOf(64)}`, /at most 63/],
      ['too many args', 'status gray blue', /too many arguments \(2\); expected at most a lane/],
      ['unknown option', 'status --all', /unknown option `--all`/],
    ])('refuses %s', (_label, text, message) => {
      const reply = replyText(route(text));
      expect(reply).toMatch(message);
      expect(reply).toContain(STATUS_USAGE);
    });

    it('needs a scope', () => {
      expect(replyText(route('status', { channelId: UNBOUND }))).toContain('not bound');
    });
  });

  describe('list', () => {
    it('routes list', () => {
      const routed = runOf(route('list'));
      expect(routed.command.name).toBe('list');
      expect(routed.args).toEqual({});
      expect(routed.ctx.scope).toEqual({ service: 'user-api', env: 'dev' });
    });

    it('routes list with flags in an unbound channel', () => {
      expect(runOf(route('list --service orders --env prod', { channelId: UNBOUND })).ctx.scope).toEqual({ service: 'orders', env: 'prod' });
    });

    it('takes a part of a lane name to filter by', () => {
      expect(runOf(route('list gray')).args).toEqual({ contains: 'gray' });
    });

    it('refuses a second argument, and a filter that is no part of a lane name', () => {
      expect(replyText(route('list gray blue'))).toContain('too many arguments (2); expected at most a part of a lane name');
      const reply = replyText(route('list GR*Y'));
      expect(reply).toContain('filter lanes with a part of a lane name');
      expect(reply).toContain(LIST_USAGE);
    });

    it('needs a scope', () => {
      const reply = replyText(route('list', { channelId: UNBOUND }));
      expect(reply).toContain('not bound');
      expect(reply).toContain(LIST_USAGE);
    });
  });

  describe('help', () => {
    it.each(['help', 'HELP', 'help me'])('%j runs in an unbound channel (needsScope false)', (text) => {
      const routed = runOf(route(text, { channelId: UNBOUND }));
      expect(routed.command.name).toBe('help');
      expect(routed.command.needsScope).toBe(false);
      expect(routed.ctx).toEqual({ userId: USER, principal: userPrincipal(USER), channelId: UNBOUND, scope: { service: '', env: '' } });
    });

    it('runs in a bound channel too', () => {
      expect(runOf(route('help')).command.name).toBe('help');
    });
  });
});
