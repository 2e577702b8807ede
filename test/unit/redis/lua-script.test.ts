import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { LuaScript } from '../../../src/redis/lua-script';
import { REDIS_URL } from '../../support/harness';

let redis: Redis;
const prefix = `test-${randomUUID()}`;
beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await redis.del(`${prefix}:counter`);
  redis.disconnect();
});

/** The connection, with every EVAL and EVALSHA it sends written down. */
function recording(): { calls: string[]; client: Pick<Redis, 'eval' | 'evalsha'> } {
  const calls: string[] = [];
  const client = {
    eval: (...args: Parameters<Redis['eval']>) => (calls.push('eval'), redis.eval(...args)),
    evalsha: (...args: Parameters<Redis['evalsha']>) => (calls.push('evalsha'), redis.evalsha(...args)),
  } as Pick<Redis, 'eval' | 'evalsha'>;
  return { calls, client };
}

describe('LuaScript', () => {
  it('sends the script whole only the first time a server meets it, by its SHA1 after', async () => {
    // A script this server has never seen (the id is new), as after a restart or on a fresh node.
    const script = new LuaScript(`-- ${randomUUID()}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])`);
    const { calls, client } = recording();
    expect(await script.run(client, 1, `${prefix}:counter`, 2)).toBe(2);
    expect(await script.run(client, 1, `${prefix}:counter`, 3)).toBe(5);
    expect(calls).toEqual(['evalsha', 'eval', 'evalsha']);
  });

  it('passes a script error on instead of sending the script again', async () => {
    const script = new LuaScript(`-- ${randomUUID()}\nreturn redis.error_reply('BROKEN on purpose')`);
    const { calls, client } = recording();
    await expect(script.run(client, 0)).rejects.toThrow('BROKEN on purpose');
    await expect(script.run(client, 0)).rejects.toThrow('BROKEN on purpose');
    expect(calls).toEqual(['evalsha', 'eval', 'evalsha']);
  });
});
