// AWS calls of the alarm watch's safety net, per lane per minute, at 1,000 lanes. `npm run bench`
// (after the ack-latency bench) or `npm run bench:alarms`.
//
// The real AlarmWatch (src/alarms/alarm-watch.ts) over the real Redis (its own key prefix, deleted
// at the end), with a counting AlarmsPort that plays a CloudWatch account: 1,000 lanes with three
// alarms each (the lane template's), plus 500 alarms of other owners, all answered the way
// DescribeAlarms answers (100 per page, by name in batches of 100, or by state). Over ten simulated
// minutes (one pass a minute, as scheduled) a few lanes' alarms fire and clear, so the passes also
// do their by-name reads and post notices (to a narrator that only counts).
//
// Side by side in the same run, on the same account and the same changes: the pass lanebot makes
// (every alarm in ALARM by state, then by name only those that left ALARM) and the plain batched
// pass (every lane alarm by name, 100 names a call), which is what the count would be without the
// by-state listing. Target: ≤ 0.02 calls per lane per minute.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { Redis } from 'ioredis';
import { AlarmWatch } from '../src/alarms/alarm-watch';
import type { ThreadNarrator } from '../src/chat/thread-narrator';
import type { AlarmState, AlarmStates as AlarmStatesView, AlarmView, AlarmsPort } from '../src/cloud/alarms.port';
import type { StacksPort } from '../src/cloud/stacks.port';
import { parseConfig } from '../src/config';
import { deleteKeysWithPrefix, RedisKeys } from '../src/state/keys';
import { AlarmStates } from '../src/state/alarm-states';
import { LaneRegistry } from '../src/state/lane-registry';
import { OperationStore } from '../src/state/operation-store';

const LANES = Number(process.env.BENCH_LANES ?? 1000);
const FOREIGN_ALARMS = 500;
const MINUTES = 10;
const TARGET = 0.02;
const PAGE = 100;
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SUFFIXES = ['5xx-rate', 'unhealthy-hosts', 'tasks-below-desired'] as const;

/** A CloudWatch account whose DescribeAlarms calls are counted as the API would bill them (pages). */
class CountingAlarms implements AlarmsPort {
  calls = 0;
  private readonly alarms = new Map<string, AlarmView>();

  set(name: string, state: AlarmState, at: number): void {
    this.alarms.set(name, { name, state, reason: `${state} by the bench`, updatedAt: at, value: state === 'ALARM' ? 5 : 0, threshold: 1 });
  }

  async alarmStates(alarmNames: string[]): Promise<AlarmStatesView> {
    const names = [...new Set(alarmNames)];
    this.calls += Math.ceil(names.length / PAGE);
    const found = names.flatMap((name) => this.alarms.get(name) ?? []);
    return { alarms: found, missing: names.filter((name) => !this.alarms.has(name)) };
  }

  async alarmsInState(state: AlarmState): Promise<AlarmView[]> {
    const listed = [...this.alarms.values()].filter((a) => a.state === state);
    this.calls += Math.max(1, Math.ceil(listed.length / PAGE));
    return listed;
  }
}

const laneRef = (i: number) => ({ service: `svc-${String(i % 10).padStart(2, '0')}`, env: 'dev', lane: `lane-${String(i).padStart(4, '0')}` });
const alarmName = (i: number, suffix: string) => {
  const { service, env, lane } = laneRef(i);
  return `${service}-${env}-${lane}-${suffix}`;
};

async function main(): Promise<void> {
  const prefix = `bench-${randomUUID()}`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const keys = new RedisKeys(prefix);
  const operations = new OperationStore(redis, keys);
  const lanes = new LaneRegistry(redis, keys, operations);
  const account = new CountingAlarms();
  let now = Date.UTC(2026, 11, 1, 9, 0, 0);
  let posted = 0;
  const narrator = { say: async () => void posted++ } as unknown as ThreadNarrator;
  const stacks = { describeStack: async () => undefined } as unknown as StacksPort;
  const config = parseConfig(
    `services:\n${Array.from({ length: 10 }, (_, s) => `  svc-${String(s).padStart(2, '0')}: {}`).join('\n')}\nenvironments:\n  dev: {}\nchannels:\n${Array.from({ length: 10 }, (_, s) => `  C0SVC${String(s).padStart(2, '0')}: { service: svc-${String(s).padStart(2, '0')}, env: dev }`).join('\n')}\n`,
  );
  const watch = new AlarmWatch({
    states: new AlarmStates(redis, keys),
    lanes,
    operations,
    narrator,
    cloud: { alarms: account, stacks },
    config,
    clock: { now: () => now },
    logger: pino({ level: 'silent' }),
    timeScale: 1,
  });

  try {
    // 1,000 lanes with their recorded resources (as the health check after a deploy leaves them).
    const setUp = redis.pipeline();
    for (let i = 0; i < LANES; i++) {
      const ref = laneRef(i);
      setUp.hset(keys.lane(ref), 'state', 'active', 'lastActivityAt', String(now));
      setUp.zadd(keys.lanesByActivity, now, `${ref.service}/${ref.env}/${ref.lane}`);
    }
    await setUp.exec();
    for (let i = 0; i < LANES; i++) {
      const ref = laneRef(i);
      await lanes.recordResources(ref, {
        stackName: `app-${ref.service}-${ref.env}-${ref.lane}`,
        region: 'us-east-1',
        alarms: { errorRate: alarmName(i, SUFFIXES[0]), unhealthyHosts: alarmName(i, SUFFIXES[1]), runningTasks: alarmName(i, SUFFIXES[2]) },
      });
      for (const suffix of SUFFIXES) account.set(alarmName(i, suffix), 'OK', now - 3_600_000);
    }
    for (let i = 0; i < FOREIGN_ALARMS; i++) account.set(`someone-else-${i}`, i % 50 === 0 ? 'ALARM' : 'OK', now - 3_600_000);

    // The same ten minutes of changes, replayed for each way of polling.
    const changesAt = (minute: number): [number, AlarmState][] => {
      // Lanes 7, 107, … fire at minute 2 and clear at minute 6; lane 500's 5xx flaps every minute.
      const out: [number, AlarmState][] = [];
      if (minute === 2) for (let i = 7; i < LANES; i += 100) out.push([i, 'ALARM']);
      if (minute === 6) for (let i = 7; i < LANES; i += 100) out.push([i, 'OK']);
      if (minute >= 3 && LANES > 500) out.push([500, minute % 2 === 0 ? 'ALARM' : 'OK']);
      return out;
    };

    const results: { name: string; calls: number; perLanePerMinute: number; notices: number; ms: number }[] = [];
    for (const mode of ['lanebot pass (by state, then by name)', 'plain batched by name'] as const) {
      // Reset the account and lanebot's memory of it.
      for (let i = 0; i < LANES; i++) for (const suffix of SUFFIXES) account.set(alarmName(i, suffix), 'OK', now - 3_600_000);
      await redis.del(keys.alarmFolds, keys.alarmsAlarming);
      const stateKeys = await redis.keys(`${prefix}:alarm:*`);
      if (stateKeys.length > 0) await redis.del(...stateKeys);
      account.calls = 0;
      posted = 0;
      const started = performance.now();
      for (let minute = 1; minute <= MINUTES; minute++) {
        now += 60_000;
        for (const [i, state] of changesAt(minute)) account.set(alarmName(i, SUFFIXES[0]), state, now - 30_000);
        if (mode === 'plain batched by name') {
          const names = Array.from({ length: LANES }, (_, i) => SUFFIXES.map((s) => alarmName(i, s))).flat();
          const { alarms } = await account.alarmStates(names);
          for (const alarm of alarms) {
            await watch.handle({ alarmName: alarm.name, state: alarm.state, at: alarm.updatedAt, reason: alarm.reason, value: alarm.value, threshold: alarm.threshold });
          }
          await watch.flushDue();
        } else {
          await watch.pollOnce();
        }
      }
      const ms = performance.now() - started;
      results.push({ name: mode, calls: account.calls, perLanePerMinute: account.calls / LANES / MINUTES, notices: posted, ms });
    }

    console.log(`\nalarm safety net: ${LANES} lanes × ${SUFFIXES.length} alarms (+${FOREIGN_ALARMS} alarms of others), ${MINUTES} passes (one a minute)\n`);
    console.log('| pass | DescribeAlarms calls | calls per lane per minute | notices posted | Redis+CPU time per pass |');
    console.log('|---|---:|---:|---:|---:|');
    for (const r of results) {
      console.log(`| ${r.name} | ${r.calls} | ${r.perLanePerMinute.toFixed(4)} | ${r.notices} | ${(r.ms / MINUTES).toFixed(0)} ms |`);
    }
    const [ours, plain] = results as [(typeof results)[0], (typeof results)[0]];
    console.log(`\nratio lanebot / plain batched: ${(ours.calls / plain.calls).toFixed(3)}`);
    console.log(`target ≤ ${TARGET} calls per lane per minute: ${ours.perLanePerMinute <= TARGET ? 'PASS' : 'FAIL'} (${ours.perLanePerMinute.toFixed(4)})`);
    if (ours.notices !== plain.notices) console.log(`NOTE: the two passes posted different notice counts (${ours.notices} vs ${plain.notices})`);
  } finally {
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
