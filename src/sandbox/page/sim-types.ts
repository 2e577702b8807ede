// GET /sandbox/sim/state as src/sandbox/sim-controls.ts answers it, built from the simulator's own
// types (`import type` only). The page reads it leniently: a field left out shows as "—".
import type { PendingFault, SimFaultKind, SimFaultService } from '../../cloud/sim/sim-faults';
import type { SimLaneView } from '../../cloud/sim/sim-lane-health';
import type { SimExecutionSummary } from '../../cloud/sim/sim-pipelines';
import type { SimStackListing } from '../../cloud/sim/sim-stacks';

export type { SimFaultKind, SimFaultService };

export interface SimExecutionRow {
  pipeline: string;
  executionId: string;
  lane?: string;
  branch?: string;
  status: SimExecutionSummary['status'];
  statusSummary?: string;
  /** Epoch ms. */
  startedAt: number;
  stages: Array<{ name: string; status: string }>;
  /** Set while the execution waits at a manual approval. */
  pendingApproval: NonNullable<SimExecutionSummary['pendingApproval']> | null;
}

export interface SimStackRow {
  name: string;
  family?: SimStackListing['family'];
  status?: string;
  statusReason?: string;
  lastOperation: SimStackListing['lastOperation'] | null;
  parameters?: Record<string, string>;
  outputs?: Record<string, string>;
}

export type SimAlarm = SimLaneView['alarms'][number];
export type SimTargetHealth = Omit<NonNullable<SimLaneView['targetHealth']>, 'targetGroupArn'>;

export interface SimLaneRow {
  service: string;
  env: string;
  lane: string;
  stack?: string;
  stackStatus: string | null;
  errorRatePercent?: number;
  unhealthyTargets?: number;
  /** The lane's p99 latency setting, ms. */
  p99Ms?: number;
  /** Lane `canary`: the lane whose release it runs and whose settings it follows. */
  canaryOf?: string | null;
  /** Its target group's traffic over the last 5 simulated minutes. */
  traffic?: { requestsPerMinute: number; errorRatePercent: number | null; p99Ms: number | null } | null;
  desiredTasks?: number;
  runningTasks?: number;
  targetHealth: SimTargetHealth | null;
  alarms?: SimAlarm[];
}

export interface SimState {
  ok: true;
  pipelines?: string[];
  executions?: SimExecutionRow[];
  stacks?: SimStackRow[];
  lanes?: SimLaneRow[];
  /** `now` in epoch ms of the simulated clock; `offsetMs` how far it was moved ahead. */
  clock?: { offsetMs: number; now: number };
  faults?: PendingFault[];
}

/** POST /sandbox/sim/lane-health. */
export interface LaneHealthChange {
  service: string;
  env: string;
  lane: string;
  errorRatePercent?: number;
  unhealthyTargets?: number;
  /** The lane's TargetResponseTime p99, ms. */
  p99Ms?: number;
  /** Arms the ECS circuit breaker for the lane's next deployment. */
  failNextDeployment?: boolean;
}
