import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, SQSServiceException } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { SqsPipelineEventsAdapter } from '../../../src/cloud/aws/sqs-pipeline-events.adapter';

const sqs = mockClient(SQSClient);
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/lanebot-pipeline-events';

/** An EventBridge "CodePipeline Stage Execution State Change" event, as the CodePipeline documentation shows it. */
const EVENT = {
  version: '0',
  id: 'CWE-event-id',
  'detail-type': 'CodePipeline Stage Execution State Change',
  source: 'aws.codepipeline',
  account: '123456789012',
  time: '2026-03-01T10:00:00Z',
  region: 'eu-west-1',
  resources: ['arn:aws:codepipeline:eu-west-1:123456789012:user-api-dev'],
  detail: { pipeline: 'user-api-dev', version: 1, 'execution-id': '01234567-0123-0123-0123-012345678901', stage: 'Build', state: 'SUCCEEDED' },
};

function adapter(): SqsPipelineEventsAdapter {
  return new SqsPipelineEventsAdapter({ client: new SQSClient({ region: 'eu-west-1' }), queueUrl: QUEUE, sleep: async () => undefined, maxThrottleRetries: 1 });
}

beforeEach(() => sqs.reset());

describe('SqsPipelineEventsAdapter', () => {
  it('long-polls and reads which execution moved, dropping other messages', async () => {
    sqs.on(ReceiveMessageCommand).resolves({
      Messages: [
        { MessageId: '1', ReceiptHandle: 'r1', Body: JSON.stringify(EVENT) },
        { MessageId: '2', ReceiptHandle: 'r2', Body: '{"Event":"aws:sqs:test"}' },
      ],
    });
    sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }], Failed: [] });

    const changes = await adapter().receive(50, 60);

    expect(sqs.commandCalls(ReceiveMessageCommand)[0]!.args[0].input).toEqual({ QueueUrl: QUEUE, MaxNumberOfMessages: 10, WaitTimeSeconds: 20 });
    expect(changes).toEqual([{ pipeline: 'user-api-dev', executionId: EVENT.detail['execution-id'], kind: EVENT['detail-type'], receipt: 'r1' }]);
    expect(sqs.commandCalls(DeleteMessageBatchCommand)[0]!.args[0].input).toEqual({ QueueUrl: QUEUE, Entries: [{ Id: '0', ReceiptHandle: 'r2' }] });
  });

  it('acknowledges in batches of 10, and maps access denied', async () => {
    sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    await adapter().acknowledge(Array.from({ length: 12 }, (_, i) => `r${i}`));
    expect(sqs.commandCalls(DeleteMessageBatchCommand).map((c) => c.args[0].input.Entries?.length)).toEqual([10, 2]);

    sqs.on(ReceiveMessageCommand).rejects(new SQSServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'denied' }));
    await expect(adapter().receive(1, 0)).rejects.toMatchObject({ code: 'AWS_ACCESS_DENIED', message: expect.stringContaining('sqs:ReceiveMessage') });
  });
});
