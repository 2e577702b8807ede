// The operator view (Bull Board at /admin/queues) on a real bot's HTTP port: absent without
// ADMIN_TOKEN, refused without the token, and with it the page, its assets (served from the
// @bull-board/ui package, nothing from another origin) and its API listing lanebot's queues, read-only.
import { randomBytes } from 'node:crypto';
import { QUEUE_NAMES } from '../../src/queue/queues';
import { deletePrefix, startTestBot, statusOf, waitFor, type TestBot } from '../support/harness';

const TOKEN = randomBytes(24).toString('hex');
const BEARER = { authorization: `Bearer ${TOKEN}` };
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

interface QueuesAnswer {
  queues: { name: string; readOnlyMode: boolean; isPaused: boolean; counts: Record<string, number>; jobs: { id: string; name: string }[] }[];
}

describe('the queue dashboard without ADMIN_TOKEN', () => {
  let t: TestBot;

  beforeAll(async () => {
    t = await startTestBot();
  });

  afterAll(async () => {
    await t?.stop();
    if (t) await deletePrefix(t.prefix);
  });

  it.each(['/admin/queues', '/admin/queues/', '/admin/queues/api/queues', '/admin/queues/static/images/logo.svg'])('does not exist: GET %s is 404, token or not', async (path) => {
    expect(await statusOf(`${t.url}${path}`)).toBe(404);
    expect(await statusOf(`${t.url}${path}`, { headers: BEARER })).toBe(404);
  });
});

describe('the queue dashboard with ADMIN_TOKEN', () => {
  let t: TestBot;

  beforeAll(async () => {
    t = await startTestBot({ env: { ADMIN_TOKEN: TOKEN } });
  });

  afterAll(async () => {
    await t?.stop();
    if (t) await deletePrefix(t.prefix);
  });

  const get = (path: string, headers: Record<string, string> = BEARER) => fetch(`${t.url}${path}`, { headers, redirect: 'manual' });

  it('refuses every request without the right token (401 with a basic-auth challenge), whatever the path or method', async () => {
    const refused: [string, RequestInit][] = [
      ['/admin/queues', {}],
      ['/admin/queues/api/queues', {}],
      ['/admin/queues/static/images/logo.svg', {}],
      ['/admin/queues', { headers: { authorization: `Bearer ${TOKEN}x` } }],
      ['/admin/queues', { headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}` } }],
      ['/admin/queues', { headers: { authorization: 'Bearer ' } }],
      ['/admin/queues', { headers: { authorization: TOKEN } }],
      ['/admin/queues', { headers: basic('admin', 'not-the-token') }],
      ['/admin/queues', { headers: basic(TOKEN, '') }],
      ['/admin/queues/api/queues/operations/pause', { method: 'PUT' }],
      ['/admin/queues/api/queues/operations/add', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }],
    ];
    for (const [path, init] of refused) {
      const response = await fetch(`${t.url}${path}`, init);
      expect({ path, init, status: response.status }).toEqual({ path, init, status: 401 });
      expect(response.headers.get('www-authenticate')).toBe('Basic realm="lanebot admin", charset="UTF-8"');
      expect(await response.text()).toBe('');
    }
  });

  it('with the token (bearer, or basic auth with any user name) serves the page, titled for lanebot', async () => {
    for (const headers of [BEARER, basic('admin', TOKEN), basic('someone else', TOKEN)]) {
      const response = await get('/admin/queues', headers);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await response.text();
      expect(html).toContain('<base href="/admin/queues/" />');
      expect(html).toContain('<title>lanebot queues</title>');
      expect(html).toContain('"boardTitle":"lanebot queues"');
    }
    // A deep link into the UI is the same page (the UI routes on the client).
    expect((await get('/admin/queues/queue/operations')).status).toBe(200);
  });

  it('loads every asset of the page from the package, and nothing from another origin', async () => {
    const response = await get('/admin/queues');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await response.text();
    const references = [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    // Bull Board's own page links a Google Fonts stylesheet; lanebot takes it out.
    expect(references.filter((ref) => /^(https?:)?\/\//.test(ref))).toEqual([]);
    expect(html).not.toContain('googleapis');
    const assets = references.map((ref) => new URL(ref, `${t.url}/admin/queues/`).pathname);
    expect(assets.filter((p) => p.endsWith('.js')).length).toBeGreaterThanOrEqual(1);
    expect(assets.filter((p) => p.endsWith('.css')).length).toBeGreaterThanOrEqual(1);
    for (const path of assets) {
      const asset = await get(path);
      const body = await asset.text();
      expect({ path, status: asset.status, nonEmpty: body.length > 0 }).toEqual({ path, status: 200, nonEmpty: true });
      // A stylesheet that imports or points at another origin would reach out too.
      if (path.endsWith('.css')) expect({ path, external: /url\(\s*["']?(https?:)?\/\/|@import\s+["']?(url\()?\s*["']?https?:/.test(body) }).toEqual({ path, external: false });
    }
    // Even with the right token, the assets still need it.
    expect(await statusOf(`${t.url}${assets[0]}`)).toBe(401);
  });

  it("its API lists lanebot's queues, read-only, with the jobs a deploy queued", async () => {
    const queued = await t.command('deploy gray release/1.2.3');
    expect(queued.status).toBe(200);
    const answer = await waitFor('the deploy in the operations queue', async () => {
      const response = await get('/admin/queues/api/queues?activeQueue=operations&status=latest&page=1&jobsPerPage=10');
      expect(response.status).toBe(200);
      const body = (await response.json()) as QueuesAnswer;
      return body.queues.find((q) => q.name === QUEUE_NAMES.operations)!.jobs.length > 0 ? body : undefined;
    });
    expect(answer.queues.map((q) => q.name).sort()).toEqual(Object.values(QUEUE_NAMES).sort());
    for (const queue of answer.queues) expect({ name: queue.name, readOnly: queue.readOnlyMode }).toEqual({ name: queue.name, readOnly: true });
    const operations = answer.queues.find((q) => q.name === QUEUE_NAMES.operations)!;
    expect(operations.jobs.map((job) => job.name)).toContain('request');
  });

  it('changes nothing: a write with the token is refused (405) and the queue is not paused', async () => {
    for (const [method, path] of [
      ['PUT', '/admin/queues/api/queues/operations/pause'],
      ['PUT', '/admin/queues/api/queues/pause'],
      ['PUT', '/admin/queues/api/queues/operations/clean/completed'],
      ['POST', '/admin/queues/api/queues/operations/add'],
    ] as const) {
      const response = await fetch(`${t.url}${path}`, { method, headers: { ...BEARER, 'content-type': 'application/json' }, body: '{}' });
      expect({ method, path, status: response.status, allow: response.headers.get('allow') }).toEqual({ method, path, status: 405, allow: 'GET, HEAD' });
      await response.arrayBuffer();
    }
    expect(await t.bot.queues.operations.isPaused()).toBe(false);
  });

  it('leaves the other routes as they were: /healthz needs no token, unknown paths are 404', async () => {
    expect(await statusOf(`${t.url}/healthz`)).toBe(200);
    expect(await statusOf(`${t.url}/admin/queuesX`, { headers: BEARER })).toBe(404);
    expect(await statusOf(`${t.url}/admin`, { headers: BEARER })).toBe(404);
  });
});
