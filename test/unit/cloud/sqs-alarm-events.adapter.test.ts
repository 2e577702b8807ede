import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, SQSServiceException } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { SqsAlarmEventsAdapter } from '../../../src/cloud/aws/sqs-alarm-events.adapter';

const sqs = mockClient(SQSClient);
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/lanebot-alarm-events';

/** An EventBridge "CloudWatch Alarm State Change" event, as the CloudWatch documentation shows it. */
const EVENT = {
  version: '0',
  id: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
  'detail-type': 'CloudWatch Alarm State Change',
  source: 'aws.cloudwatch',
  account: '123456789012',
  time: '2019-10-02T17:04:40Z',
  region: 'eu-west-1',
  resources: ['arn:aws:cloudwatch:eu-west-1:123456789012:alarm:user-api-prod-gray-5xx-rate'],
  detail: {
    alarmName: 'user-api-prod-gray-5xx-rate',
    state: {
      value: 'ALARM',
      reason: 'Threshold Crossed: 1 out of the last 1 datapoints [4.2 (02/10/19 16:59:00)] was greater than the threshold (1.0).',
      reasonData: JSON.stringify({ version: '1.0', statistic: 'Average', period: 300, recentDatapoints: [4.2], threshold: 1, evaluatedDatapoints: [{ timestamp: '2019-10-02T16:59:00.000+0000', sampleCount: 5, value: 4.2 }] }),
      timestamp: '2019-10-02T17:04:40.985+0000',
    },
    previousState: { value: 'OK', reason: 'Threshold Crossed: ...', timestamp: '2019-10-01T09:00:00.000+0000' },
  },
};

function adapter(): SqsAlarmEventsAdapter {
  return new SqsAlarmEventsAdapter({ client: new SQSClient({ region: 'eu-west-1' }), queueUrl: QUEUE, sleep: async () => undefined, maxThrottleRetries: 1 });
}

beforeEach(() => sqs.reset());

describe('SqsAlarmEventsAdapter', () => {
  it('long-polls and reads alarm state changes, dropping other messages', async () => {
    sqs.on(ReceiveMessageCommand).resolves({
      Messages: [
        { MessageId: '1', ReceiptHandle: 'r1', Body: JSON.stringify(EVENT) },
        { MessageId: '2', ReceiptHandle: 'r2', Body: '{"Event":"aws:sqs:test"}' },
      ],
    });
    sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }], Failed: [] });

    const changes = await adapter().receive(50, 60);

    expect(sqs.commandCalls(ReceiveMessageCommand)[0]!.args[0].input).toEqual({ QueueUrl: QUEUE, MaxNumberOfMessages: 10, WaitTimeSeconds: 20 });
    expect(changes).toEqual([
      {
        alarmName: 'user-api-prod-gray-5xx-rate',
        state: 'ALARM',
        previousState: 'OK',
        reason: EVENT.detail.state.reason,
        value: 4.2,
        threshold: 1,
        at: Date.parse('2019-10-02T17:04:40.985Z'),
        receipt: 'r1',
      },
    ]);
    expect(sqs.commandCalls(DeleteMessageBatchCommand)[0]!.args[0].input).toEqual({ QueueUrl: QUEUE, Entries: [{ Id: '0', ReceiptHandle: 'r2' }] });
  });

  it('acknowledges in batches of 10 and ignores stale receipts', async () => {
    sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [{ Id: '3', Code: 'ReceiptHandleIsInvalid', SenderFault: true }] });

    await adapter().acknowledge(Array.from({ length: 12 }, (_, i) => `r${i}`));

    const calls = sqs.commandCalls(DeleteMessageBatchCommand).map((c) => c.args[0].input.Entries?.length);
    expect(calls).toEqual([10, 2]);
  });

  it('throws a retryable AWS_ERROR when a delete failed otherwise, and maps access denied', async () => {
    sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false }] });
    await expect(adapter().acknowledge(['r0'])).rejects.toMatchObject({ code: 'AWS_ERROR', retryable: true });

    sqs.on(ReceiveMessageCommand).rejects(new SQSServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'denied' }));
    await expect(adapter().receive(1, 0)).rejects.toMatchObject({ code: 'AWS_ACCESS_DENIED', message: expect.stringContaining('sqs:ReceiveMessage') });
  });
});
