// The operations runner: takes every kind of operation through the same life.
//
//   request job:  record ──▶ gate ──▶ admit to the slot ──┬─ admitted ──▶ steps, in this same job
//                                                         ├─ slot busy ──▶ waiting (thread says behind whom)
//                                                         ├─ newer one waiting ──▶ superseded
//                                                         └─ the lane is being deleted ──▶ refused
//   run job:      (an operation that waited for its slot, or that recovery brings back)
//                 step 1 … step n (each called until done, waiting in the delayed set) ──▶ finish
//   finish:       status ──▶ thread ──▶ release the slot (retire/restore a deleted lane) ──▶ start the next
//
// Every step of this is safe to repeat: records move by compare-and-set, admission and release are
// Lua scripts that answer the same when run twice, thread replies are de-duplicated by id, AWS calls
// carry the operation id as their idempotency token. So a job killed anywhere is simply run again.
// A job that fails for good ends its operation in `error` (never a lane blocked forever), and the
// recovery pass (recovery.ts) resumes operations whose job vanished.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log';
import type { Metrics } from '../metrics';
import type { ThreadNarrator } from '../chat/thread-narrator';
import type { Clock } from '../clock';
import { isFinished, UNFINISHED_STATUSES, type OperationRecord, type OperationRequest, type OperationStatus } from '../domain/operation';
import { describeCause } from '../errors';
import { DONE, later, runJobId, type OperationJobData, type Queues, type StepOutcome } from '../queue/queues';
import type { RedisKeys } from '../state/keys';
import type { LaneRegistry } from '../state/lane-registry';
import { UNSTARTED_RETENTION_SECONDS, type OperationPatch, type OperationStore } from '../state/operation-store';
import type { RedisClient } from '../redis/redis-connection';
import type { GateDeps } from './gates/gate-deps';
import type { OperationRegistry } from './registry';
import type { StepDeps } from './step';

/** Steps that finish at once, or want to run again at once, are chained within one job run, up to this many, before yielding. */
const MAX_STEPS_PER_CALL = 8;

export interface RunnerDeps {
  registry: OperationRegistry;
  operations: OperationStore;
  lanes: LaneRegistry;
  narrator: ThreadNarrator;
  audit: AuditLog;
  /** Operations that ended, by kind and status. */
  metrics: Pick<Metrics, 'operations'>;
  queues: Pick<Queues, 'operations'>;
  redis: RedisClient;
  keys: RedisKeys;
  clock: Clock;
  logger: Logger;
  steps: StepDeps;
  gate: GateDeps;
}

export class OperationRunner {
  constructor(private readonly deps: RunnerDeps) {}

  handle(data: OperationJobData): Promise<StepOutcome> {
    return data.kind === 'request' ? this.request(data.request) : this.run(data.operationId);
  }

  private async request(request: OperationRequest): Promise<StepOutcome> {
    const { operations, lanes, narrator, clock, registry } = this.deps;
    const spec = registry.spec(request.kind);
    // Read first: this job comes back on every step of an operation admitted at once (it carries its
    // steps), and then the record exists; only a first run (or a retry of one) records it.
    let op = await operations.get(request.id);
    if (!op) {
      const created = await operations.create(request);
      if (created) {
        await this.deps.redis.sadd(this.deps.keys.operationsInFlight, request.id);
        await this.audit(request, 'queued');
      }
      op = await operations.get(request.id);
      if (!op) throw new Error(`operation ${request.id} vanished right after it was recorded`);
    }
    // This job came back: it carries the operation's steps (admitted at once), or it was a retry.
    if (op.status === 'starting' || op.status === 'running') return this.run(op.id, op);
    if (op.status === 'waiting') return DONE; // a run job starts it when the slot is free
    if (op.status === 'awaiting_approval' && !spec.gate) return DONE;
    if (isFinished(op.status)) return this.settle(op);
    // The root message appears as soon as the request is recorded ("queued"); a request waiting for
    // its gate is not re-rendered each time its job looks again.
    if (op.status === 'queued') await narrator.refreshRoot(request.id);

    if (spec.gate) {
      // Opened once; this job then waits in the delayed set until a decision brings it back (or the
      // request expires), and checks again.
      const gateDeps = this.deps.gate;
      if (op.status === 'queued' && (await spec.gate.open(op, gateDeps)) === 'opened') op = (await operations.get(op.id)) ?? op;
      const verdict = await spec.gate.check(op, gateDeps);
      if (verdict.kind === 'wait') return later(verdict.inMs);
      if (verdict.kind === 'end') {
        await this.finish(op.id, verdict.status, verdict.patch);
        return DONE;
      }
      if (op.status === 'awaiting_approval') {
        await operations.transition(op.id, ['awaiting_approval'], 'queued');
        await this.audit(op, 'approved');
        op = (await operations.get(op.id)) ?? op;
      }
    }

    const admission = await lanes.admit(op, spec.admission, clock.now());
    this.log(op).info({ admission }, 'operation admission');
    switch (admission.decision) {
      case 'admitted':
        await this.audit(op, 'admitted');
        // Run the steps in this job (one job less per operation); a wait moves this job to the
        // delayed set like any run job. Recovery knows either job may carry an operation.
        return this.run(op.id);
      case 'waiting':
        await this.audit(op, 'waiting', `behind ${admission.aheadId}`);
        await narrator.say(op.id, 'queued_behind', { kind: 'queued_behind', aheadId: admission.aheadId });
        await narrator.refreshRoot(op.id);
        if (admission.supersededId) {
          const older = await operations.get(admission.supersededId);
          if (older) {
            await narrator.say(older.id, 'superseded', { kind: 'superseded', byId: op.id });
            await this.settle(older);
          }
        }
        return DONE;
      case 'superseded':
        await narrator.say(op.id, 'superseded', { kind: 'superseded', byId: admission.supersededBy });
        return this.settle((await operations.get(op.id)) ?? op);
      case 'refused':
        // The admission script ended the record; the thread says why (its last reply).
        await narrator.say(op.id, 'finished', { kind: 'finished' });
        return this.settle((await operations.get(op.id)) ?? op);
      case 'skip':
        return DONE;
    }
  }

  /** Runs the operation's current step (and the next ones that finish at once); `known`: its record, just read. */
  private async run(operationId: string, known?: OperationRecord): Promise<StepOutcome> {
    const { operations, registry } = this.deps;
    let op = known ?? (await operations.get(operationId));
    if (!op || isFinished(op.status)) return DONE;
    if (op.status === 'queued' || op.status === 'awaiting_approval' || op.status === 'waiting') return DONE; // not admitted yet: its turn comes
    const spec = registry.spec(op.kind);
    for (let i = 0; i < MAX_STEPS_PER_CALL; i++) {
      const index = op.step ?? 0;
      const step = spec.steps[index];
      if (!step) {
        await this.finish(op.id, 'succeeded');
        return DONE;
      }
      const result = await step.run(op, this.deps.steps);
      // The step's progress is saved before anything reads the record as running.
      if (result.kind === 'wait' && result.patch) await operations.update(op.id, result.patch);
      if (op.status === 'starting' && (result.kind === 'next' || (result.kind === 'wait' && result.underway))) {
        await this.markRunning(op);
      }
      switch (result.kind) {
        case 'wait':
          // "Again at once" (a step that moved to its next phase) goes on in this run, as `next`
          // does: through the delayed set it would cost BullMQ a round of its own for nothing.
          if (result.inMs > 0) return later(result.inMs);
          op = await operations.get(op.id);
          if (!op || isFinished(op.status)) return DONE;
          break;
        case 'end':
          await this.finish(op.id, result.status, result.patch);
          return DONE;
        case 'next':
          await operations.update(op.id, { ...result.patch, step: index + 1, progress: result.patch?.progress ?? {} });
          op = await operations.get(op.id);
          if (!op || isFinished(op.status)) return DONE;
      }
    }
    return later(0);
  }

  /** `starting` → `running`: what the first step drives has started (startedAt is from now). */
  private async markRunning(op: OperationRecord): Promise<void> {
    const moved = await this.deps.operations.transition(op.id, ['starting'], 'running', { startedAt: this.deps.clock.now() });
    if (moved) await this.audit(op, 'running');
    await this.deps.narrator.refreshRoot(op.id);
  }

  /**
   * Ends an operation: record the outcome, say it in the thread, release its slot (retiring or
   * restoring a deleted lane) and start the operation waiting for it. Safe to run again.
   */
  async finish(operationId: string, status: OperationStatus, patch: OperationPatch = {}): Promise<void> {
    if (!isFinished(status)) throw new Error(`finish needs a finished status, got ${status}`);
    const { operations, narrator, lanes, clock, registry } = this.deps;
    const now = clock.now();
    const moved = await operations.transition(operationId, UNFINISHED_STATUSES, status, { finishedAt: now, ...patch });
    const op = await operations.get(operationId);
    if (!op) return;
    if (moved) {
      this.log(op).info({ status }, 'operation finished');
      this.deps.metrics.operations.inc({ kind: op.kind, status: op.status });
      await this.audit(op, op.status, op.error ?? op.statusSummary);
    }
    await narrator.say(operationId, 'finished', { kind: 'finished' });
    await narrator.refreshRoot(operationId);

    const outcome = registry.has(op.kind) ? (registry.spec(op.kind).laneOutcome?.(op) ?? '') : '';
    const nextId = await lanes.release(op, operationId, now, outcome);
    if (nextId && nextId !== operationId) {
      await this.startRun(nextId);
      await narrator.refreshRoot(nextId);
    }
    await this.deps.redis.srem(this.deps.keys.operationsInFlight, operationId);
  }

  /**
   * Ends an operation whose job failed for good (attempts exhausted, an unexpected exception): its
   * thread says so with a reference that matches the log line, and its slot is freed.
   */
  async failForGood(operationId: string, error: unknown): Promise<void> {
    const correlationId = randomBytes(4).toString('hex');
    this.deps.logger.error({ operationId, correlationId, err: error }, 'operation job failed for good; ending the operation');
    await this.finish(operationId, 'error', {
      error: `lanebot hit an unexpected error and stopped this operation (${describeCause(error)}). What was already started in AWS keeps running; check it there before trying again.`,
      correlationId,
    });
  }

  /** Adds the run job of an admitted operation (a no-op when it exists). */
  async startRun(operationId: string): Promise<void> {
    await this.deps.queues.operations.add('run', { kind: 'run', operationId }, { jobId: runJobId(operationId) });
  }

  /** An operation that ended without holding its slot (superseded, refused): thread and bookkeeping. */
  private async settle(op: OperationRecord): Promise<StepOutcome> {
    if (op.startedAt === undefined) await this.deps.operations.shortenRetention(op.id, UNSTARTED_RETENTION_SECONDS);
    await this.deps.narrator.refreshRoot(op.id);
    const removed = await this.deps.redis.srem(this.deps.keys.operationsInFlight, op.id);
    if (removed === 1) {
      this.deps.metrics.operations.inc({ kind: op.kind, status: op.status });
      await this.audit(op, op.status, op.error === 'deleting' ? 'the lane is being deleted' : undefined);
    }
    return DONE;
  }

  private async audit(op: Pick<OperationRecord, 'id' | 'kind' | 'service' | 'env' | 'lane' | 'requester' | 'channel'>, outcome: string, detail?: string): Promise<void> {
    await this.deps.audit.record({
      at: this.deps.clock.now(),
      actor: op.requester,
      action: `operation:${op.kind}`,
      outcome,
      service: op.service,
      env: op.env,
      lane: op.lane,
      operationId: op.id,
      channel: op.channel,
      detail,
    });
  }

  private log(op: OperationRecord): Logger {
    return this.deps.logger.child({ operationId: op.id, kind: op.kind, service: op.service, env: op.env, lane: op.lane });
  }
}
