// A lane's health as the cloud reports it now: its ECS service's rollout, its targets, its alarms.
// Read through the ports (never in an ack path), by the verification after a deploy and by
// `/lane status`. The texts here are what Slack shows of each part; they say what is wrong in the
// words of the AWS console (reason codes included), so a reader can look it up.
import type { AlarmsPort, AlarmView } from '../cloud/alarms.port';
import type { CloudPorts } from '../cloud/cloud';
import type { EcsServiceView } from '../cloud/ecs.port';
import type { TargetGroupHealth } from '../cloud/load-balancer.port';
import { describeCause } from '../errors';
import { alarmConsoleUrl, ecsServiceConsoleUrl, targetGroupConsoleUrl } from './console-links';
import { alarmNamesOf, alarmRoleOf, LANE_ALARM_LABEL, type LaneResources } from '../domain/lane-resources';

/** The three parts of a lane's health, each read through its own port. */
export type HealthPart = 'service' | 'targets' | 'alarms';

export interface LaneHealthReading {
  /** Undefined when the lane stack names no service, or the service does not exist. */
  service?: EcsServiceView;
  /** Undefined when the lane stack names no target group, or it does not exist. */
  targets?: TargetGroupHealth;
  alarms: AlarmView[];
  /** Alarm names the stack publishes that CloudWatch does not know. */
  missingAlarms: string[];
  /**
   * Parts whose port failed, with the fault's message (readLanesHealth only: readLaneHealth throws).
   * A part named here is unknown, not absent.
   */
  unreadable?: Partial<Record<HealthPart, string>>;
}

/** What reading a lane's health needs: the alarms by name, not the account-wide listing. */
export type HealthPorts = Pick<CloudPorts, 'ecs' | 'loadBalancer'> & { alarms: Pick<AlarmsPort, 'alarmStates'> };

/**
 * One look at a lane's health, part by part: each part is read when first asked for and at most once,
 * so a caller that judges the parts in turn (the health check after a deploy) pays only for the ones
 * it gets to. Faults of a port throw (the caller decides whether to retry).
 */
export class HealthLook {
  private serviceRead?: Promise<EcsServiceView | undefined>;
  private targetsRead?: Promise<TargetGroupHealth | undefined>;
  private alarmsRead?: Promise<{ alarms: AlarmView[]; missing: string[] }>;

  constructor(
    private readonly cloud: HealthPorts,
    private readonly resources: LaneResources,
  ) {}

  /** The ECS service; undefined when the stack names none or it does not exist. */
  service(): Promise<EcsServiceView | undefined> {
    const { clusterName, serviceName } = this.resources;
    return (this.serviceRead ??= clusterName && serviceName ? this.cloud.ecs.describeService(clusterName, serviceName) : Promise.resolve(undefined));
  }

  /** The target group's targets; undefined when the stack names none or it does not exist. */
  targets(): Promise<TargetGroupHealth | undefined> {
    const { targetGroupArn } = this.resources;
    return (this.targetsRead ??= targetGroupArn ? this.cloud.loadBalancer.targetHealth(targetGroupArn) : Promise.resolve(undefined));
  }

  /** The lane's alarms, and the names CloudWatch does not know. */
  alarms(): Promise<{ alarms: AlarmView[]; missing: string[] }> {
    const names = alarmNamesOf(this.resources);
    return (this.alarmsRead ??= names.length > 0 ? this.cloud.alarms.alarmStates(names) : Promise.resolve({ alarms: [], missing: [] }));
  }
}

/** Reads the three parts at once; faults of any port throw (the caller decides whether to retry). */
export async function readLaneHealth(cloud: HealthPorts, resources: LaneResources): Promise<LaneHealthReading> {
  const look = new HealthLook(cloud, resources);
  const [service, targets, alarms] = await Promise.all([look.service(), look.targets(), look.alarms()]);
  const reading: LaneHealthReading = { alarms: alarms.alarms, missingAlarms: alarms.missing };
  if (service) reading.service = service;
  if (targets) reading.targets = targets;
  return reading;
}

/**
 * Reads several lanes for `/lane status`, where a partial answer beats none: their alarms in one
 * alarmStates call (the CloudWatch adapter asks for 100 names per DescribeAlarms), the service and
 * targets per lane. A port that fails is noted in the part it left unknown (`unreadable`) instead of
 * thrown, so the answer can say what could not be read. Readings come in the order of `lanes`.
 */
export async function readLanesHealth(cloud: HealthPorts, lanes: LaneResources[]): Promise<LaneHealthReading[]> {
  const names = [...new Set(lanes.flatMap(alarmNamesOf))];
  const [alarmAnswer, ...perLane] = await Promise.all([
    settle(names.length > 0 ? cloud.alarms.alarmStates(names) : Promise.resolve({ alarms: [], missing: [] })),
    ...lanes.map((resources) => {
      const look = new HealthLook(cloud, resources);
      return Promise.all([settle(look.service()), settle(look.targets())]);
    }),
  ]);
  return lanes.map((resources, index) => {
    const [service, targets] = perLane[index]!;
    const own = new Set(alarmNamesOf(resources));
    const reading: LaneHealthReading = { alarms: [], missingAlarms: [] };
    const unreadable: Partial<Record<HealthPart, string>> = {};
    if (service.ok) {
      if (service.value) reading.service = service.value;
    } else unreadable.service = service.problem;
    if (targets.ok) {
      if (targets.value) reading.targets = targets.value;
    } else unreadable.targets = targets.problem;
    if (alarmAnswer.ok) {
      reading.alarms = alarmAnswer.value.alarms.filter((a) => own.has(a.name));
      reading.missingAlarms = alarmAnswer.value.missing.filter((name) => own.has(name));
    } else if (own.size > 0) unreadable.alarms = alarmAnswer.problem;
    if (Object.keys(unreadable).length > 0) reading.unreadable = unreadable;
    return reading;
  });
}

type Settled<T> = { ok: true; value: T } | { ok: false; problem: string };

function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, problem: describeCause(error) }),
  );
}

/**
 * "3/3 targets healthy"; "1/3 targets unhealthy (Target.ResponseCodeMismatch: Health checks failed with
 * these codes: [502]), 2/3 healthy": what is wrong comes first, with ELBv2's reasons (each once).
 */
export function targetsText(targets: TargetGroupHealth, desired: number): string {
  // Draining targets are on their way out (an older deployment's tasks): they are not wanted.
  const total = targets.targets.length - targets.draining;
  const wanted = Math.max(desired, total);
  if (targets.unhealthy === 0 && targets.draining === 0 && targets.healthy >= desired && targets.healthy === total) return `${targets.healthy}/${wanted} targets healthy`;
  const parts: string[] = [];
  if (targets.unhealthy > 0) {
    parts.push(`${targets.unhealthy}/${wanted} targets unhealthy${targetReasons(targets, 'unhealthy')}`);
    // "0/1 healthy" after "1/1 unhealthy" says nothing new.
    if (targets.healthy > 0 || targets.unhealthy < wanted) parts.push(`${targets.healthy}/${wanted} healthy`);
  } else {
    parts.push(`${targets.healthy}/${wanted} targets healthy`);
  }
  if (targets.initial > 0) parts.push(`${targets.initial} still in initial health checks`);
  if (targets.draining > 0) parts.push(`${targets.draining} draining`);
  if (targets.unused > 0) parts.push(`${targets.unused} unused${targetReasons(targets, 'unused')}`);
  if (targets.unavailable > 0) parts.push(`${targets.unavailable} with health checks off`);
  return parts.join(', ');
}

/** " (Target.ResponseCodeMismatch: Health checks failed with these codes: [502])", one entry per distinct reason. */
function targetReasons(targets: TargetGroupHealth, state: 'unhealthy' | 'unused'): string {
  const reasons = new Set(
    targets.targets
      .filter((t) => t.state === state || (state === 'unhealthy' && t.state === 'unhealthy.draining'))
      .map((t) => [t.reason, t.description].filter(Boolean).join(': '))
      .filter((text) => text !== ''),
  );
  return reasons.size > 0 ? ` (${[...reasons].slice(0, 3).join('; ')})` : '';
}

/**
 * "ECS deployment complete, 3/3 running", "ECS deployment in progress: 1/3 running", "ECS deployment
 * failed (circuit breaker: tasks failed to start)" — ECS's reason starts "ECS deployment circuit
 * breaker: …", whose first words would only repeat the sentence's.
 */
export function rolloutText(service: EcsServiceView): string {
  const counts = `${service.runningCount}/${service.desiredCount} running`;
  switch (service.rolloutState) {
    case 'FAILED': {
      const reason = service.rolloutStateReason?.replace(/^ECS deployment\s+/i, '').replace(/\.+$/, '').trim();
      return `ECS deployment failed${reason ? ` (${reason})` : ''}`;
    }
    case 'IN_PROGRESS':
      return `ECS deployment in progress: ${counts}`;
    default:
      return service.runningCount >= service.desiredCount ? `ECS deployment complete, ${counts}` : `ECS service below desired: ${counts}`;
  }
}

/**
 * Why the deployment of this change failed, if it did: ECS marks it FAILED (the circuit breaker), and
 * with rollback on it then starts a new PRIMARY deployment of the previous task definition, which
 * completes. So besides a FAILED deployment anywhere in the list, a primary deployment that runs
 * another task definition than the one the stack deployed means the change was rolled back.
 */
export function rolloutFailure(service: EcsServiceView, resources: Pick<LaneResources, 'taskDefinitionArn'>): string | undefined {
  if (service.rolloutState === 'FAILED') return rolloutText(service);
  const failed = service.deployments.find((d) => d.rolloutState === 'FAILED');
  if (failed) return rolloutText({ ...service, rolloutState: 'FAILED', rolloutStateReason: failed.rolloutStateReason });
  const primary = service.deployments.find((d) => d.status === 'PRIMARY') ?? service.deployments[0];
  const wanted = resources.taskDefinitionArn;
  if (wanted && primary?.taskDefinition && primary.taskDefinition !== wanted && primary.rolloutState === 'COMPLETED') {
    return `ECS rolled the service back to ${shortTaskDefinition(primary.taskDefinition)} instead of running ${shortTaskDefinition(wanted)} (circuit breaker)`;
  }
  return undefined;
}

/** "user-api-dev-gray:42" of a task definition ARN. */
function shortTaskDefinition(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/** Whether the service's newest deployment rolled out and runs what it should. */
export function rolloutComplete(service: EcsServiceView): boolean {
  if (service.rolloutState === 'FAILED' || service.rolloutState === 'IN_PROGRESS') return false;
  // Without a rollout state (no circuit breaker), one deployment left running as many as desired is complete.
  if (service.rolloutState === undefined && service.deployments.filter((d) => d.status !== 'INACTIVE').length > 1) return false;
  return service.runningCount >= service.desiredCount && service.pendingCount === 0;
}

/** How Slack calls one of the lane's alarms: "5xx rate", or its name when the stack's outputs do not say which it is. */
export function alarmLabel(resources: Pick<LaneResources, 'alarms'>, alarmName: string): string {
  const role = alarmRoleOf(resources, alarmName);
  return role ? LANE_ALARM_LABEL[role] : alarmName;
}

/** One alarm in a sentence: "5xx rate: OK", "unhealthy hosts: ALARM (Threshold Crossed: …)". */
export function alarmText(resources: LaneResources, alarm: AlarmView, withReason = true): string {
  const label = alarmLabel(resources, alarm.name);
  const state = alarm.state === 'INSUFFICIENT_DATA' ? 'no data yet' : alarm.state;
  return withReason && alarm.state === 'ALARM' && alarm.reason ? `${label}: ${state} (${alarm.reason.replace(/\.+$/, '')})` : `${label}: ${state}`;
}

/** The console pages a verdict or a status links to. */
export function healthLinks(resources: LaneResources): { label: string; url: string }[] {
  const links: { label: string; url: string }[] = [];
  const tg = resources.targetGroupArn ? targetGroupConsoleUrl(resources.targetGroupArn) : undefined;
  if (tg) links.push({ label: 'target group', url: tg });
  const ecs = resources.clusterName && resources.serviceName ? ecsServiceConsoleUrl(resources.region, resources.clusterName, resources.serviceName) : undefined;
  if (ecs) links.push({ label: 'ECS service', url: ecs });
  return links;
}

/** A console link for one alarm, when the region is known. */
export function alarmLink(resources: LaneResources, alarmName: string): string | undefined {
  return alarmConsoleUrl(resources.region, alarmName);
}
