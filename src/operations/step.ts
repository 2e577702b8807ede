// One step of an operation: a unit the runner calls again and again until it is done. A step keeps
// its own state in the record's `progress` (Redis), never in job data, so any process can pick the
// operation up where another one died. Between calls the job waits in BullMQ's delayed set and
// holds no worker.
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log';
import type { Clock } from '../clock';
import type { CloudPorts } from '../cloud/cloud';
import type { ThreadNarrator } from '../chat/thread-narrator';
import type { LanebotConfig } from '../config';
import type { Metrics } from '../metrics';
import type { OperationRecord, OperationStatus } from '../domain/operation';
import type { LaneRegistry } from '../state/lane-registry';
import type { OperationPatch, OperationStore } from '../state/operation-store';
import type { RulePriorities } from '../state/rule-priorities';
import type { PipelineTracking } from './pipeline-watch';

/** What steps may use; built once by the composition root. */
export interface StepDeps {
  cloud: CloudPorts;
  operations: OperationStore;
  lanes: LaneRegistry;
  rulePriorities: RulePriorities;
  narrator: ThreadNarrator;
  /** What steps record beyond status changes (a canary's checks and verdicts). */
  audit: Pick<AuditLog, 'record'>;
  /** What steps count for /metrics (a canary's checks). */
  metrics: Pick<Metrics, 'canaryChecks'>;
  config: LanebotConfig;
  /** Where the CloudFormation templates are (the repository's templates/). */
  templatesDir: string;
  clock: Clock;
  logger: Logger;
  /** How often a running pipeline or stack is polled. */
  pollIntervalMs: number;
  /**
   * The pipeline watch (pipeline-watch.ts): with it a pipeline step reads its execution only when
   * woken for a change (or every `recheckMs`); without it, every poll interval on its own.
   */
  pipelineWatch?: PipelineTracking;
  /**
   * How many times faster than real time the cloud's own time runs: SIM_TIME_SCALE with CLOUD=sim,
   * 1 on AWS. Waits that are about the cloud (a health check's soak and deadline) are divided by
   * it, as the simulator divides its pipelines' and alarms' durations.
   */
  timeScale: number;
}

export type StepResult =
  /** The step is done; the operation goes on with the next step (or succeeds after the last). */
  | { kind: 'next'; patch?: OperationPatch }
  /**
   * Call the step again after `inMs`; `patch` (its progress) is saved first. `underway`: what the
   * step drives has started (a pipeline execution, a stack operation), so the operation is running.
   */
  | { kind: 'wait'; inMs: number; patch?: OperationPatch; underway?: boolean }
  /** The operation ends now with `status` (failed, stopped, error…). */
  | { kind: 'end'; status: OperationStatus; patch?: OperationPatch };

export interface OperationStep {
  /** Unique within its kind; names the step in logs. */
  name: string;
  run(op: OperationRecord, deps: StepDeps): Promise<StepResult>;
}

export const next = (patch?: OperationPatch): StepResult => ({ kind: 'next', patch });
export const wait = (inMs: number, patch?: OperationPatch, underway = false): StepResult => ({
  kind: 'wait',
  inMs: Math.max(0, Math.round(inMs)),
  patch,
  underway,
});
export const end = (status: OperationStatus, patch?: OperationPatch): StepResult => ({ kind: 'end', status, patch });
