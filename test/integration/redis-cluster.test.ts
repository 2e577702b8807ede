// lanebot against a Redis Cluster of three primaries started by the test: the deploy flow end to
// end (admission, queueing behind a busy lane, the pipeline watch, narration), with every key of
// the bot in the one slot of its hash tag, so that no script or MULTI crosses slots.
import { Cluster } from 'ioredis';
import { connectRedis } from '../../src/redis/redis-connection';
import { startTestBot, waitFor, type TestBot } from '../support/harness';
import { countSocketWrites, socketOf } from '../support/socket-writes';
import { describeWithRedisCluster, startRedisCluster, type LocalRedisCluster } from '../support/redis-cluster';

const FULL_RUN_MS = 400_000; // longer than the simulated Source + Build + Deploy
const GRAY = { service: 'user-api', env: 'dev', lane: 'gray' };

describeWithRedisCluster('lanebot on a Redis Cluster', () => {
  let cluster: LocalRedisCluster;
  let t: TestBot;
  let inspect: Cluster;

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    inspect = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
  }, 60_000);

  afterAll(async () => {
    inspect?.disconnect();
    // The cluster's data goes with it: nothing to delete key by key.
    await cluster?.stop();
  });

  beforeEach(async () => {
    t = await startTestBot({ env: { REDIS_CLUSTER_NODES: cluster.nodes } });
  });

  afterEach(async () => {
    await t.stop();
  });

  /** Every key on every primary: where it lives and in which slot. */
  async function allKeys(): Promise<Array<{ key: string; slot: number; port: number }>> {
    const found: Array<{ key: string; slot: number; port: number }> = [];
    for (const node of inspect.nodes('master')) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) found.push({ key, slot: Number(await node.cluster('KEYSLOT', key)), port: node.options.port! });
      } while (cursor !== '0');
    }
    return found;
  }

  it('deploys a branch, queues a second deploy behind it, and runs that one after, all in one slot', async () => {
    const sent = await t.command('deploy gray release/1.2.3');
    expect(sent.status).toBe(200);
    expect((JSON.parse(sent.body) as { text: string }).text).toContain('Queued the deploy of `release/1.2.3` to lane *gray* of user-api/dev');
    const first = await waitFor('the root message', () => t.stub.rootMentioning('release/1.2.3'));
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get(GRAY))?.last?.status === 'running');

    await t.command('deploy gray release/2.0.0', { user: 'U0BOB' });
    const second = await waitFor('the second root', () => t.stub.rootMentioning('release/2.0.0'));
    await waitFor('the queued-behind reply', () => t.stub.thread(second).find((m) => m.text.includes('queued behind')));

    t.clock.advance(FULL_RUN_MS);
    const done = await waitFor('the first success reply', () => t.stub.thread(first).find((m) => m.text.includes('now runs')));
    expect(done.text).toContain('Lane *gray* of user-api/dev now runs `release/1.2.3`');
    await waitFor('the first root to show success', () => first.text.includes('deployed'));

    await waitFor('the second deploy to run', async () => {
      const lane = await t.bot.lanes.get(GRAY);
      return lane?.last?.params.branch === 'release/2.0.0' && lane.last.status === 'running';
    });
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the second success reply', () => t.stub.thread(second).find((m) => m.text.includes('now runs `release/2.0.0`')));
    const lane = await t.bot.lanes.get(GRAY);
    expect(lane?.last).toMatchObject({ params: { branch: 'release/2.0.0' }, status: 'succeeded', rootTs: second.ts });
    expect(lane?.activeId).toBeUndefined();
    expect(await t.bot.sim!.executionIds('user-api-dev')).toHaveLength(2);

    // Every key the bot wrote, BullMQ's included, carries the bot's hash tag: one slot, one primary.
    const keys = (await allKeys()).filter((k) => k.key.startsWith(`{${t.prefix}}:`) || k.key.includes(t.prefix));
    expect(keys.length).toBeGreaterThan(20);
    expect(keys.filter((k) => !k.key.startsWith(`{${t.prefix}}:`))).toEqual([]);
    expect(new Set(keys.map((k) => k.slot)).size).toBe(1);
    expect(keys.some((k) => k.key.startsWith(`{${t.prefix}}:bull:operations:`))).toBe(true);
  });

  it('coalesces the writes of each node connection: a turn\'s commands to a node leave in one write', async () => {
    const client = connectRedis({ kind: 'cluster', nodes: cluster.ports.map((port) => ({ host: '127.0.0.1', port })), tls: false }) as Cluster;
    try {
      const tag = `{coalesce-${Date.now()}}`;
      await client.set(`${tag}:warm`, '1'); // connected to the node that holds the tag's slot
      const sockets = client.nodes('master').flatMap((node) => socketOf(node) ?? []);
      const counted = countSocketWrites(sockets);
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => client.incrby(`${tag}:n`, i + 1)));
      expect(replies).toEqual(Array.from({ length: 10 }, (_, i) => ((i + 1) * (i + 2)) / 2));
      expect(counted.writes()).toBe(1);
      counted.restore();
      await client.del(`${tag}:warm`, `${tag}:n`);
    } finally {
      client.disconnect();
    }
  });
});
