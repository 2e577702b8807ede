// The Redis request ledger against the real Redis: a key's first sighting is true once, several are
// answered in order in one round trip, and each is forgotten after its own time.
import { RedisRequestLedger } from '../../../../src/slack/receiver/request-ledger';
import { RedisKeys } from '../../../../src/state/keys';
import { redisPerTest } from '../../../support/fixtures';

const db = redisPerTest();

describe('RedisRequestLedger', () => {
  it('answers several sightings in order, each true only the first time, in one round trip', async () => {
    const ledger = new RedisRequestLedger(db.redis, new RedisKeys(db.prefix));
    // Connected, and the script known to the server: no hand-shake or EVAL among the commands counted.
    await ledger.firstSightings([{ key: 'warm-up', ttlMs: 60_000 }]);
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
      // Both SETs of a call in one script (no pipeline: building one copies every defined script), answered in order.
      expect(pipelines).not.toHaveBeenCalled();
      expect(sent).toEqual(['evalsha', 'evalsha']);
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
