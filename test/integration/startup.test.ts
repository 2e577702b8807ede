// Starting: a bad path in the environment stops the start with its name; a Redis that is up is never
// reported as unreachable (the start used to wait 3 s for a 'ready' event that had already fired).
import { Writable } from 'node:stream';
import pino from 'pino';
import { parseConfig, readEnvOptions } from '../../src/config';
import { ConfigError } from '../../src/errors';
import { createLanebot } from '../../src/lanebot';
import { deletePrefix, REDIS_URL, SIGNING_SECRET } from '../support/harness';
import { TEST_CONFIG } from '../support/test-config';

function env(extra: Record<string, string> = {}) {
  return readEnvOptions({
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: 'http://127.0.0.1:9/api/',
    PORT: '0',
    REDIS_URL,
    CLOUD: 'sim',
    LANEBOT_REDIS_PREFIX: `test-startup-${process.pid}-${Date.now()}`,
    ...extra,
  });
}

describe('starting lanebot', () => {
  it('refuses a LANEBOT_TEMPLATES_DIR without the pipeline templates, naming the variable', () => {
    const create = () => createLanebot(env({ LANEBOT_TEMPLATES_DIR: '/nonexistent' }), parseConfig(TEST_CONFIG), { logger: pino({ level: 'silent' }) });
    expect(create).toThrow(ConfigError);
    expect(create).toThrow('LANEBOT_TEMPLATES_DIR: /nonexistent has no pipelines/ folder');
  });

  it('does not report a Redis that is up as unreachable, even when it was ready before start()', async () => {
    const lines: { msg: string }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { msg: string });
        done();
      },
    });
    const options = env();
    const bot = createLanebot(options, parseConfig(TEST_CONFIG), { logger: pino({ level: 'warn' }, sink) });
    try {
      // Let the connections open first: their 'ready' fires before start() listens for it.
      await bot.redis.ping();
      await new Promise((resolve) => setTimeout(resolve, 100));
      await bot.start();
      expect(lines.map((l) => l.msg)).not.toContain('Redis is not reachable yet; starting anyway');
    } finally {
      await bot.stop();
      await deletePrefix(options.LANEBOT_REDIS_PREFIX);
    }
  });
});
