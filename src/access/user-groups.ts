// lanebot's copy of the members of the Slack user groups its config names (admins, approvers,
// deployers may be groups S…). The ack path reads it from Redis and never calls Slack: a slash
// command must be answered within 3 seconds, and a Slack outage must not make every command fail.
// A refresh job (on Slack's subteam_members_changed event, and periodically) replaces a group's
// copy with what usergroups.users.list says.
//
// The copy never expires: a group whose refresh keeps failing keeps its last known members, so a
// Slack outage does not lock approvers out. refreshedAt is recorded so that staleness is visible.
import type { RedisClient } from '../redis/redis-connection';
import type { Logger } from 'pino';
import { describeCause } from '../errors';
import { execOrThrow } from '../state/operation-store';
import type { RedisKeys } from '../state/keys';
import type { Principal } from './policy';

/** The part of Slack that knows group memberships. */
export interface UserGroupDirectory {
  /** The user ids of a group's members (Slack's usergroups.users.list). */
  members(groupId: string): Promise<string[]>;
}

/** Only the Redis commands the cache uses. */
type CacheRedis = Pick<RedisClient, 'pipeline' | 'multi' | 'get'>;
type CacheKeys = Pick<RedisKeys, 'userGroupMembers' | 'userGroupRefreshedAt'>;

export class UserGroupCache {
  constructor(
    private readonly redis: CacheRedis,
    private readonly keys: CacheKeys,
  ) {}

  /**
   * The user with the groups of `groupIds` they belong to, in one round trip. A group lanebot has
   * never refreshed counts as having no members.
   */
  async principal(userId: string, groupIds: readonly string[]): Promise<Principal> {
    if (groupIds.length === 0) return { userId, groups: new Set() };
    const pipeline = this.redis.pipeline();
    for (const groupId of groupIds) pipeline.sismember(this.keys.userGroupMembers(groupId), userId);
    const replies = execOrThrow(await pipeline.exec());
    return { userId, groups: new Set(groupIds.filter((_, i) => replies[i] === 1)) };
  }

  /** Replaces a group's members, all at once (readers never see a half-written group). */
  async replace(groupId: string, members: readonly string[], now: number): Promise<void> {
    const membersKey = this.keys.userGroupMembers(groupId);
    const transaction = this.redis.multi().del(membersKey);
    if (members.length > 0) transaction.sadd(membersKey, ...members);
    transaction.set(this.keys.userGroupRefreshedAt(groupId), String(now));
    execOrThrow(await transaction.exec());
  }

  /** When the group's members were last read from Slack (epoch ms); undefined if never. */
  async refreshedAt(groupId: string): Promise<number | undefined> {
    const value = await this.redis.get(this.keys.userGroupRefreshedAt(groupId));
    return value === null ? undefined : Number(value);
  }
}

export interface RefreshOutcome {
  refreshed: string[];
  failed: Array<{ groupId: string; error: string }>;
}

/**
 * Reads each group's members from Slack and replaces lanebot's copy. One group failing does not stop
 * the others, and a failed group keeps the members it had. Groups are read one after the other:
 * usergroups.users.list is a Tier 2 method (about 20 calls a minute), so there is no gain in a burst.
 * A Redis failure throws (the job that called it is retried); Slack's failures are in `failed`.
 */
export async function refreshUserGroups(
  directory: UserGroupDirectory,
  cache: Pick<UserGroupCache, 'replace'>,
  groupIds: readonly string[],
  now: number,
  logger: Pick<Logger, 'info' | 'warn'>,
): Promise<RefreshOutcome> {
  const outcome: RefreshOutcome = { refreshed: [], failed: [] };
  for (const groupId of groupIds) {
    let members: string[];
    try {
      members = await directory.members(groupId);
    } catch (error) {
      const described = describeCause(error);
      outcome.failed.push({ groupId, error: described });
      logger.warn(
        { err: error, groupId },
        'could not read a user group from Slack; keeping its last known members (check that the app has the usergroups:read scope and the group id in lanebot.yml exists)',
      );
      continue;
    }
    await cache.replace(groupId, members, now);
    outcome.refreshed.push(groupId);
  }
  if (outcome.refreshed.length > 0) logger.info({ groups: outcome.refreshed }, 'user groups refreshed from Slack');
  return outcome;
}
