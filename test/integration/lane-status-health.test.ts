// `/lane status` answers from Redis at once, then a worker reads the lanes' health through the ports
// (ECS rollout, target health, alarm states) and posts it as a second, ephemeral message to the
// command's response_url. The listener itself never calls AWS.
import { randomUUID } from 'node:crypto';
import type { CloudPorts } from '../../src/cloud/cloud';
import { observeCloudCalls } from '../../src/cloud/observe-cloud';
import { deletePrefix, ManualClock, startTestBot, waitFor, type TestBot } from '../support/harness';
import { SlackStub, type StubResponse } from '../support/slack-stub';

const FULL_RUN_MS = 400_000;
const GRAY = { service: 'user-api', env: 'dev', lane: 'gray' };

async function deploy(t: TestBot, lane: string, branch: string): Promise<void> {
  await t.command(`deploy ${lane} ${branch}`);
  await waitFor(`${lane} to run`, async () => (await t.bot.lanes.get({ ...GRAY, lane }))?.last?.status === 'running');
  t.clock.advance(FULL_RUN_MS);
  const root = await waitFor(`the root of ${branch}`, () => t.stub.rootMentioning(branch));
  await waitFor(`${branch} to be deployed and checked`, () => t.stub.thread(root).find((m) => m.text.includes('now runs')));
}

/** The first answer and the follow-up of one command, in the order they arrived. */
async function answers(t: TestBot, id: string): Promise<[StubResponse, StubResponse]> {
  const [first, second] = await waitFor('both answers', () => (t.stub.responsesFor(id).length >= 2 ? t.stub.responsesFor(id) : undefined));
  return [first!, second!];
}

describe('/lane status with the lanes\' health as a follow-up', () => {
  let t: TestBot;

  beforeAll(async () => {
    t = await startTestBot();
    await deploy(t, 'gray', 'release/1.2.3');
  });

  afterAll(async () => {
    await t.stop();
    await deletePrefix(t.prefix);
  });

  it('answers as before at once, then posts the rollout, target health and alarm states', async () => {
    const sent = await t.command('status gray');
    const [first, followUp] = await answers(t, sent.id);
    expect(first.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(first.body.text).toContain('*Lane gray* of user-api/dev');
    expect(first.body.text).toContain('`release/1.2.3`');
    expect(first.body.text).toContain('target health and alarm states follow in a moment');

    expect(followUp.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    const text = String(followUp.body.text);
    expect(text).toContain('*Health of lane gray* (user-api/dev)');
    expect(text).toContain('ECS deployment complete, 1/1 running');
    expect(text).toContain('1/1 targets healthy');
    for (const alarm of ['5xx rate: ', 'unhealthy hosts: ', 'tasks below desired: ']) expect(text).toContain(alarm);
    expect(text).not.toContain('could not be read');
    expect(t.stub.responsesFor(sent.id)).toHaveLength(2);
  });

  it('shows unhealthy targets with their reason', async () => {
    await t.bot.simHealth!.setHealth(GRAY, { unhealthyTargets: 1 });
    try {
      const sent = await t.command('status gray');
      const [, followUp] = await answers(t, sent.id);
      expect(followUp.body.text).toContain('1/1 targets unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [503])');
    } finally {
      await t.bot.simHealth!.setHealth(GRAY, { unhealthyTargets: 0 });
    }
  });

  it('says which part could not be read when a port fails, and shows the rest', async () => {
    await t.bot.simFaults!.inject({ service: 'elbv2', fault: 'access-denied' });
    const sent = await t.command('status gray');
    const [, followUp] = await answers(t, sent.id);
    const text = String(followUp.body.text);
    expect(text).toMatch(/target health: could not be read: .*DescribeTargetHealth/);
    expect(text).toContain('ECS deployment complete, 1/1 running');
    expect(text).toContain('5xx rate: ');
    expect(await t.bot.simFaults!.pending()).toEqual([]);
  });

  it('for the recent lanes, reads every lane shown, each under its name', async () => {
    await deploy(t, 'blue', 'release/2.0.0');
    const sent = await t.command('status');
    const [first, followUp] = await answers(t, sent.id);
    expect(first.body.text).toContain('*Lane gray*');
    expect(first.body.text).toContain('*Lane blue*');
    expect(first.body.text).toContain('Their target health and alarm states follow in a moment');
    const text = String(followUp.body.text);
    expect(text).toContain('*Health of the lanes above* (user-api/dev)');
    // Most recently active first, as in the first answer.
    expect(text.indexOf('*blue*')).toBeGreaterThan(-1);
    expect(text.indexOf('*blue*')).toBeLessThan(text.indexOf('*gray*'));
    expect(text.match(/1\/1 targets healthy/g)).toHaveLength(2);
  });

  it('says at once that a lane never deployed has no health, and queues nothing', async () => {
    const sent = await t.command('status nolane');
    const reply = await waitFor('the answer', () => t.stub.responsesFor(sent.id)[0]);
    expect(reply.body.text).toContain('Lane *nolane* of user-api/dev has never been deployed, so it has no health to show');
    expect(reply.body.text).not.toContain('follow in a moment');
    // Queued before the answer is given, so an empty queue now means no follow-up ever.
    expect(await t.bot.queues.followUps.getJobCounts('waiting', 'delayed', 'active', 'prioritized')).toEqual({ waiting: 0, delayed: 0, active: 0, prioritized: 0 });
  });
});

describe('the ack path of /lane status', () => {
  const prefix = `test-${randomUUID()}`;
  const clock = new ManualClock();
  let stub: SlackStub;
  const bots: TestBot[] = [];

  beforeAll(async () => {
    stub = await new SlackStub().start();
  });

  afterAll(async () => {
    for (const bot of bots) await bot.stop().catch(() => undefined);
    await stub.stop();
    await deletePrefix(prefix);
  });

  it('makes no AWS call: a web process answers, a worker process reads the health and posts it', async () => {
    const deployer = await startTestBot({ stub, prefix, clock });
    bots.push(deployer);
    await deploy(deployer, 'gray', 'release/1.2.3');
    await deployer.stop();

    const calls: string[] = [];
    const web = await startTestBot({ stub, prefix, clock, env: { LANEBOT_ROLE: 'web' }, overrides: { wrapCloud: (cloud) => counting(cloud, calls) } });
    bots.push(web);
    const sent = await web.command('status gray');
    const first = await waitFor('the first answer', () => stub.responsesFor(sent.id)[0]);
    expect(first.body.text).toContain('*Lane gray* of user-api/dev');
    expect(first.body.text).toContain('follow in a moment');
    // The listener let the follow-up go once it had answered; only a worker can take it.
    await waitFor('the follow-up to wait for a worker', async () => (await web.bot.queues.followUps.getJobCounts('waiting')).waiting === 1);
    expect(calls).toEqual([]);
    expect(stub.responsesFor(sent.id)).toHaveLength(1);

    const worker = await startTestBot({ stub, prefix, clock, env: { LANEBOT_ROLE: 'worker' } });
    bots.push(worker);
    const [, followUp] = await waitFor('the follow-up', () => (stub.responsesFor(sent.id).length >= 2 ? stub.responsesFor(sent.id) : undefined));
    expect(followUp!.body.text).toContain('1/1 targets healthy');
    expect(calls).toEqual([]);
  });
});

/** The same ports, recording every call made through them (`port.method`). */
function counting(cloud: CloudPorts, calls: string[]): CloudPorts {
  return observeCloudCalls(cloud, ({ port, method }) => void calls.push(`${port}.${method}`));
}
