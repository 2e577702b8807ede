// Answers within Slack's limits: `/lane list` and `/lane status` of a service with 600 lanes used to
// answer 70,000 and 188,000 characters (Slack refuses more than 40,000).
import { deletePrefix, startTestBot, waitFor, type TestBot } from '../support/harness';
import { deployRequest } from '../support/fixtures';

const SCOPE = { service: 'user-api', env: 'dev' };
const SLACK_TEXT_LIMIT = 40_000;

describe('answers about many lanes', () => {
  let t: TestBot;

  beforeAll(async () => {
    t = await startTestBot();
    // 600 lanes, each with a running deploy whose pipeline has long stage details.
    for (let i = 0; i < 600; i++) {
      const request = deployRequest({ ...SCOPE, lane: `feature-${String(i).padStart(3, '0')}`, branch: `feature/${'x'.repeat(80)}-${i}`, requestedAt: t.clock.now() + i });
      await t.bot.operations.create(request);
      const record = (await t.bot.operations.get(request.id))!;
      await t.bot.lanes.admit(record, 'newest-wins', t.clock.now() + i);
      await t.bot.operations.update(request.id, {
        stages: Array.from({ length: 6 }, (_, s) => ({ name: `Stage${s}`, status: 'InProgress' as const, startedAt: t.clock.now(), detail: 'd'.repeat(300) })),
      });
    }
  }, 60_000);

  afterAll(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  async function answer(text: string): Promise<string> {
    const sent = await t.command(text);
    const reply = await waitFor(`the answer to /lane ${text}`, () => t.stub.responsesFor(sent.id)[0]);
    return reply.body.text as string;
  }

  it('/lane list shows the first 50 lanes and how to narrow the list', async () => {
    const text = await answer('list');
    expect(text.length).toBeLessThan(SLACK_TEXT_LIMIT);
    const lines = text.split('\n');
    expect(lines.filter((l) => l.startsWith('• *feature-'))).toHaveLength(50);
    // Each with when it expires (the page is read with its expiry in the same Redis round trip).
    expect(lines.filter((l) => l.startsWith('• *feature-') && l.includes(' · expires <!date^'))).toHaveLength(50);
    expect(lines.at(-1)).toBe('… and 550 more (600 in all). Narrow the list with `/lane list <part of a name>`, or see one lane with `/lane status <lane>`.');
  });

  it('/lane list <text> narrows it to the lanes whose name contains the text', async () => {
    const text = await answer('list feature-59');
    expect(text.split('\n')[0]).toBe('*Lanes of user-api/dev with `feature-59` in their name*');
    expect(text.split('\n').filter((l) => l.startsWith('• '))).toHaveLength(10); // feature-590 … feature-599
    expect(await answer('list nothing-like-it')).toContain('No lane of user-api/dev has `nothing-like-it` in its name.');
    // Bad input is answered in the ack itself.
    const bad = await t.command('list Feature!');
    expect(JSON.parse(bad.body).text).toContain('filter lanes with a part of a lane name');
  });

  it('/lane status shows the 10 most recently active lanes in full, and how to see the others', async () => {
    const text = await answer('status');
    expect(text.length).toBeLessThan(SLACK_TEXT_LIMIT);
    expect(text.split('\n').filter((l) => l.startsWith('*Lane feature-'))).toHaveLength(10);
    expect(text).toContain('*Lane feature-599*');
    expect(text).toContain('… and 590 more lanes, less recently active');
  });
});
