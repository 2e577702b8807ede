// The process as `npm start` runs it (src/main.ts): env and config file, CLOUD=sim, the signed
// slash command from a bound channel, the thread ending in success, a forged request refused, and
// a clean exit on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deletePrefix, REDIS_URL, waitFor } from '../support/harness';
import { signSlackBody, slashCommandBody } from '../support/signed-request';
import { SlackStub } from '../support/slack-stub';
import { freePort } from '../support/free-port';

const SECRET = 'main-process-secret';

describe('the lanebot process', () => {
  const prefix = `test-${randomUUID()}`;
  let stub: SlackStub;
  let child: ChildProcess;
  let url: string;
  let output = '';

  beforeAll(async () => {
    stub = await new SlackStub().start();
    const dir = mkdtempSync(join(tmpdir(), 'lanebot-'));
    const config = join(dir, 'lanebot.yml');
    writeFileSync(config, 'services:\n  user-api: {}\nenvironments:\n  dev: { verify: { soak: 0s } }\nchannels:\n  C0USERAPIDEV: { service: user-api, env: dev }\n');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    // tsx, resolved from the repository, runs the TypeScript entry point as `npm start` runs the build.
    const tsx = pathToFileURL(require.resolve('tsx')).href;
    child = spawn(process.execPath, ['--import', tsx, join(__dirname, '../../src/main.ts')], {
      cwd: dir,
      env: {
        ...process.env,
        SLACK_BOT_TOKEN: 'xoxb-test',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: stub.apiUrl,
        PORT: String(port),
        REDIS_URL,
        CLOUD: 'sim',
        SIM_TIME_SCALE: '300',
        LANEBOT_CONFIG: config,
        LANEBOT_REDIS_PREFIX: prefix,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor('the process to answer /healthz', async () => (await fetch(`${url}/healthz`)).ok, 30_000);
  }, 40_000);

  afterAll(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await stub.stop();
    await deletePrefix(prefix);
  });

  it('deploys from a bound channel to success, refuses forged requests, and stops on SIGTERM', async () => {
    const body = slashCommandBody({ text: 'deploy gray release/1.2.3', responseUrl: stub.responseUrl('main') });
    const response = await fetch(`${url}/slack/events`, { method: 'POST', headers: signSlackBody(body, SECRET), body });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('Queued the deploy of `release/1.2.3` to lane *gray*');

    const root = await waitFor('the root message', () => stub.rootMentioning('release/1.2.3'));
    const success = await waitFor('the success reply', () => stub.thread(root).find((m) => m.text.includes('now runs')), 60_000);
    expect(success.text).toContain('Lane *gray* of user-api/dev now runs `release/1.2.3`');

    const forged = await fetch(`${url}/slack/events`, { method: 'POST', headers: signSlackBody(body, 'forged'), body });
    expect(forged.status).toBe(401);
    await forged.arrayBuffer();

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).not.toContain('"level":50');
  }, 90_000);
});
