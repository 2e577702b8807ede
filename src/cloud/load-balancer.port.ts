// What lanebot needs from a load balancer (ELBv2): the health of the targets behind a lane's target
// group, to say "2/2 healthy" after a deploy and to explain why a lane is not. Implemented by the
// ELBv2 adapter (aws/elbv2.adapter.ts) and the simulator (sim/sim-lane-health.ts).
//
// A target group that does not exist (the lane stack was deleted, or never got that far) is an
// expected answer, so it is a value (`undefined`), like StacksPort.describeStack; faults throw.

/** ELBv2's TargetHealth states. */
export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'unhealthy.draining' | 'unused' | 'draining' | 'unavailable';

export interface TargetHealthView {
  /** The target: an IP address (awsvpc tasks), an instance id or a Lambda ARN. */
  id: string;
  port?: number;
  state: TargetState;
  /** ELBv2's reason code, e.g. Target.ResponseCodeMismatch, Elb.InitialHealthChecking. */
  reason?: string;
  /** A sentence that explains the reason, e.g. "Health checks failed with these codes: [502]". */
  description?: string;
}

export interface TargetGroupHealth {
  targetGroupArn: string;
  /**
   * Targets per state. `unhealthy.draining` (failing and being deregistered) counts as draining:
   * it no longer takes new requests. `unavailable` means health checks are off.
   */
  healthy: number;
  unhealthy: number;
  initial: number;
  draining: number;
  unused: number;
  unavailable: number;
  targets: TargetHealthView[];
}

export interface LoadBalancerPort {
  /** The health of every target registered with the group; undefined when the group does not exist. */
  targetHealth(targetGroupArn: string): Promise<TargetGroupHealth | undefined>;
}

/** Counts targets per state, the way TargetGroupHealth reports them. */
export function summarizeTargets(targetGroupArn: string, targets: TargetHealthView[]): TargetGroupHealth {
  const health: TargetGroupHealth = { targetGroupArn, healthy: 0, unhealthy: 0, initial: 0, draining: 0, unused: 0, unavailable: 0, targets };
  for (const target of targets) {
    const bucket = target.state === 'unhealthy.draining' ? 'draining' : target.state;
    health[bucket] += 1;
  }
  return health;
}
