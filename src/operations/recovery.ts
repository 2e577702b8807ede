// The recovery pass: no operation stays in a running state without a job that moves it on, and no
// slot stays held by an operation that ended. It runs on a schedule (one BullMQ job scheduler shared
// by every process) and checks each operation still in flight:
//  - ended already, but its slot or thread bookkeeping was interrupted → finish it again (idempotent);
//  - queued, starting or running with no live job (its job failed for good, or was lost with a Redis
//    that restarted without persistence) → add its job again, at most MAX_RECOVERIES times, then end
//    it in `error`;
//  - waiting behind an operation that has ended → release the slot to it.
// Operations younger than `graceMs` are left alone: their first job may simply not be picked up yet.
import type { Logger } from 'pino';
import type { Clock } from '../clock';
import { isFinished, type OperationRecord } from '../domain/operation';
import { requestJobId, runJobId, type Queues } from '../queue/queues';
import type { RedisKeys } from '../state/keys';
import type { LaneRegistry } from '../state/lane-registry';
import type { OperationStore } from '../state/operation-store';
import type { RedisClient } from '../redis/redis-connection';
import type { OperationRunner } from './runner';

/** How many times one operation's job is brought back before the operation is ended instead. */
export const MAX_RECOVERIES = 3;

const LIVE_JOB_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

export interface RecoveryDeps {
  redis: RedisClient;
  keys: RedisKeys;
  operations: OperationStore;
  lanes: LaneRegistry;
  runner: OperationRunner;
  queues: Pick<Queues, 'operations'>;
  clock: Clock;
  logger: Logger;
}

export interface RecoveryReport {
  checked: number;
  resumed: string[];
  released: string[];
  ended: string[];
}

export async function recoverOperations(deps: RecoveryDeps, graceMs: number): Promise<RecoveryReport> {
  const report: RecoveryReport = { checked: 0, resumed: [], released: [], ended: [] };
  const now = deps.clock.now();
  let cursor = '0';
  do {
    const [nextCursor, ids] = await deps.redis.sscan(deps.keys.operationsInFlight, cursor, 'COUNT', 200);
    cursor = nextCursor;
    for (const id of ids) {
      report.checked++;
      const op = await deps.operations.get(id);
      if (!op) {
        await deps.redis.srem(deps.keys.operationsInFlight, id);
        continue;
      }
      if (isFinished(op.status)) {
        // Ended, but the job died before releasing the slot and leaving the in-flight set.
        await deps.runner.finish(op.id, op.status);
        report.released.push(op.id);
        continue;
      }
      if (now - (op.startedAt ?? op.requestedAt) < graceMs) continue;
      if (op.status === 'waiting') {
        if (await releaseDeadHolder(deps, op)) report.released.push(op.id);
        continue;
      }
      // The request job carries an operation admitted at once; a run job one that waited (or was recovered).
      const requestOnly = op.status === 'queued' || op.status === 'awaiting_approval';
      const jobIds = requestOnly ? [requestJobId(op.id)] : [requestJobId(op.id), runJobId(op.id)];
      const jobs = (await Promise.all(jobIds.map((jobId) => deps.queues.operations.getJob(jobId)))).filter((j) => j !== undefined);
      const states = await Promise.all(jobs.map((j) => j.getState()));
      if (states.some((s) => LIVE_JOB_STATES.has(s))) continue;
      const state = states.join(',') || 'missing';

      // Kept beside the step's progress, which steps replace as they go.
      const recoveries = op.recoveries ?? 0;
      const log = deps.logger.child({ operationId: op.id, kind: op.kind, status: op.status, jobState: state });
      if (recoveries >= MAX_RECOVERIES) {
        log.error('operation lost its job again and again; ending it');
        await deps.runner.failForGood(op.id, new Error(`its job was lost ${recoveries + 1} times`));
        report.ended.push(op.id);
        continue;
      }
      log.warn('operation has no live job; adding it again');
      // A failed job keeps its id for a week: remove it, or adding the job again would do nothing.
      for (const job of jobs) await job.remove();
      await deps.operations.update(op.id, { recoveries: recoveries + 1 });
      if (requestOnly) {
        const { id, kind, service, env, lane, params, requester, channel, requestedAt } = op;
        const request = { id, kind, service, env, lane, params, requester, channel, requestedAt };
        await deps.queues.operations.add('request', { kind: 'request', request }, { jobId: requestJobId(op.id) });
      } else {
        await deps.runner.startRun(op.id);
      }
      report.resumed.push(op.id);
    }
  } while (cursor !== '0');
  if (report.resumed.length + report.released.length + report.ended.length > 0) deps.logger.info(report, 'recovery pass');
  return report;
}

/** A waiting operation whose slot is held by one that has ended: hand the slot on. */
async function releaseDeadHolder(deps: RecoveryDeps, op: OperationRecord): Promise<boolean> {
  const view = await deps.lanes.get(op);
  const holderId = view?.activeId;
  if (!holderId) return false;
  const holder = await deps.operations.get(holderId);
  if (holder && !isFinished(holder.status)) return false;
  if (holder) {
    await deps.runner.finish(holder.id, holder.status);
  } else {
    // The holder's record expired or was removed: free the slot directly.
    const nextId = await deps.lanes.release(op, holderId, deps.clock.now());
    if (nextId) await deps.runner.startRun(nextId);
  }
  return true;
}
