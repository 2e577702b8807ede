// `/lane releases <lane>` and the current release in `/lane status <lane>`: what each deploy left
// running, read from the lane stack's outputs, with who, when, branch, health and what it replaced.
import { deletePrefix, startTestBot, waitFor, type TestBot } from '../support/harness';

const FULL_RUN_MS = 400_000;
const GRAY = { service: 'user-api', env: 'dev', lane: 'gray' };

describe('lane releases', () => {
  let t: TestBot;

  beforeEach(async () => {
    t = await startTestBot();
  });

  afterEach(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  async function deploy(branch: string, user = 'U0ALICE') {
    await t.command(`deploy gray ${branch}`, { user });
    const root = await waitFor('the root message', () => t.stub.rootMentioning(branch));
    await waitFor('the pipeline to run', async () => (await t.bot.lanes.get(GRAY))?.last?.params.branch === branch && (await t.bot.lanes.get(GRAY))?.last?.status === 'running');
    t.clock.advance(FULL_RUN_MS);
    await waitFor('the success reply', () => t.stub.thread(root).find((m) => m.text.includes('now runs')));
  }

  /** The answer to a command: in the ack itself (bad input), or through its response_url. */
  async function reply(text: string): Promise<string> {
    const sent = await t.command(text);
    if (sent.body) return String((JSON.parse(sent.body) as { text: string }).text);
    const answer = await waitFor(`the answer to /lane ${text}`, () => t.stub.responsesFor(sent.id)[0]);
    return String(answer.body.text);
  }

  it('lists each release newest first with its image, health and who, and the second replaced the first', async () => {
    await deploy('release/1.0.0');
    await deploy('release/2.0.0', 'U0BOB');
    const releases = await t.bot.lanes.releases(GRAY);
    expect(releases.map((r) => r.branch)).toEqual(['release/2.0.0', 'release/1.0.0']);
    expect(releases[0]).toMatchObject({ kind: 'deploy', by: 'U0BOB', health: 'healthy', replaced: releases[1]!.image });
    expect(releases[1]!.replaced).toBeUndefined();
    // Pinned by digest (the stack names a tag; the registry says which image it is).
    expect(releases.map((r) => r.image)).toEqual([expect.stringMatching(/@sha256:[0-9a-f]{64}$/), expect.stringMatching(/@sha256:[0-9a-f]{64}$/)]);

    const text = await reply('releases gray');
    expect(text).toContain('*Releases of lane gray* of user-api/dev (newest first; 1 runs now)');
    const [first, second] = text.split('\n').slice(1);
    expect(first).toMatch(/^1\. <!date\^\d+\^\{date_short\} \{time\}\|[^>]+> · `release\/2\.0\.0` · image `[^`]+` · :white_check_mark: healthy · deploy by <@U0BOB>$/);
    expect(second).toMatch(/^2\. .* · `release\/1\.0\.0` · .* · deploy by <@U0ALICE>$/);

    const status = await reply('status gray');
    expect(status).toMatch(/Current release: .*`release\/2\.0\.0`.* · replaced `[^`]+` \(`\/lane releases gray` lists them\)/);
  });

  it('answers a lane never deployed, and bad input, without queuing anything', async () => {
    expect(await reply('releases blue')).toContain('Lane *blue* of user-api/dev does not exist');
    expect(await reply('releases')).toContain('missing the lane');
    expect(await reply('releases gray blue')).toContain('too many arguments');
    expect(await reply('releases Gray!')).toContain('/lane releases <lane>');
  });
});
