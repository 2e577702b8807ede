// The alarm watch: every state change of a lane's alarms (5xx rate, unhealthy hosts, tasks below
// desired) reaches the lane's home thread — ALARM with its figures, broadcast to the channel; the
// clear with how long it lasted.
//
// Two sources, one path (`handle`):
//  - events: when the cloud has an alarm event feed (ALARM_EVENTS_QUEUE_URL on AWS; always in the
//    simulator), a loop long-polls it and acknowledges each message once it is handled, so a change
//    arrives within seconds;
//  - the safety net, once a minute across all lanes (a maintenance job; `pollOnce`): one
//    DescribeAlarms for every alarm of the account in ALARM (paged by 100), plus, by name in batches
//    of 100, only the alarms lanebot last saw in ALARM that are no longer listed. That costs about one
//    call a minute however many lanes there are, instead of one per 100 alarm names.
// Both feed alarm-states.ts, which de-duplicates by alarm and state timestamp across processes and
// folds a flapping alarm into one message per alarm per fold window (10 min).
//
// Where a notice goes: the lane's home thread (its latest operation's thread), else the thread of its
// latest operation that has one, else a new root message in the lane's channel (a `lane-thread`
// record, which then is the lane's home). Alarms of lanes lanebot does not know (other alarms whose
// names end the same way, lanes never verified) are dropped; lanes deployed before lanebot recorded
// their resources are found by reading their stack's outputs, a few per pass.
import type { Logger } from 'pino';
import type { AlarmEventsPort, AlarmStateChange } from '../cloud/alarm-events.port';
import type { AlarmsPort } from '../cloud/alarms.port';
import type { StacksPort } from '../cloud/stacks.port';
import { alarmNoticeText } from '../chat/health-messages';
import { laneHomeThread } from '../chat/lane-home-thread';
import type { ThreadNarrator } from '../chat/thread-narrator';
import type { Clock } from '../clock';
import type { LanebotConfig } from '../config';
import { alarmRoleOf, laneResourcesOf } from '../domain/lane-resources';
import { laneStackName } from '../domain/names';
import { alarmLink } from '../health/lane-health';
import type { AlarmNotice, AlarmStates, Observation } from '../state/alarm-states';
import { parseIndexMember, type LaneRegistry } from '../state/lane-registry';
import type { OperationStore } from '../state/operation-store';

/** At most one message per alarm per this window (in the cloud's time); changes inside it are folded. */
export const FOLD_WINDOW_MS = 10 * 60_000;
/** Lanes without recorded resources whose stack outputs one pass reads. */
export const DISCOVER_PER_PASS = 25;
/** Lanes read from the registry per Redis round trip. */
const LANE_PAGE = 500;

export interface AlarmWatchDeps {
  states: AlarmStates;
  lanes: LaneRegistry;
  operations: OperationStore;
  /** Only what the watch calls (the narrator's outbox), so a test can hand in a recorder. */
  narrator: Pick<ThreadNarrator, 'say'>;
  /** The ports the watch uses (CloudPorts satisfies this); stacks only to read a lane's outputs. */
  cloud: { alarms: AlarmsPort; stacks: Pick<StacksPort, 'describeStack'>; alarmEvents?: AlarmEventsPort };
  config: LanebotConfig;
  clock: Clock;
  logger: Logger;
  /** SIM_TIME_SCALE with CLOUD=sim (the fold window is in the cloud's time), else 1. */
  timeScale: number;
  /** Seconds a receive waits for the first message (SQS allows 20). */
  eventWaitSeconds?: number;
}

export interface PollPass {
  /** DescribeAlarms calls this pass made (each page counts). */
  calls: number;
  /** Lanes whose alarms the pass covered. */
  lanes: number;
  /** Lanes whose resources were read from their stack this pass. */
  discovered: number;
  /** Observations that were changes (due or folded). */
  changes: number;
  /** Notices sent into threads. */
  sent: number;
}

export class AlarmWatch {
  /** Notices this process sent into threads (for the pass figures). */
  private sentCount = 0;
  private consuming?: Promise<void>;
  private abort?: AbortController;

  constructor(private readonly deps: AlarmWatchDeps) {}

  private get foldWindowMs(): number {
    return FOLD_WINDOW_MS / (this.deps.timeScale > 0 ? this.deps.timeScale : 1);
  }

  /** One observed state of one alarm, from either source. */
  async handle(change: Pick<AlarmStateChange, 'alarmName' | 'state' | 'at' | 'reason' | 'value' | 'threshold'>): Promise<Observation | 'unknown'> {
    const ref = await this.deps.lanes.laneOfAlarm(change.alarmName);
    if (!ref) return 'unknown';
    const observation = await this.deps.states.observe(change, this.deps.clock.now(), this.foldWindowMs);
    if (observation === 'due') await this.deliver(change.alarmName);
    if (observation === 'due' || observation === 'folded') {
      this.deps.logger.info({ alarm: change.alarmName, state: change.state, observation, ...ref }, 'lane alarm changed');
    }
    return observation;
  }

  /** Sends what is due for one alarm (claim → say → ack); true when a notice went into a thread. */
  async deliver(alarmName: string): Promise<boolean> {
    const { states, lanes, clock, narrator, logger } = this.deps;
    const notice = await states.claim(alarmName, clock.now());
    if (!notice) return false;
    const ref = await lanes.laneOfAlarm(alarmName);
    const resources = ref && (await lanes.state(ref)) ? await lanes.resources(ref) : undefined;
    if (!ref || !resources) {
      // The lane is gone (deleted with its alarms): nothing to tell, nothing to keep.
      await lanes.forgetAlarm(alarmName);
      await states.forget(alarmName);
      return false;
    }
    const threadId = await laneHomeThread(this.deps, ref, noticeKey(notice));
    if (!threadId) {
      logger.warn({ alarm: alarmName, ...ref }, 'no channel is bound to this lane\'s service and environment; the alarm change is not posted');
      await states.ack(notice, this.foldWindowMs);
      return false;
    }
    const role = alarmRoleOf(resources, alarmName);
    const text = alarmNoticeText(notice, { lane: ref.lane, role, link: alarmLink(resources, alarmName) });
    // Entering ALARM is shown in the channel too: someone must look now. A clear stays in the thread.
    await narrator.say(threadId, noticeKey(notice), { kind: 'note', text, broadcast: notice.state === 'ALARM' });
    await states.ack(notice, this.foldWindowMs);
    this.sentCount++;
    return true;
  }

  /** Sends every notice whose fold window ended (and any a dead process left unsent). */
  async flushDue(): Promise<number> {
    const before = this.sentCount;
    for (const name of await this.deps.states.due(this.deps.clock.now())) await this.deliver(name);
    return this.sentCount - before;
  }

  /** The safety net: one pass across all lanes (see the top of the file). */
  async pollOnce(): Promise<PollPass> {
    const { lanes, states, cloud } = this.deps;
    const pass: PollPass = { calls: 0, lanes: 0, discovered: 0, changes: 0, sent: 0 };
    const sentBefore = this.sentCount;
    pass.lanes = await this.discover(pass);

    const count = (observation: Observation | 'unknown') => {
      if (observation === 'due' || observation === 'folded') pass.changes++;
    };
    // Pages of 100: a listing call per page. Counted as the adapter makes them.
    const inAlarm = await cloud.alarms.alarmsInState('ALARM');
    pass.calls += Math.max(1, Math.ceil(inAlarm.length / 100));
    const listed = new Set<string>();
    for (const alarm of inAlarm) {
      listed.add(alarm.name);
      count(await this.handle({ alarmName: alarm.name, state: alarm.state, at: alarm.updatedAt, reason: alarm.reason, value: alarm.value, threshold: alarm.threshold }));
    }
    // Alarms lanebot saw in ALARM that are not listed any more: they left ALARM; read how.
    const left = (await states.alarming()).filter((name) => !listed.has(name));
    if (left.length > 0) {
      const { alarms, missing } = await cloud.alarms.alarmStates(left);
      pass.calls += Math.ceil(left.length / 100);
      for (const alarm of alarms) {
        count(await this.handle({ alarmName: alarm.name, state: alarm.state, at: alarm.updatedAt, reason: alarm.reason, value: alarm.value, threshold: alarm.threshold }));
      }
      // Deleted alarms (their lane stack is gone): forget them.
      for (const name of missing) {
        await states.forget(name);
        await lanes.forgetAlarm(name);
      }
    }
    await this.flushDue();
    pass.sent = this.sentCount - sentBefore;
    return pass;
  }

  /** Counts the lanes and reads the stack outputs of a few lanes whose resources were never recorded. */
  private async discover(pass: PollPass): Promise<number> {
    const { lanes, cloud, logger } = this.deps;
    let total = 0;
    for (let cursor = 0; ; cursor += LANE_PAGE) {
      const members = await lanes.lanePage(cursor, LANE_PAGE);
      total += members.length;
      if (pass.discovered < DISCOVER_PER_PASS) {
        const resources = await lanes.resourcesOfMany(members);
        for (const [member, known] of resources) {
          if (known || pass.discovered >= DISCOVER_PER_PASS) continue;
          const ref = parseIndexMember(member);
          if (!ref) continue;
          pass.discovered++;
          try {
            const stack = await cloud.stacks.describeStack(laneStackName(ref));
            // A lane whose stack is missing is recorded without resources, so it is not read again each pass.
            await lanes.recordResources(ref, stack ? laneResourcesOf(stack) : { stackName: laneStackName(ref), alarms: {} });
          } catch (error) {
            logger.warn({ err: error, ...ref }, 'could not read the lane stack for its alarms; trying again next pass');
          }
        }
      }
      if (members.length < LANE_PAGE) return total;
    }
  }

  /** Starts the event loop (when the cloud has an event feed); stop() ends it. */
  startConsuming(): void {
    const events = this.deps.cloud.alarmEvents;
    if (!events || this.consuming) return;
    const abort = new AbortController();
    this.abort = abort;
    const wait = this.deps.eventWaitSeconds ?? 20;
    this.consuming = (async () => {
      let failures = 0;
      while (!abort.signal.aborted) {
        try {
          await this.consumeOnce(wait, abort.signal);
          failures = 0;
        } catch (error) {
          if (abort.signal.aborted) break;
          failures++;
          this.deps.logger.warn({ err: error, failures }, 'reading alarm events failed; the once-a-minute poll still sees every change');
          // The back-off ends early when stop() aborts: a stopping bot must not wait out up to 30 s.
          await sleepUnlessAborted(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), abort.signal);
        }
      }
    })();
  }

  /**
   * One receive: handles each change and acknowledges the ones handled. A change whose handling
   * threw is left to come back after its visibility timeout; the others of its batch are still
   * handled and acknowledged (else they would come back with it, again and again, and count their
   * receives towards the dead-letter queue unhandled). The first failure is thrown once the rest is
   * done, so the loop backs off.
   */
  async consumeOnce(waitSeconds: number, signal?: AbortSignal): Promise<number> {
    const events = this.deps.cloud.alarmEvents;
    if (!events) return 0;
    const changes = await events.receive(10, waitSeconds, signal);
    const handled: string[] = [];
    let failure: { error: unknown } | undefined;
    for (const change of changes) {
      try {
        await this.handle(change);
        handled.push(change.receipt);
      } catch (error) {
        this.deps.logger.warn({ err: error, alarm: change.alarmName, state: change.state }, 'handling an alarm event failed; it comes back after its visibility timeout');
        failure ??= { error };
      }
    }
    await events.acknowledge(handled);
    if (failure) throw failure.error;
    return changes.length;
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.consuming;
    this.consuming = undefined;
  }


}

/**
 * Names one notice: the same for a notice sent again after a crash (the narrator then drops the copy),
 * another for every other one. The seq alone is not enough: it starts over at 1 when the alarm's
 * record expires after months without a change, and a thread remembers the entry ids it was sent
 * (a reused id would be dropped as a copy). The state timestamp tells those notices apart.
 */
function noticeKey(notice: AlarmNotice): string {
  return `alarm:${notice.alarmName}:${notice.at}:${notice.seq}`;
}

/** Waits `ms`, or less when `signal` aborts first. */
function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
