// templates/lanebot-alarm-events.yaml: the EventBridge rule puts exactly the state changes of the
// lane alarms of service-stack.yaml on the queue (names read from service-stack.yaml itself, so a
// renamed alarm breaks this test), only that rule may write to the queue, and the bot's policy
// reaches that queue and nothing else of SQS.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALARM_STATE_CHANGE_DETAIL_TYPE } from '../../src/cloud/alarm-events.port';
import { PSEUDO_PARAMETERS, TEMPLATES_DIR, evaluate, loadTemplate } from './support/cfn-template';
import { matchesEventPattern, type EventPattern } from './support/event-pattern';
import { iamResourceMatches } from './support/iam-policy';

const template = loadTemplate('lanebot-alarm-events.yaml');
const lanes = loadTemplate('service-stack.yaml');
const resources = template.Resources;
const ruleProperties = resources.AlarmStateChangeRule!.Properties!;
const pattern = ruleProperties.EventPattern as EventPattern;

/** The AlarmName of every alarm of a lane stack, for one service, env and lane. */
function laneAlarmNames(service: string, env: string, lane: string): string[] {
  return Object.values(lanes.Resources)
    .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
    .map((r) => String(evaluate(lanes, r.Properties!.AlarmName, { parameters: { ServiceName: service, Env: env, Lane: lane } })));
}

/** What service-stack.yaml appends to {service}-{env}-{lane} to name each alarm. */
function laneAlarmSuffixes(): string[] {
  const stem = 'user-api-prod-gray';
  return laneAlarmNames('user-api', 'prod', 'gray').map((name) => {
    expect(name.startsWith(`${stem}-`)).toBe(true);
    return name.slice(stem.length);
  });
}

/** An EventBridge "CloudWatch Alarm State Change" event (fields as CloudWatch sends them). */
function alarmEvent(alarmName: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0',
    id: '5e6d1c1f-0000-0000-0000-000000000000',
    'detail-type': ALARM_STATE_CHANGE_DETAIL_TYPE,
    source: 'aws.cloudwatch',
    account: '123456789012',
    time: '2026-03-01T10:00:00Z',
    region: 'eu-west-1',
    resources: [`arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${alarmName}`],
    detail: {
      alarmName,
      state: { value: 'ALARM', reason: 'Threshold Crossed', timestamp: '2026-03-01T10:00:00.000+0000' },
      previousState: { value: 'OK', reason: 'Threshold Crossed', timestamp: '2026-02-28T09:00:00.000+0000' },
    },
    ...overrides,
  };
}

/** `arn:aws:sqs:{region}:{account}:{name}` of a queue of the template, with the default NamePrefix. */
function queueArn(logicalId: string): string {
  const name = evaluate(template, resources[logicalId]!.Properties!.QueueName, { parameters: {} });
  return `arn:aws:sqs:${PSEUDO_PARAMETERS['AWS::Region']}:${PSEUDO_PARAMETERS['AWS::AccountId']}:${String(name)}`;
}

describe('the event pattern checker', () => {
  it('matches nested fields, exact values and suffixes, and says no otherwise (so its answers below mean something)', () => {
    const p: EventPattern = { source: ['a'], detail: { name: [{ suffix: '-x' }, { prefix: 'y-' }] } };
    expect(matchesEventPattern(p, { source: 'a', detail: { name: 'q-x' } })).toBe(true);
    expect(matchesEventPattern(p, { source: 'a', detail: { name: 'y-q' } })).toBe(true);
    expect(matchesEventPattern(p, { source: 'a', detail: { name: 'q-x-' } })).toBe(false);
    expect(matchesEventPattern(p, { source: 'b', detail: { name: 'q-x' } })).toBe(false);
    expect(matchesEventPattern(p, { source: 'a' })).toBe(false);
    expect(matchesEventPattern({ source: ['a', 'b'] }, { source: ['c', 'b'] })).toBe(true);
    expect(() => matchesEventPattern({ n: [{ numeric: ['>', 1] } as never] }, { n: 2 })).toThrow(/numeric/);
  });
});

describe('lanebot-alarm-events.yaml: the rule', () => {
  it('listens on the default bus, enabled, for CloudWatch "Alarm State Change" events (the detail-type the adapter parses)', () => {
    expect(ruleProperties).toMatchObject({ EventBusName: 'default', State: 'ENABLED' });
    expect(pattern.source).toEqual(['aws.cloudwatch']);
    expect(pattern['detail-type']).toEqual([ALARM_STATE_CHANGE_DETAIL_TYPE]);
  });

  it('filters alarm names on exactly the suffixes service-stack.yaml gives its alarms', () => {
    const suffixes = laneAlarmSuffixes();
    expect(suffixes.sort()).toEqual(['-5xx-rate', '-tasks-below-desired', '-unhealthy-hosts']);
    const filters = (pattern.detail as EventPattern).alarmName as { suffix: string }[];
    expect(filters.map((f) => f.suffix).sort()).toEqual(suffixes);
    expect(filters.every((f) => Object.keys(f).length === 1)).toBe(true);
  });

  it.each([
    ['user-api', 'prod', 'gray'],
    ['user-api', 'dev', 'default'],
    ['order-api', 'qa', 'feature-5xx-rate-fix'],
  ])('matches every state change of every alarm of lane %s/%s/%s', (service, env, lane) => {
    const names = laneAlarmNames(service, env, lane);
    expect(names).toHaveLength(3);
    for (const alarmName of names) {
      for (const state of ['ALARM', 'OK', 'INSUFFICIENT_DATA']) {
        const event = alarmEvent(alarmName);
        (event.detail as { state: { value: string } }).state.value = state;
        expect({ alarmName, state, matches: matchesEventPattern(pattern, event) }).toEqual({ alarmName, state, matches: true });
      }
    }
  });

  it.each([
    ['an alarm of something else', alarmEvent('billing-cpu-high')],
    ['a name that only contains a suffix', alarmEvent('user-api-prod-gray-5xx-rate-old')],
    ['a shortened suffix', alarmEvent('user-api-prod-gray-5xx')],
    ['another CloudWatch event about a lane alarm', alarmEvent('user-api-prod-gray-5xx-rate', { 'detail-type': 'CloudWatch Alarm Configuration Change' })],
    ['the same shape from another source', alarmEvent('user-api-prod-gray-5xx-rate', { source: 'custom.monitoring' })],
    ['an event without an alarm name', alarmEvent('x', { detail: { state: { value: 'ALARM' } } })],
  ])('does not match %s', (_what, event) => {
    expect(matchesEventPattern(pattern, event)).toBe(false);
  });

  it('targets the queue, and nothing else', () => {
    expect(ruleProperties.Targets).toEqual([{ Id: expect.any(String), Arn: { 'Fn::GetAtt': ['AlarmEventsQueue', 'Arn'] } }]);
  });
});

describe('lanebot-alarm-events.yaml: the queues', () => {
  const queue = resources.AlarmEventsQueue!.Properties!;
  const deadLetters = resources.AlarmEventsDeadLetterQueue!.Properties!;

  it('encrypts both queues with SQS-managed keys (which EventBridge can write to)', () => {
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(deadLetters.SqsManagedSseEnabled).toBe(true);
    expect(queue.KmsMasterKeyId).toBeUndefined();
  });

  it('long-polls with SQS\'s maximum wait, keeps a day, and hides a received message long enough to handle it', () => {
    expect(queue.ReceiveMessageWaitTimeSeconds).toBe(20);
    expect(queue.MessageRetentionPeriod).toBe(86400);
    // Longer than one long poll, so a message is not handed out again while a batch is in hand.
    expect(queue.VisibilityTimeout as number).toBeGreaterThan(queue.ReceiveMessageWaitTimeSeconds as number);
  });

  it('moves a message received 5 times to the dead-letter queue, which keeps it longer than the queue would', () => {
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': ['AlarmEventsDeadLetterQueue', 'Arn'] }, maxReceiveCount: 5 });
    expect(deadLetters.MessageRetentionPeriod as number).toBeGreaterThan(queue.MessageRetentionPeriod as number);
  });

  it('lets EventBridge send to the queue only from this rule (aws:SourceArn), and grants nothing else', () => {
    const policy = resources.AlarmEventsQueuePolicy!.Properties!;
    expect(policy.Queues).toEqual([{ Ref: 'AlarmEventsQueue' }]);
    expect(policy.PolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: expect.any(String),
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: { 'Fn::GetAtt': ['AlarmEventsQueue', 'Arn'] },
          Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['AlarmStateChangeRule', 'Arn'] } } },
        },
      ],
    });
  });

  it('outputs QueueUrl (the bot\'s ALARM_EVENTS_QUEUE_URL), QueueArn, DeadLetterQueueUrl and RuleArn (exports: cross-stack.test.ts)', () => {
    const values = Object.fromEntries(Object.entries(template.Outputs!).map(([name, output]) => [name, output.Value]));
    expect(values).toEqual({
      QueueUrl: { Ref: 'AlarmEventsQueue' },
      QueueArn: { 'Fn::GetAtt': ['AlarmEventsQueue', 'Arn'] },
      DeadLetterQueueUrl: { Ref: 'AlarmEventsDeadLetterQueue' },
      RuleArn: { 'Fn::GetAtt': ['AlarmStateChangeRule', 'Arn'] },
    });
  });
});

describe('iam/bot-policy.json and the alarm-events queue', () => {
  const policy = JSON.parse(readFileSync(join(TEMPLATES_DIR, 'iam/bot-policy.json'), 'utf8')) as {
    Statement: { Sid: string; Effect: string; Action: string | string[]; Resource: string | string[]; Condition?: unknown }[];
  };
  // The pipeline-events queue has its own statement (pipeline-events.test.ts).
  const sqsStatements = policy.Statement.filter(
    (s) => [s.Action].flat().some((a) => a.startsWith('sqs:')) && [s.Resource].flat().some((r) => iamResourceMatches(r, queueArn('AlarmEventsQueue'))),
  );

  it('one statement grants the bot reading and deleting on the queue: no sending, purging or queue management', () => {
    expect(sqsStatements).toHaveLength(1);
    const [statement] = sqsStatements;
    expect(statement!.Effect).toBe('Allow');
    expect([statement!.Action].flat().sort()).toEqual(['sqs:DeleteMessage', 'sqs:ReceiveMessage']);
  });

  it('its resource is the template\'s queue (default NamePrefix), not the dead-letter queue nor any other queue', () => {
    const patterns = [sqsStatements[0]!.Resource].flat();
    expect(patterns.length).toBeGreaterThan(0);
    expect(patterns.some((p) => iamResourceMatches(p, queueArn('AlarmEventsQueue')))).toBe(true);
    for (const other of [queueArn('AlarmEventsDeadLetterQueue'), 'arn:aws:sqs:us-east-1:123456789012:orders', 'arn:aws:sqs:us-east-1:123456789012:lanebot-alarm-events-2']) {
      expect({ other, granted: patterns.some((p) => iamResourceMatches(p, other)) }).toEqual({ other, granted: false });
    }
  });
});
