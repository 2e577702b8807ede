// What lanebot needs from ECS: the state of a lane's service and its deployments, to say after a
// pipeline success whether the new task definition rolled out ("ECS deployment complete, 3/3
// running") or the deployment circuit breaker rolled it back (rollout FAILED). Implemented by the
// ECS adapter (aws/ecs.adapter.ts) and the simulator (sim/sim-lane-ecs.ts).
//
// A service that does not exist (never created, or its cluster is gone) is an expected answer, so
// it is a value (`undefined`), like LoadBalancerPort.targetHealth; faults throw. A deleted service
// ECS still remembers comes back with status INACTIVE.

/** ECS's DeploymentRolloutState: FAILED is what the deployment circuit breaker sets. */
export type EcsRolloutState = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';

export interface EcsDeploymentView {
  id: string;
  /** PRIMARY (the newest), ACTIVE (older ones still running tasks) or INACTIVE. */
  status: string;
  rolloutState?: EcsRolloutState;
  /** Why the rollout is where it is, e.g. "ECS deployment circuit breaker: tasks failed to start." */
  rolloutStateReason?: string;
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  /** Tasks of this deployment that failed to start (what the circuit breaker counts). */
  failedTasks: number;
  taskDefinition?: string;
}

export interface EcsServiceView {
  serviceName: string;
  /** ACTIVE, DRAINING or INACTIVE. */
  status: string;
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  /** The PRIMARY deployment's rollout state: where the newest deployment is. */
  rolloutState?: EcsRolloutState;
  rolloutStateReason?: string;
  /** Newest first, as ECS lists them. */
  deployments: EcsDeploymentView[];
  /** The service in a console (the AWS console, or the sandbox), for links in Slack. */
  url?: string;
}

export interface EcsPort {
  /** The service's state and deployments; undefined when the cluster or the service does not exist. */
  describeService(cluster: string, service: string): Promise<EcsServiceView | undefined>;
}

/** The deployment that decides the service's rollout: the PRIMARY one, else the newest. */
export function primaryDeployment(deployments: EcsDeploymentView[]): EcsDeploymentView | undefined {
  return deployments.find((d) => d.status === 'PRIMARY') ?? deployments[0];
}

/** The service-level view of its deployments: the primary one's rollout state and reason. */
export function withRollout(view: Omit<EcsServiceView, 'rolloutState' | 'rolloutStateReason'>): EcsServiceView {
  const primary = primaryDeployment(view.deployments);
  const result: EcsServiceView = { ...view };
  if (primary?.rolloutState) result.rolloutState = primary.rolloutState;
  if (primary?.rolloutStateReason) result.rolloutStateReason = primary.rolloutStateReason;
  return result;
}
