import { expiryWindowOf, parseConfig, shortestWarnAfter } from '../../../src/config';
import { expiryTimes, laneExpiryState, renewedBase, slackDate } from '../../../src/domain/expiry';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 11, 1, 14, 0, 0);

/** user-api with dev, qa (its own windows) and prod (never); `expiry` is the global section's lines. */
function configWith(expiry = '', extraEnvs = ''): ReturnType<typeof parseConfig> {
  return parseConfig(`
services:
  user-api: {}
environments:
  dev: {}
  qa:
    expiry: { warnAfter: 2d, deleteAfter: 3d }
  prod:
    expiry: never
${extraEnvs}
${expiry}
`);
}

const ref = (env: string, lane = 'gray', service = 'user-api') => ({ service, env, lane });

describe('expiryWindowOf', () => {
  const config = configWith();

  it('gives the global window (6d/7d, maxRenewal 30d) to an environment without its own', () => {
    expect(expiryWindowOf(config, ref('dev'))).toEqual({ warnAfter: 6 * DAY, deleteAfter: 7 * DAY, maxRenewal: 30 * DAY });
  });

  it("gives an environment's own window, with the global maxRenewal", () => {
    expect(expiryWindowOf(config, ref('qa'))).toEqual({ warnAfter: 2 * DAY, deleteAfter: 3 * DAY, maxRenewal: 30 * DAY });
  });

  it('fills the half an environment leaves out from the global window', () => {
    const partial = configWith('', '  stage:\n    expiry: { deleteAfter: 10d }');
    expect(expiryWindowOf(partial, ref('stage'))).toEqual({ warnAfter: 6 * DAY, deleteAfter: 10 * DAY, maxRenewal: 30 * DAY });
  });

  it('never expires: lane default, an environment with `expiry: never`, a service or environment not in the config', () => {
    expect(expiryWindowOf(config, ref('dev', 'default'))).toBeUndefined();
    expect(expiryWindowOf(config, ref('prod'))).toBeUndefined();
    expect(expiryWindowOf(config, ref('staging'))).toBeUndefined();
    expect(expiryWindowOf(config, ref('dev', 'gray', 'orders'))).toBeUndefined();
    // Names inherited from Object.prototype are not environments.
    expect(expiryWindowOf(config, ref('constructor'))).toBeUndefined();
  });

  it('global `never`: no environment expires unless it sets its own window', () => {
    const never = configWith('expiry: never');
    expect(expiryWindowOf(never, ref('dev'))).toBeUndefined();
    expect(expiryWindowOf(never, ref('prod'))).toBeUndefined();
    expect(expiryWindowOf(never, ref('qa'))).toEqual({ warnAfter: 2 * DAY, deleteAfter: 3 * DAY, maxRenewal: 30 * DAY });
  });
});

describe('shortestWarnAfter', () => {
  it('is the smallest warnAfter of the environments that expire', () => {
    expect(shortestWarnAfter(configWith())).toBe(2 * DAY);
  });

  it('is undefined when nothing expires anywhere', () => {
    const none = parseConfig('services:\n  user-api: {}\nenvironments:\n  prod: { expiry: never }\nexpiry: never\n');
    expect(shortestWarnAfter(none)).toBeUndefined();
  });

  it('leaves out environments that never expire', () => {
    const config = parseConfig('services:\n  user-api: {}\nenvironments:\n  dev: {}\n  qa: { expiry: never }\n');
    expect(shortestWarnAfter(config)).toBe(6 * DAY);
  });
});

describe('expiryTimes and renewedBase', () => {
  const window = { warnAfter: 6 * DAY, deleteAfter: 7 * DAY, maxRenewal: 30 * DAY };

  it('warns at base + warnAfter and deletes at base + deleteAfter', () => {
    expect(expiryTimes(T0, window)).toEqual({ warnAt: T0 + 6 * DAY, deleteAt: T0 + 7 * DAY });
  });

  it('puts the deletion of a renewal at its end, the warning deleteAfter - warnAfter before', () => {
    const base = renewedBase(T0, 14 * DAY, window);
    expect(base).toBe(T0 + 7 * DAY);
    expect(expiryTimes(base, window)).toEqual({ warnAt: T0 + 13 * DAY, deleteAt: T0 + 14 * DAY });
  });

  it('a renewal for deleteAfter is the same as activity now', () => {
    expect(renewedBase(T0, 7 * DAY, window)).toBe(T0);
  });
});

describe('slackDate', () => {
  it("is Slack's date token in seconds, with a UTC fallback for clients that cannot format it", () => {
    expect(slackDate(T0)).toBe(`<!date^${T0 / 1000}^{date_long} at {time}|Tue, 01 Dec 2026 14:00 UTC>`);
  });

  it('drops milliseconds and takes another format', () => {
    expect(slackDate(T0 + 999, '{date}')).toBe(`<!date^${T0 / 1000}^{date}|Tue, 01 Dec 2026 14:00 UTC>`);
  });
});

describe('laneExpiryState', () => {
  const config = configWith();

  it('expires at base + deleteAfter (after a renew, that is the renewal’s end)', () => {
    expect(laneExpiryState(expiryWindowOf(config, ref('dev')), { state: 'active', expiryBase: T0 })).toEqual({ kind: 'expires', at: T0 + 7 * DAY });
    expect(laneExpiryState(expiryWindowOf(config, ref('qa')), { state: 'active', expiryBase: T0 })).toEqual({ kind: 'expires', at: T0 + 3 * DAY });
  });

  it('a warned lane is pending deletion at its stored deletion time', () => {
    expect(laneExpiryState(expiryWindowOf(config, ref('dev')), { state: 'active', expiryBase: T0, deleteAt: T0 + 8 * DAY })).toEqual({ kind: 'pending-deletion', at: T0 + 8 * DAY });
  });

  it('never expires: lane default and `expiry: never`, whatever the index holds', () => {
    expect(laneExpiryState(expiryWindowOf(config, ref('dev', 'default')), { state: 'active', expiryBase: T0 })).toEqual({ kind: 'never' });
    expect(laneExpiryState(expiryWindowOf(config, ref('prod')), { state: 'active', expiryBase: T0, deleteAt: T0 })).toEqual({ kind: 'never' });
  });

  it('says nothing of a lane being deleted, or one not in the expiry index', () => {
    expect(laneExpiryState(expiryWindowOf(config, ref('dev')), { state: 'deleting', expiryBase: T0 })).toBeUndefined();
    expect(laneExpiryState(expiryWindowOf(config, ref('dev')), { state: 'active' })).toBeUndefined();
  });
});
