// The simulator's ALB traffic and its CloudWatch figures: the MetricsPort over the simulated stacks,
// so a canary's analysis has requests, 5xx and a p99 to compare without AWS.
//
// The traffic of a service/env, in simulated (cloud) time, which the clock runs SIM_TIME_SCALE times
// faster (a window of w ms of the clock is w × scale ms of cloud time):
//  - untagged requests (no lane header) at `untaggedPerMinute` (default 6,000/min): the listener's
//    default target group (lane default's) takes them all, unless the canary stack's weighted rule
//    splits them between it and the canary's target group by CanaryWeight : BaselineWeight;
//  - each header-routed lane's own requests at `lanePerMinute` (default 600/min) to its target group.
// A target group is served only while its ECS service runs tasks: lane default's (or a lane's, or the
// canary's) stack exists with a DesiredCount above 0. Weights and stacks come from the stacks' recorded
// operations over the whole window (sim-traffic-model.ts): a window that ended two minutes ago sees
// the weights it really had, and one that spans a traffic step adds up both sides of it.
//
// Per target group, 5xx = requests × the 5xx rate setting of the lane it serves (the canary: its
// SourceLane's; the default target group: lane default's), and the p99 is that lane's p99 setting with
// a jitter of at most ±2 % that a hash of the group and the window fixes (the same question always
// gets the same answer). Settings are read as they are now, not as they were during the window.
//
// Like GetMetricData: the window is aligned to (simulated) whole minutes, a target group the load
// balancer does not have, or one without requests, gets zeros, and the cloudwatch faults armed in the
// simulated account fail the call. The load balancer is known by its name, which every process
// derives from the service and env (sim-account.ts), for the services and envs of the account.
//
// Costs: the default lane's and the canary's stack records, read by name in one round trip, and the
// settings of the lanes concerned. Only a target group that is neither (a header-routed lane's) needs
// every stack's record, once per call.
import { createHash } from 'node:crypto';
import type { Clock } from '../../clock';
import { alignedWindow, noTraffic, type MetricsPort, type TrafficFigures, type TrafficWindow } from '../metrics.port';
import { loadBalancerNames, simLaneStackName, targetGroupOf, type SimLaneRef } from './sim-account';
import type { SimFaultCheck } from './sim-faults';
import type { LaneHealthSettings } from './sim-lane-health';
import { CANARY_TARGET_GROUP_RESOURCE } from './sim-lane-rules';
import { CANARY_LANE, canaryWeights, isCanaryParameters, stackFamily } from './sim-stack-families';
import type { StackRecord } from './sim-stack-state';
import { cloudMinutes, configHistory, segmentsOf, serves, untaggedShares, type ConfigChange } from './sim-traffic-model';

/** Requests per simulated minute. */
export const DEFAULT_UNTAGGED_PER_MINUTE = 6_000;
export const DEFAULT_LANE_PER_MINUTE = 600;
/** The p99 jitter: at most this share either way. */
const P99_JITTER = 0.02;

/** The simulated stacks' recorded operations (SimStacks). */
export interface SimTrafficStacks {
  records(stackNames: readonly string[]): Promise<(StackRecord | undefined)[]>;
  allRecords(): Promise<StackRecord[]>;
}

/** The lanes' settings (SimLaneHealth). */
export interface SimTrafficSettings {
  settings(ref: SimLaneRef): Promise<LaneHealthSettings>;
}

export interface SimTrafficOptions {
  stacks: SimTrafficStacks;
  health: SimTrafficSettings;
  clock: Clock;
  timeScale: number;
  /** The services and envs of the simulated account (whose load balancers exist). */
  scopes: () => Iterable<{ service: string; env: string }>;
  faults?: SimFaultCheck;
  untaggedPerMinute?: number;
  lanePerMinute?: number;
}

/** What a target group of the window is, and where its requests come from. */
type Served =
  | { kind: 'baseline' }
  | { kind: 'canary'; stackId: string; sourceLane: string }
  | { kind: 'lane'; lane: string; history: ConfigChange[]; stackId: string };

export class SimTraffic implements MetricsPort {
  private scopesByLoadBalancer?: Map<string, { service: string; env: string }>;

  constructor(private readonly options: SimTrafficOptions) {}

  async trafficFigures(window: TrafficWindow): Promise<Record<string, TrafficFigures>> {
    if (window.targetGroups.length === 0) return {};
    // After the empty case: the CloudWatch adapter makes no call for no target groups, so nothing can fail.
    await this.options.faults?.check('cloudwatch', 'GetMetricData');
    return this.figures(window);
  }

  /**
   * The figures of the target groups over the last `minutes` simulated minutes, by their ARNs, for the
   * sandbox's view of the lanes (never failed by an armed fault: those are the bot's calls').
   */
  async recentFigures(scope: { service: string; env: string }, targetGroupArns: readonly string[], minutes = 5): Promise<Record<string, TrafficFigures>> {
    const fullNames = new Map(targetGroupArns.map((arn) => [arn.slice(arn.indexOf(':targetgroup/') + 1), arn]));
    const now = this.options.clock.now();
    const minuteMs = 60_000 / this.options.timeScale;
    const byName = await this.figures({ loadBalancer: loadBalancerNames(scope.service, scope.env).fullName, targetGroups: [...fullNames.keys()], start: now - minutes * minuteMs, end: now });
    return Object.fromEntries([...fullNames].map(([name, arn]) => [arn, byName[name] ?? noTraffic()]));
  }

  /** trafficFigures without the faults. */
  private async figures(window: TrafficWindow): Promise<Record<string, TrafficFigures>> {
    const groups = [...new Set(window.targetGroups)];
    const figures: Record<string, TrafficFigures> = Object.fromEntries(groups.map((group) => [group, noTraffic()]));
    const scope = this.scopeOf(window.loadBalancer);
    if (!scope) return figures;
    const { start, end } = this.windowOf(window);
    if (!(end > start)) return figures;

    const defaultName = simLaneStackName({ ...scope, lane: 'default' });
    const canaryName = simLaneStackName({ ...scope, lane: CANARY_LANE });
    const [defaultRecord, canaryRecord] = await this.options.stacks.records([defaultName, canaryName]);
    const canary = canaryRecord && isCanaryRecord(canaryRecord) ? canaryRecord : undefined;
    const defaultHistory = configHistory(defaultRecord);
    const canaryHistory = configHistory(canary);

    const served = await this.classify(groups, scope, canary);
    const requests = new Map<string, number>();
    for (const [group, what] of served) {
      requests.set(group, this.requestsOf(what, start, end, defaultHistory, canaryHistory));
    }

    for (const [group, what] of served) {
      const count = Math.round(requests.get(group) ?? 0);
      if (count <= 0) continue;
      const lane = what.kind === 'baseline' ? 'default' : what.kind === 'canary' ? what.sourceLane : what.lane;
      const settings = await this.options.health.settings({ ...scope, lane });
      const errors5xx = Math.round((count * settings.errorRatePercent) / 100);
      figures[group] = {
        requests: count,
        errors5xx,
        errorRatePercent: (100 * errors5xx) / count,
        p99Ms: Math.round(settings.p99Ms * jitter(group, start) * 10) / 10,
      };
    }
    return figures;
  }

  /** The window aligned to simulated minutes, and not reaching past the present (no requests yet). */
  private windowOf(window: TrafficWindow): { start: number; end: number } {
    const minuteMs = 60_000 / this.options.timeScale;
    const { start, end } = alignedWindow(window, minuteMs);
    return { start, end: Math.min(end, this.options.clock.now()) };
  }

  private scopeOf(loadBalancer: string): { service: string; env: string } | undefined {
    if (!this.scopesByLoadBalancer) {
      // The account's services and envs do not change while the process runs.
      this.scopesByLoadBalancer = new Map();
      for (const { service, env } of this.options.scopes()) this.scopesByLoadBalancer.set(loadBalancerNames(service, env).fullName, { service, env });
    }
    return this.scopesByLoadBalancer.get(loadBalancer);
  }

  /** What each target group the load balancer has is; groups it does not have are left out. */
  private async classify(groups: readonly string[], scope: { service: string; env: string }, canary: StackRecord | undefined): Promise<Map<string, Served>> {
    const served = new Map<string, Served>();
    const baseline = loadBalancerNames(scope.service, scope.env).defaultTargetGroup.fullName;
    const canaryGroups = new Map<string, { stackId: string; sourceLane: string }>();
    for (const op of canary?.operations ?? []) {
      const config = op.after ?? op.before;
      canaryGroups.set(targetGroupOf(canary!.stackName, op.stackId, CANARY_TARGET_GROUP_RESOURCE).fullName, {
        stackId: op.stackId,
        sourceLane: config?.parameters.SourceLane || 'default',
      });
    }
    const rest: string[] = [];
    for (const group of groups) {
      const ofCanary = canaryGroups.get(group);
      if (group === baseline) served.set(group, { kind: 'baseline' });
      else if (ofCanary) served.set(group, { kind: 'canary', ...ofCanary });
      else rest.push(group);
    }
    if (rest.length > 0) {
      // A header-routed lane's target group is named after its stack id, which only its record knows.
      for (const record of await this.options.stacks.allRecords()) {
        const last = record.operations.at(-1);
        const parameters = (last?.after ?? last?.before)?.parameters;
        if (!parameters || stackFamily(record.stackName, parameters) !== 'lane') continue;
        if (parameters.ServiceName !== scope.service || parameters.Env !== scope.env || !parameters.Lane || parameters.Lane === 'default') continue;
        for (const stackId of new Set(record.operations.map((op) => op.stackId))) {
          const group = targetGroupOf(record.stackName, stackId).fullName;
          if (rest.includes(group)) served.set(group, { kind: 'lane', lane: parameters.Lane, history: configHistory(record), stackId });
        }
      }
    }
    return served;
  }

  /** The requests a target group served over [start, end), integrated between the changes of the stacks concerned. */
  private requestsOf(what: Served, start: number, end: number, defaultHistory: ConfigChange[], canaryHistory: ConfigChange[]): number {
    const { timeScale } = this.options;
    const untagged = this.options.untaggedPerMinute ?? DEFAULT_UNTAGGED_PER_MINUTE;
    let total = 0;
    if (what.kind === 'lane') {
      const perMinute = this.options.lanePerMinute ?? DEFAULT_LANE_PER_MINUTE;
      for (const { from, to, configs } of segmentsOf(start, end, [what.history])) {
        const lane = configs[0]!;
        if (lane.stackId === what.stackId && serves(lane)) total += perMinute * cloudMinutes(to - from, timeScale);
      }
      return total;
    }
    for (const { from, to, configs } of segmentsOf(start, end, [defaultHistory, canaryHistory])) {
      const [lane, canary] = configs as [ConfigChange, ConfigChange];
      const shares = untaggedShares(canary.config ? canaryWeights(canary.config.parameters) : undefined);
      const minutes = cloudMinutes(to - from, timeScale);
      if (what.kind === 'baseline' && serves(lane)) total += untagged * shares.baseline * minutes;
      if (what.kind === 'canary' && canary.stackId === what.stackId && serves(canary)) total += untagged * shares.canary * minutes;
    }
    return total;
  }
}

function isCanaryRecord(record: StackRecord): boolean {
  return record.operations.some((op) => {
    const parameters = (op.after ?? op.before)?.parameters;
    return parameters !== undefined && isCanaryParameters(parameters);
  });
}

/** A factor within 1 ± P99_JITTER, fixed by the target group and the window's start. */
function jitter(group: string, start: number): number {
  const h = createHash('sha256').update(`${group}|${start}`).digest();
  return 1 + ((h.readUInt32BE(0) / 0xffffffff) * 2 - 1) * P99_JITTER;
}
