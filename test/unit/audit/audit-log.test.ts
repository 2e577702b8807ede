// The audit log on the real Redis, with a real pino logger writing into the test.
import pino from 'pino';
import { AuditLog, type AuditEntry } from '../../../src/audit/audit-log';
import { RedisKeys } from '../../../src/state/keys';
import { redisPerTest, T0 } from '../../support/fixtures';

const db = redisPerTest();
let keys: RedisKeys;
let lines: Array<Record<string, unknown>>;
let audit: AuditLog;

beforeEach(() => {
  keys = new RedisKeys(db.prefix);
  lines = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  audit = new AuditLog(db.redis, keys, logger);
});

function entry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return { at: T0, actor: 'U0ALICE', action: 'command:deploy', outcome: 'accepted', service: 'user-api', env: 'dev', lane: 'gray', channel: 'C0USERAPIDEV', ...overrides };
}

/** A stream's entries as field maps, oldest first. */
async function stream(key: string): Promise<Array<Record<string, string>>> {
  return (await db.redis.xrange(key, '-', '+')).map(([, fields]) => {
    const record: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
    return record;
  });
}

describe('AuditLog.record', () => {
  it('writes the entry to the bot-wide stream, its service/env stream, and a pino line with audit: true', async () => {
    await audit.record(entry({ operationId: 'op-1', detail: '/lane deploy gray release/1.2.3' }));

    const expected = {
      at: String(T0),
      actor: 'U0ALICE',
      action: 'command:deploy',
      outcome: 'accepted',
      service: 'user-api',
      env: 'dev',
      lane: 'gray',
      channel: 'C0USERAPIDEV',
      operationId: 'op-1',
      detail: '/lane deploy gray release/1.2.3',
    };
    expect(await stream(keys.audit)).toEqual([expected]);
    expect(await stream(keys.auditOf({ service: 'user-api', env: 'dev' }))).toEqual([expected]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, audit: true, msg: 'audit: command:deploy accepted', ...entry({ operationId: 'op-1' }) });
  });

  it('keeps an entry without a service/env (a refused command outside a bound channel) in the bot-wide stream only', async () => {
    await audit.record(entry({ service: undefined, env: undefined, lane: undefined, outcome: 'refused', detail: 'no binding' }));
    expect(await stream(keys.audit)).toHaveLength(1);
    expect(await db.redis.keys(`${db.prefix}:audit:*`)).toEqual([]);
    expect(lines[0]).toMatchObject({ audit: true, outcome: 'refused' });
    expect(lines[0]).not.toHaveProperty('service');
  });

  it('flattens the detail to one line and caps its length', async () => {
    await audit.record(entry({ detail: '  first line\n\tsecond   line\r\n' }));
    await audit.record(entry({ detail: 'x'.repeat(2_000) }));

    const [multi, long] = await stream(keys.audit);
    expect(multi!.detail).toBe('first line second line');
    expect(long!.detail).toHaveLength(500);
    expect(long!.detail!.endsWith('…')).toBe(true);
    expect(lines.map((l) => l.detail)).toEqual([multi!.detail, long!.detail]);
  });
});

describe('AuditLog.recent', () => {
  const scope = { service: 'user-api', env: 'dev' };

  it('returns the latest entries newest first, up to the limit, of its service/env only', async () => {
    for (let i = 1; i <= 5; i++) await audit.record(entry({ at: T0 + i, outcome: `o${i}` }));
    await audit.record(entry({ at: T0 + 9, env: 'prod', outcome: 'prod-only' }));

    const all = await audit.recent(scope, 10);
    expect(all.map((e) => e.outcome)).toEqual(['o5', 'o4', 'o3', 'o2', 'o1']);
    expect(all[0]).toEqual({ ...entry({ at: T0 + 5, outcome: 'o5' }) });
    expect((await audit.recent(scope, 2)).map((e) => e.outcome)).toEqual(['o5', 'o4']);
    expect((await audit.recent({ service: 'user-api', env: 'prod' }, 10)).map((e) => e.outcome)).toEqual(['prod-only']);
    expect(await audit.recent({ service: 'orders', env: 'dev' }, 10)).toEqual([]);
  });

  it("filters by lane across pages (more than one XREVRANGE page)", async () => {
    for (let i = 0; i < 450; i++) await audit.record(entry({ at: T0 + i, lane: i % 150 === 0 ? 'blue' : 'gray', outcome: `o${i}` }));
    const blue = await audit.recent({ ...scope, lane: 'blue' }, 10);
    expect(blue.map((e) => e.outcome)).toEqual(['o300', 'o150', 'o0']);
    expect(blue.every((e) => e.lane === 'blue')).toBe(true);
  });

  it('reads no more than its scan bound, so a busy stream cannot make it slow', async () => {
    await audit.record(entry({ lane: 'blue', outcome: 'old-blue' }));
    for (let i = 0; i < 10; i++) await audit.record(entry({ lane: 'gray', outcome: `gray${i}` }));

    // The blue entry is the 11th newest: beyond a bound of 10, within one of 11.
    expect(await audit.recent({ ...scope, lane: 'blue' }, 5, 10)).toEqual([]);
    expect((await audit.recent({ ...scope, lane: 'blue' }, 5, 11)).map((e) => e.outcome)).toEqual(['old-blue']);
    // The limit still applies within the bound.
    expect((await audit.recent(scope, 3, 10)).map((e) => e.outcome)).toEqual(['gray9', 'gray8', 'gray7']);
  });
});
