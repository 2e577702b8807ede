// The console page as the browser gets it: src/sandbox/page bundled by esbuild (built in memory,
// as the console does when it runs from source) and served as /app.js next to index.html.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startConsoleServer, type ConsoleServer } from '../../src/sandbox/console-server';
import { buildPage, PAGE_SCRIPT } from '../../src/sandbox/page-bundle';
import { SlackWorkspace } from '../../src/sandbox/slack-workspace';
import { SIGNING_SECRET, statusOf } from '../support/harness';
import { TEST_CHANNELS, TEST_USERS } from '../support/slack-stub';

describe('the console page bundle', () => {
  let sandbox: ConsoleServer;

  beforeAll(async () => {
    // The default publicDir (src/sandbox/public), which has no app.js of its own.
    sandbox = await startConsoleServer({ workspace: new SlackWorkspace({ users: TEST_USERS, channels: TEST_CHANNELS }), signingSecret: SIGNING_SECRET, port: 0 });
  });

  afterAll(async () => {
    await sandbox.close();
  });

  it('is one browser script with its source map, and nothing of the server in it', async () => {
    const bundle = await buildPage();
    expect([...bundle.keys()].sort()).toEqual([PAGE_SCRIPT, `${PAGE_SCRIPT}.map`]);
    const script = Buffer.from(bundle.get(PAGE_SCRIPT)!).toString('utf8');
    expect(script).toContain('lanebot.sandbox.user');
    expect(script).toContain(`sourceMappingURL=${PAGE_SCRIPT}.map`);
    // Server modules are imported for their types only: no Node built-ins, no server classes.
    expect(script).not.toMatch(/from ["']node:|require\(/);
    expect(script).not.toContain('class SlackWorkspace');
    const sources = (JSON.parse(Buffer.from(bundle.get(`${PAGE_SCRIPT}.map`)!).toString('utf8')) as { sources: string[] }).sources;
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) expect(source).toMatch(/src\/sandbox\/page\/[a-z-]+\.ts$/);
  });

  it('is what the console serves at the URL index.html loads', async () => {
    const index = readFileSync(join(__dirname, '../../src/sandbox/public/index.html'), 'utf8');
    expect(index).toContain(`src="./${PAGE_SCRIPT}"`);
    const script = await fetch(`${sandbox.url}/${PAGE_SCRIPT}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toContain('lanebot.sandbox.user');
    const map = await fetch(`${sandbox.url}/${PAGE_SCRIPT}.map`);
    expect(map.status).toBe(200);
    expect(map.headers.get('content-type')).toBe('application/json; charset=utf-8');
    await map.arrayBuffer();
    expect(await statusOf(`${sandbox.url}/page/main.ts`)).toBe(404);
  });
});
