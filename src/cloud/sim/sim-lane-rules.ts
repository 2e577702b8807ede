// The ALB listener rules of the lane stacks. Each lane but `default` forwards its traffic with a rule
// on its service/env's listener, at the priority the bot allocated (stack parameter RulePriority).
// ELBv2 refuses a second rule with a priority that a rule of the listener already holds, and
// CloudFormation then rolls the stack back: that refusal is decided here.
import { randomUUID } from 'node:crypto';
import { stackFamily, type PlannedFailure } from './sim-stack-families';

/** The rule's logical id in templates/service-stack.yaml. */
export const LANE_RULE_RESOURCE = 'LaneListenerRule';

export interface LaneRule {
  service: string;
  env: string;
  lane: string;
  priority: number;
}

/**
 * The listener rule a lane stack's parameters ask for. Lane `default` has none (it is the
 * listener's default action), and neither has a stack without a RulePriority (0 or absent: not
 * allocated; the template is expected to skip the rule then).
 */
export function laneRuleOf(stackName: string, parameters: Record<string, string>): LaneRule | undefined {
  if (stackFamily(stackName) !== 'lane') return undefined;
  const { ServiceName: service, Env: env, Lane: lane, RulePriority } = parameters;
  const priority = Number(RulePriority ?? 0);
  if (!service || !env || !lane || lane === 'default' || !Number.isInteger(priority) || priority <= 0) return undefined;
  return { service, env, lane, priority };
}

/** How the rule fails when another rule of the same listener holds its priority, if one does. */
export function priorityInUse(wanted: LaneRule, held: Iterable<LaneRule>): PlannedFailure | undefined {
  for (const rule of held) {
    if (rule.service === wanted.service && rule.env === wanted.env && rule.priority === wanted.priority) {
      return {
        logicalId: LANE_RULE_RESOURCE,
        reason:
          `Resource handler returned message: "Priority '${wanted.priority}' is currently in use (Service: ElasticLoadBalancingV2, ` +
          `Status Code: 400, Request ID: ${randomUUID()})" (RequestToken: ${randomUUID()}, HandlerErrorCode: AlreadyExists)`,
      };
    }
  }
  return undefined;
}
