// Every Redis key lanebot writes, in one place. All keys start with the configured prefix so that
// several bots (or tests) can share one Redis. Keys are plain (no cluster hash tags): lanebot, like
// BullMQ's default setup, runs against a single Redis primary.
import type { Redis } from 'ioredis';
import type { LaneRef, Scope } from '../domain/names';

export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** BullMQ's own prefix for queue keys. */
  get bull(): string {
    return `${this.prefix}:bull`;
  }

  deploy(deployId: string): string {
    return `${this.prefix}:deploy:${deployId}`;
  }

  /** The key prefix Lua scripts use to reach another deploy's record by id. */
  get deployPrefix(): string {
    return `${this.prefix}:deploy:`;
  }

  lane({ service, env, lane }: LaneRef): string {
    return `${this.prefix}:lane:${service}:${env}:${lane}`;
  }

  lanes({ service, env }: Scope): string {
    return `${this.prefix}:lanes:${service}:${env}`;
  }

  /** The ALB listener rule priority of every lane of a service/env (hash lane → priority). */
  rulePriorities({ service, env }: Scope): string {
    return `${this.prefix}:rule-priorities:${service}:${env}`;
  }

  outbox(deployId: string): string {
    return `${this.prefix}:thread:${deployId}:outbox`;
  }

  outboxSeen(deployId: string): string {
    return `${this.prefix}:thread:${deployId}:seen`;
  }

  /** What a thread's sender was posting when it last called Slack (cleared once recorded). */
  threadSending(deployId: string): string {
    return `${this.prefix}:thread:${deployId}:sending`;
  }

  threadLock(deployId: string): string {
    return `${this.prefix}:thread:${deployId}:lock`;
  }

  rootVersion(deployId: string): string {
    return `${this.prefix}:thread:${deployId}:root`;
  }

  /** Deploy threads with something left to send (sorted set, score = last change). */
  get narratePending(): string {
    return `${this.prefix}:narrate:pending`;
  }

  pace(bucket: string): string {
    return `${this.prefix}:pace:${bucket}`;
  }

  /** lanebot's copy of a Slack user group's members (set of user ids; src/access/user-groups.ts). */
  userGroupMembers(groupId: string): string {
    return `${this.prefix}:usergroup:${groupId}:members`;
  }

  /** When that copy was last refreshed from Slack (epoch ms, a string). */
  userGroupRefreshedAt(groupId: string): string {
    return `${this.prefix}:usergroup:${groupId}:refreshed-at`;
  }
}

/** Deletes every key under `prefix` (a test's, a sandbox run's). SCAN, so Redis is never blocked. */
export async function deleteKeysWithPrefix(redis: Pick<Redis, 'scan' | 'del'>, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}
