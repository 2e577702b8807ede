// templates/lanebot-pipeline-events.yaml deployed on moto (a local AWS), then used end to end:
// CodePipeline state change events put on the default bus reach the queue only when the rule's
// pattern matches them, and the bot's SqsPipelineEventsAdapter reads them off the queue.
// As in alarm-events-moto.test.ts: moto's CloudFormation skips AWS::SQS::QueuePolicy (the SourceArn
// condition is proven from the template in pipeline-events.test.ts), and moto accepts PutEvents with
// an `aws.` source, which real EventBridge refuses: that is how CodePipeline's events are played here.
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SqsPipelineEventsAdapter } from '../../src/cloud/aws/sqs-pipeline-events.adapter';
import type { PipelineExecutionChange } from '../../src/cloud/pipeline-events.port';
import { describeWithMoto, startMoto, type MotoServer } from '../support/moto';
import { loadTemplate } from './support/cfn-template';

const STACK = 'lanebot-pipeline-events';

describeWithMoto('the pipeline-events stack on moto', () => {
  let moto: MotoServer;
  let cfn: CloudFormationClient;
  let sqs: SQSClient;
  let stack: Stack;

  beforeAll(async () => {
    moto = await startMoto();
    cfn = new CloudFormationClient(moto.clientConfig);
    sqs = new SQSClient(moto.clientConfig);
  }, 40_000);

  afterAll(async () => {
    cfn?.destroy();
    sqs?.destroy();
    await moto?.stop();
  });

  const outputs = (): Record<string, string> => Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue!]));

  /** EventBridge PutEvents through its JSON protocol (no EventBridge SDK client is a dependency). */
  async function putEvents(entries: { source: string; detailType: string; detail: unknown }[]): Promise<void> {
    const response = await fetch(moto.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AWSEvents.PutEvents',
        // moto routes by the credential scope's service and does not check signatures.
        authorization: 'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/events/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: JSON.stringify({ Entries: entries.map((e) => ({ Source: e.source, DetailType: e.detailType, Detail: JSON.stringify(e.detail) })) }),
    });
    const answer = (await response.json()) as { FailedEntryCount?: number };
    if (!response.ok || answer.FailedEntryCount) throw new Error(`PutEvents failed: ${JSON.stringify(answer)}`);
  }

  const change = (detailType: string, executionId: string, extra: Record<string, unknown> = {}) => ({
    source: 'aws.codepipeline',
    detailType,
    detail: { pipeline: 'user-api-dev', version: 1, 'execution-id': executionId, state: 'STARTED', ...extra },
  });

  it('creates the stack from the template as it is, and queues the CodePipeline changes the adapter reads, nothing else', async () => {
    await cfn.send(new CreateStackCommand({ StackName: STACK, TemplateBody: JSON.stringify(loadTemplate('lanebot-pipeline-events.yaml')) }));
    for (let attempt = 0; attempt < 200; attempt++) {
      stack = (await cfn.send(new DescribeStacksCommand({ StackName: STACK }))).Stacks![0]!;
      if (!stack.StackStatus!.endsWith('_IN_PROGRESS')) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    expect(outputs().QueueUrl).toMatch(/\/lanebot-pipeline-events$/);
    expect(outputs().RuleArn).toMatch(/^arn:aws:events:us-east-1:\d{12}:rule\/lanebot-pipeline-events$/);

    // Everything is put before anything is read: moto delivers while PutEvents runs.
    await putEvents([
      change('CodePipeline Pipeline Execution State Change', 'e1'),
      change('CodePipeline Stage Execution State Change', 'e2', { stage: 'Build' }),
      change('CodePipeline Action Execution State Change', 'e3', { stage: 'Approval', action: 'ManualApproval' }),
      { ...change('CodePipeline Stage Execution State Change', 'x1'), source: 'aws.codebuild' },
      { ...change('CodePipeline Stage Execution State Change', 'x2'), detailType: 'CodePipeline Rule Execution State Change' },
    ]);
    const queueUrl = outputs().QueueUrl!;
    const adapter = new SqsPipelineEventsAdapter({ client: sqs, queueUrl });
    const received: PipelineExecutionChange[] = [];
    for (let batch = await adapter.receive(10, 0); batch.length > 0; batch = await adapter.receive(10, 0)) {
      received.push(...batch);
      await adapter.acknowledge(batch.map((c) => c.receipt));
    }
    expect(received.map((c) => `${c.pipeline} ${c.executionId}`).sort()).toEqual(['user-api-dev e1', 'user-api-dev e2', 'user-api-dev e3']);
    const left = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }))).Attributes ?? {};
    expect({ visible: left.ApproximateNumberOfMessages, inFlight: left.ApproximateNumberOfMessagesNotVisible }).toEqual({ visible: '0', inFlight: '0' });
  });
});
