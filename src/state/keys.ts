// Every Redis key lanebot writes, in one place. All keys start with the configured prefix so that
// several bots (or tests) can share one Redis.
//
// In a Redis Cluster every key of one bot carries the same hash tag, the prefix in braces
// (`{lanebot}:op:…`, BullMQ's `{lanebot}:bull:…` too), so all of them live in one slot. That is
// what lets every Lua script and MULTI stay as it is: several of them cross services and envs
// (admission touches the lane, the lanes-by-activity and expiry indexes; approvals and admission
// reach other operations' records by id from inside the script), so per service/env tags would
// have split them. One slot carries lanebot's traffic easily (a few thousand commands a second at
// a thousand running deploys); the cluster is there because ElastiCache cluster mode and
// Serverless require one, not for lanebot to spread over it.
//
// A single Redis keeps the plain prefix, so an upgrade finds the lanes, operations and queues it
// left behind under the same names.
import { isCluster, type RedisClient } from '../redis/redis-connection';
import type { RedisTarget } from '../redis/redis-target';
import type { LaneRef, Scope } from '../domain/names';

/** The key prefix of a bot: the configured one, hash-tagged when Redis is a cluster. */
export function keyPrefixFor(prefix: string, target: Pick<RedisTarget, 'kind'>): string {
  return target.kind === 'cluster' ? `{${prefix}}` : prefix;
}

export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** BullMQ's own prefix for queue keys. */
  get bull(): string {
    return `${this.prefix}:bull`;
  }

  operation(operationId: string): string {
    return `${this.prefix}:op:${operationId}`;
  }

  /** The key prefix Lua scripts use to reach another operation's record by id. */
  get operationPrefix(): string {
    return `${this.prefix}:op:`;
  }

  /** Operations that may be running (set of ids): what the recovery pass checks. */
  get operationsInFlight(): string {
    return `${this.prefix}:ops:in-flight`;
  }

  /** Pipelines with executions lanebot follows (set of names): what the pipeline watch polls. */
  get pipelinesWatched(): string {
    return `${this.prefix}:pipelines:watched`;
  }

  /** A pipeline's followed executions (hash: execution id → JSON {op, seen, since}; operations/pipeline-watch.ts). */
  pipelineWatch(pipeline: string): string {
    return `${this.prefix}:pipeline-watch:${pipeline}`;
  }

  /** What the pipeline watch last listed of a followed execution that changed (hash: execution id → fingerprint). */
  pipelineListed(pipeline: string): string {
    return `${this.prefix}:pipeline-listed:${pipeline}`;
  }

  lane({ service, env, lane }: LaneRef): string {
    return `${this.prefix}:lane:${service}:${env}:${lane}`;
  }

  lanes({ service, env }: Scope): string {
    return `${this.prefix}:lanes:${service}:${env}`;
  }

  /** A lane's release history (list, newest first, JSON entries). */
  laneReleases({ service, env, lane }: LaneRef): string {
    return `${this.prefix}:lane-releases:${service}:${env}:${lane}`;
  }

  /** Every lane by last activity (sorted set, member `service/env/lane`, score = epoch ms). */
  get lanesByActivity(): string {
    return `${this.prefix}:lanes-by-activity`;
  }

  /**
   * Every lane that may expire, by expiry base (sorted set, member `service/env/lane`, score = its
   * last activity, or later after a renew): what the expiry sweep reads (domain/expiry.ts).
   */
  get lanesExpiry(): string {
    return `${this.prefix}:lanes-expiry`;
  }

  /** Claimed by the one process that posts a channel's digest of lanes pending deletion for a day. */
  expiryDigest(channel: string, day: string): string {
    return `${this.prefix}:expiry-digest:${channel}:${day}`;
  }

  /** Lanes warned that they will be deleted (set of `service/env/lane`). */
  get lanesWarned(): string {
    return `${this.prefix}:lanes-warned`;
  }

  /** Which lane each alarm belongs to (hash alarm name → `service/env/lane`), for alarm events. */
  get alarmLanes(): string {
    return `${this.prefix}:alarm-lanes`;
  }

  /** What lanebot last saw of one alarm (hash: state, at, posted…; alarms/alarm-watch.ts). */
  alarmState(alarmName: string): string {
    return `${this.prefix}:alarm:${alarmName}`;
  }

  /** Alarms last seen in ALARM (set of names). */
  get alarmsAlarming(): string {
    return `${this.prefix}:alarms-alarming`;
  }

  /** Alarms whose folded changes are due to be posted (sorted set, score = when). */
  get alarmFolds(): string {
    return `${this.prefix}:alarm-folds`;
  }

  /** Operations awaiting approval in a service/env (sorted set, score = when the request expires). */
  approvals({ service, env }: Scope): string {
    return `${this.prefix}:approvals:${service}:${env}`;
  }

  /** The operation of a lane awaiting approval now (a newer request supersedes it). */
  laneApproval({ service, env, lane }: LaneRef): string {
    return `${this.prefix}:lane-approval:${service}:${env}:${lane}`;
  }

  /** A rate limit's counter of the current window (state/rate-limits.ts). */
  rate(who: 'user' | 'channel', id: string): string {
    return `${this.prefix}:rate:${who}:${id}`;
  }

  /** The audit log (a capped stream). */
  get audit(): string {
    return `${this.prefix}:audit`;
  }

  /** The audit entries of one service/env (a smaller capped stream: what `/lane history` reads). */
  auditOf({ service, env }: Scope): string {
    return `${this.prefix}:audit:${service}:${env}`;
  }

  /** The ALB listener rule priority of every lane of a service/env (hash lane → priority). */
  rulePriorities({ service, env }: Scope): string {
    return `${this.prefix}:rule-priorities:${service}:${env}`;
  }

  outbox(operationId: string): string {
    return `${this.prefix}:thread:${operationId}:outbox`;
  }

  outboxSeen(operationId: string): string {
    return `${this.prefix}:thread:${operationId}:seen`;
  }

  /** What a thread's sender was posting when it last called Slack (cleared once recorded). */
  /** The ts of each thread reply that may be edited later (hash entry id → ts). */
  threadEntryTs(operationId: string): string {
    return `${this.prefix}:thread:${operationId}:entry-ts`;
  }

  threadSending(operationId: string): string {
    return `${this.prefix}:thread:${operationId}:sending`;
  }

  /** A command's follow-up (by its job id) claimed before it is posted, so that it is posted once. */
  followUpPosted(jobId: string): string {
    return `${this.prefix}:follow-up:${jobId}`;
  }

  /** A direct message lanebot sent the requester about this operation (`refused`, `outcome`): claimed before it is sent, so it goes once. */
  operationNotice(operationId: string, kind: string): string {
    return `${this.prefix}:thread:${operationId}:notice:${kind}`;
  }

  threadLock(operationId: string): string {
    return `${this.prefix}:thread:${operationId}:lock`;
  }

  rootVersion(operationId: string): string {
    return `${this.prefix}:thread:${operationId}:root`;
  }

  /** Operation threads with something left to send (sorted set, score = last change). */
  get narratePending(): string {
    return `${this.prefix}:narrate:pending`;
  }

  /** Whether the bot can post in each channel, as last learnt (hash channel id → JSON; src/chat/channel-membership.ts). */
  get channelMembership(): string {
    return `${this.prefix}:channel-membership`;
  }

  pace(bucket: string): string {
    return `${this.prefix}:pace:${bucket}`;
  }

  /**
   * A Slack request already taken (string "1" with a TTL): `digest` is the sha256 of its signature or
   * of its delivery key (src/slack/receiver/request-ledger.ts).
   */
  seenRequest(digest: string): string {
    return `${this.prefix}:seen-request:${digest}`;
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

/**
 * Deletes every key under `prefix` (a test's, a sandbox run's), with or without the cluster hash tag
 * (`{prefix}:…`, `{prefix:sub}:…`). SCAN, so Redis is never blocked; in a cluster, on every primary.
 */
export async function deleteKeysWithPrefix(redis: RedisClient, prefix: string): Promise<number> {
  const servers = isCluster(redis) ? redis.nodes('master') : [redis];
  let deleted = 0;
  for (const server of servers) {
    for (const pattern of [`${prefix}:*`, `{${prefix}[:}]*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
        cursor = next;
        if (keys.length === 0) continue;
        // A cluster node refuses a DEL of keys in different slots (CROSSSLOT): one DEL each there.
        if (servers.length === 1 && !isCluster(redis)) deleted += await server.del(...keys);
        else for (const [, count] of (await server.pipeline(keys.map((key) => ['del', key])).exec()) ?? []) deleted += Number(count ?? 0);
      } while (cursor !== '0');
    }
  }
  return deleted;
}
