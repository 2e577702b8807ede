// Operation records in Redis: one hash per operation, scalar fields as strings, structured fields
// (params, stages, progress) as JSON. Status changes go through `transition`, a compare-and-set, so
// "finish the operation" is safe to run twice.
import type { RedisClient } from '../redis/redis-connection';
import type { OperationRecord, OperationRequest, OperationStatus } from '../domain/operation';
import type { RedisKeys } from './keys';
import { LuaScript } from '../redis/lua-script';

/** Operation records are kept this long after they are created (lane history, threads, audit). */
export const OPERATION_RETENTION_SECONDS = 90 * 24 * 3600;

/**
 * Records of operations that ended without ever starting (superseded, refused) are kept this long
 * after they end: nothing ran, so there is no history worth 90 days, and a loop of requests must not
 * fill Redis for months.
 */
export const UNSTARTED_RETENTION_SECONDS = 6 * 3600;

const NUMBER_FIELDS = new Set(['requestedAt', 'startedAt', 'finishedAt', 'step', 'recoveries']);
const JSON_FIELDS = new Set(['params', 'stages', 'progress', 'approval', 'pipelineApproval', 'health', 'canary', 'canaryPause', 'canaryAbort', 'canaryPromoteNow']);

/** The fields people's clicks write on a running canary (setControl). */
export type CanaryControlField = 'canaryPause' | 'canaryAbort' | 'canaryPromoteNow';

// Writes a control field only while the operation runs (ARGV[3..] the statuses it may be in); with
// ARGV[2] = 'once', only if the field is not set yet. Returns 1 when written, 0 when the operation
// is in another status (or missing), 2 when a once-field was already set.
const SET_CONTROL_SCRIPT = new LuaScript(`
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
local ok = false
for i = 4, #ARGV do if ARGV[i] == status then ok = true end end
if not ok then return 0 end
if ARGV[2] == 'once' and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 2 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`);

// Creates the record unless it exists: a retried job must not reset an operation that already moved on.
const CREATE_SCRIPT = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1`);

// Moves an operation to a new status only from one of the given statuses; returns 1 when it moved.
const TRANSITION_SCRIPT = new LuaScript(`
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return 0 end
for i = 3, 2 + tonumber(ARGV[1]) do
  if ARGV[i] == current then
    redis.call('HSET', KEYS[1], 'status', ARGV[2], unpack(ARGV, 3 + tonumber(ARGV[1])))
    return 1
  end
end
return 0`);

export type OperationPatch = Partial<Omit<OperationRecord, 'id' | 'status' | 'kind'>>;

export class OperationStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async create(request: OperationRequest): Promise<boolean> {
    const record: OperationRecord = { ...request, status: 'queued', stages: [] };
    const created = await CREATE_SCRIPT.run(this.redis, 1, this.keys.operation(request.id), OPERATION_RETENTION_SECONDS, ...toFields(record));
    return created === 1;
  }

  async get(operationId: string): Promise<OperationRecord | undefined> {
    return fromHash(await this.redis.hgetall(this.keys.operation(operationId)));
  }

  async getMany(operationIds: string[]): Promise<Map<string, OperationRecord>> {
    const result = new Map<string, OperationRecord>();
    if (operationIds.length === 0) return result;
    const pipeline = this.redis.pipeline();
    for (const id of operationIds) pipeline.hgetall(this.keys.operation(id));
    execOrThrow(await pipeline.exec()).forEach((hash, i) => {
      const record = fromHash(hash as Record<string, string>);
      if (record) result.set(operationIds[i]!, record);
    });
    return result;
  }

  async update(operationId: string, patch: OperationPatch): Promise<void> {
    const fields = toFields(patch);
    // HSET on a missing key would bring back a record that expired or was never created.
    if (fields.length > 0) await UPDATE_EXISTING_SCRIPT.run(this.redis, 1, this.keys.operation(operationId), ...fields);
  }

  /**
   * Lets the record expire in `seconds` unless it already expires sooner (never extends it), e.g.
   * UNSTARTED_RETENTION_SECONDS for an operation that ended before it started.
   */
  async shortenRetention(operationId: string, seconds: number): Promise<void> {
    await SHORTEN_TTL_SCRIPT.run(this.redis, 1, this.keys.operation(operationId), seconds);
  }

  /**
   * Records a person's control of a running operation (a canary's pause, abort, promote now) while it
   * is in one of `statuses`; `once` keeps the first click. One script: a click racing the end of the
   * operation either lands before it or is told it came too late.
   */
  async setControl(operationId: string, field: CanaryControlField, value: object, statuses: readonly OperationStatus[], once: boolean): Promise<'set' | 'not-running' | 'already'> {
    const result = await SET_CONTROL_SCRIPT.run(this.redis, 1, this.keys.operation(operationId), field, once ? 'once' : 'always', JSON.stringify(value), ...statuses);
    return result === 1 ? 'set' : result === 2 ? 'already' : 'not-running';
  }

  /** Sets `status` (and the patch) only if the current status is one of `from`. */
  async transition(operationId: string, from: readonly OperationStatus[], to: OperationStatus, patch: OperationPatch = {}): Promise<boolean> {
    const moved = await TRANSITION_SCRIPT.run(this.redis, 1, this.keys.operation(operationId), from.length, to, ...from, ...toFields(patch));
    return moved === 1;
  }
}

const SHORTEN_TTL_SCRIPT = new LuaScript(`
local ttl = redis.call('TTL', KEYS[1])
if ttl == -2 then return 0 end
if ttl == -1 or ttl > tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return 1`);

const UPDATE_EXISTING_SCRIPT = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1`);

/** ioredis reports a failed pipelined command in its result slot; surface it instead of reading null. */
export function execOrThrow(replies: [Error | null, unknown][] | null): unknown[] {
  if (!replies) throw new Error('RedisClient pipeline was not executed (connection closed)');
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

/** A record's (or a patch's) hash fields, as `get` reads them back: name, value, name, value… */
export function toFields(values: Partial<OperationRecord>): string[] {
  const fields: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    fields.push(key, JSON_FIELDS.has(key) ? JSON.stringify(value) : String(value));
  }
  return fields;
}

function fromHash(hash: Record<string, string> | null | undefined): OperationRecord | undefined {
  if (!hash || !hash.id || !hash.status) return undefined;
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(hash)) {
    if (value === '') continue;
    if (NUMBER_FIELDS.has(key)) record[key] = Number(value);
    else if (JSON_FIELDS.has(key)) record[key] = JSON.parse(value) as unknown;
    else record[key] = value;
  }
  record.stages ??= [];
  record.params ??= {};
  return record as unknown as OperationRecord;
}
