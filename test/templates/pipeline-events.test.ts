// templates/lanebot-pipeline-events.yaml: the EventBridge rule puts CodePipeline's execution, stage
// and action state changes on the queue (events shaped as CodePipeline sends them, and each one
// read by the parser the SQS adapter uses), only that rule may write to the queue, and the bot's
// policy reaches that queue for reading and deleting only.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePipelineExecutionChange, PIPELINE_EVENT_DETAIL_TYPES } from '../../src/cloud/pipeline-events.port';
import { PSEUDO_PARAMETERS, TEMPLATES_DIR, evaluate, loadTemplate } from './support/cfn-template';
import { matchesEventPattern, type EventPattern } from './support/event-pattern';
import { iamResourceMatches } from './support/iam-policy';

const template = loadTemplate('lanebot-pipeline-events.yaml');
const resources = template.Resources;
const ruleProperties = resources.PipelineStateChangeRule!.Properties!;
const pattern = ruleProperties.EventPattern as EventPattern;

/** An EventBridge CodePipeline state change event (fields as CodePipeline sends them). */
function pipelineEvent(detailType: string, detail: Record<string, unknown> = {}, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0',
    id: '01234567-0000-0000-0000-000000000000',
    'detail-type': detailType,
    source: 'aws.codepipeline',
    account: '123456789012',
    time: '2026-03-01T10:00:00Z',
    region: 'eu-west-1',
    resources: ['arn:aws:codepipeline:eu-west-1:123456789012:user-api-dev'],
    detail: { pipeline: 'user-api-dev', 'execution-id': '12345678-1234-1234-1234-123456789012', state: 'STARTED', version: 3, ...detail },
    ...overrides,
  };
}

function queueArn(logicalId: string): string {
  const name = evaluate(template, resources[logicalId]!.Properties!.QueueName, { parameters: {} });
  return `arn:aws:sqs:${PSEUDO_PARAMETERS['AWS::Region']}:${PSEUDO_PARAMETERS['AWS::AccountId']}:${String(name)}`;
}

describe('lanebot-pipeline-events.yaml: the rule', () => {
  it('listens on the default bus, enabled, for the execution, stage and action changes the adapter parses', () => {
    expect(ruleProperties).toMatchObject({ EventBusName: 'default', State: 'ENABLED' });
    expect(pattern.source).toEqual(['aws.codepipeline']);
    expect(new Set(pattern['detail-type'] as string[])).toEqual(PIPELINE_EVENT_DETAIL_TYPES);
  });

  it('matches each kind of change, which the parser reads as the pipeline and execution that moved', () => {
    const events = [
      pipelineEvent('CodePipeline Pipeline Execution State Change', { state: 'SUCCEEDED' }),
      pipelineEvent('CodePipeline Stage Execution State Change', { stage: 'Build', state: 'STARTED' }),
      pipelineEvent('CodePipeline Action Execution State Change', { stage: 'Approval', action: 'ManualApproval', state: 'STARTED', type: { category: 'Approval', owner: 'AWS', provider: 'Manual', version: '1' } }),
    ];
    for (const event of events) {
      expect(matchesEventPattern(pattern, event)).toBe(true);
      expect(parsePipelineExecutionChange(JSON.stringify(event), 'r')).toEqual({
        pipeline: 'user-api-dev',
        executionId: '12345678-1234-1234-1234-123456789012',
        kind: event['detail-type'],
        receipt: 'r',
      });
    }
  });

  it('leaves out other CodePipeline events and other sources; the parser drops them too', () => {
    for (const event of [
      pipelineEvent('CodePipeline Pipeline Execution State Change', {}, { source: 'aws.codebuild' }),
      pipelineEvent('CodePipeline Stage Execution State Change', {}, { 'detail-type': 'CodePipeline Rule Execution State Change' }),
    ]) {
      expect(matchesEventPattern(pattern, event)).toBe(false);
      expect(parsePipelineExecutionChange(JSON.stringify(event), 'r')).toBeUndefined();
    }
    expect(parsePipelineExecutionChange('not json', 'r')).toBeUndefined();
    expect(parsePipelineExecutionChange(JSON.stringify(pipelineEvent('CodePipeline Stage Execution State Change', { 'execution-id': '' })), 'r')).toBeUndefined();
  });

  it('targets the queue, and nothing else', () => {
    expect(ruleProperties.Targets).toEqual([{ Id: expect.any(String), Arn: { 'Fn::GetAtt': ['PipelineEventsQueue', 'Arn'] } }]);
  });
});

describe('lanebot-pipeline-events.yaml: the queues', () => {
  const queue = resources.PipelineEventsQueue!.Properties!;
  const deadLetters = resources.PipelineEventsDeadLetterQueue!.Properties!;

  it('encrypts with SQS-managed keys, long-polls, keeps a day, and sends a message received 5 times aside', () => {
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(deadLetters.SqsManagedSseEnabled).toBe(true);
    expect(queue.ReceiveMessageWaitTimeSeconds).toBe(20);
    expect(queue.MessageRetentionPeriod).toBe(86400);
    expect(queue.VisibilityTimeout as number).toBeGreaterThan(queue.ReceiveMessageWaitTimeSeconds as number);
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': ['PipelineEventsDeadLetterQueue', 'Arn'] }, maxReceiveCount: 5 });
    expect(deadLetters.MessageRetentionPeriod as number).toBeGreaterThan(queue.MessageRetentionPeriod as number);
  });

  it('lets EventBridge send to the queue only from this rule (aws:SourceArn)', () => {
    const policy = resources.PipelineEventsQueuePolicy!.Properties!;
    expect(policy.Queues).toEqual([{ Ref: 'PipelineEventsQueue' }]);
    expect(policy.PolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: expect.any(String),
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: { 'Fn::GetAtt': ['PipelineEventsQueue', 'Arn'] },
          Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['PipelineStateChangeRule', 'Arn'] } } },
        },
      ],
    });
  });

  it('outputs QueueUrl (the bot\'s PIPELINE_EVENTS_QUEUE_URL), QueueArn, DeadLetterQueueUrl and RuleArn', () => {
    const values = Object.fromEntries(Object.entries(template.Outputs!).map(([name, output]) => [name, output.Value]));
    expect(values).toEqual({
      QueueUrl: { Ref: 'PipelineEventsQueue' },
      QueueArn: { 'Fn::GetAtt': ['PipelineEventsQueue', 'Arn'] },
      DeadLetterQueueUrl: { Ref: 'PipelineEventsDeadLetterQueue' },
      RuleArn: { 'Fn::GetAtt': ['PipelineStateChangeRule', 'Arn'] },
    });
  });
});

describe('iam/bot-policy.json and the pipeline-events queue', () => {
  const policy = JSON.parse(readFileSync(join(TEMPLATES_DIR, 'iam/bot-policy.json'), 'utf8')) as {
    Statement: { Sid: string; Effect: string; Action: string | string[]; Resource: string | string[] }[];
  };
  const granting = (arn: string) => policy.Statement.filter((s) => [s.Action].flat().some((a) => a.startsWith('sqs:')) && [s.Resource].flat().some((r) => iamResourceMatches(r, arn)));

  it('one statement grants reading and deleting on the queue, and not on its dead-letter queue', () => {
    const statements = granting(queueArn('PipelineEventsQueue'));
    expect(statements).toHaveLength(1);
    expect(statements[0]!.Effect).toBe('Allow');
    expect([statements[0]!.Action].flat().sort()).toEqual(['sqs:DeleteMessage', 'sqs:ReceiveMessage']);
    expect(granting(queueArn('PipelineEventsDeadLetterQueue'))).toEqual([]);
    expect(granting('arn:aws:sqs:us-east-1:123456789012:lanebot-pipeline-events-2')).toEqual([]);
  });
});
