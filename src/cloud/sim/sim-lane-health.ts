// The simulator's ELBv2 target health and CloudWatch alarms of the lanes: LoadBalancerPort and
// AlarmsPort over the simulated lane stacks (sim-stacks.ts), so the bot can say "2/2 healthy" and
// "the 5xx alarm fired" without AWS.
//
// What a person sets per lane (the sandbox's controls): a 5xx rate in percent and a number of
// unhealthy targets (both 0 by default), and a p99 latency (120 ms by default, which only the
// traffic figures of sim-traffic.ts report), kept in Redis so every process agrees. Everything else
// comes from the lane stack: its target group (output TargetGroupArn), its alarms (outputs
// ErrorRateAlarmName, UnhealthyHostsAlarmName, RunningTasksAlarmName, as in
// templates/service-stack.yaml) and its DesiredCount parameter. A target group and its alarms exist
// exactly while the lane stack publishes them.
//
// Time, like the rest of the simulator, comes from the clock and SIM_TIME_SCALE divides it:
//  - right after the lane stack is created, its targets are `initial` for a minute and its alarms
//    have INSUFFICIENT_DATA for a few minutes (no datapoints yet);
//  - an alarm follows a setting only once the setting has held for the alarm's evaluation window
//    (5xx rate: one 5-minute period; unhealthy hosts: 3 minutes; tasks below desired: 5 minutes), as
//    CloudWatch does;
//  - a lane without tasks has no traffic: its 5xx alarm has INSUFFICIENT_DATA.
// An alarm's state is recorded in Redis when it changes, with the moment it changed, so reading
// it again (from any process) does not move its timestamp.
//
// The canary (templates/canary-stack.yaml, stack `app-{service}-{env}-canary`) runs the release of
// its SourceLane next to lane default, with a target group and an ECS service of its own: it is
// listed as lane `canary` and answers targetHealth and describeService like a lane, but it has no
// settings of its own: a canary of gray behaves like gray (its 5xx rate, unhealthy targets, p99, and
// a failure armed for gray's next ECS deployment). It has no alarms.
//
// A lane whose stack is deleted is forgotten: settings made before the delete do not carry over to a
// lane of the same name created later (its alarms start afresh anyway: they are recorded per stack id).
//
// Unhealthy targets also lower the running tasks: ECS stops tasks that fail the load balancer's
// health check and starts replacements, which fail again, so the service stays short of its desired
// count (running = desired - unhealthy) and the "tasks below desired" alarm follows.
//
// ECS (EcsPort): each create or update of a lane stack is an ECS deployment of the lane's service
// `{service}-{env}-{lane}`: IN_PROGRESS while the stack operation runs, then COMPLETED, or FAILED
// when `failNextDeployment` was armed for the lane before the operation started (the deployment
// circuit breaker: its tasks failed to start, ECS rolled back to the previous deployment). Only the
// ECS view fails: the stack operation still succeeds, as when the pipeline's deploy action does not
// wait for the service to stabilize, which is exactly what a health check after the pipeline catches.
//
// Alarm state changes: whenever an alarm's recorded state changes, the same Redis script appends a
// "CloudWatch Alarm State Change" event (EventBridge's shape) to a simulated queue, which
// sim-alarm-events.ts reads like the SQS queue, so a change is emitted once whichever process saw it.
import { createHash, randomUUID } from 'node:crypto';
import type { RedisClient } from '../../redis/redis-connection';
import type { Clock } from '../../clock';
import type { AlarmState, AlarmStates, AlarmView, AlarmsPort } from '../alarms.port';
import { ALARM_STATE_CHANGE_DETAIL_TYPE } from '../alarm-events.port';
import { withRollout, type EcsDeploymentView, type EcsPort, type EcsServiceView } from '../ecs.port';
import { summarizeTargets, type LoadBalancerPort, type TargetGroupHealth, type TargetHealthView } from '../load-balancer.port';
import { simAlarmEventsKey } from './sim-alarm-events';
import { SIM_ACCOUNT, SIM_REGION, simLaneStackName, type SimLaneRef } from './sim-account';
import type { SimFaultCheck } from './sim-faults';
import { CANARY_LANE } from './sim-stack-families';
import type { SimStackListing } from './sim-stacks';
import { LuaScript } from '../../redis/lua-script';

/** The simulated stacks this reads lane stacks from (SimStacks). */
export interface SimLaneStacksSource {
  list(options?: { includeDeleted?: boolean }): Promise<SimStackListing[]>;
  /** The stacks named only (SimStacks has it; without it, `list` filtered by name). */
  listNamed?(stackNames: readonly string[], options?: { includeDeleted?: boolean }): Promise<SimStackListing[]>;
}

export interface SimLaneHealthOptions {
  redis: RedisClient;
  /** Key prefix of the simulated account, e.g. `lanebot:sim`. */
  prefix: string;
  clock: Clock;
  timeScale: number;
  stacks: SimLaneStacksSource;
  /** Transport faults armed in the simulated account (sim-faults.ts); the port methods consume them. */
  faults?: SimFaultCheck;
}

export interface LaneHealthSettings {
  /** Share of the lane's requests answered with a 5xx, in percent (0–100). */
  errorRatePercent: number;
  /** Targets of the lane that fail their health check. */
  unhealthyTargets: number;
  /** The lane's TargetResponseTime p99 in ms (sim-traffic.ts reports it, with a little jitter). */
  p99Ms: number;
  /** When each setting last changed (epoch ms of the simulated clock); absent while never set. */
  errorRateChangedAt?: number;
  unhealthyTargetsChangedAt?: number;
  p99MsChangedAt?: number;
}

/** What a lane's p99 is until a person sets it: a healthy service's. */
export const DEFAULT_P99_MS = 120;
/** ALB's default idle timeout: a target slower than that gets no answer through. */
export const MAX_P99_MS = 60_000;

export type LaneAlarmKind = 'errorRate' | 'unhealthyHosts' | 'runningTasks';

export interface SimLaneAlarm extends AlarmView {
  kind: LaneAlarmKind;
}

/** One lane as the sandbox shows it: its settings, what its stack says, and the resulting health. */
export interface SimLaneView extends SimLaneRef, LaneHealthSettings {
  /** The lane stack, when it exists. */
  stackName: string;
  /** Lane `canary`: the lane whose release it runs and whose settings it follows (those shown). */
  canaryOf?: string;
  stackStatus?: string;
  desiredTasks: number;
  runningTasks: number;
  targetGroupArn?: string;
  /** Counts and targets; undefined when the lane has no target group (no stack, or not created yet). */
  targetHealth?: TargetGroupHealth;
  alarms: SimLaneAlarm[];
}

/** Simulated minutes (before SIM_TIME_SCALE). */
const TARGET_WARMUP_MINUTES = 1;
const ALARM_WARMUP_MINUTES = 3;
const WINDOW_MINUTES: Record<LaneAlarmKind, number> = { errorRate: 5, unhealthyHosts: 3, runningTasks: 5 };
/** The 5xx alarm's threshold (percent of requests), as in the lane template. */
export const ERROR_RATE_THRESHOLD_PERCENT = 1;
/** Lane stack outputs that name each alarm; the second 5xx name is an older spelling of the simulator. */
const ALARM_OUTPUTS: Record<LaneAlarmKind, readonly string[]> = {
  errorRate: ['ErrorRateAlarmName', 'Http5xxAlarmName'],
  unhealthyHosts: ['UnhealthyHostsAlarmName'],
  runningTasks: ['RunningTasksAlarmName'],
};
const ALARM_KINDS = Object.keys(ALARM_OUTPUTS) as LaneAlarmKind[];
/** The lane template's DesiredCount default. */
const DEFAULT_DESIRED_TASKS = 1;
const DEFAULT_CONTAINER_PORT = 8080;
export const MAX_UNHEALTHY_TARGETS = 100;
const STATE_TTL_SECONDS = 30 * 24 * 3600;

/**
 * Records an alarm's state if it changed (then with its transition time, never earlier than the
 * last one), else refreshes only its reason and figures: returns the updatedAt in force. A change
 * appends the state change event (ARGV[6], its previousState filled in here) to the simulated queue;
 * an alarm of a new stack starts from INSUFFICIENT_DATA, as CloudWatch creates it, so entering that
 * emits nothing. The figures are kept so that the alarm still shows them while a setting changed
 * less than a window ago (it stays where it was, as read back from here).
 * KEYS[1] alarm key, KEYS[2] event queue; ARGV epoch, state, reason, since, ttl, event JSON, queue cap,
 * value, threshold ('' when none).
 */
const RECORD_STATE_SCRIPT: string = `
local cur = redis.call('HMGET', KEYS[1], 'epoch', 'state', 'updatedAt', 'reason')
if cur[1] == ARGV[1] and cur[2] == ARGV[2] then
  redis.call('HSET', KEYS[1], 'reason', ARGV[3], 'value', ARGV[8], 'threshold', ARGV[9])
  return cur[3]
end
local prevState, prevReason = 'INSUFFICIENT_DATA', 'Unchecked: Initial alarm creation'
if cur[1] == ARGV[1] and cur[2] then prevState, prevReason = cur[2], cur[4] or '' end
if prevState ~= ARGV[2] then
  local event = cjson.decode(ARGV[6])
  event.detail.previousState = { value = prevState, reason = prevReason }
  redis.call('RPUSH', KEYS[2], cjson.encode(event))
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[7]), -1)
end
local since = tonumber(ARGV[4])
if cur[1] == ARGV[1] and cur[3] and tonumber(cur[3]) > since then since = tonumber(cur[3]) end
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'state', ARGV[2], 'reason', ARGV[3], 'updatedAt', tostring(since), 'value', ARGV[8], 'threshold', ARGV[9])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return tostring(since)
`;
/** What EVALSHA names the script by. */
const RECORD_STATE_SHA = createHash('sha1').update(RECORD_STATE_SCRIPT).digest('hex');

/**
 * KEYS[1] the lane's armed failure, KEYS[2] the failure of one deployment; ARGV startedAt, ttl.
 * A deployment that started at or after the arming takes the armed failure; returns its reason, if any.
 */
const BIND_FAILURE_SCRIPT = new LuaScript(`
local bound = redis.call('GET', KEYS[2])
if bound then return bound end
local armed = redis.call('HMGET', KEYS[1], 'armedAt', 'reason')
if armed[1] and tonumber(armed[1]) <= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], armed[2], 'EX', tonumber(ARGV[2]))
  redis.call('DEL', KEYS[1])
  return armed[2]
end
return false
`);

/**
 * Sets the given fields, and their changedAt only when the value really changes (then it counts a
 * change in KEYS[2], the settings version). KEYS[1] the lane's settings; ARGV now, then field/value pairs.
 */
const SET_SETTINGS_SCRIPT = new LuaScript(`
for i = 2, #ARGV, 2 do
  local field, value = ARGV[i], ARGV[i + 1]
  -- An absent setting is 0, so setting 0 first does not restart the alarm's window.
  if (redis.call('HGET', KEYS[1], field) or '0') ~= value then
    redis.call('HSET', KEYS[1], field, value, field .. 'ChangedAt', ARGV[1])
    redis.call('INCR', KEYS[2])
  end
end
return redis.call('HGETALL', KEYS[1])
`);

/** How long an alarm's unchanged verdict is not written again by the process that last wrote it (real ms). */
const UNCHANGED_VERDICT_REFRESH_MS = 60_000;

/** A lane stack as this module reads it. */
interface LaneStack {
  ref: SimLaneRef;
  /** The lane whose settings drive it: itself, or a canary's source lane. */
  settingsRef: SimLaneRef;
  stack: SimStackListing;
  desired: number;
  /** When the create operation ended (the stack's resources exist); undefined once the stack was updated since. */
  createdAt?: number;
}

type Verdict = { state: AlarmState; reason: string; since: number; value?: number; threshold?: number } | 'pending';

/** The simulated queue keeps the newest events only, like a queue whose messages expire. */
const EVENT_QUEUE_CAP = 10_000;
const FAILED_DEPLOYMENT_REASON = 'ECS deployment circuit breaker: tasks failed to start.';

export class SimLaneHealth implements LoadBalancerPort, AlarmsPort, EcsPort {
  /** Which stack published each target group, as last read: a hint, checked against the stack on use. */
  private readonly stackOfTargetGroup = new Map<string, string>();

  constructor(private readonly options: SimLaneHealthOptions) {}

  private key(...parts: string[]): string {
    return [this.options.prefix, 'health', ...parts].join(':');
  }

  private settingsKey({ service, env, lane }: SimLaneRef): string {
    return this.key('lane', service, env, lane);
  }

  /** Simulated minutes in real milliseconds of the simulated clock. */
  private minutes(n: number): number {
    return (n * 60_000) / this.options.timeScale;
  }

  // ---------------------------------------------------------------------------------------------
  // Controls

  /** Changes a lane's 5xx rate, unhealthy targets and/or p99; the lane's alarms follow over their windows. */
  async setHealth(ref: SimLaneRef, change: { errorRatePercent?: number; unhealthyTargets?: number; p99Ms?: number }): Promise<LaneHealthSettings> {
    const { errorRatePercent, unhealthyTargets, p99Ms } = change;
    if (errorRatePercent !== undefined && !(Number.isFinite(errorRatePercent) && errorRatePercent >= 0 && errorRatePercent <= 100)) {
      throw new RangeError('errorRatePercent must be a number from 0 to 100');
    }
    if (unhealthyTargets !== undefined && !(Number.isInteger(unhealthyTargets) && unhealthyTargets >= 0 && unhealthyTargets <= MAX_UNHEALTHY_TARGETS)) {
      throw new RangeError(`unhealthyTargets must be a whole number from 0 to ${MAX_UNHEALTHY_TARGETS}`);
    }
    if (p99Ms !== undefined && !(Number.isFinite(p99Ms) && p99Ms > 0 && p99Ms <= MAX_P99_MS)) {
      throw new RangeError(`p99Ms must be a number of milliseconds above 0 and at most ${MAX_P99_MS}`);
    }
    // Record the alarms' states as they are before the change, so their timestamps stay what they were.
    const laneStack = (await this.laneStacks()).find((l) => sameLane(l.ref, ref));
    if (laneStack) await this.evaluateLane(laneStack, await this.settings(ref), this.options.clock.now());

    const fields: string[] = [];
    if (errorRatePercent !== undefined) fields.push('errorRate', String(errorRatePercent));
    if (unhealthyTargets !== undefined) fields.push('unhealthyTargets', String(unhealthyTargets));
    if (p99Ms !== undefined) fields.push('p99Ms', String(p99Ms));
    const key = this.settingsKey(ref);
    const flat = (await SET_SETTINGS_SCRIPT.run(this.options.redis, 2, key, this.key('settings-version'), String(this.options.clock.now()), ...fields)) as string[];
    await this.options.redis.sadd(this.key('lanes'), laneId(ref));
    return parseSettings(pairs(flat));
  }

  /**
   * Makes the lane's next ECS deployment (the next create or update of its stack that starts from
   * now) FAILED, as the deployment circuit breaker does. Armed until a deployment takes it.
   */
  async failNextDeployment(ref: SimLaneRef, reason = FAILED_DEPLOYMENT_REASON): Promise<void> {
    await this.options.redis.hset(this.key('ecs-fail', laneId(ref)), 'armedAt', String(this.options.clock.now()), 'reason', reason);
    await this.options.redis.expire(this.key('ecs-fail', laneId(ref)), STATE_TTL_SECONDS);
  }

  /**
   * Evaluates every lane's alarms now, which emits the state changes due: what the simulated queue
   * calls before it answers (several times a second). Callers that ask while an evaluation runs
   * share it.
   */
  evaluateAll(): Promise<void> {
    return (this.evaluating ??= this.evaluateAllNow().finally(() => (this.evaluating = undefined)));
  }

  private evaluating?: Promise<void>;
  /** The settings of lanes as last read, valid while the settings version is `version`. */
  private settingsCache = { version: '', byLane: new Map<string, LaneHealthSettings>() };
  /** Per alarm key, the arguments this process last recorded it with, and when (real ms). */
  private readonly lastRecorded = new Map<string, { recorded: string; at: number }>();

  private async evaluateAllNow(): Promise<void> {
    // What it costs follows what changed, not how many lanes there are: stacks are read again only
    // where saved since (SimStackStore.loadAll), settings only after one changed, and an alarm whose
    // verdict is what this process last recorded is not written again (for a minute). Only the
    // state changes matter here, so "pending" alarms are not read.
    const now = this.options.clock.now();
    const laneStacks = await this.laneStacks();
    if (laneStacks.length === 0) return this.lastRecorded.clear();
    const settings = await this.settingsOf(laneStacks.map((laneStack) => laneStack.settingsRef));
    const records: string[][] = [];
    const sent: [key: string, recorded: string][] = [];
    const realNow = Date.now();
    const current = new Set<string>();
    laneStacks.forEach((laneStack, i) => {
      for (const kind of ALARM_KINDS) {
        const name = alarmNameOf(laneStack, kind);
        if (name) current.add(this.key('alarm', name));
        const verdict = name && this.verdict(kind, laneStack, settings[i]!, now);
        if (!name || !verdict || verdict === 'pending') continue;
        const key = this.key('alarm', name);
        const recorded = [laneStack.stack.stackId, verdict.state, verdict.reason, verdict.since, verdict.value, verdict.threshold].join('\u0000');
        const last = this.lastRecorded.get(key);
        if (last && last.recorded === recorded && realNow - last.at < UNCHANGED_VERDICT_REFRESH_MS) continue;
        records.push(this.recordArgs(name, laneStack, verdict));
        sent.push([key, recorded]);
      }
    });
    await this.recordStates(records);
    for (const [key, recorded] of sent) this.lastRecorded.set(key, { recorded, at: realNow });
    // Alarms of stacks that are gone are forgotten, so a long-lived sandbox does not keep them all.
    if (this.lastRecorded.size > current.size) for (const key of this.lastRecorded.keys()) if (!current.has(key)) this.lastRecorded.delete(key);
  }

  /** How many alarm verdicts this process remembers having recorded (for tests). */
  get rememberedVerdicts(): number {
    return this.lastRecorded.size;
  }

  /** The settings of each lane: read again only when the settings version moved, or for a lane not read yet. */
  private async settingsOf(refs: SimLaneRef[]): Promise<LaneHealthSettings[]> {
    const { redis } = this.options;
    const version = (await redis.get(this.key('settings-version'))) ?? '0';
    if (version !== this.settingsCache.version) this.settingsCache = { version, byLane: new Map() };
    const { byLane } = this.settingsCache;
    const missing = new Map(refs.filter((ref) => !byLane.has(laneId(ref))).map((ref) => [laneId(ref), ref]));
    if (missing.size > 0) {
      const reads = redis.pipeline();
      for (const ref of missing.values()) reads.hgetall(this.settingsKey(ref));
      const ids = [...missing.keys()];
      ((await reads.exec()) ?? []).forEach(([error, value], i) => {
        if (error) throw error;
        byLane.set(ids[i]!, parseSettings(value as Record<string, string>));
      });
    }
    return refs.map((ref) => byLane.get(laneId(ref))!);
  }

  /** The keys and arguments of RECORD_STATE_SCRIPT for an alarm's verdict. */
  private recordArgs(name: string, laneStack: LaneStack, verdict: Exclude<Verdict, 'pending'>): string[] {
    return [
      this.key('alarm', name),
      simAlarmEventsKey(this.options.prefix),
      laneStack.stack.stackId,
      verdict.state,
      verdict.reason,
      String(verdict.since),
      String(STATE_TTL_SECONDS),
      JSON.stringify(stateChangeEvent(name, verdict)),
      String(EVENT_QUEUE_CAP),
      verdict.value === undefined ? '' : String(verdict.value),
      verdict.threshold === undefined ? '' : String(verdict.threshold),
    ];
  }

  /** Runs RECORD_STATE_SCRIPT for each, in one pipeline, by its hash (the whole script only where Redis does not have it). */
  private async recordStates(records: string[][]): Promise<unknown[]> {
    if (records.length === 0) return [];
    const { redis } = this.options;
    const bySha = redis.pipeline();
    for (const args of records) bySha.evalsha(RECORD_STATE_SHA, 2, ...args);
    const results = (await bySha.exec()) ?? [];
    const missing = results.flatMap(([error], i) => (error && /NOSCRIPT/.test(error.message) ? [i] : []));
    const answers = results.map(([error, value]) => (error && !/NOSCRIPT/.test(error.message) ? Promise.reject(error) : value));
    if (missing.length > 0) {
      const whole = redis.pipeline();
      for (const i of missing) whole.eval(RECORD_STATE_SCRIPT, 2, ...records[i]!);
      ((await whole.exec()) ?? []).forEach(([error, value], j) => (answers[missing[j]!] = error ? Promise.reject(error) : value));
    }
    return Promise.all(answers);
  }

  async settings(ref: SimLaneRef): Promise<LaneHealthSettings> {
    return parseSettings(await this.options.redis.hgetall(this.settingsKey(ref)));
  }

  /** Every lane with a lane stack or with settings, with its target health and alarms now. */
  async lanes(): Promise<SimLaneView[]> {
    const now = this.options.clock.now();
    const stacks = await this.laneStacks();
    const refs = new Map<string, SimLaneRef>(stacks.map((l) => [laneId(l.ref), l.ref]));
    for (const id of await this.options.redis.smembers(this.key('lanes'))) {
      const ref = parseLaneId(id);
      if (ref && !refs.has(id)) refs.set(id, ref);
    }
    const views: SimLaneView[] = [];
    for (const [id, ref] of refs) {
      const laneStack = stacks.find((l) => laneId(l.ref) === id);
      const settings = await this.settings(laneStack?.settingsRef ?? ref);
      const view: SimLaneView = {
        ...ref,
        ...settings,
        ...(laneStack && laneStack.settingsRef !== laneStack.ref ? { canaryOf: laneStack.settingsRef.lane } : {}),
        stackName: laneStack?.stack.stackName ?? simLaneStackName(ref),
        desiredTasks: laneStack?.desired ?? 0,
        runningTasks: laneStack ? runningTasks(laneStack, settings) : 0,
        alarms: [],
      };
      if (laneStack) {
        view.stackStatus = laneStack.stack.status;
        view.targetGroupArn = laneStack.stack.outputs.TargetGroupArn;
        view.targetHealth = this.targetsOf(laneStack, settings, now);
        view.alarms = await this.evaluateLane(laneStack, settings, now);
      }
      views.push(view);
    }
    return views.sort((a, b) => `${a.service}/${a.env}/${a.lane}`.localeCompare(`${b.service}/${b.env}/${b.lane}`));
  }

  // ---------------------------------------------------------------------------------------------
  // LoadBalancerPort

  async targetHealth(targetGroupArn: string): Promise<TargetGroupHealth | undefined> {
    await this.options.faults?.check('elbv2', 'DescribeTargetHealth');
    // A target group's name does not say its stack; which stack published it was seen on an earlier read.
    const seen = this.stackOfTargetGroup.get(targetGroupArn);
    const laneStack = await this.findLaneStack(seen ? [seen] : [], (l) => l.stack.outputs.TargetGroupArn === targetGroupArn);
    if (!laneStack) return undefined;
    return this.targetsOf(laneStack, await this.settings(laneStack.settingsRef), this.options.clock.now());
  }

  // ---------------------------------------------------------------------------------------------
  // AlarmsPort

  async alarmStates(alarmNames: string[]): Promise<AlarmStates> {
    const names = [...new Set(alarmNames)];
    if (names.length === 0) return { alarms: [], missing: [] };
    // After the empty case: the CloudWatch adapter makes no call for no names, so nothing can fail.
    await this.options.faults?.check('cloudwatch', 'DescribeAlarms');
    const now = this.options.clock.now();
    const found = new Map<string, AlarmView>();
    const evaluate = async (laneStacks: LaneStack[]): Promise<void> => {
      for (const laneStack of laneStacks) {
        const wanted = ALARM_KINDS.some((kind) => names.includes(alarmNameOf(laneStack, kind) ?? ''));
        if (!wanted) continue;
        for (const alarm of await this.evaluateLane(laneStack, await this.settings(laneStack.settingsRef), now)) {
          found.set(alarm.name, withoutKind(alarm));
        }
      }
    };
    // The stacks the names say (the templates name alarms `{service}-{env}-{lane}-…`), and every
    // stack only if that leaves a name unanswered.
    await evaluate(await this.laneStacks(names.flatMap((name) => stackOfAlarm(name) ?? [])));
    if (names.some((name) => !found.has(name))) await evaluate(await this.laneStacks());
    return { alarms: names.flatMap((name) => found.get(name) ?? []), missing: names.filter((name) => !found.has(name)) };
  }

  async alarmsInState(state: AlarmState): Promise<AlarmView[]> {
    await this.options.faults?.check('cloudwatch', 'DescribeAlarms');
    const now = this.options.clock.now();
    const alarms: AlarmView[] = [];
    for (const laneStack of await this.laneStacks()) {
      for (const alarm of await this.evaluateLane(laneStack, await this.settings(laneStack.settingsRef), now)) {
        if (alarm.state === state) alarms.push(withoutKind(alarm));
      }
    }
    return alarms;
  }

  // ---------------------------------------------------------------------------------------------
  // EcsPort

  async describeService(cluster: string, service: string): Promise<EcsServiceView | undefined> {
    await this.options.faults?.check('ecs', 'DescribeServices');
    const clusterName = cluster.slice(cluster.lastIndexOf('/') + 1);
    // The templates name the ECS service `{service}-{env}-{lane}` and its stack `app-{service}-{env}-{lane}`.
    const laneStack = await this.findLaneStack([`app-${service}`], (l) => {
      const name = l.stack.outputs.ServiceName || `${l.ref.service}-${l.ref.env}-${l.ref.lane}`;
      const laneCluster = l.stack.outputs.ClusterName;
      return name === service && (!laneCluster || laneCluster === clusterName);
    });
    // No target group published: the service does not exist (yet, or any more), as for targetHealth.
    if (!laneStack || !laneStack.stack.outputs.TargetGroupArn) return undefined;
    const settings = await this.settings(laneStack.settingsRef);
    const now = this.options.clock.now();
    const op = laneStack.stack.lastOperation;
    const deploying = op !== undefined && (op.kind === 'create' || op.kind === 'update');
    const failure = deploying ? await this.deploymentFailure(laneStack, op.startedAt) : undefined;
    const inProgress = deploying && !op.finished && now < op.endsAt;
    const running = runningTasks(laneStack, settings);
    const stackId = laneStack.stack.stackId;
    const current: EcsDeploymentView = {
      id: deploymentId(stackId, op?.startedAt ?? 0),
      status: 'PRIMARY',
      rolloutState: failure ? 'FAILED' : inProgress ? 'IN_PROGRESS' : 'COMPLETED',
      desiredCount: laneStack.desired,
      runningCount: failure ? 0 : inProgress ? 0 : running,
      pendingCount: !failure && inProgress ? laneStack.desired : 0,
      failedTasks: failure ? Math.max(laneStack.desired, 1) * 2 : 0,
    };
    if (laneStack.stack.outputs.TaskDefinitionArn) current.taskDefinition = laneStack.stack.outputs.TaskDefinitionArn;
    if (failure) current.rolloutStateReason = failure;
    else if (current.rolloutState === 'COMPLETED') current.rolloutStateReason = `ECS deployment ${current.id} completed.`;
    const deployments = [current];
    // An update runs beside the previous deployment until it completes; a failed one was rolled back to it.
    if (op?.kind === 'update' && (inProgress || failure)) {
      deployments.push({ id: deploymentId(stackId, -1), status: 'ACTIVE', rolloutState: 'COMPLETED', desiredCount: laneStack.desired, runningCount: running, pendingCount: 0, failedTasks: 0 });
    }
    const deleting = laneStack.stack.status === 'DELETE_IN_PROGRESS';
    const serviceRunning = deployments.reduce((sum, d) => sum + d.runningCount, 0);
    return withRollout({
      serviceName: service,
      status: deleting ? 'DRAINING' : 'ACTIVE',
      desiredCount: laneStack.desired,
      runningCount: serviceRunning,
      pendingCount: deployments.reduce((sum, d) => sum + d.pendingCount, 0),
      deployments,
    });
  }

  /**
   * The failure reason of the deployment that started at `startedAt`, binding an armed failure to it
   * when it is the first deployment started since arming (atomically, so one deployment takes it).
   */
  private async deploymentFailure(laneStack: LaneStack, startedAt: number): Promise<string | undefined> {
    // A canary takes a failure armed for its source lane: it deploys that lane's release.
    const armedKey = this.key('ecs-fail', laneId(laneStack.settingsRef));
    const failedKey = this.key('ecs-failed', laneStack.stack.stackId, String(startedAt));
    const reason = (await BIND_FAILURE_SCRIPT.run(this.options.redis, 2, armedKey, failedKey, String(startedAt), String(STATE_TTL_SECONDS))) as string | null;
    return reason ?? undefined;
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * The lane (and canary) stacks that exist now; on the way, forgets the settings of lanes deleted
   * since they were made (not a canary's: the settings it follows are its source lane's).
   */
  private async laneStacks(stackNames?: readonly string[]): Promise<LaneStack[]> {
    const lanes: LaneStack[] = [];
    for (const stack of await this.listStacks(stackNames)) {
      if (stack.family !== 'lane' && stack.family !== 'canary') continue;
      if (stack.outputs.TargetGroupArn) this.stackOfTargetGroup.set(stack.outputs.TargetGroupArn, stack.stackName);
      const canary = stack.family === 'canary';
      const { ServiceName: service, Env: env, DesiredCount } = stack.parameters;
      const lane = canary ? CANARY_LANE : stack.parameters.Lane;
      if (!service || !env || !lane) continue;
      const ref = { service, env, lane };
      const settingsRef = canary ? { service, env, lane: stack.parameters.SourceLane || 'default' } : ref;
      if (stack.deletedAt !== undefined && !canary) await this.forgetIfDeleted(ref, stack.deletedAt);
      if (stack.status === 'DELETE_COMPLETE') continue;
      // No target group published: the stack's ECS service does not exist (yet, or any more after a failed create).
      const exists = Boolean(stack.outputs.TargetGroupArn);
      const desired = !exists ? 0 : DesiredCount === undefined || DesiredCount === '' ? DEFAULT_DESIRED_TASKS : Math.max(0, Math.floor(Number(DesiredCount)) || 0);
      // Only a stack whose latest operation is its create tells when it was created; one updated
      // since has been up for at least that create's time, taken as settled.
      const op = stack.lastOperation;
      const createdAt = op?.kind === 'create' ? op.endsAt : undefined;
      lanes.push({ ref, settingsRef, stack, desired, createdAt });
    }
    return lanes;
  }

  /** Every stack, or only those named (the port calls' own stacks: a call costs what it asks, not what the account holds). */
  private async listStacks(stackNames?: readonly string[]): Promise<SimStackListing[]> {
    const { stacks } = this.options;
    if (!stackNames) return stacks.list({ includeDeleted: true });
    if (stackNames.length === 0) return [];
    if (stacks.listNamed) return stacks.listNamed(stackNames, { includeDeleted: true });
    return (await stacks.list({ includeDeleted: true })).filter((stack) => stackNames.includes(stack.stackName));
  }

  /**
   * The first lane stack that `matches`, looked for among the stacks named first, then among all (a
   * name guessed wrong, or a stack named otherwise, costs a full read, never a wrong answer).
   */
  private async findLaneStack(stackNames: readonly string[], matches: (laneStack: LaneStack) => boolean): Promise<LaneStack | undefined> {
    return (await this.laneStacks(stackNames)).find(matches) ?? (await this.laneStacks()).find(matches);
  }

  /** Drops the lane's settings unless one was made after its stack was deleted (for the lane to come). */
  private async forgetIfDeleted(ref: SimLaneRef, deletedAt: number): Promise<void> {
    const settings = await this.settings(ref);
    const changedAt = Math.max(settings.errorRateChangedAt ?? 0, settings.unhealthyTargetsChangedAt ?? 0, settings.p99MsChangedAt ?? 0);
    if (changedAt >= deletedAt) return;
    await this.options.redis.multi().del(this.settingsKey(ref)).srem(this.key('lanes'), laneId(ref)).incr(this.key('settings-version')).exec();
  }

  private targetsOf(laneStack: LaneStack, settings: LaneHealthSettings, now: number): TargetGroupHealth | undefined {
    const arn = laneStack.stack.outputs.TargetGroupArn;
    if (!arn) return undefined;
    const port = Number(laneStack.stack.parameters.ContainerPort) || DEFAULT_CONTAINER_PORT;
    const unhealthy = Math.min(settings.unhealthyTargets, laneStack.desired);
    const deleting = laneStack.stack.status === 'DELETE_IN_PROGRESS';
    const warming = laneStack.createdAt !== undefined && now < laneStack.createdAt + this.minutes(TARGET_WARMUP_MINUTES);
    const targets: TargetHealthView[] = [];
    for (let i = 0; i < laneStack.desired; i++) {
      const id = taskIp(laneStack.stack.stackId, i);
      if (deleting) {
        targets.push({ id, port, state: 'draining', reason: 'Target.DeregistrationInProgress', description: 'Target deregistration is in progress' });
      } else if (warming) {
        targets.push({ id, port, state: 'initial', reason: 'Elb.InitialHealthChecking', description: 'Initial health checks in progress' });
      } else if (i >= laneStack.desired - unhealthy) {
        targets.push({ id, port, state: 'unhealthy', reason: 'Target.ResponseCodeMismatch', description: 'Health checks failed with these codes: [503]' });
      } else {
        targets.push({ id, port, state: 'healthy' });
      }
    }
    return summarizeTargets(arn, targets);
  }

  /** The lane's alarms now, each recorded in Redis when its state changed. */
  private async evaluateLane(laneStack: LaneStack, settings: LaneHealthSettings, now: number): Promise<SimLaneAlarm[]> {
    const alarms: SimLaneAlarm[] = [];
    for (const kind of ALARM_KINDS) {
      const name = alarmNameOf(laneStack, kind);
      if (!name) continue;
      const key = this.key('alarm', name);
      const verdict = this.verdict(kind, laneStack, settings, now);
      if (verdict === 'pending') {
        // The setting changed less than a window ago: the alarm is still where it was.
        const stored = await this.options.redis.hgetall(key);
        if (stored.epoch === laneStack.stack.stackId && isAlarmState(stored.state)) {
          const alarm: SimLaneAlarm = { kind, name, state: stored.state, reason: stored.reason ?? '', updatedAt: Number(stored.updatedAt) };
          if (stored.value) alarm.value = Number(stored.value);
          if (stored.threshold) alarm.threshold = Number(stored.threshold);
          alarms.push(alarm);
        } else {
          // Never evaluated before (the stack came after the change): no datapoints to speak of yet.
          alarms.push({ kind, name, state: 'INSUFFICIENT_DATA', reason: 'Insufficient Data: no datapoints were received yet.', updatedAt: laneStack.createdAt ?? now });
        }
        continue;
      }
      const [updated] = await this.recordStates([this.recordArgs(name, laneStack, verdict)]);
      const updatedAt = Number(updated);
      const alarm: SimLaneAlarm = { kind, name, state: verdict.state, reason: verdict.reason, updatedAt };
      if (verdict.value !== undefined) alarm.value = verdict.value;
      if (verdict.threshold !== undefined) alarm.threshold = verdict.threshold;
      alarms.push(alarm);
    }
    return alarms;
  }

  /** Where an alarm should be now, and since when; `pending` while a change is inside its window. */
  private verdict(kind: LaneAlarmKind, laneStack: LaneStack, settings: LaneHealthSettings, now: number): Verdict {
    const warmEnd = laneStack.createdAt === undefined ? 0 : laneStack.createdAt + this.minutes(ALARM_WARMUP_MINUTES);
    if (now < warmEnd) {
      return { state: 'INSUFFICIENT_DATA', reason: 'Insufficient Data: the lane was just created; no datapoints were received yet.', since: laneStack.createdAt! };
    }
    const window = WINDOW_MINUTES[kind];
    if (kind === 'errorRate' && laneStack.desired === 0) {
      return { state: 'INSUFFICIENT_DATA', reason: `Insufficient Data: the lane had no requests in the last ${window} minutes (it runs no tasks).`, since: Math.max(warmEnd, now) };
    }
    const changedAt = kind === 'errorRate' ? settings.errorRateChangedAt : settings.unhealthyTargetsChangedAt;
    const since = Math.max(warmEnd, (changedAt ?? 0) + this.minutes(window));
    if (now < since) return 'pending';
    switch (kind) {
      case 'errorRate': {
        const rate = settings.errorRatePercent;
        const breach = rate > ERROR_RATE_THRESHOLD_PERCENT;
        return {
          state: breach ? 'ALARM' : 'OK',
          reason: `Threshold Crossed: 1 datapoint [${rate}] was ${breach ? '' : 'not '}greater than the threshold (${ERROR_RATE_THRESHOLD_PERCENT}.0): ${rate}% of the requests got a 5xx over ${window} minutes.`,
          since,
          value: rate,
          threshold: ERROR_RATE_THRESHOLD_PERCENT,
        };
      }
      case 'unhealthyHosts': {
        const count = Math.min(settings.unhealthyTargets, laneStack.desired);
        const breach = count > 0;
        return {
          state: breach ? 'ALARM' : 'OK',
          reason: `Threshold Crossed: ${window} datapoints were ${breach ? '' : 'not '}greater than the threshold (0.0): ${count} unhealthy target${count === 1 ? '' : 's'}.`,
          since,
          value: count,
          threshold: 0,
        };
      }
      case 'runningTasks': {
        const missing = laneStack.desired - runningTasks(laneStack, settings);
        const breach = missing > 0;
        return {
          state: breach ? 'ALARM' : 'OK',
          reason: `Threshold Crossed: ${window} datapoints were ${breach ? '' : 'not '}greater than the threshold (0.0): ${runningTasks(laneStack, settings)} of ${laneStack.desired} desired tasks running.`,
          since,
          value: missing,
          threshold: 0,
        };
      }
    }
  }
}

/**
 * The EventBridge event CloudWatch would send for entering the verdict's state (previousState is
 * added by the recording script, which knows it). reasonData is a JSON string, as CloudWatch writes it.
 */
function stateChangeEvent(alarmName: string, verdict: Exclude<Verdict, 'pending'>): Record<string, unknown> {
  const time = new Date(verdict.since).toISOString();
  const reasonData: Record<string, unknown> = { version: '1.0', statistic: 'Average', period: 60, startDate: time, queryDate: time };
  if (verdict.value !== undefined) {
    reasonData.recentDatapoints = [verdict.value];
    reasonData.evaluatedDatapoints = [{ timestamp: time, value: verdict.value }];
  }
  if (verdict.threshold !== undefined) reasonData.threshold = verdict.threshold;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': ALARM_STATE_CHANGE_DETAIL_TYPE,
    source: 'aws.cloudwatch',
    account: SIM_ACCOUNT,
    time,
    region: SIM_REGION,
    resources: [`arn:aws:cloudwatch:${SIM_REGION}:${SIM_ACCOUNT}:alarm:${alarmName}`],
    detail: {
      alarmName,
      state: { value: verdict.state, reason: verdict.reason, reasonData: JSON.stringify(reasonData), timestamp: time },
    },
  };
}

/** An ECS deployment id (`ecs-svc/` and 19 digits), stable per stack operation. */
function deploymentId(stackId: string, startedAt: number): string {
  const h = createHash('sha256').update(`${stackId}:${startedAt}`).digest();
  return `ecs-svc/${h.readBigUInt64BE(0).toString().padStart(20, '0').slice(0, 19)}`;
}

function runningTasks(laneStack: LaneStack, settings: LaneHealthSettings): number {
  return Math.max(0, laneStack.desired - Math.min(settings.unhealthyTargets, laneStack.desired));
}

/** The templates name a lane's alarms `{service}-{env}-{lane}-{suffix}`, its stack `app-{service}-{env}-{lane}`. */
const ALARM_SUFFIXES = ['-5xx-rate', '-unhealthy-hosts', '-tasks-below-desired'];

/** The stack an alarm name says, if it has a template's suffix. */
function stackOfAlarm(alarmName: string): string | undefined {
  const suffix = ALARM_SUFFIXES.find((s) => alarmName.endsWith(s));
  return suffix ? `app-${alarmName.slice(0, -suffix.length)}` : undefined;
}

function alarmNameOf(laneStack: LaneStack, kind: LaneAlarmKind): string | undefined {
  for (const output of ALARM_OUTPUTS[kind]) {
    const name = laneStack.stack.outputs[output];
    if (name) return name;
  }
  return undefined;
}

/** A task's private IP, stable for a stack (awsvpc tasks register by IP). */
function taskIp(stackId: string, index: number): string {
  const h = createHash('sha256').update(stackId).digest();
  return `10.0.${h[0]! % 250}.${10 + ((h[1]! + index) % 240)}`;
}

function withoutKind({ kind: _kind, ...alarm }: SimLaneAlarm): AlarmView {
  return alarm;
}

function isAlarmState(value: string | undefined): value is AlarmState {
  return value === 'OK' || value === 'ALARM' || value === 'INSUFFICIENT_DATA';
}

function parseSettings(hash: Record<string, string>): LaneHealthSettings {
  const settings: LaneHealthSettings = {
    errorRatePercent: Number(hash.errorRate ?? 0),
    unhealthyTargets: Number(hash.unhealthyTargets ?? 0),
    p99Ms: Number(hash.p99Ms ?? DEFAULT_P99_MS),
  };
  if (hash.errorRateChangedAt) settings.errorRateChangedAt = Number(hash.errorRateChangedAt);
  if (hash.unhealthyTargetsChangedAt) settings.unhealthyTargetsChangedAt = Number(hash.unhealthyTargetsChangedAt);
  if (hash.p99MsChangedAt) settings.p99MsChangedAt = Number(hash.p99MsChangedAt);
  return settings;
}

function pairs(flat: string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) record[flat[i]!] = flat[i + 1]!;
  return record;
}

function sameLane(a: SimLaneRef, b: SimLaneRef): boolean {
  return a.service === b.service && a.env === b.env && a.lane === b.lane;
}

function laneId({ service, env, lane }: SimLaneRef): string {
  return `${service}/${env}/${lane}`;
}

function parseLaneId(id: string): SimLaneRef | undefined {
  const [service, env, lane] = id.split('/');
  return service && env && lane ? { service, env, lane } : undefined;
}
