// SqsAlarmEventsAdapter against moto's SQS: EventBridge-shaped "CloudWatch Alarm State Change"
// bodies are parsed, anything else is deleted on the way, acknowledged messages are gone, and an
// unacknowledged one comes back after the queue's visibility timeout.
//
// What moto covers: ReceiveMessage (long poll included), DeleteMessageBatch with per-entry failures
// (a receipt it never issued fails as ReceiptHandleIsInvalid), visibility timeouts, queue counts.
// What it does not: moto keeps accepting a message's earlier receipts after it was received again
// (real SQS may refuse them or ignore the delete), so stale receipts are covered by the
// aws-sdk-client-mock test only. The rule that fills the queue: test/templates/alarm-events-moto.test.ts.
import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { ALARM_STATE_CHANGE_DETAIL_TYPE, type AlarmStateChange } from '../../src/cloud/alarm-events.port';
import { SqsAlarmEventsAdapter } from '../../src/cloud/aws/sqs-alarm-events.adapter';
import { describeWithMoto, startMoto, type MotoServer } from '../support/moto';

/** An EventBridge "CloudWatch Alarm State Change" event as it lands on the queue (the event is the body). */
function alarmEventBody(alarmName: string, state: string, previous: string, value: number): string {
  return JSON.stringify({
    version: '0',
    id: randomUUID(),
    'detail-type': ALARM_STATE_CHANGE_DETAIL_TYPE,
    source: 'aws.cloudwatch',
    account: '123456789012',
    time: '2026-03-01T10:00:41Z',
    region: 'us-east-1',
    resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarmName}`],
    detail: {
      alarmName,
      state: {
        value: state,
        reason: `Threshold Crossed: 1 datapoint [${value}] was greater than the threshold (1.0).`,
        reasonData: JSON.stringify({ version: '1.0', recentDatapoints: [value], threshold: 1, evaluatedDatapoints: [{ timestamp: '2026-03-01T09:55:00.000+0000', value }] }),
        timestamp: '2026-03-01T10:00:40.985+0000',
      },
      previousState: { value: previous, reason: 'earlier', timestamp: '2026-03-01T08:00:00.000+0000' },
      configuration: { metrics: [] },
    },
  });
}

describeWithMoto('SqsAlarmEventsAdapter against moto', () => {
  let moto: MotoServer;
  let sqs: SQSClient;
  const queues: string[] = [];

  beforeAll(async () => {
    moto = await startMoto();
    sqs = new SQSClient(moto.clientConfig);
  }, 40_000);

  afterAll(async () => {
    for (const queueUrl of queues) await sqs?.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    sqs?.destroy();
    await moto?.stop();
  });

  async function createQueue(visibilityTimeout: number): Promise<string> {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `test-${randomUUID()}`, Attributes: { VisibilityTimeout: String(visibilityTimeout) } }));
    queues.push(QueueUrl!);
    return QueueUrl!;
  }

  async function send(queueUrl: string, ...bodies: string[]): Promise<void> {
    for (const body of bodies) await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
  }

  /** Messages visible, and received but neither deleted nor timed out. */
  async function counts(queueUrl: string): Promise<{ visible: number; inFlight: number }> {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    return { visible: Number(Attributes!.ApproximateNumberOfMessages), inFlight: Number(Attributes!.ApproximateNumberOfMessagesNotVisible) };
  }

  /** Receives until `expected` changes are in hand (SQS may answer a few at a time), at most 20 times. */
  async function receiveAll(adapter: SqsAlarmEventsAdapter, expected: number): Promise<AlarmStateChange[]> {
    const changes: AlarmStateChange[] = [];
    for (let attempt = 0; attempt < 20 && changes.length < expected; attempt++) changes.push(...(await adapter.receive(10, 1)));
    return changes;
  }

  it('reads alarm state changes, deletes the junk on the way, and leaves the queue empty once they are acknowledged', async () => {
    const queueUrl = await createQueue(30);
    await send(
      queueUrl,
      alarmEventBody('user-api-prod-gray-5xx-rate', 'ALARM', 'OK', 4.2),
      '{"Service":"Amazon SQS","Event":"aws:sqs:test"}',
      alarmEventBody('user-api-prod-gray-unhealthy-hosts', 'OK', 'ALARM', 0),
      'not json at all',
      alarmEventBody('user-api-prod-blue-tasks-below-desired', 'INSUFFICIENT_DATA', 'OK', 1),
    );
    const adapter = new SqsAlarmEventsAdapter({ client: sqs, queueUrl });

    const changes = await receiveAll(adapter, 3);

    const byName = Object.fromEntries(changes.map((c) => [c.alarmName, c]));
    expect(Object.keys(byName).sort()).toEqual(['user-api-prod-blue-tasks-below-desired', 'user-api-prod-gray-5xx-rate', 'user-api-prod-gray-unhealthy-hosts']);
    expect(byName['user-api-prod-gray-5xx-rate']).toEqual({
      alarmName: 'user-api-prod-gray-5xx-rate',
      state: 'ALARM',
      previousState: 'OK',
      reason: 'Threshold Crossed: 1 datapoint [4.2] was greater than the threshold (1.0).',
      value: 4.2,
      threshold: 1,
      at: Date.parse('2026-03-01T10:00:40.985Z'),
      receipt: expect.any(String),
    });
    expect(byName['user-api-prod-gray-unhealthy-hosts']).toMatchObject({ state: 'OK', previousState: 'ALARM', value: 0 });
    expect(byName['user-api-prod-blue-tasks-below-desired']).toMatchObject({ state: 'INSUFFICIENT_DATA', previousState: 'OK' });
    // The two junk messages are deleted already; the three changes wait for their acknowledgement.
    expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 3 });

    await adapter.acknowledge(changes.map((c) => c.receipt));

    expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 0 });
    expect(await adapter.receive(10, 0)).toEqual([]);
  });

  it('brings an unacknowledged change back after the visibility timeout, with a new receipt', async () => {
    const queueUrl = await createQueue(1);
    await send(queueUrl, alarmEventBody('user-api-dev-gray-5xx-rate', 'ALARM', 'OK', 2));
    const adapter = new SqsAlarmEventsAdapter({ client: sqs, queueUrl });

    const [first] = await receiveAll(adapter, 1);
    expect(first).toMatchObject({ alarmName: 'user-api-dev-gray-5xx-rate', state: 'ALARM' });

    // Not acknowledged (as if the bot died while handling it): it comes back. Each receive
    // long-polls up to a second, so this waits for the timeout without a fixed sleep.
    const [again] = await receiveAll(adapter, 1);
    expect(again).toMatchObject({ alarmName: 'user-api-dev-gray-5xx-rate', state: 'ALARM', at: first!.at });
    expect(again!.receipt).not.toBe(first!.receipt);

    await adapter.acknowledge([again!.receipt]);
    expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('acknowledges the others when one receipt is unknown (ReceiptHandleIsInvalid), and batches more than 10', async () => {
    const queueUrl = await createQueue(30);
    const names = Array.from({ length: 12 }, (_, i) => `svc-dev-lane${i}-5xx-rate`);
    await send(queueUrl, ...names.map((name) => alarmEventBody(name, 'ALARM', 'OK', 3)));
    const adapter = new SqsAlarmEventsAdapter({ client: sqs, queueUrl });

    const changes = await receiveAll(adapter, 12);
    expect(changes.map((c) => c.alarmName).sort()).toEqual([...names].sort());

    await adapter.acknowledge(['not-a-receipt-moto-issued', ...changes.map((c) => c.receipt)]);

    expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('turns a missing queue into a LanebotError naming the call', async () => {
    const adapter = new SqsAlarmEventsAdapter({ client: sqs, queueUrl: `${moto.endpoint}/123456789012/test-${randomUUID()}-missing` });
    await expect(adapter.receive(1, 0)).rejects.toMatchObject({ code: 'AWS_ERROR', message: expect.stringContaining('sqs:ReceiveMessage') });
  });
});
