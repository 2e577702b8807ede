// The Redis request ledger against the real Redis: a key's first sighting is true once, several are
// answered in order in one round trip, and each is forgotten after its own time.
import { RedisRequestLedger } from '../../../../src/slack/receiver/request-ledger';
import { RedisKeys } from '../../../../src/state/keys';
import { redisPerTest } from '../../../support/fixtures';

const db = redisPerTest();

describe('RedisRequestLedger', () => {
  it('answers several sightings in order, each true only the first time, in one round trip', async () => {
    const ledger = new RedisRequestLedger(db.redis, new RedisKeys(db.prefix));
    await db.redis.ping(); // connected: no hand-shake commands among those counted
    const pipelines = jest.spyOn(db.redis, 'pipeline');
    const sent: string[] = [];
    const send = db.redis.sendCommand.bind(db.redis);
    const spy = jest.spyOn(db.redis, 'sendCommand').mockImplementation((command, stream) => {
      sent.push(command.name);
      return send(command, stream);
    });
    try {
      expect(await ledger.firstSightings([{ key: 'signature-1', ttlMs: 60_000 }, { key: 'delivery-1', ttlMs: 2_000 }])).toEqual([true, true]);
      expect(await ledger.firstSightings([{ key: 'signature-2', ttlMs: 60_000 }, { key: 'delivery-1', ttlMs: 2_000 }])).toEqual([true, false]);
      // Two SETs per call, written together (one pipeline each), answered in order.
      expect(pipelines).toHaveBeenCalledTimes(2);
      expect(sent).toEqual(['set', 'set', 'set', 'set']);
    } finally {
      spy.mockRestore();
      pipelines.mockRestore();
    }
    expect(await ledger.firstSighting('signature-1', 60_000)).toBe(false);
    expect(await ledger.firstSighting('signature-3', 60_000)).toBe(true);

    const ttls = await Promise.all((await db.redis.keys(`${db.prefix}:*`)).map((key) => db.redis.pttl(key)));
    expect(ttls.sort((a, b) => a - b)[0]).toBeLessThanOrEqual(2_000);
    expect(ttls.every((ttl) => ttl > 0)).toBe(true);
  });
});
