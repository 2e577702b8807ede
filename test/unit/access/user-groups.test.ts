// The user-group cache on the real Redis, each test on its own key prefix.
import pino from 'pino';
import { refreshUserGroups, UserGroupCache, type UserGroupDirectory } from '../../../src/access/user-groups';
import { RedisKeys } from '../../../src/state/keys';
import { redisPerTest, T0 } from '../../support/fixtures';

const ctx = redisPerTest();
const silent = pino({ level: 'silent' });

function cache(): UserGroupCache {
  return new UserGroupCache(ctx.redis, new RedisKeys(ctx.prefix));
}

/** A directory that answers from a map and fails for the groups in `down`. */
function directory(groups: Record<string, string[]>, down = new Set<string>()): UserGroupDirectory & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async members(groupId) {
      asked.push(groupId);
      if (down.has(groupId)) throw Object.assign(new Error('An API error occurred: ratelimited'), { code: 'slack_webapi_platform_error' });
      const members = groups[groupId];
      if (!members) throw new Error('An API error occurred: no_such_subteam');
      return members;
    },
  };
}

describe('UserGroupCache', () => {
  it('finds which of the asked groups a user belongs to', async () => {
    const c = cache();
    await c.replace('S0APPROVERS', ['U0BOB', 'U0CAROL'], T0);
    await c.replace('S0DEVS', ['U0ALICE', 'U0BOB'], T0);
    await c.replace('S0OTHER', ['U0BOB'], T0);
    const bob = await c.principal('U0BOB', ['S0APPROVERS', 'S0DEVS']);
    expect(bob.userId).toBe('U0BOB');
    expect([...bob.groups].sort()).toEqual(['S0APPROVERS', 'S0DEVS']);
    expect([...(await c.principal('U0ALICE', ['S0APPROVERS', 'S0DEVS'])).groups]).toEqual(['S0DEVS']);
    expect([...(await c.principal('U0DAVE', ['S0APPROVERS', 'S0DEVS'])).groups]).toEqual([]);
  });

  it('treats a group it has never refreshed as empty, and asks Redis nothing for no groups', async () => {
    const c = cache();
    expect((await c.principal('U0BOB', ['S0NEVER'])).groups.size).toBe(0);
    expect(await c.principal('U0BOB', [])).toEqual({ userId: 'U0BOB', groups: new Set() });
    expect(await c.refreshedAt('S0NEVER')).toBeUndefined();
  });

  it('replaces the members (removed users are gone) and records when', async () => {
    const c = cache();
    await c.replace('S0APPROVERS', ['U0BOB', 'U0CAROL'], T0);
    await c.replace('S0APPROVERS', ['U0CAROL', 'U0DAVE'], T0 + 60_000);
    expect((await ctx.redis.smembers(`${ctx.prefix}:usergroup:S0APPROVERS:members`)).sort()).toEqual(['U0CAROL', 'U0DAVE']);
    expect((await c.principal('U0BOB', ['S0APPROVERS'])).groups.size).toBe(0);
    expect(await c.refreshedAt('S0APPROVERS')).toBe(T0 + 60_000);
  });

  it('empties a group Slack says is empty', async () => {
    const c = cache();
    await c.replace('S0APPROVERS', ['U0BOB'], T0);
    await c.replace('S0APPROVERS', [], T0 + 1000);
    expect((await c.principal('U0BOB', ['S0APPROVERS'])).groups.size).toBe(0);
    expect(await c.refreshedAt('S0APPROVERS')).toBe(T0 + 1000);
  });

  it('sets no expiry on what it keeps', async () => {
    await cache().replace('S0APPROVERS', ['U0BOB'], T0);
    expect(await ctx.redis.ttl(`${ctx.prefix}:usergroup:S0APPROVERS:members`)).toBe(-1);
    expect(await ctx.redis.ttl(`${ctx.prefix}:usergroup:S0APPROVERS:refreshed-at`)).toBe(-1);
  });
});

describe('refreshUserGroups', () => {
  it('copies every group from the directory', async () => {
    const c = cache();
    const dir = directory({ S0APPROVERS: ['U0BOB'], S0DEVS: ['U0ALICE', 'U0BOB'] });
    const outcome = await refreshUserGroups(dir, c, ['S0APPROVERS', 'S0DEVS'], T0, silent);
    expect(outcome).toEqual({ refreshed: ['S0APPROVERS', 'S0DEVS'], failed: [] });
    expect(dir.asked).toEqual(['S0APPROVERS', 'S0DEVS']);
    expect([...(await c.principal('U0BOB', ['S0APPROVERS', 'S0DEVS'])).groups].sort()).toEqual(['S0APPROVERS', 'S0DEVS']);
    expect(await c.refreshedAt('S0DEVS')).toBe(T0);
  });

  it('keeps the last known members of a group Slack cannot answer for, and refreshes the others', async () => {
    const c = cache();
    await refreshUserGroups(directory({ S0APPROVERS: ['U0BOB'], S0DEVS: ['U0ALICE'] }), c, ['S0APPROVERS', 'S0DEVS'], T0, silent);
    const later = T0 + 3_600_000;
    const outcome = await refreshUserGroups(
      directory({ S0APPROVERS: ['U0CAROL'], S0DEVS: [] }, new Set(['S0APPROVERS'])),
      c,
      ['S0APPROVERS', 'S0DEVS', 'S0GONE'],
      later,
      silent,
    );
    expect(outcome.refreshed).toEqual(['S0DEVS']);
    expect(outcome.failed).toEqual([
      { groupId: 'S0APPROVERS', error: expect.stringContaining('ratelimited') },
      { groupId: 'S0GONE', error: expect.stringContaining('no_such_subteam') },
    ]);
    // Bob is still an approver as far as lanebot knows, and the copy says how old it is.
    expect([...(await c.principal('U0BOB', ['S0APPROVERS'])).groups]).toEqual(['S0APPROVERS']);
    expect(await c.refreshedAt('S0APPROVERS')).toBe(T0);
    expect((await c.principal('U0ALICE', ['S0DEVS'])).groups.size).toBe(0);
    expect(await c.refreshedAt('S0DEVS')).toBe(later);
    expect(await c.refreshedAt('S0GONE')).toBeUndefined();
  });
});
