// Step: apply changes to CloudFormation stacks through the stack port and follow them to the end —
// deploy stacks from templates (`/lane setup`), update some parameters of a stack with its previous
// template (promote and rollback: a lane's ImageUri), or delete a stack (`/lane delete`). Each stack
// is a "stage" of the operation, shown in its thread. Between polls the job waits in the delayed set.
//
// Per stack (deploy):  NotStarted ──deployStack──┬─ started ──▶ InProgress ──progress──▶ Succeeded | Failed
//                          ▲                     ├─ no-changes ──▶ Succeeded ("no changes")
//                          ├── preparing ◀───────┤  (the change set is being computed: same token next poll)
//                          └── busy (retry) ◀────┤─ replacing (failed create being deleted) ──▶ gone ──▶ NotStarted
//                                                └─ rejected ──▶ Failed (the change set's reason)
// Per stack (update-parameters): as deploy with updateStackParameters, but never `replacing`: a stack
//                      that does not exist or cannot be updated is `rejected`, and the stage fails with why.
// Per stack (delete):  NotStarted ──deleteStack──┬─ started ──▶ InProgress ──▶ Succeeded (DELETE_COMPLETE) | Failed (DELETE_FAILED)
//                                                ├─ gone ──▶ Succeeded ("already gone")
//                                                └─ busy (retry)
//
// Every call is safe to repeat after a crash: the port takes a token derived from the operation and
// the stack, so a retried step reports the operation the first attempt started.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StageView } from '../../cloud/pipelines.port';
import type { DeployStackResult, StackCapability } from '../../cloud/stacks.port';
import type { OperationRecord } from '../../domain/operation';
import { describeCause, LanebotError } from '../../errors';
import { end, next, wait, type OperationStep, type StepDeps } from '../step';
import { onAwsFault } from './retry';

/** How long a stack may stay busy with another operation before the step gives up on it. */
export const MAX_BUSY_WAIT_MS = 30 * 60_000;

export type StackChange =
  | {
      action: 'deploy';
      stackName: string;
      /** Relative to the templates directory. */
      templateFile: string;
      parameters: Record<string, string>;
      tags: Record<string, string>;
      capabilities: StackCapability[];
      roleArn?: string;
    }
  | {
      /**
       * The stack's previous template and every other parameter, tag and capability unchanged; only
       * `parameters` (the changed ones) set: promote and rollback set a lane's ImageUri this way.
       */
      action: 'update-parameters';
      stackName: string;
      parameters: Record<string, string>;
      /** By default the stack keeps the service role it has. */
      roleArn?: string;
    }
  | { action: 'delete'; stackName: string };

export interface StackChangesOptions {
  /** The step's name, when a kind has more than one such step. */
  name?: string;
  /** The stacks to change, in the order the thread lists them. May throw a LanebotError (config). */
  changes(op: OperationRecord, deps: StepDeps): StackChange[];
  /** The operation's error when an AWS fault ends it (e.g. a hint about the role to configure). */
  giveUp?(message: string, error: unknown, deps: StepDeps): string;
}

/** Where the changes of a step stand between its calls (its `progress`); other steps may keep one too. */
export interface StackChangeState {
  failures: number;
  /** Per stack: where its event stream was last read. */
  cursors: Record<string, string>;
  /** Per stack: reasons of failed resources seen so far in its operation. */
  reasons: Record<string, string[]>;
  /** Stacks being deleted after a failed create, to be created again once gone. */
  replacing: string[];
  /** Per stack: when the step first found it busy with another operation. */
  busySince: Record<string, number>;
}

type Progress = StackChangeState;

export function readStackChangeState(saved: unknown): StackChangeState {
  const p = (saved ?? {}) as Partial<Progress>;
  return {
    failures: p.failures ?? 0,
    cursors: { ...p.cursors },
    reasons: { ...p.reasons },
    replacing: [...(p.replacing ?? [])],
    busySince: { ...p.busySince },
  };
}

export function stackChangesStep(options: StackChangesOptions): OperationStep {
  return {
    name: options.name ?? 'stack-changes',
    async run(op, deps) {
      const state = readStackChangeState(op.progress);
      let changes: StackChange[];
      try {
        changes = options.changes(op, deps);
      } catch (error) {
        return end('error', { error: describeCause(error) });
      }

      const stages = changes.map((c) => op.stages.find((s) => s.name === c.stackName) ?? { name: c.stackName, status: 'NotStarted' as const });
      let nextStages: StageView[];
      try {
        // One token per operation and stack: a retried step finds the operation it started.
        nextStages = await Promise.all(stages.map((stage, i) => advanceStackChange(changes[i]!, `${op.id}-${i}`, stage, state, deps)));
      } catch (error) {
        const result = onAwsFault(error, {
          failures: state.failures,
          minWaitMs: deps.pollIntervalMs,
          baseMs: 2000,
          capMs: 120_000,
          progress: (failures) => ({ progress: { ...state, failures } }),
          giveUp: (message) => options.giveUp?.(message, error, deps) ?? message,
        });
        if (result.kind === 'wait') deps.logger.warn({ operationId: op.id, err: error, retryInMs: result.inMs }, 'stack call failed; retrying');
        return result;
      }

      for (const [i, stage] of nextStages.entries()) {
        if (stage.status === 'Failed' && stages[i]!.status !== 'Failed') {
          await deps.narrator.say(op.id, `stage_failed:${stage.name}`, { kind: 'stage_failed', stage });
        }
      }
      const progress = { ...state, failures: 0 };
      if (nextStages.every((s) => s.status === 'Succeeded' || s.status === 'Failed')) {
        const failed = nextStages.filter((s) => s.status === 'Failed');
        if (failed.length === 0) return next({ stages: nextStages, progress: {} });
        return end('failed', { stages: nextStages, progress, statusSummary: `${failed.map((s) => s.name).join(', ')} failed` });
      }
      if (JSON.stringify(nextStages) !== JSON.stringify(op.stages)) {
        await deps.operations.update(op.id, { stages: nextStages });
        await deps.narrator.refreshRoot(op.id);
      }
      // The operation is under way from the first call: the stacks are its stages from then on.
      return wait(deps.pollIntervalMs, { progress }, true);
    },
  };
}

/**
 * Moves one stack change on by one call; returns its stage as it is now. `token` is the change's
 * idempotency token (the same for every call of the same change, never reused for another one).
 * Faults throw (the caller retries); `state` is changed in place and must be saved by the caller.
 */
export async function advanceStackChange(change: StackChange, token: string, stage: StageView, state: Progress, deps: StepDeps): Promise<StageView> {
  const now = deps.clock.now();
  const name = change.stackName;
  if (stage.status === 'Succeeded' || stage.status === 'Failed') return stage;

  if (stage.status === 'InProgress') {
    const progress = await deps.cloud.stacks.progress(name, state.cursors[name]);
    if (progress.cursor) state.cursors[name] = progress.cursor;
    if (progress.failureReasons.length > 0) state.reasons[name] = [...(state.reasons[name] ?? []), ...progress.failureReasons].slice(-10);
    if (!progress.finished) return { ...stage, detail: progress.status };
    if (change.action === 'delete') {
      if (progress.status === 'DELETE_COMPLETE') return { name, status: 'Succeeded', startedAt: stage.startedAt, endedAt: now, detail: 'deleted' };
      return failed(stage, now, 'DeleteStack', `stack ended in ${progress.status}`, state.reasons[name]);
    }
    if (state.replacing.includes(name)) {
      // The stack left by a failed create is gone (or its delete failed): create it afresh.
      state.replacing = state.replacing.filter((s) => s !== name);
      if (progress.status !== 'DELETE_COMPLETE') return failed(stage, now, 'DeleteStack', `could not delete the failed stack first (${progress.status})`, state.reasons[name]);
      return start(change, token, { name, status: 'NotStarted' }, state, deps);
    }
    if (progress.succeeded) return { name, status: 'Succeeded', startedAt: stage.startedAt, endedAt: now, detail: progress.status };
    return failed(stage, now, 'ExecuteChangeSet', `stack ended in ${progress.status}`, state.reasons[name]);
  }
  return start(change, token, stage, state, deps);
}

async function start(change: StackChange, clientRequestToken: string, stage: StageView, state: Progress, deps: StepDeps): Promise<StageView> {
  const now = deps.clock.now();
  const name = change.stackName;
  const busy = (status: string): StageView => {
    const since = (state.busySince[name] ??= now);
    if (now - since > MAX_BUSY_WAIT_MS) {
      return failed(stage, now, change.action === 'delete' ? 'DeleteStack' : 'CreateChangeSet', `the stack stayed busy with another operation (${status}) for over ${MAX_BUSY_WAIT_MS / 60_000} minutes`);
    }
    return { name, status: 'NotStarted', detail: `waiting: the stack is busy with another operation (${status})` };
  };

  if (change.action === 'delete') {
    const result = await deps.cloud.stacks.deleteStack(name, clientRequestToken);
    switch (result.kind) {
      case 'started':
        delete state.busySince[name];
        if (result.eventCursor) state.cursors[name] = result.eventCursor;
        state.reasons[name] = [];
        return { name, status: 'InProgress', startedAt: stage.startedAt ?? now, detail: 'deleting' };
      case 'gone':
        delete state.busySince[name];
        return { name, status: 'Succeeded', startedAt: stage.startedAt ?? now, endedAt: now, detail: 'already gone' };
      case 'busy':
        return busy(result.status);
    }
  }

  const result: DeployStackResult =
    change.action === 'deploy'
      ? await deps.cloud.stacks.deployStack({
          stackName: name,
          templateBody: await readTemplate(deps.templatesDir, change.templateFile),
          parameters: change.parameters,
          tags: change.tags,
          capabilities: change.capabilities,
          roleArn: change.roleArn,
          clientRequestToken,
        })
      : await deps.cloud.stacks.updateStackParameters({ stackName: name, parameters: change.parameters, roleArn: change.roleArn, clientRequestToken });
  switch (result.kind) {
    case 'started':
      delete state.busySince[name];
      if (result.eventCursor) state.cursors[name] = result.eventCursor;
      state.reasons[name] = [];
      return { name, status: 'InProgress', startedAt: stage.startedAt ?? now, detail: startedDetail(change, result.operation) };
    case 'no-changes':
      delete state.busySince[name];
      return { name, status: 'Succeeded', startedAt: stage.startedAt ?? now, endedAt: now, detail: 'no changes' };
    case 'replacing':
      delete state.busySince[name];
      if (!state.replacing.includes(name)) state.replacing.push(name);
      return { name, status: 'InProgress', startedAt: stage.startedAt ?? now, detail: 'deleting the stack its failed first create left, to create it again' };
    case 'preparing':
      return { name, status: 'NotStarted', startedAt: stage.startedAt ?? now, detail: 'CloudFormation is preparing the change set' };
    case 'busy':
      return busy(result.status);
    case 'rejected':
      return failed(stage, now, 'CreateChangeSet', result.reason);
  }
}

function startedDetail(change: StackChange, operation: 'create' | 'update'): string {
  if (change.action === 'update-parameters') return `updating ${Object.keys(change.parameters).join(', ')}`;
  return operation === 'create' ? 'creating' : 'updating';
}

async function readTemplate(templatesDir: string, file: string): Promise<string> {
  const path = join(templatesDir, file);
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    // Not retryable: the install is incomplete, and waiting will not bring the file.
    throw new LanebotError(
      'CONFIG_INVALID',
      `lanebot cannot read the template ${path} (${describeCause(error)}). lanebot ships templates/ next to its code; ` +
        'ask your platform team to check the installation (or LANEBOT_TEMPLATES_DIR).',
      { cause: error },
    );
  }
}

function failed(stage: StageView, now: number, actionName: string, why: string, reasons: string[] = []): StageView {
  const summary = reasons.length > 0 ? reasons.join('; ') : why;
  return { name: stage.name, status: 'Failed', startedAt: stage.startedAt ?? now, endedAt: now, failure: { actionName, summary } };
}

