// Bounded under floods and never silent at the door: a user or channel over its rate limit gets
// "slow down" and nothing is queued; a channel the bot cannot post in gets "invite me" and nothing
// is queued; the bot's membership of bound channels is read from Slack on a schedule.
import { deletePrefix, startTestBot, waitFor, type TestBot } from '../support/harness';
import { TEST_CONFIG } from '../support/test-config';

const CHANNEL = 'C0USERAPIDEV';

/** Deploy requests the bot took (each is audited as accepted once queued). */
async function requestCount(t: TestBot): Promise<number> {
  const entries = await t.bot.audit.recent({ service: 'user-api', env: 'dev' }, 100);
  return entries.filter((e) => e.action === 'command:deploy' && e.outcome === 'accepted').length;
}

describe('rate limits on what queues work', () => {
  let t: TestBot;

  beforeEach(async () => {
    t = await startTestBot({ config: `${TEST_CONFIG}limits: { perUser: 3/1m, perChannel: 5/1m }\n` });
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  it('tells a user over the limit to slow down and queues nothing; the channel limit holds for everyone', async () => {
    for (let i = 0; i < 3; i++) {
      const sent = await t.command(`deploy lane-${i} release/1.0.${i}`, { user: 'U0ALICE' });
      expect(JSON.parse(sent.body).text).toContain('Queued the deploy');
    }
    const fourth = await t.command('deploy lane-9 release/1.0.9', { user: 'U0ALICE' });
    const refusal = JSON.parse(fourth.body) as { response_type: string; text: string };
    expect(refusal.response_type).toBe('ephemeral');
    expect(refusal.text).toMatch(/^:hourglass: Slow down: you have asked lanebot for more than 3 deploys or other changes within 1m 00s\. Nothing was queued\. Try again in \d+ s\.$/);
    await waitFor('the three deploys to be taken', async () => ((await requestCount(t)) === 3 ? true : undefined));

    // Another user still may, until the channel's own limit (5) is reached.
    for (let i = 0; i < 2; i++) expect(JSON.parse((await t.command(`deploy bob-${i} main`, { user: 'U0BOB' })).body).text).toContain('Queued the deploy');
    const overChannel = JSON.parse((await t.command('deploy bob-9 main', { user: 'U0BOB' })).body) as { text: string };
    expect(overChannel.text).toContain('Slow down: this channel has asked lanebot for more than 5');
    // (A command's audit entry is written as its ack goes out, not before it.)
    await waitFor('the five deploys to be taken', async () => ((await requestCount(t)) === 5 ? true : undefined));

    // Reading is never limited.
    const list = await t.command('list', { user: 'U0ALICE' });
    expect(list.status).toBe(200);
    await waitFor('the list', () => t.stub.responsesFor(list.id)[0]);

    const refused = async () => (await t.bot.audit.recent({ service: 'user-api', env: 'dev' }, 50)).filter((e) => e.action === 'command:deploy' && e.outcome === 'refused');
    await waitFor('both refusals to be audited', async () => ((await refused()).length >= 2 ? true : undefined));
    expect(await refused()).toHaveLength(2);
  });
});

describe('a channel the bot cannot post in', () => {
  let t: TestBot;

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  it('refuses to queue what would need a thread there, and says how to fix it', async () => {
    t = await startTestBot();
    t.stub.workspace.setBotMembership(CHANNEL, false);
    await t.bot.channelMembership.record(CHANNEL, { canPost: false, at: t.clock.now(), source: 'event' });
    const sent = await t.command('deploy gray release/1.2.3');
    const ack = JSON.parse(sent.body) as { text: string };
    expect(ack.text).toContain('Nothing was queued: lanebot is not a member of this channel');
    expect(ack.text).toContain('/invite @lanebot');
    expect(await requestCount(t)).toBe(0);

    // Invited again (Slack sends member_joined_channel): the same command is queued.
    await t.bot.channelMembership.record(CHANNEL, { canPost: true, at: t.clock.now() + 1, source: 'event' });
    t.stub.workspace.setBotMembership(CHANNEL, true);
    expect(JSON.parse((await t.command('deploy gray release/1.2.3')).body).text).toContain('Queued the deploy');
  });

  it('learns its membership of every bound channel from conversations.info on a schedule', async () => {
    t = await startTestBot({ overrides: { refreshChannelMembership: true } });
    await waitFor('the membership to be read', async () => ((await t.bot.channelMembership.canPost(CHANNEL, t.clock.now())) === 'yes' ? true : undefined));
    // The channels are read one after the other: the second may land a moment after the first.
    await waitFor('the second channel\'s membership', async () => ((await t.bot.channelMembership.canPost('C0ORDERSDEV', t.clock.now())) === 'yes' ? true : undefined));
    expect(t.stub.calls.some((c) => c.method === 'conversations.info')).toBe(true);
  });
});
