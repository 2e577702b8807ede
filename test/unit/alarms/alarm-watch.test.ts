// AlarmWatch with fakes at its edges (the alarms port, the stacks port, the event feed, the
// narrator, all counting what they are asked) and the real Redis behind it (AlarmStates,
// LaneRegistry, OperationStore), each test under its own key prefix.
import pino from 'pino';
import { AlarmWatch, DISCOVER_PER_PASS, FOLD_WINDOW_MS, type AlarmWatchDeps } from '../../../src/alarms/alarm-watch';
import type { AlarmEventsPort, AlarmStateChange } from '../../../src/cloud/alarm-events.port';
import type { AlarmState, AlarmStates as AlarmStatesAnswer, AlarmView, AlarmsPort } from '../../../src/cloud/alarms.port';
import type { StackView } from '../../../src/cloud/stacks.port';
import type { ThreadEvent } from '../../../src/chat/messages';
import { parseConfig } from '../../../src/config';
import type { LaneResources } from '../../../src/domain/lane-resources';
import type { LaneRef } from '../../../src/domain/names';
import { AlarmStates } from '../../../src/state/alarm-states';
import { RedisKeys } from '../../../src/state/keys';
import { LaneRegistry } from '../../../src/state/lane-registry';
import { OperationStore } from '../../../src/state/operation-store';
import { deployRequest, redisPerTest, T0 } from '../../support/fixtures';
import { waitFor } from '../../support/harness';
import { TEST_CONFIG } from '../../support/test-config';

const MIN = 60_000;
const SCOPE = { service: 'user-api', env: 'dev' };
const CHANNEL = 'C0USERAPIDEV';
const config = parseConfig(TEST_CONFIG);
const silent = pino({ level: 'silent' });

const alarmName = (lane: string, role: '5xx-rate' | 'unhealthy-hosts' | 'tasks-below-desired' = '5xx-rate') => `user-api-dev-${lane}-${role}`;

function resourcesOf(lane: string): LaneResources {
  return {
    stackName: `app-user-api-dev-${lane}`,
    region: 'eu-west-1',
    clusterName: 'dev-cluster',
    serviceName: `user-api-dev-${lane}`,
    alarms: { errorRate: alarmName(lane), unhealthyHosts: alarmName(lane, 'unhealthy-hosts'), runningTasks: alarmName(lane, 'tasks-below-desired') },
  };
}

/** CloudWatch as a map of alarms; counts each kind of question. */
class FakeAlarms implements AlarmsPort {
  readonly alarms = new Map<string, AlarmView>();
  readonly inStateCalls: AlarmState[] = [];
  readonly byNameCalls: string[][] = [];

  set(name: string, state: AlarmState, at: number, figures: { value?: number; threshold?: number } = {}): void {
    this.alarms.set(name, { name, state, reason: `Threshold Crossed: ${name} is ${state}.`, updatedAt: at, ...figures });
  }

  async alarmStates(alarmNames: string[]): Promise<AlarmStatesAnswer> {
    this.byNameCalls.push([...alarmNames]);
    return {
      alarms: alarmNames.flatMap((name) => this.alarms.get(name) ?? []),
      missing: alarmNames.filter((name) => !this.alarms.has(name)),
    };
  }

  async alarmsInState(state: AlarmState): Promise<AlarmView[]> {
    this.inStateCalls.push(state);
    return [...this.alarms.values()].filter((alarm) => alarm.state === state);
  }
}

/** What the narrator was asked to say (it queues; this only records). */
interface Said {
  operationId: string;
  entryId: string;
  event: ThreadEvent;
}

const db = redisPerTest();
let now: number;
let keys: RedisKeys;
let operations: OperationStore;
let lanes: LaneRegistry;
let states: AlarmStates;
let alarms: FakeAlarms;
let said: Said[];
/** Makes the narrator throw for texts that match (a Redis failure while queueing, say). */
let narratorFailsFor: RegExp | undefined;
let describedStacks: string[];
let describeStack: (stackName: string) => Promise<StackView | undefined>;

beforeEach(() => {
  now = T0;
  keys = new RedisKeys(db.prefix);
  operations = new OperationStore(db.redis, keys);
  lanes = new LaneRegistry(db.redis, keys, operations);
  states = new AlarmStates(db.redis, keys);
  alarms = new FakeAlarms();
  said = [];
  narratorFailsFor = undefined;
  describedStacks = [];
  describeStack = async () => undefined;
});

function watch(overrides: Partial<AlarmWatchDeps> = {}): AlarmWatch {
  return new AlarmWatch({
    states,
    lanes,
    operations,
    narrator: {
      say: async (operationId, entryId, event) => {
        if (narratorFailsFor && event.kind === 'note' && narratorFailsFor.test(event.text)) throw new Error('Redis went away while queueing the reply');
        said.push({ operationId, entryId, event });
      },
    },
    cloud: {
      alarms,
      stacks: {
        describeStack: async (stackName) => {
          describedStacks.push(stackName);
          return describeStack(stackName);
        },
      },
    },
    config,
    clock: { now: () => now },
    logger: silent,
    timeScale: 1,
    ...overrides,
  });
}

/**
 * A lane of user-api/dev whose deploy succeeded and has a thread (its home), optionally with its
 * resources recorded (as the verify step does). Returns the lane and its deploy's id.
 */
async function deployedLane(lane: string, options: { resources?: boolean } = {}): Promise<{ ref: LaneRef; homeId: string }> {
  const ref = { ...SCOPE, lane };
  const request = deployRequest({ ...ref, channel: CHANNEL, requestedAt: now });
  expect(await operations.create(request)).toBe(true);
  await lanes.admit((await operations.get(request.id))!, 'newest-wins', now);
  await operations.update(request.id, { rootTs: '1767607200.000100' });
  await operations.transition(request.id, ['starting'], 'succeeded', { finishedAt: now });
  if (options.resources ?? true) await lanes.recordResources(ref, resourcesOf(lane));
  return { ref, homeId: request.id };
}

const notes = () => said.map((s) => ({ operationId: s.operationId, entryId: s.entryId, ...(s.event as Extract<ThreadEvent, { kind: 'note' }>) }));

describe('AlarmWatch.pollOnce', () => {
  it('makes one listing call when no alarm left ALARM, and reads nothing by name', async () => {
    await deployedLane('gray');
    await deployedLane('blue');
    for (const lane of ['gray', 'blue']) for (const name of Object.values(resourcesOf(lane).alarms)) alarms.set(name, 'OK', T0 - 60 * MIN);
    // Someone else's alarm in ALARM: listed, but it belongs to no lane.
    alarms.set('billing-db-cpu', 'ALARM', T0 - 5 * MIN, { value: 97, threshold: 80 });
    const w = watch();

    expect(await w.pollOnce()).toEqual({ calls: 1, lanes: 2, discovered: 0, changes: 0, sent: 0 });
    now += MIN;
    expect(await w.pollOnce()).toEqual({ calls: 1, lanes: 2, discovered: 0, changes: 0, sent: 0 });

    expect(alarms.inStateCalls).toEqual(['ALARM', 'ALARM']);
    expect(alarms.byNameCalls).toEqual([]);
    expect(said).toEqual([]);
    expect(await states.alarming()).toEqual([]);
  });

  it('posts what the listing shows in ALARM, then reads by name only the alarms that left it', async () => {
    const gray = await deployedLane('gray');
    const blue = await deployedLane('blue');
    alarms.set(alarmName('gray'), 'ALARM', T0 - MIN, { value: 4.2, threshold: 1 });
    alarms.set(alarmName('blue', 'unhealthy-hosts'), 'ALARM', T0 - 2 * MIN, { value: 1, threshold: 0 });
    alarms.set(alarmName('gray', 'unhealthy-hosts'), 'OK', T0 - 60 * MIN);
    alarms.set('billing-db-cpu', 'ALARM', T0 - 5 * MIN);
    const w = watch();

    expect(await w.pollOnce()).toMatchObject({ calls: 1, changes: 2, sent: 2 });
    expect(notes()).toEqual([
      { operationId: gray.homeId, entryId: `alarm:${alarmName('gray')}:${T0 - MIN}:1`, kind: 'note', broadcast: true, text: expect.stringContaining('4.2 % &gt; 1 % on lane *gray*') },
      { operationId: blue.homeId, entryId: `alarm:${alarmName('blue', 'unhealthy-hosts')}:${T0 - 2 * MIN}:1`, kind: 'note', broadcast: true, text: expect.stringContaining('1 unhealthy host on lane *blue*') },
    ]);
    expect(notes()[0]!.text).toContain('https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/user-api-dev-gray-5xx-rate');

    // Still in ALARM a minute later: the same listing, nothing new, nothing read by name.
    now += MIN;
    expect(await w.pollOnce()).toMatchObject({ calls: 1, changes: 0, sent: 0 });
    expect(alarms.byNameCalls).toEqual([]);

    // gray's 5xx alarm cleared: the listing no longer has it; only it is read by name.
    alarms.set(alarmName('gray'), 'OK', T0 + 3 * MIN, { value: 0.2, threshold: 1 });
    now = T0 + 12 * MIN; // past the fold window of the first message
    expect(await w.pollOnce()).toMatchObject({ calls: 2, changes: 1, sent: 1 });
    expect(alarms.byNameCalls).toEqual([[alarmName('gray')]]);
    expect(notes()[2]).toEqual({
      operationId: gray.homeId,
      entryId: `alarm:${alarmName('gray')}:${T0 + 3 * MIN}:2`,
      kind: 'note',
      broadcast: false,
      text: expect.stringMatching(/5xx rate.* on lane \*gray\* cleared after 4 min\.$/),
    });

    // Next pass: the cleared alarm is no longer "alarming", so nothing is read by name again.
    now += MIN;
    expect(await w.pollOnce()).toMatchObject({ calls: 1, sent: 0 });
    expect(alarms.byNameCalls).toHaveLength(1);
    expect(alarms.inStateCalls).toEqual(['ALARM', 'ALARM', 'ALARM', 'ALARM']);
    expect(await states.alarming()).toEqual([alarmName('blue', 'unhealthy-hosts')]);
  });

  it('forgets an alarm CloudWatch no longer knows (its lane stack was deleted)', async () => {
    await deployedLane('gray');
    alarms.set(alarmName('gray'), 'ALARM', T0, { value: 3, threshold: 1 });
    const w = watch();
    await w.pollOnce();
    expect(said).toHaveLength(1);

    alarms.alarms.delete(alarmName('gray'));
    now += MIN;
    expect(await w.pollOnce()).toMatchObject({ calls: 2, changes: 0, sent: 0 });
    expect(alarms.byNameCalls).toEqual([[alarmName('gray')]]);
    expect(await states.alarming()).toEqual([]);
    expect(await lanes.laneOfAlarm(alarmName('gray'))).toBeUndefined();
    expect(await db.redis.exists(keys.alarmState(alarmName('gray')))).toBe(0);

    now += MIN;
    await w.pollOnce();
    expect(alarms.byNameCalls).toHaveLength(1);
    expect(said).toHaveLength(1);
  });

  it('reads the stack outputs of lanes without recorded resources, a bounded number per pass', async () => {
    const extra = 5;
    const names = Array.from({ length: DISCOVER_PER_PASS + extra }, (_, i) => `l${String(i).padStart(2, '0')}`);
    for (const lane of names) {
      await deployedLane(lane, { resources: false });
      now += 1000; // the index orders lanes by activity
    }
    await deployedLane('known'); // has resources: never read
    let flaky = true;
    describeStack = async (stackName) => {
      const lane = stackName.replace('app-user-api-dev-', '');
      if (lane === 'l03') return undefined; // no stack (a lane whose create failed long ago)
      if (lane === 'l07' && flaky) {
        flaky = false;
        throw new Error('Rate exceeded');
      }
      const r = resourcesOf(lane);
      return {
        stackName,
        stackId: `arn:aws:cloudformation:eu-west-1:123456789012:stack/${stackName}/1`,
        status: 'UPDATE_COMPLETE',
        parameters: {},
        tags: {},
        outputs: { ServiceName: r.serviceName!, ErrorRateAlarmName: r.alarms.errorRate!, UnhealthyHostsAlarmName: r.alarms.unhealthyHosts!, RunningTasksAlarmName: r.alarms.runningTasks! },
      };
    };
    const w = watch();

    const first = await w.pollOnce();
    expect(first).toMatchObject({ lanes: names.length + 1, discovered: DISCOVER_PER_PASS });
    expect(describedStacks).toEqual(names.slice(0, DISCOVER_PER_PASS).map((lane) => `app-user-api-dev-${lane}`));
    expect(await lanes.laneOfAlarm(alarmName('l00'))).toEqual({ ...SCOPE, lane: 'l00' });
    expect(await lanes.resources({ ...SCOPE, lane: 'l00' })).toMatchObject({ region: 'eu-west-1', serviceName: 'user-api-dev-l00' });
    // The missing stack is recorded as a lane without alarms, so it is not read each pass.
    expect(await lanes.resources({ ...SCOPE, lane: 'l03' })).toEqual({ stackName: 'app-user-api-dev-l03', alarms: {} });
    // The one that failed is not recorded: tried again next pass.
    expect(await lanes.resources({ ...SCOPE, lane: 'l07' })).toBeUndefined();

    describedStacks = [];
    const second = await w.pollOnce();
    expect(second.discovered).toBe(extra + 1);
    expect(describedStacks.sort()).toEqual(['l07', ...names.slice(DISCOVER_PER_PASS)].map((lane) => `app-user-api-dev-${lane}`).sort());

    describedStacks = [];
    expect((await w.pollOnce()).discovered).toBe(0);
    expect(describedStacks).toEqual([]);
  });

  it('opens one new thread for a lane without one, whichever of its alarms comes first', async () => {
    const gray = await deployedLane('gray');
    await db.redis.del(keys.operation(gray.homeId)); // its operations expired long ago
    alarms.set(alarmName('gray', 'unhealthy-hosts'), 'ALARM', T0 - MIN, { value: 2, threshold: 0 });
    alarms.set(alarmName('gray', 'tasks-below-desired'), 'ALARM', T0 - MIN, { value: 2, threshold: 0 });
    const w = watch();

    expect(await w.pollOnce()).toMatchObject({ sent: 2 });

    const threads = new Set(said.map((s) => s.operationId));
    expect(threads.size).toBe(1);
    const [threadId] = threads;
    expect(await operations.get(threadId!)).toMatchObject({ kind: 'lane-thread', ...SCOPE, lane: 'gray', channel: CHANNEL, status: 'succeeded' });
    expect((await lanes.get(gray.ref))?.home?.id).toBe(threadId);
  });
});

/** An event feed that hands out the batches given, then nothing; records what was acknowledged. */
class FakeEvents implements AlarmEventsPort {
  readonly acknowledged: string[][] = [];
  readonly receives: { maxMessages: number; waitSeconds: number; signal?: AbortSignal }[] = [];
  constructor(private readonly batches: AlarmStateChange[][]) {}

  async receive(maxMessages: number, waitSeconds: number, signal?: AbortSignal): Promise<AlarmStateChange[]> {
    this.receives.push({ maxMessages, waitSeconds, signal });
    return this.batches.shift() ?? [];
  }

  async acknowledge(receipts: string[]): Promise<void> {
    this.acknowledged.push([...receipts]);
  }
}

function change(name: string, state: AlarmState, at: number, receipt: string): AlarmStateChange {
  return { alarmName: name, state, at, reason: `${name} is ${state}`, value: state === 'ALARM' ? 5 : 0, threshold: 1, receipt };
}

describe('AlarmWatch.consumeOnce', () => {
  it('acknowledges the changes it handled and leaves the one whose handling threw to come back', async () => {
    const gray = await deployedLane('gray');
    const blue = await deployedLane('blue');
    const events = new FakeEvents([
      [change(alarmName('gray'), 'ALARM', T0, 'r-gray'), change(alarmName('blue'), 'ALARM', T0, 'r-blue'), change('billing-db-cpu', 'ALARM', T0, 'r-other')],
    ]);
    // CloudWatch agrees (the safety net below reads it).
    alarms.set(alarmName('gray'), 'ALARM', T0, { value: 5, threshold: 1 });
    alarms.set(alarmName('blue'), 'ALARM', T0, { value: 5, threshold: 1 });
    narratorFailsFor = /lane \*blue\*/;
    const w = watch({ cloud: { alarms, stacks: { describeStack }, alarmEvents: events } });

    await expect(w.consumeOnce(0)).rejects.toThrow('Redis went away');

    expect(events.receives).toEqual([{ maxMessages: 10, waitSeconds: 0, signal: undefined }]);
    // gray's was posted and the foreign one dropped: both acknowledged; blue's comes back.
    expect(events.acknowledged).toEqual([['r-gray', 'r-other']]);
    expect(said.map((s) => s.operationId)).toEqual([gray.homeId]);

    // The feed delivers blue's change again: a duplicate by now, acknowledged. What blue's thread
    // is owed was claimed before the failure, and the safety net's pass sends it.
    narratorFailsFor = undefined;
    const again = new FakeEvents([[change(alarmName('blue'), 'ALARM', T0, 'r-blue-2')]]);
    const w2 = watch({ cloud: { alarms, stacks: { describeStack }, alarmEvents: again } });
    expect(await w2.consumeOnce(0)).toBe(1);
    expect(again.acknowledged).toEqual([['r-blue-2']]);
    expect(await w2.pollOnce()).toMatchObject({ sent: 1 });
    expect(said.map((s) => [s.operationId, s.entryId])).toEqual([
      [gray.homeId, `alarm:${alarmName('gray')}:${T0}:1`],
      [blue.homeId, `alarm:${alarmName('blue')}:${T0}:1`],
    ]);
  });

  it('does nothing without an event feed', async () => {
    const w = watch();
    expect(await w.consumeOnce(0)).toBe(0);
    w.startConsuming();
    await w.stop();
  });
});

describe('AlarmWatch.startConsuming and stop', () => {
  it('ends promptly: stop aborts the long poll in progress', async () => {
    const receives: AbortSignal[] = [];
    let acknowledged = 0;
    const events: AlarmEventsPort = {
      // Like the SDK: waits for messages until the signal aborts, then rejects.
      receive: (_max, _wait, signal) =>
        new Promise((_resolve, reject) => {
          receives.push(signal!);
          signal!.addEventListener('abort', () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })), { once: true });
        }),
      acknowledge: async () => {
        acknowledged++;
      },
    };
    const w = watch({ cloud: { alarms, stacks: { describeStack }, alarmEvents: events }, eventWaitSeconds: 20 });

    w.startConsuming();
    w.startConsuming(); // a second start is a no-op: one loop
    await waitFor('the long poll to start', () => receives.length === 1);
    await w.stop();

    expect(receives).toHaveLength(1);
    expect(receives[0]!.aborted).toBe(true);
    expect(acknowledged).toBe(0);
  });

  it('ends promptly while backing off after a failed receive', async () => {
    let receives = 0;
    let failureLogged!: () => void;
    const logged = new Promise<void>((resolve) => (failureLogged = resolve));
    // pino writes synchronously to this stream: once the line is here, the loop is in its back-off wait.
    const logger = pino({ level: 'warn' }, { write: (line: string) => (line.includes('reading alarm events failed') ? failureLogged() : undefined) });
    const events: AlarmEventsPort = {
      receive: async () => {
        receives++;
        throw new Error('SQS is unreachable');
      },
      acknowledge: async () => undefined,
    };
    const w = watch({ cloud: { alarms, stacks: { describeStack }, alarmEvents: events }, logger });

    // The back-off timer never fires by itself: only stop() can end the wait.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      w.startConsuming();
      await logged;
      await w.stop();
    } finally {
      jest.useRealTimers();
    }
    expect(receives).toBe(1);
  });
});

describe('AlarmWatch thread entries', () => {
  it('says a notice a dead process left unacknowledged again under the same entry id (the narrator drops the copy)', async () => {
    const gray = await deployedLane('gray');
    const name = alarmName('gray');
    // The first process claimed the notice and died before its ack.
    expect(await states.observe({ alarmName: name, state: 'ALARM', at: T0, reason: 'x', value: 5, threshold: 1 }, now, FOLD_WINDOW_MS)).toBe('due');
    const claimed = await states.claim(name, now);
    now += MIN;
    expect(await watch().flushDue()).toBe(1);
    expect(said).toEqual([{ operationId: gray.homeId, entryId: `alarm:${name}:${T0}:${claimed!.seq}`, event: expect.objectContaining({ kind: 'note', broadcast: true }) }]);
    expect(await watch().flushDue()).toBe(0);
  });

  it('gives a new change its own entry id, also after the alarm\'s record expired (months without a change)', async () => {
    await deployedLane('gray');
    const name = alarmName('gray');
    const w = watch();
    await w.handle({ alarmName: name, state: 'ALARM', at: T0, reason: 'x', value: 5, threshold: 1 });
    now = T0 + 20 * MIN;
    await w.handle({ alarmName: name, state: 'OK', at: T0 + 15 * MIN, reason: 'x' });
    // 120 days pass without a change: the record expires (Redis drops it; here, by hand).
    await db.redis.del(keys.alarmState(name));
    now = T0 + 130 * 24 * 60 * MIN;
    expect(await w.handle({ alarmName: name, state: 'ALARM', at: now - MIN, reason: 'x', value: 9, threshold: 1 })).toBe('due');

    const ids = said.map((s) => s.entryId);
    expect(ids).toHaveLength(3);
    // The thread's outbox remembers entry ids: a reused one would be dropped as a copy.
    expect(new Set(ids).size).toBe(3);
  });
});

describe('AlarmWatch fold window', () => {
  it('is in the cloud\'s time: SIM_TIME_SCALE divides it', async () => {
    const gray = await deployedLane('gray');
    const w = watch({ timeScale: 10 });
    const name = alarmName('gray');
    expect(await w.handle({ alarmName: name, state: 'ALARM', at: T0, reason: 'x', value: 5, threshold: 1 })).toBe('due');
    now = T0 + 30_000;
    expect(await w.handle({ alarmName: name, state: 'OK', at: T0 + 20_000, reason: 'x' })).toBe('folded');
    now = T0 + FOLD_WINDOW_MS / 10 - 1;
    expect(await w.flushDue()).toBe(0);
    now = T0 + FOLD_WINDOW_MS / 10;
    expect(await w.flushDue()).toBe(1);
    expect(said.map((s) => s.operationId)).toEqual([gray.homeId, gray.homeId]);
  });
});
