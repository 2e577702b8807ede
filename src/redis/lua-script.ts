// A Lua script sent to Redis by its SHA1 (EVALSHA) and sent whole (EVAL) only when the server has
// not seen it yet: after a restart, a failover, or on a cluster node that never ran it. Scripts are
// module constants, so the hash is computed once per process.
//
// Why not ioredis `defineCommand`: it registers per connection (every connection the composition
// root, the sim and the tests open would need it, and a forgotten one fails only at the call), and
// its typing means augmenting ioredis' interfaces. A script object used with whichever connection
// the caller holds needs neither.
import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-connection';

export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script with `numberOfKeys` keys first in `args` (the EVAL calling convention). */
  async run(redis: Pick<RedisClient, 'evalsha' | 'eval'>, numberOfKeys: number, ...args: Array<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, numberOfKeys, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      // EVAL also caches the script on that server, so the next EVALSHA there finds it.
      return redis.eval(this.source, numberOfKeys, ...args);
    }
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
