// The ALB listener rules of the lane stacks. Each lane but `default` forwards its traffic with a rule
// on its service/env's listener, at the priority the bot allocated (stack parameter RulePriority);
// the canary stack holds one more, at the lowest precedence (50000), that splits the untagged traffic
// between the default target group and its own by weight. ELBv2 refuses a second rule with a priority
// that a rule of the listener already holds, and CloudFormation then rolls the stack back: that
// refusal is decided here.
import { randomUUID } from 'node:crypto';
import { CANARY_LANE, stackFamily, type PlannedFailure } from './sim-stack-families';

/** The rule's logical id in templates/service-stack.yaml. */
export const LANE_RULE_RESOURCE = 'LaneListenerRule';
/** The canary's rule and target group in templates/canary-stack.yaml. */
export const CANARY_RULE_RESOURCE = 'CanaryListenerRule';
export const CANARY_TARGET_GROUP_RESOURCE = 'CanaryTargetGroup';
/** The canary template's RulePriority default: the last priority ALB allows. */
const CANARY_DEFAULT_PRIORITY = 50_000;

export interface LaneRule {
  service: string;
  env: string;
  /** The lane the rule forwards to (`canary` for the canary's weighted rule). */
  lane: string;
  priority: number;
  /** The rule's logical id in its stack's template. */
  logicalId: string;
  /** The logical id of the target group it forwards to (besides the default one, for the canary). */
  targetGroupLogicalId: string;
}

/**
 * The listener rule a lane or canary stack's parameters ask for. Lane `default` has none (it is the
 * listener's default action), and neither has a lane stack without a RulePriority (0 or absent: not
 * allocated; the template is expected to skip the rule then). The canary always has one.
 */
export function laneRuleOf(stackName: string, parameters: Record<string, string>): LaneRule | undefined {
  const family = stackFamily(stackName, parameters);
  if (family === 'canary') {
    const { ServiceName: service, Env: env, RulePriority } = parameters;
    const priority = RulePriority === undefined || RulePriority === '' ? CANARY_DEFAULT_PRIORITY : Number(RulePriority);
    if (!service || !env || !Number.isInteger(priority) || priority <= 0) return undefined;
    return { service, env, lane: CANARY_LANE, priority, logicalId: CANARY_RULE_RESOURCE, targetGroupLogicalId: CANARY_TARGET_GROUP_RESOURCE };
  }
  if (family !== 'lane') return undefined;
  const { ServiceName: service, Env: env, Lane: lane, RulePriority } = parameters;
  const priority = Number(RulePriority ?? 0);
  if (!service || !env || !lane || lane === 'default' || !Number.isInteger(priority) || priority <= 0) return undefined;
  return { service, env, lane, priority, logicalId: LANE_RULE_RESOURCE, targetGroupLogicalId: 'LaneTargetGroup' };
}

/** How the rule fails when another rule of the same listener holds its priority, if one does. */
export function priorityInUse(wanted: LaneRule, held: Iterable<LaneRule>): PlannedFailure | undefined {
  for (const rule of held) {
    if (rule.service === wanted.service && rule.env === wanted.env && rule.priority === wanted.priority) {
      return {
        logicalId: wanted.logicalId,
        reason:
          `Resource handler returned message: "Priority '${wanted.priority}' is currently in use (Service: ElasticLoadBalancingV2, ` +
          `Status Code: 400, Request ID: ${randomUUID()})" (RequestToken: ${randomUUID()}, HandlerErrorCode: AlreadyExists)`,
      };
    }
  }
  return undefined;
}
