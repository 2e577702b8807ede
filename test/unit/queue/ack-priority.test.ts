// AckPriority: when a burst of Slack requests pauses the workers, when they resume, and that a flood
// that never ends still leaves them time to work. Fake timers drive its checks; the workers are
// recorders of what they were told.
import { AckPriority, type AckPriorityOptions, type PausableWorker } from '../../../src/queue/ack-priority';

class RecordingWorker implements PausableWorker {
  readonly calls: string[] = [];
  async pause(doNotWaitActive?: boolean): Promise<void> {
    this.calls.push(`pause(${String(doNotWaitActive)})`);
  }
  async resume(): Promise<void> {
    this.calls.push('resume');
  }
}

const OPTIONS = { burstRequests: 5, windowMs: 100, maxPauseMs: 1_000, minRunMs: 250 } as const;

let workers: RecordingWorker[];
let pauses: number[];

function priority(options: Partial<AckPriorityOptions> = {}): AckPriority {
  return new AckPriority(() => workers, { ...OPTIONS, now: () => Date.now(), onPauseEnded: (ms) => pauses.push(ms), ...options });
}

/** `n` requests, `gapMs` apart (the clock moves between them). */
function requests(ack: AckPriority, n: number, gapMs: number): void {
  for (let i = 0; i < n; i++) {
    if (i > 0) jest.advanceTimersByTime(gapMs);
    ack.requestArrived();
  }
}

beforeEach(() => {
  jest.useFakeTimers({ now: 1_000_000 });
  workers = [new RecordingWorker(), new RecordingWorker()];
  pauses = [];
});
afterEach(() => jest.useRealTimers());

test('requests slower than a burst never pause the workers', () => {
  const ack = priority();
  // 5 requests in 100 ms make a burst; these take 120 ms for any 5 in a row.
  requests(ack, 50, 30);
  expect(ack.paused).toBe(false);
  expect(workers[0]!.calls).toEqual([]);
  ack.stop();
});

test('a burst pauses every worker without waiting for its running jobs, and they resume once it is over', () => {
  const ack = priority();
  requests(ack, 4, 10);
  expect(ack.paused).toBe(false);
  ack.requestArrived(); // the 5th within 100 ms
  expect(ack.paused).toBe(true);
  expect(workers.map((w) => w.calls)).toEqual([['pause(true)'], ['pause(true)']]);

  // No more requests: the burst is over once its 5th-newest request (the first, 40 ms before the
  // pause) is older than the window; checked every window / 4.
  jest.advanceTimersByTime(150);
  expect(ack.paused).toBe(false);
  expect(workers.map((w) => w.calls)).toEqual([
    ['pause(true)', 'resume'],
    ['pause(true)', 'resume'],
  ]);
  expect(pauses).toHaveLength(1);
  expect(pauses[0]).toBeGreaterThan(100 - 40);
  expect(pauses[0]).toBeLessThanOrEqual(100 - 40 + 25);
  ack.stop();
});

test('a flood that never ends pauses at most maxPauseMs at a time, with at least minRunMs of work between', () => {
  const ack = priority();
  // 200 requests a second for 5 s.
  const log: Array<{ at: number; paused: boolean }> = [];
  const start = Date.now();
  for (let t = 0; t < 5_000; t += 5) {
    ack.requestArrived();
    log.push({ at: Date.now() - start, paused: ack.paused });
    jest.advanceTimersByTime(5);
  }
  ack.stop();
  // Runs of paused / working time, in ms.
  const runs: Array<{ paused: boolean; ms: number }> = [];
  for (const entry of log) {
    const last = runs.at(-1);
    if (last && last.paused === entry.paused) last.ms += 5;
    else runs.push({ paused: entry.paused, ms: 5 });
  }
  const pausedRuns = runs.filter((r) => r.paused);
  const workingRuns = runs.slice(1, -1).filter((r) => !r.paused); // the first and last may be cut short
  expect(pausedRuns.length).toBeGreaterThanOrEqual(3);
  for (const run of pausedRuns) expect(run.ms).toBeLessThanOrEqual(OPTIONS.maxPauseMs + 25);
  for (const run of workingRuns) expect(run.ms).toBeGreaterThanOrEqual(OPTIONS.minRunMs);
  // Every pause ended with one resume per worker, and was reported.
  const resumes = workers[0]!.calls.filter((c) => c === 'resume').length;
  expect(resumes).toBe(pauses.length);
  expect(workers[1]!.calls).toEqual(workers[0]!.calls);
});

test('a pause ends at its longest even when the burst window is longer (checked often enough for both)', () => {
  const ack = priority({ windowMs: 60_000, maxPauseMs: 400 });
  requests(ack, 5, 1);
  expect(ack.paused).toBe(true);
  jest.advanceTimersByTime(399);
  expect(ack.paused).toBe(true);
  jest.advanceTimersByTime(100);
  expect(ack.paused).toBe(false);
  expect(pauses).toHaveLength(1);
  expect(pauses[0]).toBeGreaterThanOrEqual(400);
  expect(pauses[0]).toBeLessThanOrEqual(500);
  ack.stop();
});

test('counts the time paused, the pause under way included', () => {
  const ack = priority();
  requests(ack, 5, 1);
  jest.advanceTimersByTime(50);
  expect(ack.pausedMs()).toBe(50);
  jest.advanceTimersByTime(200);
  expect(ack.paused).toBe(false);
  const ended = ack.pausedMs();
  expect(ended).toBe(pauses[0]);
  jest.advanceTimersByTime(1_000);
  expect(ack.pausedMs()).toBe(ended);
  ack.stop();
});

test('once stopped it neither pauses nor resumes (the workers are being closed)', () => {
  const ack = priority();
  requests(ack, 5, 10);
  expect(ack.paused).toBe(true);
  ack.stop();
  jest.advanceTimersByTime(5_000);
  requests(ack, 20, 1);
  expect(workers[0]!.calls).toEqual(['pause(true)']);
  expect(pauses).toEqual([]);
});

test('workers that start after the first burst are paused by the next one', () => {
  const ack = priority();
  const late = new RecordingWorker();
  requests(ack, 5, 1);
  jest.advanceTimersByTime(OPTIONS.maxPauseMs + OPTIONS.minRunMs);
  workers.push(late);
  requests(ack, 5, 1);
  expect(late.calls).toEqual(['pause(true)']);
  ack.stop();
});

test('refuses a burst of fewer than two requests', () => {
  expect(() => priority({ burstRequests: 1 })).toThrow(/at least 2/);
});
