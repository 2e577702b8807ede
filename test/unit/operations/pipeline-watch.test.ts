// The pipeline watch against the real Redis and a scripted execution list: what it wakes, and that a
// wake it could not deliver, or a list it could not read, is made good by a later poll.
import pino from 'pino';
import type { PipelineEventsPort, PipelineExecutionChange } from '../../../src/cloud/pipeline-events.port';
import type { ExecutionSummary, PipelinesPort } from '../../../src/cloud/pipelines.port';
import { LanebotError } from '../../../src/errors';
import { executionFingerprint, PipelineWatch } from '../../../src/operations/pipeline-watch';
import { RedisKeys } from '../../../src/state/keys';
import { redisPerTest, T0 } from '../../support/fixtures';

const db = redisPerTest();
const PIPELINE = 'api-staging';

interface Script {
  list: ExecutionSummary[] | Error;
  calls: { pipeline: string; startedSince?: number }[];
  woken: string[];
  /** Operations whose job is busy: waking them fails. */
  busy: Set<string>;
  /** Operations without a job (ended outside their step). */
  gone: Set<string>;
}

function setup(): { watch: PipelineWatch; script: Script; keys: RedisKeys } {
  const script: Script = { list: [], calls: [], woken: [], busy: new Set(), gone: new Set() };
  const keys = new RedisKeys(db.prefix);
  const pipelines: Pick<PipelinesPort, 'listExecutions'> = {
    async listExecutions(pipeline, options) {
      script.calls.push({ pipeline, startedSince: options?.startedSince });
      if (script.list instanceof Error) throw script.list;
      return script.list;
    },
  };
  const watch = new PipelineWatch({
    redis: db.redis,
    keys,
    pipelines,
    wake: async (operationId) => {
      if (script.busy.has(operationId)) throw new Error('the job is active');
      if (script.gone.has(operationId)) return false;
      script.woken.push(operationId);
      return true;
    },
    logger: pino({ level: 'silent' }),
    recheckMs: 60_000,
  });
  return { watch, script, keys };
}

const running = (executionId: string, lastUpdatedAt: number): ExecutionSummary => ({ executionId, status: 'InProgress', startedAt: T0, lastUpdatedAt });

describe('PipelineWatch', () => {
  it('lists each followed pipeline once, back to its oldest start, and wakes only what moved since its read', async () => {
    const { watch, script, keys } = setup();
    const listed = async (executionId: string) => (await db.redis.hget(keys.pipelineListed(PIPELINE), executionId)) ?? '';
    await watch.follow({ pipeline: PIPELINE, executionId: 'e1', operationId: 'op1', since: T0 });
    await watch.follow({ pipeline: PIPELINE, executionId: 'e2', operationId: 'op2', since: T0 + 5_000 });
    // Listed for the first time: both moved since their steps' reads (nothing was listed then).
    script.list = [running('e2', T0), running('e1', T0), running('someone-elses', T0 + 30_000)];
    expect(await watch.pollOnce()).toEqual({ pipelines: 1, executions: 2, woken: 2, failed: 0 });
    expect(script.calls).toEqual([{ pipeline: PIPELINE, startedSince: T0 - 5 * 60_000 }]);
    // Their steps read them: each follow takes what was listed as seen.
    await watch.follow({ pipeline: PIPELINE, executionId: 'e1', operationId: 'op1', since: T0 });
    await watch.follow({ pipeline: PIPELINE, executionId: 'e2', operationId: 'op2', since: T0 + 5_000 });

    script.list = [running('e2', T0), running('e1', T0 + 20_000)];
    expect(await watch.pollOnce()).toMatchObject({ woken: 1 });
    expect(script.woken).toEqual(['op2', 'op1', 'op1']);
    expect(await listed('e1')).toBe(executionFingerprint(running('e1', T0 + 20_000)));
    expect(await listed('e2')).toBe(executionFingerprint(running('e2', T0)));
    expect(await watch.pollOnce()).toMatchObject({ woken: 1 }); // op1 has not read it yet
  });

  it('wakes again on the next poll while the step has not read the change (its job was busy)', async () => {
    const { watch, script } = setup();
    await watch.follow({ pipeline: PIPELINE, executionId: 'e1', operationId: 'op1', since: T0 });
    script.list = [running('e1', T0)];
    script.busy.add('op1');
    expect(await watch.pollOnce()).toMatchObject({ woken: 0 });
    script.busy.clear();
    expect(await watch.pollOnce()).toMatchObject({ woken: 1 });
    // The step read it: nothing more to wake.
    await watch.follow({ pipeline: PIPELINE, executionId: 'e1', operationId: 'op1', since: T0 });
    expect(await watch.pollOnce()).toMatchObject({ woken: 0 });
    expect(script.woken).toEqual(['op1']);
  });

  it('keeps an entry the poll reads back whatever the operation id holds', async () => {
    const { watch, script, keys } = setup();
    await watch.follow({ pipeline: PIPELINE, executionId: 'e1', operationId: 'op "quoted" \\ one', since: T0 + 0.5 });
    expect(JSON.parse((await db.redis.hget(keys.pipelineWatch(PIPELINE), 'e1'))!)).toEqual({ op: 'op "quoted" \\ one', seen: '', since: T0 });
    script.list = [running('e1', T0)];
    expect(await watch.pollOnce()).toMatchObject({ woken: 1 });
    expect(script.woken).toEqual(['op "quoted" \\ one']);
  });

  it('counts a list that failed and wakes nothing; the next poll catches up', async () => {
    const { watch, script } = setup();
    await watch.follow({ pipeline: PIPELINE, executionId: 'e1', operationId: 'op1', since: T0 });
    script.list = new LanebotError('AWS_THROTTLED', 'Rate exceeded');
    expect(await watch.pollOnce()).toEqual({ pipelines: 1, executions: 1, woken: 0, failed: 1 });
    script.list = [running('e1', T0)];
    expect(await watch.pollOnce()).toMatchObject({ woken: 1, failed: 0 });
  });

  it('stops following ended executions, and the pipeline once none is left', async () => {
    const { watch, script, keys } = setup();
    await watch.follow({ pipeline: PIPELINE, executionId: 'e1', operationId: 'op1', since: T0 });
    await watch.forget(PIPELINE, 'e1');
    expect(await watch.pollOnce()).toEqual({ pipelines: 1, executions: 0, woken: 0, failed: 0 });
    expect(script.calls).toEqual([]);
    expect(await db.redis.smembers(keys.pipelinesWatched)).toEqual([]);
    expect(await watch.pollOnce()).toEqual({ pipelines: 0, executions: 0, woken: 0, failed: 0 });
  });

  it('wakes the operations of followed executions an event names, once per batch, and acknowledges every event it handled', async () => {
    const { watch, script } = setup();
    await watch.follow({ pipeline: PIPELINE, executionId: 'e1', operationId: 'op1', since: T0 });
    const change = (executionId: string, receipt: string, pipeline = PIPELINE): PipelineExecutionChange => ({ pipeline, executionId, kind: 'CodePipeline Action Execution State Change', receipt });
    const acknowledged: string[][] = [];
    const events: PipelineEventsPort = {
      receive: async () => [change('e1', 'r1'), change('e1', 'r2'), change('not-followed', 'r3'), change('e1', 'r4', 'other-pipeline')],
      acknowledge: async (receipts) => void acknowledged.push(receipts),
    };
    expect(await watch.consumeOnce(events, 0)).toBe(1);
    expect(script.woken).toEqual(['op1']);
    expect(acknowledged).toEqual([['r1', 'r2', 'r3', 'r4']]);
    // Events call no pipeline API.
    expect(script.calls).toEqual([]);
  });

  it('leaves an event whose wake failed unacknowledged (it comes back), and says so after the batch', async () => {
    const { watch, script } = setup();
    await watch.follow({ pipeline: PIPELINE, executionId: 'e1', operationId: 'op1', since: T0 });
    await watch.follow({ pipeline: PIPELINE, executionId: 'e2', operationId: 'op2', since: T0 });
    script.busy.add('op1');
    const acknowledged: string[] = [];
    const events: PipelineEventsPort = {
      receive: async () => [
        { pipeline: PIPELINE, executionId: 'e1', kind: 'k', receipt: 'r1' },
        { pipeline: PIPELINE, executionId: 'e2', kind: 'k', receipt: 'r2' },
      ],
      acknowledge: async (receipts) => void acknowledged.push(...receipts),
    };
    await expect(watch.consumeOnce(events, 0)).rejects.toThrow('the job is active');
    expect(acknowledged).toEqual(['r2']);
    expect(script.woken).toEqual(['op2']);
  });

  it('turns its schedule on when a first pipeline is followed, and off once none is, checking the set again after', async () => {
    const switches: string[] = [];
    const keys = new RedisKeys(db.prefix);
    const watch = new PipelineWatch({
      redis: db.redis,
      keys,
      pipelines: { listExecutions: async () => [] },
      wake: async () => undefined,
      logger: pino({ level: 'silent' }),
      recheckMs: 60_000,
      schedule: { start: async () => void switches.push('on'), stop: async () => void switches.push('off') },
    });
    await watch.ensureScheduled();
    expect(switches).toEqual([]);
    await watch.follow({ pipeline: PIPELINE, executionId: 'e1', operationId: 'op1', since: T0 });
    await watch.follow({ pipeline: PIPELINE, executionId: 'e2', operationId: 'op2', since: T0 });
    expect(switches).toEqual(['on']);
    await watch.pollOnce();
    expect(switches).toEqual(['on']);
    await watch.forget(PIPELINE, 'e1');
    await watch.forget(PIPELINE, 'e2');
    await watch.pollOnce();
    expect(switches).toEqual(['on', 'off']);
    await watch.follow({ pipeline: PIPELINE, executionId: 'e3', operationId: 'op3', since: T0 });
    expect(switches).toEqual(['on', 'off', 'on']);
    await watch.ensureScheduled();
    expect(switches).toEqual(['on', 'off', 'on', 'on']);
  });

  it('stops following an execution whose operation has no job any more (ended outside its step)', async () => {
    const { watch, script, keys } = setup();
    await watch.follow({ pipeline: PIPELINE, executionId: 'e1', operationId: 'op1', since: T0 });
    script.list = [{ ...running('e1', T0 + 1_000), status: 'Stopped' }];
    script.gone.add('op1');
    expect(await watch.pollOnce()).toMatchObject({ woken: 0 });
    expect(await db.redis.hlen(keys.pipelineWatch(PIPELINE))).toBe(0);
    expect(await db.redis.hexists(keys.pipelineListed(PIPELINE), 'e1')).toBe(0);
  });
});
