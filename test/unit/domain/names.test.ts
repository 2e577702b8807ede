import {
  DERIVED_NAMES,
  MAX_BRANCH_LENGTH,
  MAX_ENV_LENGTH,
  MAX_LANE_LENGTH,
  MAX_SERVICE_LENGTH,
  defaultPipelineName,
  ecsServiceName,
  laneStackName,
  maxLaneLength,
  printable,
  validateBranch,
  validateLane,
  validateScopeName,
  type Scope,
} from '../../../src/domain/names';

/** A valid name of exactly `length` characters: a letter first, then letters and digits. */
function nameOf(length: number, first = 's'): string {
  return (first + 'abcdefghij0123456789'.repeat(20)).slice(0, length);
}

const SCOPE: Scope = { service: 'user-api', env: 'dev' };
const LONGEST_SCOPE: Scope = { service: nameOf(MAX_SERVICE_LENGTH, 's'), env: nameOf(MAX_ENV_LENGTH, 'e') };

function problemOf(result: { ok: true } | { ok: false; problem: string }): string {
  if (result.ok) throw new Error('expected the validation to fail');
  return result.problem;
}

describe('derived names', () => {
  it('builds the lane stack, ECS service and default pipeline names of DESIGN.md', () => {
    const ref = { service: 'user-api', env: 'dev', lane: 'gray' };
    expect(laneStackName(ref)).toBe('app-user-api-dev-gray');
    expect(ecsServiceName(ref)).toBe('user-api-dev-gray');
    expect(defaultPipelineName(ref)).toBe('user-api-dev');
  });

  it('DERIVED_NAMES covers the stack name and the ECS service name with their AWS limits', () => {
    const ref = { service: 'user-api', env: 'dev', lane: 'gray' };
    const byWhat = new Map(DERIVED_NAMES.map((d) => [d.what, d]));
    expect(byWhat.get('lane stack name')?.build(ref)).toBe(laneStackName(ref));
    expect(byWhat.get('lane stack name')?.limit).toBe(128);
    expect(byWhat.get('ECS service name')?.build(ref)).toBe(ecsServiceName(ref));
    expect(byWhat.get('ECS service name')?.limit).toBe(255);
    for (const derived of DERIVED_NAMES) {
      expect(derived.rule).toMatch(/at most \d+ characters/);
      expect(derived.build(ref)).toContain('gray');
    }
  });
});

describe('maxLaneLength', () => {
  it('is never more than one DNS label (63)', () => {
    expect(maxLaneLength(SCOPE)).toBe(MAX_LANE_LENGTH);
    expect(maxLaneLength({ service: 'a', env: 'b' })).toBe(MAX_LANE_LENGTH);
  });

  it('for the longest service (40) and env (16) the config accepts, a lane of maxLaneLength passes and fits every derived name', () => {
    expect(validateScopeName('service', LONGEST_SCOPE.service)).toEqual({ ok: true });
    expect(validateScopeName('environment', LONGEST_SCOPE.env)).toEqual({ ok: true });
    const max = maxLaneLength(LONGEST_SCOPE);
    expect(max).toBeGreaterThanOrEqual(40); // the promise of MAX_SERVICE_LENGTH / MAX_ENV_LENGTH
    const lane = nameOf(max, 'l');
    expect(validateLane(lane, LONGEST_SCOPE)).toEqual({ ok: true });
    for (const derived of DERIVED_NAMES) {
      expect(derived.build({ ...LONGEST_SCOPE, lane }).length).toBeLessThanOrEqual(derived.limit);
    }
  });

  it('for the longest scope, one more character than maxLaneLength fails', () => {
    const lane = nameOf(maxLaneLength(LONGEST_SCOPE) + 1, 'l');
    expect(problemOf(validateLane(lane, LONGEST_SCOPE))).toMatch(/characters/);
  });

  it('shrinks below 63 when a derived name binds (scope longer than the config allows)', () => {
    const scope: Scope = { service: nameOf(80, 's'), env: nameOf(16, 'e') };
    const max = maxLaneLength(scope);
    // app-{80}-{16}-{lane} <= 128
    expect(max).toBe(128 - ('app-'.length + 80 + 1 + 16 + 1));
    expect(validateLane(nameOf(max, 'l'), scope)).toEqual({ ok: true });
    const problem = problemOf(validateLane(nameOf(max + 1, 'l'), scope));
    expect(problem).toContain('stack name');
    expect(problem).toContain('128');
  });
});

describe('validateLane', () => {
  it.each(['default', 'a', 'gray', 'feature-123', 'a1', 'x-y-z', nameOf(MAX_LANE_LENGTH, 'l')])('accepts %j', (lane) => {
    expect(validateLane(lane, SCOPE)).toEqual({ ok: true });
  });

  it.each<[string, string, RegExp]>([
    ['empty', '', /empty/],
    ['uppercase', 'Gray', /lowercase letter/],
    ['digit first', '1gray', /lowercase letter/],
    ['dash first', '-gray', /lowercase letter/],
    ['underscore', 'gr_ay', /a-z, 0-9 and -/],
    ['dot', 'gr.ay', /a-z, 0-9 and -/],
    ['Cyrillic а', 'gr\u0430y', /not a valid lane name/],
    ['CJK', '灰色', /not a valid lane name/],
    ['emoji', 'gray🚀', /not a valid lane name/],
    ['zero-width space', 'gr\u200bay', /not a valid lane name/],
    ['RTL override', 'gr\u202eay', /not a valid lane name/],
    ['NUL', 'gr\u0000ay', /not a valid lane name/],
    ['trailing newline', 'gray\n', /not a valid lane name/],
    ['trailing dash', 'gray-', /must not end with/],
    ['double dash', 'gr--ay', /--/],
    ['64 characters', nameOf(64, 'l'), /at most 63/],
  ])('rejects %s', (_label, lane, message) => {
    expect(problemOf(validateLane(lane, SCOPE))).toMatch(message);
  });

  it('shows invisible characters of a bad lane escaped, never raw', () => {
    const problem = problemOf(validateLane('gr\u202eay\u200b', SCOPE));
    expect(problem).toContain('\\u{202e}');
    expect(problem).toContain('\\u{200b}');
    expect(problem).not.toMatch(/[\u202e\u200b]/u);
  });
});

describe('validateBranch', () => {
  it.each(['main', 'release/1.2.3', 'feature/JIRA-12_fix+x', 'v1.0.0', 'a', '+x', '_', 'a/b/c', 'x'.repeat(MAX_BRANCH_LENGTH)])(
    'accepts %j',
    (branch) => {
      expect(validateBranch(branch)).toEqual({ ok: true });
    },
  );

  it.each<[string, RegExp]>([
    ['', /empty/],
    ['-x', /must not start with `-`/],
    ['@', /characters lanebot does not accept/],
    ['a..b', /`\.\.`/],
    ['a//b', /`\/\/`/],
    ['/a', /start or end with `\/`/],
    ['a/', /start or end with `\/`/],
    ['a.', /end with `\.`/],
    ['a/.b', /starting with `\.`/],
    ['.a', /starting with `\.`/],
    ['x.lock', /`\.lock`/],
    ['a.lock/b', /`\.lock`/],
    ['a@{b', /characters lanebot does not accept/],
    ['a b', /characters lanebot does not accept/],
    ['a~1', /characters lanebot does not accept/],
    ['a^1', /characters lanebot does not accept/],
    ['a:b', /characters lanebot does not accept/],
    ['a?b', /characters lanebot does not accept/],
    ['a*b', /characters lanebot does not accept/],
    ['a[b', /characters lanebot does not accept/],
    ['a\\b', /characters lanebot does not accept/],
    ['main;rm -rf /', /characters lanebot does not accept/],
    ['$(whoami)', /characters lanebot does not accept/],
    ['`id`', /characters lanebot does not accept/],
    ['a|b', /characters lanebot does not accept/],
    ['a&&b', /characters lanebot does not accept/],
    ['x>y', /characters lanebot does not accept/],
    ['a\u0000b', /characters lanebot does not accept/],
    ['a\u0007b', /characters lanebot does not accept/],
    ['ma\u200bin', /characters lanebot does not accept/],
    ['x'.repeat(MAX_BRANCH_LENGTH + 1), /at most 255/],
  ])('rejects %j', (branch, message) => {
    expect(problemOf(validateBranch(branch))).toMatch(message);
  });

  // `git check-ref-format --branch HEAD` fails ("'HEAD' is not a valid branch name"), and DESIGN.md
  // says branch names follow git check-ref-format rules. validateBranch currently accepts it.
  it('rejects HEAD, which git refuses as a branch name (git check-ref-format --branch HEAD)', () => {
    expect(validateBranch('HEAD').ok).toBe(false);
  });

  it('cuts an overlong branch in the message and escapes invisible characters', () => {
    const problem = problemOf(validateBranch('x'.repeat(300)));
    expect(problem).toContain(`${'x'.repeat(60)}…`);
    expect(problem).not.toContain('x'.repeat(61));
    const hidden = problemOf(validateBranch('ma\u0007in'));
    expect(hidden).toContain('\\u{7}');
    expect(hidden).not.toContain('\u0007');
  });
});

describe('validateScopeName', () => {
  it.each<['service' | 'environment', string]>([
    ['service', 'user-api'],
    ['service', nameOf(MAX_SERVICE_LENGTH)],
    ['environment', 'dev'],
    ['environment', nameOf(MAX_ENV_LENGTH)],
  ])('accepts %s %j', (kind, name) => {
    expect(validateScopeName(kind, name)).toEqual({ ok: true });
  });

  it.each<['service' | 'environment', string, RegExp]>([
    ['service', 'User-api', /lowercase letter/],
    ['service', '1api', /lowercase letter/],
    ['service', 'user_api', /lowercase letter/],
    ['service', '', /lowercase letter/],
    ['service', nameOf(MAX_SERVICE_LENGTH + 1), /longer than 40/],
    ['service', 'api-', /must not end with -/],
    ['service', 'user--api', /contain --/],
    ['environment', nameOf(MAX_ENV_LENGTH + 1), /longer than 16/],
    ['environment', 'Prod', /environment name "Prod"/],
  ])('rejects %s %j', (kind, name, message) => {
    expect(problemOf(validateScopeName(kind, name))).toMatch(message);
  });
});

describe('printable', () => {
  /** Every code point from `from` to `to` that matches `pattern`. */
  function codePoints(from: number, to: number, pattern: RegExp): string[] {
    const out: string[] = [];
    for (let cp = from; cp <= to; cp++) {
      const c = String.fromCodePoint(cp);
      if (pattern.test(c)) out.push(c);
    }
    return out;
  }
  const hex = (c: string) => c.codePointAt(0)!.toString(16);

  it('leaves ordinary text alone', () => {
    expect(printable('gray release/1.2.3 灰色 grаy')).toBe('gray release/1.2.3 灰色 grаy');
  });

  it('turns a backtick into a quote so it cannot close a code span', () => {
    expect(printable('a`b')).toBe("a'b");
  });

  it.each(codePoints(0, 0xffff, /^\p{Cc}$/u).map((c) => [hex(c), c]))('makes control character U+%s visible', (h, c) => {
    expect(printable(`a${c}b`)).toBe(`a\\u{${h}}b`);
  });

  // Unicode's Bidi_Control set: U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069.
  it.each(codePoints(0, 0xffff, /^\p{Bidi_Control}$/u).map((c) => [hex(c), c]))('makes bidi control U+%s visible', (h, c) => {
    expect(printable(`a${c}b`)).toBe(`a\\u{${h}}b`);
  });

  it.each(['200b', '200c', '200d', '2060', 'feff'])('makes zero-width U+%s visible', (h) => {
    expect(printable(`a${String.fromCodePoint(parseInt(h, 16))}b`)).toBe(`a\\u{${h}}b`);
  });
});
