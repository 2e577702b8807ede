// Deploy records in Redis: one hash per deploy, fields as strings, stages as JSON.
import type { Redis } from 'ioredis';
import type { StageView } from '../cloud/pipelines.port';
import type { DeployRecord, DeployRequest, DeployStatus } from '../domain/deploy';
import type { RedisKeys } from './keys';

/** Deploy records are kept this long after they are created (the lane's history and threads). */
export const DEPLOY_RETENTION_SECONDS = 90 * 24 * 3600;

const NUMBER_FIELDS = new Set(['requestedAt', 'startedAt', 'finishedAt']);

// Creates the record unless it exists: a retried job must not reset a deploy that already moved on.
const CREATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1`;

// Moves a deploy to a new status only from one of the given statuses; returns 1 when it moved.
// This is what makes "finish the deploy" safe to run twice.
const TRANSITION_SCRIPT = `
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return 0 end
for i = 3, 2 + tonumber(ARGV[1]) do
  if ARGV[i] == current then
    redis.call('HSET', KEYS[1], 'status', ARGV[2], unpack(ARGV, 3 + tonumber(ARGV[1])))
    return 1
  end
end
return 0`;

export type DeployPatch = Partial<Omit<DeployRecord, 'id' | 'status'>>;

export class DeployStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async create(request: DeployRequest): Promise<boolean> {
    const record: DeployRecord = { ...request, status: 'queued', stages: [] };
    const created = await this.redis.eval(CREATE_SCRIPT, 1, this.keys.deploy(request.id), DEPLOY_RETENTION_SECONDS, ...toFields(record));
    return created === 1;
  }

  async get(deployId: string): Promise<DeployRecord | undefined> {
    const hash = await this.redis.hgetall(this.keys.deploy(deployId));
    return fromHash(hash);
  }

  async getMany(deployIds: string[]): Promise<Map<string, DeployRecord>> {
    const result = new Map<string, DeployRecord>();
    if (deployIds.length === 0) return result;
    const pipeline = this.redis.pipeline();
    for (const id of deployIds) pipeline.hgetall(this.keys.deploy(id));
    execOrThrow(await pipeline.exec()).forEach((hash, i) => {
      const record = fromHash(hash as Record<string, string>);
      if (record) result.set(deployIds[i]!, record);
    });
    return result;
  }

  async update(deployId: string, patch: DeployPatch): Promise<void> {
    const fields = toFields(patch);
    if (fields.length > 0) await this.redis.hset(this.keys.deploy(deployId), ...fields);
  }

  /** Sets `status` (and the patch) only if the current status is one of `from`. */
  async transition(deployId: string, from: readonly DeployStatus[], to: DeployStatus, patch: DeployPatch = {}): Promise<boolean> {
    const moved = await this.redis.eval(TRANSITION_SCRIPT, 1, this.keys.deploy(deployId), from.length, to, ...from, ...toFields(patch));
    return moved === 1;
  }
}

/** ioredis reports a failed pipelined command in its result slot; surface it instead of reading null. */
export function execOrThrow(replies: [Error | null, unknown][] | null): unknown[] {
  if (!replies) throw new Error('Redis pipeline was not executed (connection closed)');
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

function toFields(values: Partial<DeployRecord>): string[] {
  const fields: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    fields.push(key, key === 'stages' ? JSON.stringify(value) : String(value));
  }
  return fields;
}

function fromHash(hash: Record<string, string> | null | undefined): DeployRecord | undefined {
  if (!hash || !hash.id || !hash.status) return undefined;
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(hash)) {
    if (value === '') continue;
    if (NUMBER_FIELDS.has(key)) record[key] = Number(value);
    else if (key === 'stages') record[key] = JSON.parse(value) as StageView[];
    else record[key] = value;
  }
  record.stages ??= [];
  return record as unknown as DeployRecord;
}
