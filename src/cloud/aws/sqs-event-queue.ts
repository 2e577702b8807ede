// An SQS queue that an EventBridge rule fills with events: long-polls it, keeps the messages `parse`
// recognises, drops the rest, and deletes handled messages in batches. EventBridge delivers the event
// itself as the message body (no envelope, unlike SNS). The alarm and pipeline events adapters are this
// queue with their own parser (sqs-alarm-events.adapter.ts, sqs-pipeline-events.adapter.ts).
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { LanebotError } from '../../errors';
import { callAws, type AwsCallOptions } from './aws-call';

export interface SqsEventQueueOptions extends AwsCallOptions {
  client: SQSClient;
  /** ALARM_EVENTS_QUEUE_URL, PIPELINE_EVENTS_QUEUE_URL. */
  queueUrl: string;
}

/** ReceiveMessage answers at most 10 messages and waits at most 20 s; DeleteMessageBatch takes 10 entries. */
const MAX_MESSAGES = 10;
const MAX_WAIT_SECONDS = 20;
const DELETE_BATCH = 10;

export class SqsEventQueue<T> {
  constructor(
    private readonly options: SqsEventQueueOptions,
    /** The event a message body holds, or undefined when it is not one this queue is for. */
    private readonly parse: (body: string, receipt: string) => T | undefined,
  ) {}

  async receive(maxMessages: number, waitSeconds: number, signal?: AbortSignal): Promise<T[]> {
    const { queueUrl } = this.options;
    const output = await callAws(
      'ReceiveMessage',
      () =>
        this.options.client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: clamp(maxMessages, 1, MAX_MESSAGES),
            WaitTimeSeconds: clamp(waitSeconds, 0, MAX_WAIT_SECONDS),
          }),
          // A stopping bot ends its long poll at once rather than wait out the 20 s.
          signal ? { abortSignal: signal } : {},
        ),
      { ...this.options, service: 'sqs' },
    );
    const changes: T[] = [];
    const junk: string[] = [];
    for (const message of output.Messages ?? []) {
      if (!message.ReceiptHandle) continue;
      const change = this.parse(message.Body ?? '', message.ReceiptHandle);
      if (change) changes.push(change);
      else junk.push(message.ReceiptHandle);
    }
    // Anything else on the queue (SQS's test event, a foreign event) would come back forever: drop it.
    if (junk.length > 0) await this.acknowledge(junk);
    return changes;
  }

  async acknowledge(receipts: string[]): Promise<void> {
    const { queueUrl } = this.options;
    for (let start = 0; start < receipts.length; start += DELETE_BATCH) {
      const entries = receipts.slice(start, start + DELETE_BATCH).map((handle, i) => ({ Id: String(start + i), ReceiptHandle: handle }));
      const output = await callAws('DeleteMessageBatch', () => this.options.client.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries })), {
        ...this.options,
        service: 'sqs',
      });
      // A stale receipt (its message was received again since) means another receive owns it now:
      // that one deletes it. Anything else is a fault worth retrying.
      const failed = (output.Failed ?? []).filter((f) => f.Code !== 'ReceiptHandleIsInvalid');
      if (failed.length > 0) {
        throw new LanebotError('AWS_ERROR', `sqs:DeleteMessageBatch failed for ${failed.length} message(s) of ${queueUrl}: ${failed[0]!.Code ?? ''} ${failed[0]!.Message ?? ''}`.trim(), {
          retryable: true,
        });
      }
    }
  }
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.floor(Number.isFinite(n) ? n : min)));
}
