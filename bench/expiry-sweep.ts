// One lane-expiry sweep over 10,000 lanes of which 100 are due: how long it takes and how many Redis
// commands it sends. `npm run bench` (after the alarm bench) or `npm run bench:expiry`.
//
// The real LaneExpiry.sweep() (src/expiry/lane-expiry.ts) and LaneRegistry over the real Redis (its
// own key prefix, deleted at the end). The lanes are written straight into Redis as the registry's
// scripts leave them (lane hash, lanes-by-activity, the expiry index with each lane's base, and for
// a warned lane its warning fields and its member in the warned set), so setting up 10,000 lanes
// takes a second instead of 10,000 deploys. The per-lane work the sweep queues goes to a queueWork
// that only counts: no worker runs, so every timed sweep finds the same lanes due.
//
// Side by side in the same run: 1,000 lanes with 100 due, 10,000 with 100 due, 10,000 with 1,000
// due. The commands are counted on the ioredis connection the registry uses (its sendCommand,
// which pipelines go through too), so other clients of a shared Redis do not blur the count. The
// sweep is O(due lanes) when the second row sends what the first does, and the third ten times that.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { Redis } from 'ioredis';
import type { AuditLog } from '../src/audit/audit-log';
import type { ChatPort } from '../src/chat/chat.port';
import type { ThreadNarrator } from '../src/chat/thread-narrator';
import { parseConfig } from '../src/config';
import { LaneExpiry } from '../src/expiry/lane-expiry';
import type { ExpiryJobData } from '../src/queue/queues';
import { deleteKeysWithPrefix, RedisKeys } from '../src/state/keys';
import { indexMember, LaneRegistry } from '../src/state/lane-registry';
import { OperationStore } from '../src/state/operation-store';

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Timed sweeps per scenario after the first (the median is reported). */
const REPEATS = 5;
const TARGET_MS = 1_000;
const DAY = 86_400_000;
const SERVICES = 10;
const SCENARIOS = [
  { lanes: 1_000, due: 100 },
  { lanes: 10_000, due: 100 },
  { lanes: 10_000, due: 1_000 },
] as const;

const serviceName = (s: number) => `svc-${String(s).padStart(2, '0')}`;
const laneRef = (i: number) => ({ service: serviceName(i % SERVICES), env: 'dev', lane: `lane-${String(i).padStart(5, '0')}` });

/** Counts the commands an ioredis connection sends while `counting` is on, by name. */
function countCommands(redis: Redis): { start(): void; stop(): Map<string, number> } {
  const original = redis.sendCommand.bind(redis);
  let counts: Map<string, number> | undefined;
  redis.sendCommand = ((command, stream) => {
    // A command sent again from the offline queue would count twice; the bench only counts once the
    // connection is ready (it pings first), so every command passes here exactly once.
    if (counts) counts.set(command.name, (counts.get(command.name) ?? 0) + 1);
    return original(command, stream);
  }) as Redis['sendCommand'];
  return {
    start: () => void (counts = new Map()),
    stop: () => {
      const done = counts ?? new Map<string, number>();
      counts = undefined;
      return done;
    },
  };
}

interface Row {
  lanes: number;
  due: number;
  firstMs: number;
  medianMs: number;
  commands: number;
  byName: string;
  candidates: number;
  queued: number;
}

async function scenario(lanesCount: number, dueCount: number, now: number): Promise<Row> {
  const prefix = `bench-${randomUUID()}`;
  const keys = new RedisKeys(prefix);
  // The sweep's connection, counted; set-up goes through its own so it is not.
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const setUpRedis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const counter = countCommands(redis);
  await redis.ping();
  const operations = new OperationStore(redis, keys);
  const lanes = new LaneRegistry(redis, keys, operations);
  const config = parseConfig(
    [
      'services:',
      ...Array.from({ length: SERVICES }, (_, s) => `  ${serviceName(s)}: {}`),
      'environments:',
      '  dev: {}',
      'channels:',
      ...Array.from({ length: SERVICES }, (_, s) => `  C0SVC${String(s).padStart(2, '0')}: { service: ${serviceName(s)}, env: dev }`),
      // The defaults, spelled out: warned after 6 idle days, deleted after 7.
      'expiry: { warnAfter: 6d, deleteAfter: 7d }',
      '',
    ].join('\n'),
  );
  let queued = 0;
  const expiry = new LaneExpiry({
    lanes,
    operations,
    narrator: { say: async () => undefined } as unknown as Pick<ThreadNarrator, 'say'>,
    chat: { post: async () => ({ ts: '0' }) } as unknown as Pick<ChatPort, 'post'>,
    audit: { record: async () => undefined } as unknown as AuditLog,
    config,
    clock: { now: () => now },
    logger: pino({ level: 'silent' }),
    queueWork: async (_data: ExpiryJobData, _jobId: string) => void queued++,
    enqueue: async () => undefined,
    timeScale: 1,
    claimDigest: async () => false,
  });

  try {
    // Due lanes are spread over the index (every lanes/due-th lane). Half of them are newly due for
    // their warning (idle 6 to 7 days); the other half are past their deletion and were warned
    // before (the sweep queues their expire work, and settles their warnings first). The others
    // were active within the last 6 days.
    const step = Math.floor(lanesCount / dueCount);
    const setUp = setUpRedis.pipeline();
    let dueSoFar = 0;
    for (let i = 0; i < lanesCount; i++) {
      const ref = laneRef(i);
      const member = indexMember(ref);
      const due = i % step === 0 && dueSoFar < dueCount;
      let base: number;
      if (!due) base = now - ((i * 7919) % (6 * DAY - 60_000)) - 1;
      else if (dueSoFar++ % 2 === 0) base = now - 6 * DAY - ((i * 104_729) % DAY);
      else base = now - 7 * DAY - 3_600_000 - ((i * 104_729) % DAY);
      const warned = due && base < now - 7 * DAY;
      setUp.hset(keys.lane(ref), 'state', 'active', 'createdAt', String(base - DAY), 'lastActivityAt', String(base), 'lastDeployer', 'U0BENCH', 'homeId', `op-${i}`);
      if (warned) {
        setUp.hset(keys.lane(ref), 'warnedBase', String(base), 'deleteAt', String(base + 7 * DAY), 'warnThread', `op-${i}`, 'warnedAt', String(base + 6 * DAY));
        setUp.sadd(keys.lanesWarned, member);
      }
      setUp.sadd(keys.lanes(ref), ref.lane);
      setUp.zadd(keys.lanesByActivity, base, member);
      setUp.zadd(keys.lanesExpiry, base, member);
    }
    await setUp.exec();

    const timed = async (): Promise<{ ms: number; commands: Map<string, number>; candidates: number; queued: number }> => {
      queued = 0;
      counter.start();
      const started = performance.now();
      const result = await expiry.sweep();
      const ms = performance.now() - started;
      const commands = counter.stop();
      if (result.warn + result.expire !== dueCount) throw new Error(`the sweep found ${result.warn + result.expire} lanes due, not ${dueCount}`);
      return { ms, commands, candidates: result.candidates, queued };
    };
    // The first sweep's commands are not the sweep's own count: on a Redis that has not run these
    // scripts yet (a fresh machine), each script's first EVALSHA comes back NOSCRIPT and ioredis
    // sends it again as EVAL. The repeats are the steady state, so they are what is counted.
    const first = await timed();
    const times: number[] = [];
    let steady: Awaited<ReturnType<typeof timed>> | undefined;
    for (let r = 0; r < REPEATS; r++) {
      const again = await timed();
      steady ??= again;
      if (total(again.commands) !== total(steady.commands)) throw new Error('a repeated sweep sent another number of commands: the set-up is not stable');
      times.push(again.ms);
    }
    if (!steady) throw new Error('REPEATS must be at least 1');
    times.sort((a, b) => a - b);
    return {
      lanes: lanesCount,
      due: dueCount,
      firstMs: first.ms,
      medianMs: times[Math.floor(times.length / 2)]!,
      commands: total(steady.commands),
      byName: [...steady.commands].sort((a, b) => b[1] - a[1]).map(([name, n]) => `${n} ${name}`).join(', '),
      candidates: steady.candidates,
      queued: steady.queued,
    };
  } finally {
    await deleteKeysWithPrefix(setUpRedis, prefix);
    redis.disconnect();
    setUpRedis.disconnect();
  }
}

function total(counts: Map<string, number>): number {
  let n = 0;
  for (const value of counts.values()) n += value;
  return n;
}

async function main(): Promise<void> {
  const now = Date.UTC(2026, 11, 8, 14, 0, 0);
  const rows: Row[] = [];
  for (const { lanes, due } of SCENARIOS) rows.push(await scenario(lanes, due, now));

  console.log(`\nlane expiry: one sweep (LaneExpiry.sweep) on the real Redis; median of ${REPEATS} sweeps after the first\n`);
  console.log('| lanes | due | first sweep | median sweep | Redis commands | by command | lanes read | work queued |');
  console.log('|---:|---:|---:|---:|---:|---|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.lanes.toLocaleString('en')} | ${r.due.toLocaleString('en')} | ${r.firstMs.toFixed(1)} ms | ${r.medianMs.toFixed(1)} ms | ${r.commands} | ${r.byName} | ${r.candidates} | ${r.queued} |`);
  }
  const [small, big, busy] = rows as [Row, Row, Row];
  console.log(`\ncommands, 10,000 lanes / 1,000 lanes (100 due each): ${(big.commands / small.commands).toFixed(2)} (O(due lanes): 1.00)`);
  console.log(`commands, 1,000 due / 100 due (10,000 lanes each): ${(busy.commands / big.commands).toFixed(2)} (O(due lanes): about 10)`);
  const worst = Math.max(big.firstMs, big.medianMs);
  console.log(`target < ${TARGET_MS} ms for 10,000 lanes with 100 due: ${worst < TARGET_MS ? 'PASS' : 'FAIL'} (${worst.toFixed(1)} ms)`);
  console.log(`O(due lanes), not O(all lanes): ${big.commands === small.commands ? 'PASS' : 'FAIL'}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
