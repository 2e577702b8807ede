// ThreadNarrator.showChange against the real Redis: a change the root shows is saved on the record
// and the root marked stale in one command, as update + refreshRoot would, and a record that is
// gone is not brought back.
import { ThreadNarrator } from '../../../src/chat/thread-narrator';
import type { Queues } from '../../../src/queue/queues';
import { RedisKeys } from '../../../src/state/keys';
import { OperationStore } from '../../../src/state/operation-store';
import { deployRecord, redisPerTest } from '../../support/fixtures';

const db = redisPerTest();

function setup() {
  const keys = new RedisKeys(db.prefix);
  const added: string[] = [];
  const queues = { narrate: { add: async (_name: string, _data: unknown, options: { jobId: string }) => void added.push(options.jobId) } } as unknown as Pick<Queues, 'narrate'>;
  // Every command the narrator's connection sends, by name (a script is one command).
  const sent: string[] = [];
  const send = db.redis.sendCommand.bind(db.redis);
  jest.spyOn(db.redis, 'sendCommand').mockImplementation((command, stream) => {
    sent.push(command.name);
    return send(command, stream);
  });
  return { keys, added, sent, narrator: new ThreadNarrator(db.redis, keys, queues), operations: new OperationStore(db.redis, keys) };
}

afterEach(() => jest.restoreAllMocks());

describe('ThreadNarrator.showChange', () => {
  it('saves the change and marks the root stale in one command, then schedules the thread', async () => {
    const { keys, added, sent, narrator, operations } = setup();
    const op = deployRecord();
    await operations.create(op);
    // A server that never ran the script is sent it whole once (EVAL): that is not the steady state.
    await narrator.showChange('no-such-operation', { statusSummary: 'warm-up' });
    added.length = 0;
    sent.length = 0;
    const stages = [{ name: 'Build', status: 'InProgress' as const, startedAt: 1 }];

    await narrator.showChange(op.id, { stages, statusSummary: 'building' });

    expect(sent).toEqual(['evalsha']);
    expect(await operations.get(op.id)).toMatchObject({ stages, statusSummary: 'building', status: 'queued' });
    expect(await db.redis.hget(keys.rootVersion(op.id), 'wanted')).toBe('1');
    expect(await db.redis.ttl(keys.rootVersion(op.id))).toBeGreaterThan(0);
    expect(await db.redis.zscore(keys.narratePending, op.id)).not.toBeNull();
    expect(added).toEqual([`flush-${op.id}`]);
  });

  it('does not bring back a record that is gone, nor wake its thread', async () => {
    const { keys, added, narrator } = setup();
    await narrator.showChange('gone-operation', { statusSummary: 'late' });
    expect(await db.redis.exists(keys.operation('gone-operation'), keys.rootVersion('gone-operation'))).toBe(0);
    expect(await db.redis.zcard(keys.narratePending)).toBe(0);
    expect(added).toEqual([]);
  });
});
