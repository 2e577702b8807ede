// The simulated account's identity and the names AWS would give its resources (stack ids, target
// groups, the load balancer and its listener, the cluster, the ECR repository). Every name is
// derived from a hash of what it belongs to, so every bot process, and the sandbox console, arrive
// at the same ARN without asking each other.
import { createHash } from 'node:crypto';

/** The simulated account and region every sim ARN carries. */
export const SIM_ACCOUNT = '000000000000';
export const SIM_REGION = 'sim-1';

const ELB_ARN = `arn:aws:elasticloadbalancing:${SIM_REGION}:${SIM_ACCOUNT}`;

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `length` hex digits that stand for `parts`: a stable stand-in for the ids AWS makes up. */
export function hex(length: number, ...parts: string[]): string {
  return digestOf(parts.join('|')).slice(0, length);
}

// Every listing of the stacks derives their ids again (the alarm evaluation lists them several
// times a second): the digests of recent inputs are kept rather than hashed again each time.
const DIGESTS_KEPT = 20_000;
const digests = new Map<string, string>();

function digestOf(input: string): string {
  let digest = digests.get(input);
  if (digest === undefined) {
    digest = sha256(input);
    if (digests.size >= DIGESTS_KEPT) digests.delete(digests.keys().next().value!);
    digests.set(input, digest);
  }
  return digest;
}

/** A lane of a service in an environment. */
export interface SimLaneRef {
  service: string;
  env: string;
  lane: string;
}

/** The lane stack of a service/env lane, as templates/buildspec.yaml names it. */
export function simLaneStackName({ service, env, lane }: SimLaneRef): string {
  return `app-${service}-${env}-${lane}`;
}

/** A new stack's id: each create of a stack name (its `seq`-th operation) is a new stack. */
export function stackIdFor(stackName: string, seq: number): string {
  const h = hex(32, 'stack', stackName, String(seq));
  const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  return `arn:aws:cloudformation:${SIM_REGION}:${SIM_ACCOUNT}:stack/${stackName}/${uuid}`;
}

/** A target group CloudFormation named (lanebot leaves the name to it): at most 32 characters. */
export function targetGroupOf(stackName: string, stackId: string, logicalId = 'LaneTargetGroup'): { arn: string; fullName: string } {
  const name = `${stackName.slice(0, 5)}-${logicalId.slice(0, 5)}-${hex(12, stackId, logicalId).toUpperCase()}`;
  const fullName = `targetgroup/${name}/${hex(16, stackId, logicalId, 'id')}`;
  return { arn: `${ELB_ARN}:${fullName}`, fullName };
}

/** The service/env's ALB and listener (boot stack), derived from the names so lane stacks agree. */
export function loadBalancerNames(service: string, env: string) {
  const name = `${service}-${env}`.slice(0, 32).replace(/-+$/, '');
  const id = hex(16, 'alb', service, env);
  const fullName = `app/${name}/${id}`;
  return {
    arn: `${ELB_ARN}:loadbalancer/${fullName}`,
    fullName,
    dnsName: `${name}-${parseInt(hex(8, 'dns', service, env), 16)}.${SIM_REGION}.elb.amazonaws.com`,
    listenerArn: `${ELB_ARN}:listener/${fullName}/${hex(16, 'listener', service, env)}`,
    // Lane default's target group (the listener's default action); the lane stack imports it.
    defaultTargetGroup: targetGroupOf(`boot-${service}-${env}`, `${service}/${env}`, 'DefaultTargetGroup'),
  };
}

/** A lane stack's listener rule on its service/env's listener. */
export function listenerRuleArn(service: string, env: string, stackId: string): string {
  return `${ELB_ARN}:listener-rule/${loadBalancerNames(service, env).fullName}/${hex(16, 'listener', service, env)}/${hex(16, stackId, 'rule')}`;
}

/** The environment's ECS cluster, named by CloudFormation (the infra template leaves the name to it). */
export function clusterNameFor(env: string): string {
  return `infra-environment-${env}-Cluster-${hex(12, 'cluster', env).toUpperCase()}`;
}

/** The app pipeline's ECR repository, named by CloudFormation (templates/pipelines/app-pipeline.yaml). */
export function simRepositoryUri(pipelineName: string): string {
  return `${SIM_ACCOUNT}.dkr.ecr.${SIM_REGION}.amazonaws.com/pipeline-${pipelineName}-repository-${hex(12, 'ecr', pipelineName)}`.toLowerCase();
}
