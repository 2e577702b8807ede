// What a lane runs on, as its stack publishes it: the ECS cluster and service, the target group and
// the three alarms of templates/service-stack.yaml. Read from the lane stack's outputs (never
// derived from naming rules), so a template that names things differently still works, and kept
// on the lane entity (lane-registry.ts) so the alarm watch knows every lane's alarms without
// reading stacks.
import type { StackView } from '../cloud/stacks.port';

/** The lane's alarms by what they watch (the output that names each, in the lane template). */
export type LaneAlarmRole = 'errorRate' | 'unhealthyHosts' | 'runningTasks';

export const LANE_ALARM_OUTPUTS: Readonly<Record<LaneAlarmRole, string>> = {
  errorRate: 'ErrorRateAlarmName',
  unhealthyHosts: 'UnhealthyHostsAlarmName',
  runningTasks: 'RunningTasksAlarmName',
};

export const LANE_ALARM_ROLES = Object.keys(LANE_ALARM_OUTPUTS) as LaneAlarmRole[];

/** How a person calls each alarm in Slack. */
export const LANE_ALARM_LABEL: Readonly<Record<LaneAlarmRole, string>> = {
  errorRate: '5xx rate',
  unhealthyHosts: 'unhealthy hosts',
  runningTasks: 'tasks below desired',
};

export interface LaneResources {
  stackName: string;
  /** The region the stack lives in (from its ARN), for console links. */
  region?: string;
  clusterName?: string;
  serviceName?: string;
  targetGroupArn?: string;
  /** The task definition the stack deployed (output TaskDefinitionArn, when the template has it). */
  taskDefinitionArn?: string;
  /** The image the stack deployed (output ImageUri). */
  imageUri?: string;
  alarms: Partial<Record<LaneAlarmRole, string>>;
}

/** The lane's resources from its stack's outputs; a missing output is simply absent. */
export function laneResourcesOf(stack: Pick<StackView, 'stackName' | 'stackId' | 'outputs'>): LaneResources {
  const { outputs } = stack;
  const resources: LaneResources = { stackName: stack.stackName, alarms: {} };
  const region = /^arn:aws[a-z-]*:cloudformation:([a-z0-9-]+):/.exec(stack.stackId)?.[1];
  if (region) resources.region = region;
  if (outputs.ClusterName) resources.clusterName = outputs.ClusterName;
  if (outputs.ServiceName) resources.serviceName = outputs.ServiceName;
  if (outputs.TargetGroupArn) resources.targetGroupArn = outputs.TargetGroupArn;
  if (outputs.TaskDefinitionArn) resources.taskDefinitionArn = outputs.TaskDefinitionArn;
  if (outputs.ImageUri) resources.imageUri = outputs.ImageUri;
  for (const role of LANE_ALARM_ROLES) {
    const name = outputs[LANE_ALARM_OUTPUTS[role]];
    if (name) resources.alarms[role] = name;
  }
  return resources;
}

/** The role of one of the lane's alarms, by name. */
export function alarmRoleOf(resources: Pick<LaneResources, 'alarms'>, alarmName: string): LaneAlarmRole | undefined {
  return LANE_ALARM_ROLES.find((role) => resources.alarms[role] === alarmName);
}

/** The lane's alarm names, in role order. */
export function alarmNamesOf(resources: Pick<LaneResources, 'alarms'>): string[] {
  return LANE_ALARM_ROLES.flatMap((role) => resources.alarms[role] ?? []);
}
