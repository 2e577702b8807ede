// Approval requests in Redis. The request lives in its operation's record (field `approval`, JSON),
// so the thread's root message renders it like any other state; every change is one Lua script on
// that record, so two approvers clicking at once make one decision, and a click, an expiry and a
// newer request racing each other leave exactly one outcome.
import type { RedisClient } from '../redis/redis-connection';
import type { ApprovalState, OperationRecord } from '../domain/operation';
import type { Scope } from '../domain/names';
import type { RedisKeys } from './keys';
import type { OperationStore } from './operation-store';
import { LuaScript } from '../redis/lua-script';

// KEYS: record, scope's approvals index, lane's pending-approval pointer.
// ARGV: approval JSON, op id, expiresAt, record key prefix, now.
// Opens the request (queued → awaiting_approval) unless it exists; supersedes the lane's older
// pending request. Returns { opened (1/0), supersededId }.
const OPEN_SCRIPT = new LuaScript(`
if redis.call('HEXISTS', KEYS[1], 'approval') == 1 then return { 0, '' } end
if redis.call('HGET', KEYS[1], 'status') ~= 'queued' then return { 0, '' } end
redis.call('HSET', KEYS[1], 'approval', ARGV[1], 'status', 'awaiting_approval')
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
local older = redis.call('GET', KEYS[3]) or ''
redis.call('SET', KEYS[3], ARGV[2])
if older ~= '' and older ~= ARGV[2] then
  local raw = redis.call('HGET', ARGV[4] .. older, 'approval')
  if raw then
    local a = cjson.decode(raw)
    if a.state == 'pending' then
      a.state = 'superseded'; a.supersededBy = ARGV[2]; a.decidedAt = tonumber(ARGV[5])
      redis.call('HSET', ARGV[4] .. older, 'approval', cjson.encode(a))
      redis.call('ZREM', KEYS[2], older)
      return { 1, older }
    end
  end
end
return { 1, '' }`);

// KEYS: record, scope's approvals index, lane's pointer. ARGV: action (approve|reject|expire), user,
// now, reason, op id. Returns { outcome, state } where outcome is what this call did:
// counted | approved | rejected | expired | already (this user approved before) | closed (not pending).
const DECIDE_SCRIPT = new LuaScript(`
local raw = redis.call('HGET', KEYS[1], 'approval')
if not raw then return { 'closed', 'none' } end
local a = cjson.decode(raw)
if a.state ~= 'pending' then return { 'closed', a.state } end
local now = tonumber(ARGV[3])
local outcome
if now >= tonumber(a.expiresAt) then
  a.state = 'expired'; outcome = 'expired'
elseif ARGV[1] == 'expire' then
  return { 'closed', 'pending' }
elseif ARGV[1] == 'approve' then
  if type(a.approvedBy) ~= 'table' then a.approvedBy = {} end
  for _, entry in ipairs(a.approvedBy) do
    if entry.user == ARGV[2] then return { 'already', 'pending' } end
  end
  table.insert(a.approvedBy, { user = ARGV[2], at = now })
  if #a.approvedBy >= tonumber(a.required) then a.state = 'approved'; outcome = 'approved' else outcome = 'counted' end
else
  a.state = 'rejected'; a.rejectedBy = ARGV[2]; a.reason = ARGV[4]; outcome = 'rejected'
end
if a.state ~= 'pending' then
  a.decidedAt = now
  redis.call('ZREM', KEYS[2], ARGV[5])
  if redis.call('GET', KEYS[3]) == ARGV[5] then redis.call('DEL', KEYS[3]) end
end
redis.call('HSET', KEYS[1], 'approval', cjson.encode(a))
return { outcome, a.state }`);

export type ApprovalOutcome = 'counted' | 'approved' | 'rejected' | 'expired' | 'already' | 'closed';

// KEYS: record. ARGV: token, decision JSON. A click on a pipeline approval: records the decision only
// if that very approval still waits for one (the token matches and the state is pending).
const DECIDE_PIPELINE_SCRIPT = new LuaScript(`
local raw = redis.call('HGET', KEYS[1], 'pipelineApproval')
if not raw then return 'closed' end
local a = cjson.decode(raw)
if a.token ~= ARGV[1] then return 'closed' end
if a.state ~= 'pending' then return a.state end
a.state = 'deciding'
a.decision = cjson.decode(ARGV[2])
redis.call('HSET', KEYS[1], 'pipelineApproval', cjson.encode(a))
return 'deciding'`);

export class ApprovalStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly operations: Pick<OperationStore, 'getMany'>,
  ) {}

  /** Opens the request of a queued operation; returns whether it opened and the older request it superseded. */
  async open(op: OperationRecord, approval: ApprovalState): Promise<{ opened: boolean; supersededId?: string }> {
    const [opened, older] = (await OPEN_SCRIPT.run(
      this.redis,
      3,
      this.keys.operation(op.id),
      this.keys.approvals(op),
      this.keys.laneApproval(op),
      JSON.stringify(approval),
      op.id,
      approval.expiresAt,
      this.keys.operationPrefix,
      approval.requestedAt,
    )) as [number, string];
    return { opened: opened === 1, supersededId: older || undefined };
  }

  async decide(op: OperationRecord, action: 'approve' | 'reject' | 'expire', user: string, now: number, reason = ''): Promise<{ outcome: ApprovalOutcome; state: string }> {
    const [outcome, state] = (await DECIDE_SCRIPT.run(
      this.redis,
      3,
      this.keys.operation(op.id),
      this.keys.approvals(op),
      this.keys.laneApproval(op),
      action,
      user,
      now,
      reason,
      op.id,
    )) as [ApprovalOutcome, string];
    return { outcome, state };
  }

  /**
   * Records an approver's decision on a pipeline's manual approval; the pipeline step sends it to
   * CodePipeline. Resolves `deciding` when this call decided, else the state it found (or `closed`).
   */
  async decidePipeline(op: OperationRecord, token: string, decision: { approved: boolean; by: string; reason?: string; at: number }): Promise<string> {
    return (await DECIDE_PIPELINE_SCRIPT.run(this.redis, 1, this.keys.operation(op.id), token, JSON.stringify(decision))) as string;
  }

  /** The operations of a service/env awaiting approval, soonest to expire first. */
  async pending(scope: Scope, limit = 50): Promise<OperationRecord[]> {
    const ids = await this.redis.zrange(this.keys.approvals(scope), '0', String(limit - 1));
    const records = await this.operations.getMany(ids);
    return ids.map((id) => records.get(id)).filter((op): op is OperationRecord => op?.status === 'awaiting_approval');
  }
}

/** An approval as read from a record: Lua's JSON writes an empty list as an object. */
export function approvedBy(approval: ApprovalState): { user: string; at: number }[] {
  return Array.isArray(approval.approvedBy) ? approval.approvedBy : [];
}
