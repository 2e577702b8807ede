// How steps treat AWS faults: throttling is always waited out; other retryable faults are retried
// with backoff up to MAX_AWS_FAILURES in a row; the rest end the operation with the fault's message.
import { describeCause, isLanebotError } from '../../errors';
import { backoff } from '../../queue/queues';
import type { OperationPatch } from '../../state/operation-store';
import { end, wait, type StepResult } from '../step';

/** Consecutive failed AWS calls after which an operation gives up (throttling never counts). */
export const MAX_AWS_FAILURES = 12;

export interface FaultPolicy {
  failures: number;
  /** The shortest wait before the next try (a poll interval). */
  minWaitMs: number;
  baseMs: number;
  capMs: number;
  /** Saves the new failure count (the step's progress). */
  progress(failures: number): OperationPatch;
  /** The operation's error message when giving up. */
  giveUp(message: string, error: unknown): string;
  /** Retry every fault, not only retryable ones (reads whose target goes on regardless). */
  retryAll?: boolean;
}

export function onAwsFault(error: unknown, policy: FaultPolicy): StepResult {
  const throttled = isLanebotError(error) && error.code === 'AWS_THROTTLED';
  const retryable = policy.retryAll || !isLanebotError(error) || error.retryable;
  if (retryable && (throttled || policy.failures + 1 < MAX_AWS_FAILURES)) {
    const inMs = Math.max(policy.minWaitMs, backoff(policy.failures + 1, policy.baseMs, policy.capMs));
    return wait(inMs, policy.progress(policy.failures + 1));
  }
  const message = isLanebotError(error) ? error.message : describeCause(error);
  return end('error', { error: policy.giveUp(message, error) });
}
