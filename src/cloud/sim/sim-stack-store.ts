// Where the simulator's CloudFormation keeps the simulated account's stacks: Redis, so every bot
// process (and the sandbox console) sees the same stacks. One record per stack with its latest
// operations; the answers already given per client request token (CloudFormation's idempotency);
// failures armed for a stack's next operation; and one lock for the whole account.
// Besides, per service/env ALB listener, the stacks that ever asked for a rule on it: a deploy checks
// its rule's priority against that listener's rules only, not against every stack of the account.
// And a change log (a version number per save, and per stack the version of its last save), so a
// process that reads every stack again (the alarm evaluation does, several times a second) reads
// only the records saved since its last read: the simulator's cost follows the changes, not the
// number of stacks.
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../redis/redis-connection';
import { LanebotError } from '../../errors';
import { laneRuleOf } from './sim-lane-rules';
import type { OperationRecord } from './sim-stack-operation';
import type { StackRecord } from './sim-stack-state';
import { LuaScript } from '../../redis/lua-script';

/** How long a stack's state is kept after its last operation. */
const RECORD_TTL_SECONDS = 30 * 24 * 3600;
/** Operations kept per stack (events of older ones are no longer listed). */
const OPERATIONS_KEPT = 10;
/** How long a writer may hold the account lock, and how long another waits for it. */
const LOCK_MS = 5_000;

/**
 * KEYS[1] the stack's record, KEYS[2] every stack's name, KEYS[3] the version counter, KEYS[4] the
 * change log (name → version of its last save); ARGV name, record JSON, ttl. Returns the new version.
 */
const SAVE_SCRIPT = new LuaScript(`
redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
redis.call('SADD', KEYS[2], ARGV[1])
local version = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[4], version, ARGV[1])
return version`);

/** Every stack's record as this process last read it, and the change-log version that read saw. */
interface RecordCache {
  version: number;
  records: Map<string, StackRecord>;
}

/** Releases the account lock only if we still hold it. */
const RELEASE_SCRIPT = new LuaScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`);

export class SimStackStore {
  constructor(private readonly options: { redis: RedisClient; /** Key prefix of the simulated account, e.g. `lanebot:sim`. */ prefix: string }) {}

  private key(...parts: string[]): string {
    return [this.options.prefix, 'cfn', ...parts].join(':');
  }

  async load(stackName: string): Promise<StackRecord | undefined> {
    const raw = await this.options.redis.get(this.key('stack', stackName));
    return raw ? (JSON.parse(raw) as StackRecord) : undefined;
  }

  /** The records of the stacks named, in that order (undefined for a stack never created), in one round trip. */
  async loadMany(stackNames: readonly string[]): Promise<(StackRecord | undefined)[]> {
    if (stackNames.length === 0) return [];
    const raws = await this.options.redis.mget(...stackNames.map((name) => this.key('stack', name)));
    return raws.map((raw) => (raw ? (JSON.parse(raw) as StackRecord) : undefined));
  }

  /**
   * Every stack's record. Read in full once per process, then only the records saved since (one
   * ZRANGEBYSCORE of the change log when nothing changed). The records are shared with later
   * callers: read them, never change them.
   */
  async loadAll(): Promise<StackRecord[]> {
    const cache = await (this.cache = this.refreshed(this.cache));
    return [...cache.records.values()];
  }

  private cache?: Promise<RecordCache>;

  private async refreshed(previous: Promise<RecordCache> | undefined): Promise<RecordCache> {
    const { redis } = this.options;
    const last = await previous?.catch(() => undefined);
    if (!last) {
      // The version first: a record saved meanwhile is read now and again by the next call, never missed.
      const version = Number((await redis.get(this.key('version'))) ?? 0);
      const names = await redis.smembers(this.key('stacks'));
      return { version, records: await this.recordsByName(names, new Map()) };
    }
    const replies = (await redis
      .pipeline()
      .get(this.key('version'))
      .zrangebyscore(this.key('changed'), `(${last.version}`, '+inf', 'WITHSCORES')
      .exec()) as [[Error | null, string | null], [Error | null, string[]]];
    const failed = replies.find(([error]) => error);
    if (failed) throw failed[0];
    const [[, current], [, changed]] = replies;
    // The account was wiped (its keys deleted) since: its versions start again from 1.
    if (Number(current ?? 0) < last.version) return this.refreshed(undefined);
    if (changed.length === 0) return last;
    const names: string[] = [];
    let version = last.version;
    for (let i = 0; i + 1 < changed.length; i += 2) {
      names.push(changed[i]!);
      version = Math.max(version, Number(changed[i + 1]));
    }
    return { version, records: await this.recordsByName(names, new Map(last.records)) };
  }

  private async recordsByName(names: string[], into: Map<string, StackRecord>): Promise<Map<string, StackRecord>> {
    if (names.length === 0) return into;
    const raws = await this.options.redis.mget(...names.map((name) => this.key('stack', name)));
    names.forEach((name, i) => {
      const raw = raws[i];
      if (raw) into.set(name, JSON.parse(raw) as StackRecord);
      else into.delete(name);
    });
    return into;
  }

  /** Appends `op` to the stack's record (which it updates in place) and keeps the latest operations. */
  async save(record: StackRecord, op: OperationRecord): Promise<void> {
    record.seq = op.seq;
    record.operations = [...record.operations, op].slice(-OPERATIONS_KEPT);
    // Indexed first: a listener's readers tell from each stack's state whether it holds a rule now.
    for (const listener of listenersOf(record.stackName, op)) await this.options.redis.sadd(this.key('listener', listener), record.stackName);
    await SAVE_SCRIPT.run(
      this.options.redis,
      4,
      this.key('stack', record.stackName),
      this.key('stacks'),
      this.key('version'),
      this.key('changed'),
      record.stackName,
      JSON.stringify(record),
      RECORD_TTL_SECONDS,
    );
  }

  /**
   * The records of every stack that ever asked for a rule on the service/env's listener (whether it
   * holds one now is for the caller to tell from its state). Stacks saved before this index existed
   * are indexed once, on the first call of the process.
   */
  async loadListener(service: string, env: string): Promise<StackRecord[]> {
    await (this.indexed ??= this.indexListeners());
    const names = await this.options.redis.smembers(this.key('listener', `${service}/${env}`));
    return (await this.loadMany(names)).filter((record): record is StackRecord => record !== undefined);
  }

  private indexed?: Promise<void>;

  private async indexListeners(): Promise<void> {
    const { redis } = this.options;
    const marker = this.key('listener-index');
    if ((await redis.exists(marker)) === 1) return;
    const multi = redis.multi();
    for (const record of await this.loadAll()) {
      for (const op of record.operations) {
        for (const listener of listenersOf(record.stackName, op)) multi.sadd(this.key('listener', listener), record.stackName);
      }
    }
    await multi.set(marker, '1').exec();
  }

  /** What a call with this client request token answered first, if any. */
  async answered<T>(stackName: string, token: string): Promise<T | undefined> {
    const raw = await this.options.redis.get(this.key('token', stackName, token));
    return raw ? (JSON.parse(raw) as T) : undefined;
  }

  async answer(stackName: string, token: string, result: unknown): Promise<void> {
    await this.options.redis.set(this.key('token', stackName, token), JSON.stringify(result), 'EX', RECORD_TTL_SECONDS);
  }

  /** Arms a failure of the stack's next operation (after any already armed). */
  async armFailure(stackName: string, reason: string | undefined): Promise<void> {
    await this.options.redis.rpush(this.key('fail-next', stackName), JSON.stringify({ reason }));
  }

  /** Takes the oldest armed failure of the stack, if any: `reason` undefined means the usual one. */
  async takeFailure(stackName: string): Promise<{ reason?: string } | undefined> {
    const planned = await this.options.redis.lpop(this.key('fail-next', stackName));
    return planned ? (JSON.parse(planned) as { reason?: string }) : undefined;
  }

  /**
   * One writer at a time for the whole simulated account: a deploy reads other stacks (listener rule
   * priorities) before it records its operation, and two processes must not both win the same priority.
   */
  async locked<T>(fn: () => Promise<T>): Promise<T> {
    const { redis } = this.options;
    const lockKey = this.key('lock');
    const token = randomUUID();
    const deadline = Date.now() + LOCK_MS;
    while ((await redis.set(lockKey, token, 'PX', LOCK_MS, 'NX')) !== 'OK') {
      if (Date.now() > deadline) {
        throw new LanebotError('AWS_THROTTLED', 'The simulated CloudFormation is busy; lanebot will retry.', { retryable: true });
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    try {
      return await fn();
    } finally {
      await RELEASE_SCRIPT.run(redis, 1, lockKey, token);
    }
  }
}

/** The listeners (`service/env`) whose rules the operation's configurations ask for. */
function listenersOf(stackName: string, op: OperationRecord): Set<string> {
  const listeners = new Set<string>();
  for (const config of [op.before, op.after, op.live]) {
    const rule = config && laneRuleOf(stackName, config.parameters);
    if (rule) listeners.add(`${rule.service}/${rule.env}`);
  }
  return listeners;
}
