import {
  ChangeSetNotFoundException,
  CloudFormationClient,
  CloudFormationServiceException,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  InvalidChangeSetStatusException,
  type DescribeChangeSetOutput,
  type Stack,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudFormationAdapter } from '../../../src/cloud/aws/cloudformation.adapter';
import type { DeployStackInput } from '../../../src/cloud/stacks.port';
import { waitForStack } from '../../../src/cloud/wait-for-stack';
import { LanebotError } from '../../../src/errors';

const cfn = mockClient(CloudFormationClient);
const STACK = 'app-user-api-dev-gray';
const STACK_ID = `arn:aws:cloudformation:eu-west-1:123456789012:stack/${STACK}/1111`;
const TOKEN = 'deploy-42';
const CHANGE_SET = `lanebot-${TOKEN}`;
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);

let sleeps: number[];
function adapter(options: { maxThrottleRetries?: number; maxEventPages?: number } = {}): CloudFormationAdapter {
  return new CloudFormationAdapter({
    client: new CloudFormationClient({ region: 'eu-west-1' }),
    region: 'eu-west-1',
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
}

function input(overrides: Partial<DeployStackInput> = {}): DeployStackInput {
  return {
    stackName: STACK,
    templateBody: '{"Resources":{}}',
    parameters: { ImageTag: 'abc123', Priority: '17' },
    clientRequestToken: TOKEN,
    ...overrides,
  };
}

function sdkError(name: string, message: string, httpStatusCode: number | undefined = 400): CloudFormationServiceException {
  return new CloudFormationServiceException({ name, $fault: 'client', $metadata: { httpStatusCode }, message });
}

const stackMissing = (): CloudFormationServiceException => sdkError('ValidationError', `Stack with id ${STACK} does not exist`);
const changeSetMissing = (): ChangeSetNotFoundException =>
  new ChangeSetNotFoundException({ message: `ChangeSet [${CHANGE_SET}] does not exist`, $metadata: { httpStatusCode: 404 } });

function stack(status: string, extra: Partial<Stack> = {}): Stack {
  return { StackName: STACK, StackId: STACK_ID, StackStatus: status as Stack['StackStatus'], CreationTime: new Date(T0), ...extra };
}

function givenStack(status: string | undefined, extra: Partial<Stack> = {}): void {
  if (status === undefined) cfn.on(DescribeStacksCommand).rejects(stackMissing());
  else cfn.on(DescribeStacksCommand).resolves({ Stacks: [stack(status, extra)] });
}

function changeSet(status: string, executionStatus: string, reason?: string): DescribeChangeSetOutput {
  return {
    ChangeSetName: CHANGE_SET,
    StackId: STACK_ID,
    StackName: STACK,
    Status: status as DescribeChangeSetOutput['Status'],
    ExecutionStatus: executionStatus as DescribeChangeSetOutput['ExecutionStatus'],
    StatusReason: reason,
  };
}

function event(id: string, seconds: number, status: string, extra: Partial<StackEvent> = {}): StackEvent {
  return {
    StackId: STACK_ID,
    StackName: STACK,
    EventId: id,
    Timestamp: new Date(T0 + seconds * 1000),
    LogicalResourceId: STACK,
    ResourceType: 'AWS::CloudFormation::Stack',
    ResourceStatus: status as StackEvent['ResourceStatus'],
    ...extra,
  };
}

beforeEach(() => {
  cfn.reset();
  sleeps = [];
});

describe('deployStack', () => {
  it('creates a missing stack through a CREATE change set and executes it with the token once it is computed', async () => {
    givenStack(undefined);
    cfn.on(CreateChangeSetCommand).resolves({ Id: 'cs-arn', StackId: STACK_ID });
    cfn.on(DescribeChangeSetCommand).resolves(changeSet('CREATE_PENDING', 'UNAVAILABLE'));
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [event('review-1', 0, 'REVIEW_IN_PROGRESS')] });
    cfn.on(ExecuteChangeSetCommand).resolves({});
    const roleArn = 'arn:aws:iam::123456789012:role/lanebot-pipeline-stacks';
    const stacks = adapter();

    // CloudFormation is still computing it: the call says so instead of holding the caller.
    expect(await stacks.deployStack(input({ tags: { lane: 'gray' }, roleArn }))).toEqual({ kind: 'preparing' });
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);

    // The next call with the same token finds the change set (the stack now waits in REVIEW_IN_PROGRESS).
    givenStack('REVIEW_IN_PROGRESS');
    cfn.on(DescribeChangeSetCommand).resolves(changeSet('CREATE_COMPLETE', 'AVAILABLE'));
    const result = await stacks.deployStack(input({ tags: { lane: 'gray' }, roleArn }));

    expect(result).toEqual({ kind: 'started', operation: 'create', stackId: STACK_ID, eventCursor: 'review-1' });
    expect(cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(1);
    expect(cfn.commandCalls(CreateChangeSetCommand)[0]!.args[0].input).toEqual({
      StackName: STACK,
      ChangeSetName: CHANGE_SET,
      ChangeSetType: 'CREATE',
      TemplateBody: '{"Resources":{}}',
      Parameters: [
        { ParameterKey: 'ImageTag', ParameterValue: 'abc123' },
        { ParameterKey: 'Priority', ParameterValue: '17' },
      ],
      Tags: [{ Key: 'lane', Value: 'gray' }],
      Capabilities: undefined,
      // The stack is created by this service role, not with the caller's own permissions.
      RoleARN: roleArn,
      ClientToken: TOKEN,
    });
    expect(cfn.commandCalls(ExecuteChangeSetCommand)[0]!.args[0].input).toEqual({
      StackName: STACK,
      ChangeSetName: CHANGE_SET,
      ClientRequestToken: TOKEN,
    });
    expect(sleeps).toEqual([]);
  });

  it('updates an existing stack through an UPDATE change set, passing the capabilities it is given', async () => {
    givenStack('UPDATE_COMPLETE');
    cfn.on(DescribeChangeSetCommand).rejectsOnce(changeSetMissing()).resolves(changeSet('CREATE_COMPLETE', 'AVAILABLE'));
    cfn.on(CreateChangeSetCommand).resolves({ Id: 'cs-arn', StackId: STACK_ID });
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [event('e2', 2, 'UPDATE_COMPLETE'), event('e1', 1, 'UPDATE_IN_PROGRESS')] });
    cfn.on(ExecuteChangeSetCommand).resolves({});

    const result = await adapter().deployStack(input({ capabilities: ['CAPABILITY_IAM'] }));

    expect(result).toEqual({ kind: 'started', operation: 'update', stackId: STACK_ID, eventCursor: 'e2' });
    const create = cfn.commandCalls(CreateChangeSetCommand)[0]!.args[0].input;
    expect(create).toMatchObject({ ChangeSetType: 'UPDATE', Capabilities: ['CAPABILITY_IAM'], ClientToken: TOKEN });
    // No tags given: leave the stack's tags alone rather than clearing them.
    expect(create.Tags).toBeUndefined();
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('uses a CREATE change set for a stack left in REVIEW_IN_PROGRESS by an unexecuted one', async () => {
    givenStack('REVIEW_IN_PROGRESS');
    cfn.on(DescribeChangeSetCommand).rejectsOnce(changeSetMissing()).resolves(changeSet('CREATE_COMPLETE', 'AVAILABLE'));
    cfn.on(CreateChangeSetCommand).resolves({ Id: 'cs-arn', StackId: STACK_ID });
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [event('review-1', 0, 'REVIEW_IN_PROGRESS')] });
    cfn.on(ExecuteChangeSetCommand).resolves({});

    const result = await adapter().deployStack(input());

    expect(result).toMatchObject({ kind: 'started', operation: 'create' });
    expect(cfn.commandCalls(CreateChangeSetCommand)[0]!.args[0].input.ChangeSetType).toBe('CREATE');
  });

  it.each([
    "The submitted information didn't contain changes. Submit different information to create a change set.",
    'No updates are to be performed.',
  ])('returns no-changes and deletes the empty change set when it FAILED with "%s"', async (reason) => {
    givenStack('UPDATE_COMPLETE');
    cfn.on(DescribeChangeSetCommand).rejectsOnce(changeSetMissing()).resolves(changeSet('FAILED', 'UNAVAILABLE', reason));
    cfn.on(CreateChangeSetCommand).resolves({ Id: 'cs-arn', StackId: STACK_ID });
    cfn.on(DeleteChangeSetCommand).resolves({});

    const result = await adapter().deployStack(input());

    expect(result).toEqual({ kind: 'no-changes', stackId: STACK_ID });
    expect(cfn.commandCalls(DeleteChangeSetCommand)[0]!.args[0].input).toEqual({ StackName: STACK, ChangeSetName: CHANGE_SET });
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
  });

  it('returns no-changes when CreateChangeSet itself answers "No updates are to be performed."', async () => {
    givenStack('UPDATE_COMPLETE');
    cfn.on(DescribeChangeSetCommand).rejects(changeSetMissing());
    cfn.on(CreateChangeSetCommand).rejects(sdkError('ValidationError', 'No updates are to be performed.'));

    const result = await adapter().deployStack(input());

    expect(result).toEqual({ kind: 'no-changes', stackId: STACK_ID });
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
  });

  it('returns rejected with the reason when the change set FAILED for another reason, and keeps it for people to read', async () => {
    givenStack('UPDATE_COMPLETE');
    const reason = 'Parameter validation failed: parameter value sg-1 for parameter name SecurityGroup does not exist.';
    cfn.on(DescribeChangeSetCommand).rejectsOnce(changeSetMissing()).resolves(changeSet('FAILED', 'UNAVAILABLE', reason));
    cfn.on(CreateChangeSetCommand).resolves({ Id: 'cs-arn', StackId: STACK_ID });

    const result = await adapter().deployStack(input());

    expect(result).toEqual({ kind: 'rejected', reason });
    expect(cfn.commandCalls(DeleteChangeSetCommand)).toHaveLength(0);
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
  });

  it.each([
    ['ValidationError', 'Template format error: Unresolved resource dependencies [Missing] in the Resources block of the template'],
    ['InsufficientCapabilitiesException', 'Requires capabilities : [CAPABILITY_IAM]'],
    ['ValidationError', `Stack:${STACK_ID} is in UPDATE_ROLLBACK_FAILED state and can not be updated.`],
  ])('returns rejected when CreateChangeSet refuses with %s', async (name, message) => {
    givenStack(undefined);
    cfn.on(CreateChangeSetCommand).rejects(sdkError(name, message));

    const result = await adapter().deployStack(input());

    expect(result).toEqual({ kind: 'rejected', reason: message });
  });

  it.each(['UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', 'CREATE_IN_PROGRESS', 'ROLLBACK_IN_PROGRESS'])(
    'returns busy without creating a change set while the stack is %s',
    async (status) => {
      givenStack(status);
      cfn.on(DescribeChangeSetCommand).rejects(changeSetMissing());

      const result = await adapter().deployStack(input());

      expect(result).toEqual({ kind: 'busy', status });
      expect(cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
    },
  );

  it('returns busy when CreateChangeSet says the stack is in UPDATE_IN_PROGRESS state', async () => {
    givenStack('UPDATE_COMPLETE');
    cfn.on(DescribeChangeSetCommand).rejects(changeSetMissing());
    cfn.on(CreateChangeSetCommand).rejects(sdkError('ValidationError', `Stack:${STACK_ID} is in UPDATE_IN_PROGRESS state and can not be updated.`));

    expect(await adapter().deployStack(input())).toEqual({ kind: 'busy', status: 'UPDATE_IN_PROGRESS' });
  });

  it('returns busy when another operation starts between creating and executing the change set', async () => {
    givenStack('UPDATE_COMPLETE');
    cfn.on(DescribeChangeSetCommand).rejectsOnce(changeSetMissing()).resolves(changeSet('CREATE_COMPLETE', 'AVAILABLE'));
    cfn.on(CreateChangeSetCommand).resolves({ Id: 'cs-arn', StackId: STACK_ID });
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    cfn.on(ExecuteChangeSetCommand).rejects(sdkError('ValidationError', `Stack:${STACK_ID} is in DELETE_IN_PROGRESS state and can not be updated.`));

    expect(await adapter().deployStack(input())).toEqual({ kind: 'busy', status: 'DELETE_IN_PROGRESS' });
  });

  it('starts deleting a ROLLBACK_COMPLETE stack, by id and with a token derived from the input, and reports replacing', async () => {
    givenStack('ROLLBACK_COMPLETE');
    cfn.on(DescribeChangeSetCommand).rejects(changeSetMissing());
    cfn.on(DeleteStackCommand).resolves({});

    const result = await adapter().deployStack(input());

    expect(result).toEqual({ kind: 'replacing', status: 'ROLLBACK_COMPLETE' });
    expect(cfn.commandCalls(DeleteStackCommand)[0]!.args[0].input).toEqual({ StackName: STACK_ID, ClientRequestToken: `${TOKEN}-replace` });
    expect(cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
  });

  it('keeps reporting replacing while that delete runs, without deleting again', async () => {
    givenStack('DELETE_IN_PROGRESS');
    cfn.on(DescribeChangeSetCommand).rejects(changeSetMissing());

    expect(await adapter().deployStack(input())).toEqual({ kind: 'replacing', status: 'DELETE_IN_PROGRESS' });
    expect(cfn.commandCalls(DeleteStackCommand)).toHaveLength(0);
  });

  it('carries on with the change set an earlier call created when CreateChangeSet says it already exists', async () => {
    givenStack('UPDATE_COMPLETE');
    // Not there at the first look, there by the time we create it: a concurrent retry.
    cfn.on(DescribeChangeSetCommand).rejectsOnce(changeSetMissing()).resolves(changeSet('CREATE_COMPLETE', 'AVAILABLE'));
    cfn.on(CreateChangeSetCommand).rejects(sdkError('AlreadyExistsException', `ChangeSet ${CHANGE_SET} already exists`));
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [event('e1', 1, 'UPDATE_COMPLETE')] });
    cfn.on(ExecuteChangeSetCommand).resolves({});

    const result = await adapter().deployStack(input());

    expect(result).toEqual({ kind: 'started', operation: 'update', stackId: STACK_ID, eventCursor: 'e1' });
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(1);
  });

  it('executes an unexecuted change set left by an earlier call without creating another', async () => {
    givenStack('UPDATE_COMPLETE');
    cfn.on(DescribeChangeSetCommand).resolves(changeSet('CREATE_COMPLETE', 'AVAILABLE'));
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [event('e1', 1, 'UPDATE_COMPLETE')] });
    cfn.on(ExecuteChangeSetCommand).resolves({});

    const result = await adapter().deployStack(input());

    expect(result).toMatchObject({ kind: 'started', operation: 'update' });
    expect(cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(1);
  });

  it('reports the operation an earlier call started, with a cursor just before its first event, instead of busy', async () => {
    givenStack('UPDATE_IN_PROGRESS');
    cfn.on(DescribeChangeSetCommand).resolves(changeSet('CREATE_COMPLETE', 'EXECUTE_IN_PROGRESS'));
    cfn.on(DescribeStackEventsCommand).resolves({
      StackEvents: [
        event('e4', 4, 'UPDATE_IN_PROGRESS', { LogicalResourceId: 'Service', ClientRequestToken: TOKEN }),
        event('e3', 3, 'UPDATE_IN_PROGRESS', { ClientRequestToken: TOKEN }),
        event('e2', 2, 'UPDATE_COMPLETE', { ClientRequestToken: 'deploy-41' }),
        event('e1', 1, 'UPDATE_IN_PROGRESS', { ClientRequestToken: 'deploy-41' }),
      ],
    });

    const result = await adapter().deployStack(input());

    expect(result).toEqual({ kind: 'started', operation: 'update', stackId: STACK_ID, eventCursor: 'e2' });
    expect(cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
  });

  it('reports the failed create an earlier call started instead of deleting the ROLLBACK_COMPLETE stack', async () => {
    givenStack('ROLLBACK_COMPLETE');
    cfn.on(DescribeChangeSetCommand).resolves(changeSet('CREATE_COMPLETE', 'EXECUTE_FAILED'));
    cfn.on(DescribeStackEventsCommand).resolves({
      StackEvents: [event('e2', 2, 'ROLLBACK_COMPLETE', { ClientRequestToken: TOKEN }), event('e1', 1, 'REVIEW_IN_PROGRESS')],
    });

    const result = await adapter().deployStack(input());

    expect(result).toEqual({ kind: 'started', operation: 'create', stackId: STACK_ID, eventCursor: 'e1' });
    expect(cfn.commandCalls(DeleteStackCommand)).toHaveLength(0);
  });

  it('reports started when a concurrent call with the same token executed the change set first', async () => {
    givenStack('UPDATE_COMPLETE');
    cfn
      .on(DescribeChangeSetCommand)
      .rejectsOnce(changeSetMissing())
      .resolvesOnce(changeSet('CREATE_COMPLETE', 'AVAILABLE'))
      .resolves(changeSet('CREATE_COMPLETE', 'EXECUTE_IN_PROGRESS'));
    cfn.on(CreateChangeSetCommand).resolves({ Id: 'cs-arn', StackId: STACK_ID });
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    cfn
      .on(ExecuteChangeSetCommand)
      .rejects(new InvalidChangeSetStatusException({ message: 'ChangeSet is in EXECUTE_IN_PROGRESS', $metadata: { httpStatusCode: 400 } }));

    const result = await adapter().deployStack(input());

    expect(result).toMatchObject({ kind: 'started', operation: 'update', stackId: STACK_ID });
  });

  it('never starts a second operation for the same token (stateful fake)', async () => {
    // A tiny CloudFormation: the stack updates when the change set executes.
    let status = 'UPDATE_COMPLETE';
    let current: DescribeChangeSetOutput | undefined;
    cfn.on(DescribeStacksCommand).callsFake(() => ({ Stacks: [stack(status)] }));
    cfn.on(DescribeChangeSetCommand).callsFake(() => {
      if (!current) throw changeSetMissing();
      return current;
    });
    cfn.on(CreateChangeSetCommand).callsFake(() => {
      if (current) throw sdkError('AlreadyExistsException', 'exists');
      current = changeSet('CREATE_COMPLETE', 'AVAILABLE');
      return { Id: 'cs-arn', StackId: STACK_ID };
    });
    cfn.on(ExecuteChangeSetCommand).callsFake(() => {
      current = changeSet('CREATE_COMPLETE', 'EXECUTE_IN_PROGRESS');
      status = 'UPDATE_IN_PROGRESS';
      return {};
    });
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [event('e1', 1, 'UPDATE_COMPLETE')] });
    const stacks = adapter();

    const first = await stacks.deployStack(input());
    const second = await stacks.deployStack(input());
    status = 'UPDATE_COMPLETE';
    const third = await stacks.deployStack(input());

    expect(first).toMatchObject({ kind: 'started', operation: 'update', stackId: STACK_ID });
    expect(second).toMatchObject({ kind: 'started', operation: 'update', stackId: STACK_ID });
    expect(third).toMatchObject({ kind: 'started', operation: 'update', stackId: STACK_ID });
    expect(cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(1);
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(1);
  });

  it('reports a change set still being computed as preparing, without waiting or executing', async () => {
    givenStack('UPDATE_COMPLETE');
    cfn.on(CreateChangeSetCommand).resolves({ Id: 'cs-arn', StackId: STACK_ID });
    cfn.on(DescribeChangeSetCommand).rejectsOnce(changeSetMissing()).resolves(changeSet('CREATE_IN_PROGRESS', 'UNAVAILABLE'));

    expect(await adapter().deployStack(input())).toEqual({ kind: 'preparing' });
    expect(sleeps).toEqual([]);
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
  });

  it('refuses a token CloudFormation would refuse, before calling AWS', async () => {
    const error = await adapter().deployStack(input({ clientRequestToken: '-bad_token' })).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'INPUT_INVALID' });
    expect(cfn.calls()).toHaveLength(0);
  });
});

describe('updateStackParameters', () => {
  const ROLE = 'arn:aws:iam::123456789012:role/lanebot-lane-stacks';
  const OLD_IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/user-api@sha256:aaaa';
  const NEW_IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/user-api@sha256:bbbb';
  /** A lane stack as the pipeline left it: five parameters, tags, the IAM capability and a service role. */
  const LANE_STACK: Partial<Stack> = {
    Parameters: [
      { ParameterKey: 'Env', ParameterValue: 'dev' },
      { ParameterKey: 'ServiceName', ParameterValue: 'user-api' },
      { ParameterKey: 'Lane', ParameterValue: 'gray' },
      { ParameterKey: 'ImageUri', ParameterValue: OLD_IMAGE },
      { ParameterKey: 'RulePriority', ParameterValue: '17' },
    ],
    Tags: [
      { Key: 'lanebot:service', Value: 'user-api' },
      { Key: 'lanebot:lane', Value: 'gray' },
    ],
    Capabilities: ['CAPABILITY_IAM'],
    RoleARN: ROLE,
  };

  function update(overrides: { parameters?: Record<string, string>; clientRequestToken?: string; roleArn?: string } = {}) {
    return { stackName: STACK, parameters: { ImageUri: NEW_IMAGE }, clientRequestToken: TOKEN, ...overrides };
  }

  it('keeps the previous template and every other parameter (UsePreviousValue), with the stack\'s tags, capabilities and role', async () => {
    givenStack('UPDATE_COMPLETE', LANE_STACK);
    cfn.on(DescribeChangeSetCommand).rejectsOnce(changeSetMissing()).resolves(changeSet('CREATE_COMPLETE', 'AVAILABLE'));
    cfn.on(CreateChangeSetCommand).resolves({ Id: 'cs-arn', StackId: STACK_ID });
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [event('e2', 2, 'UPDATE_COMPLETE'), event('e1', 1, 'UPDATE_IN_PROGRESS')] });
    cfn.on(ExecuteChangeSetCommand).resolves({});

    const result = await adapter().updateStackParameters(update());

    expect(result).toEqual({ kind: 'started', operation: 'update', stackId: STACK_ID, eventCursor: 'e2' });
    expect(cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(1);
    expect(cfn.commandCalls(CreateChangeSetCommand)[0]!.args[0].input).toEqual({
      StackName: STACK,
      ChangeSetName: CHANGE_SET,
      ChangeSetType: 'UPDATE',
      UsePreviousTemplate: true,
      Parameters: [
        { ParameterKey: 'Env', UsePreviousValue: true },
        { ParameterKey: 'ServiceName', UsePreviousValue: true },
        { ParameterKey: 'Lane', UsePreviousValue: true },
        { ParameterKey: 'ImageUri', ParameterValue: NEW_IMAGE },
        { ParameterKey: 'RulePriority', UsePreviousValue: true },
      ],
      Tags: LANE_STACK.Tags,
      Capabilities: ['CAPABILITY_IAM'],
      RoleARN: ROLE,
      NotificationARNs: undefined,
      ClientToken: TOKEN,
    });
    const create = cfn.commandCalls(CreateChangeSetCommand)[0]!.args[0].input;
    // No template of its own: the previous one, never a body lanebot might have changed since.
    expect(create.TemplateBody).toBeUndefined();
    expect(create.TemplateURL).toBeUndefined();
    expect(cfn.commandCalls(ExecuteChangeSetCommand)[0]!.args[0].input).toEqual({ StackName: STACK, ChangeSetName: CHANGE_SET, ClientRequestToken: TOKEN });
  });

  it('runs with the role it is given instead of the stack\'s, and keeps the stack\'s notification topics', async () => {
    const topics = ['arn:aws:sns:eu-west-1:123456789012:stack-events'];
    givenStack('UPDATE_COMPLETE', { ...LANE_STACK, NotificationARNs: topics });
    cfn.on(DescribeChangeSetCommand).rejectsOnce(changeSetMissing()).resolves(changeSet('CREATE_COMPLETE', 'AVAILABLE'));
    cfn.on(CreateChangeSetCommand).resolves({ Id: 'cs-arn', StackId: STACK_ID });
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    cfn.on(ExecuteChangeSetCommand).resolves({});
    const other = 'arn:aws:iam::123456789012:role/other';

    await adapter().updateStackParameters(update({ roleArn: other }));

    expect(cfn.commandCalls(CreateChangeSetCommand)[0]!.args[0].input).toMatchObject({ RoleARN: other, NotificationARNs: topics });
  });

  it('never starts a second operation for the same token (stateful fake)', async () => {
    let status = 'UPDATE_COMPLETE';
    let current: DescribeChangeSetOutput | undefined;
    cfn.on(DescribeStacksCommand).callsFake(() => ({ Stacks: [stack(status, LANE_STACK)] }));
    cfn.on(DescribeChangeSetCommand).callsFake(() => {
      if (!current) throw changeSetMissing();
      return current;
    });
    cfn.on(CreateChangeSetCommand).callsFake(() => {
      if (current) throw sdkError('AlreadyExistsException', 'exists');
      current = changeSet('CREATE_COMPLETE', 'AVAILABLE');
      return { Id: 'cs-arn', StackId: STACK_ID };
    });
    cfn.on(ExecuteChangeSetCommand).callsFake(() => {
      current = changeSet('CREATE_COMPLETE', 'EXECUTE_IN_PROGRESS');
      status = 'UPDATE_IN_PROGRESS';
      return {};
    });
    cfn.on(DescribeStackEventsCommand).resolves({
      StackEvents: [event('e2', 2, 'UPDATE_IN_PROGRESS', { ClientRequestToken: TOKEN }), event('e1', 1, 'UPDATE_COMPLETE', { ClientRequestToken: 'deploy-41' })],
    });
    const stacks = adapter();

    const first = await stacks.updateStackParameters(update());
    // A worker killed after the first call retries with the same token while the update runs, and after it.
    const second = await stacks.updateStackParameters(update());
    status = 'UPDATE_COMPLETE';
    const third = await stacks.updateStackParameters(update());

    expect(first).toMatchObject({ kind: 'started', operation: 'update', stackId: STACK_ID });
    expect(second).toEqual({ kind: 'started', operation: 'update', stackId: STACK_ID, eventCursor: 'e1' });
    expect(third).toEqual({ kind: 'started', operation: 'update', stackId: STACK_ID, eventCursor: 'e1' });
    expect(cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(1);
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(1);
  });

  it('executes the change set an earlier call created without creating another', async () => {
    givenStack('UPDATE_COMPLETE', LANE_STACK);
    cfn.on(DescribeChangeSetCommand).resolves(changeSet('CREATE_COMPLETE', 'AVAILABLE'));
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [event('e1', 1, 'UPDATE_COMPLETE')] });
    cfn.on(ExecuteChangeSetCommand).resolves({});

    expect(await adapter().updateStackParameters(update())).toMatchObject({ kind: 'started', operation: 'update' });
    expect(cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(1);
  });

  it.each(['UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS', 'DELETE_IN_PROGRESS'])('returns busy without creating a change set while the stack is %s', async (status) => {
    givenStack(status, LANE_STACK);
    cfn.on(DescribeChangeSetCommand).rejects(changeSetMissing());

    expect(await adapter().updateStackParameters(update())).toEqual({ kind: 'busy', status });
    expect(cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
  });

  it('returns busy when CreateChangeSet says another operation started meanwhile', async () => {
    givenStack('UPDATE_COMPLETE', LANE_STACK);
    cfn.on(DescribeChangeSetCommand).rejects(changeSetMissing());
    cfn.on(CreateChangeSetCommand).rejects(sdkError('ValidationError', `Stack:${STACK_ID} is in UPDATE_IN_PROGRESS state and can not be updated.`));

    expect(await adapter().updateStackParameters(update())).toEqual({ kind: 'busy', status: 'UPDATE_IN_PROGRESS' });
  });

  it('returns preparing while CloudFormation computes the change set', async () => {
    givenStack('UPDATE_COMPLETE', LANE_STACK);
    cfn.on(CreateChangeSetCommand).resolves({ Id: 'cs-arn', StackId: STACK_ID });
    cfn.on(DescribeChangeSetCommand).rejectsOnce(changeSetMissing()).resolves(changeSet('CREATE_PENDING', 'UNAVAILABLE'));

    expect(await adapter().updateStackParameters(update())).toEqual({ kind: 'preparing' });
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
  });

  it('returns no-changes, and deletes the empty change set, when the stack already has that value', async () => {
    givenStack('UPDATE_COMPLETE', LANE_STACK);
    cfn.on(CreateChangeSetCommand).resolves({ Id: 'cs-arn', StackId: STACK_ID });
    cfn.on(DescribeChangeSetCommand)
      .rejectsOnce(changeSetMissing())
      .resolves(changeSet('FAILED', 'UNAVAILABLE', "The submitted information didn't contain changes. Submit different information to create a change set."));
    cfn.on(DeleteChangeSetCommand).resolves({});

    expect(await adapter().updateStackParameters(update({ parameters: { ImageUri: OLD_IMAGE } }))).toEqual({ kind: 'no-changes', stackId: STACK_ID });
    expect(cfn.commandCalls(DeleteChangeSetCommand)).toHaveLength(1);
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
  });

  it('is rejected with a reason that says so when the stack does not exist', async () => {
    givenStack(undefined);

    const result = await adapter().updateStackParameters(update());

    expect(result).toEqual({ kind: 'rejected', reason: expect.stringContaining(`Stack ${STACK} does not exist`) });
    expect(cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
  });

  it('is rejected, without a call, for a parameter the stack does not have', async () => {
    givenStack('UPDATE_COMPLETE', LANE_STACK);
    cfn.on(DescribeChangeSetCommand).rejects(changeSetMissing());

    const result = await adapter().updateStackParameters(update({ parameters: { ImageUri: NEW_IMAGE, ImageTag: 'x' } }));

    expect(result).toEqual({ kind: 'rejected', reason: `Parameters: [ImageTag] do not exist in the template of stack ${STACK}.` });
    expect(cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
  });

  it.each(['ROLLBACK_COMPLETE', 'DELETE_FAILED'])('is rejected (never replaced) for a stack in %s', async (status) => {
    givenStack(status, LANE_STACK);
    cfn.on(DescribeChangeSetCommand).rejects(changeSetMissing());

    const result = await adapter().updateStackParameters(update());

    expect(result).toEqual({ kind: 'rejected', reason: `Stack:${STACK_ID} is in ${status} state and can not be updated.` });
    expect(cfn.commandCalls(DeleteStackCommand)).toHaveLength(0);
    expect(cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
  });

  it('is rejected with CloudFormation\'s reason when CreateChangeSet refuses, or the change set FAILED', async () => {
    givenStack('UPDATE_ROLLBACK_COMPLETE', LANE_STACK);
    cfn.on(DescribeChangeSetCommand).rejects(changeSetMissing());
    const refusal = 'Parameter ImageUri must match pattern .+@sha256:.+';
    cfn.on(CreateChangeSetCommand).rejects(sdkError('ValidationError', refusal));

    expect(await adapter().updateStackParameters(update())).toEqual({ kind: 'rejected', reason: refusal });

    cfn.reset();
    givenStack('UPDATE_COMPLETE', LANE_STACK);
    const reason = 'Requires capabilities : [CAPABILITY_NAMED_IAM]';
    cfn.on(CreateChangeSetCommand).resolves({ Id: 'cs-arn', StackId: STACK_ID });
    cfn.on(DescribeChangeSetCommand).rejectsOnce(changeSetMissing()).resolves(changeSet('FAILED', 'UNAVAILABLE', reason));

    expect(await adapter().updateStackParameters(update())).toEqual({ kind: 'rejected', reason });
    expect(cfn.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
  });

  it('refuses a token CloudFormation would refuse, before calling AWS', async () => {
    const error = await adapter().updateStackParameters(update({ clientRequestToken: '-bad_token' })).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'INPUT_INVALID' });
    expect(cfn.calls()).toHaveLength(0);
  });
});

describe('describeStack', () => {
  it('is undefined for a stack that does not exist', async () => {
    givenStack(undefined);
    expect(await adapter().describeStack(STACK)).toBeUndefined();
  });

  it('flattens parameters, outputs and tags and links the console', async () => {
    givenStack('UPDATE_COMPLETE', {
      StackStatusReason: 'all good',
      Parameters: [{ ParameterKey: 'ImageTag', ParameterValue: 'abc123' }],
      Outputs: [{ OutputKey: 'ServiceName', OutputValue: 'user-api-dev-gray' }],
      Tags: [{ Key: 'lane', Value: 'gray' }],
    });

    expect(await adapter().describeStack(STACK)).toEqual({
      stackName: STACK,
      stackId: STACK_ID,
      status: 'UPDATE_COMPLETE',
      statusReason: 'all good',
      parameters: { ImageTag: 'abc123' },
      outputs: { ServiceName: 'user-api-dev-gray' },
      tags: { lane: 'gray' },
      url: `https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1#/stacks/events?stackId=${encodeURIComponent(STACK_ID)}`,
    });
  });

  it('gives the stack’s service role (RoleARN), so another stack can be created with the same one', async () => {
    const role = 'arn:aws:iam::123456789012:role/pipeline-user-api-dev-LaneStackRole-ABCDEF123456';
    givenStack('UPDATE_COMPLETE', { RoleARN: role });
    expect((await adapter().describeStack(STACK))?.roleArn).toBe(role);
  });

  it('gives no role for a stack that has none', async () => {
    givenStack('CREATE_COMPLETE');
    const view = await adapter().describeStack(STACK);
    expect(view?.status).toBe('CREATE_COMPLETE');
    expect(view?.roleArn).toBeUndefined();
  });
});

describe('progress', () => {
  it('reports a stack that no longer exists as DELETE_COMPLETE, finished and succeeded', async () => {
    givenStack(undefined);

    expect(await adapter().progress(STACK, 'e9')).toEqual({
      status: 'DELETE_COMPLETE',
      finished: true,
      succeeded: true,
      events: [],
      failureReasons: [],
      cursor: 'e9',
    });
  });

  it('pages back through events by stack id until `since`, and returns them oldest first', async () => {
    givenStack('UPDATE_IN_PROGRESS');
    cfn
      .on(DescribeStackEventsCommand)
      .resolvesOnce({ StackEvents: [event('e6', 6, 'UPDATE_IN_PROGRESS'), event('e5', 5, 'UPDATE_IN_PROGRESS')], NextToken: 'page-2' })
      .resolvesOnce({ StackEvents: [event('e4', 4, 'UPDATE_IN_PROGRESS'), event('e3', 3, 'UPDATE_COMPLETE')], NextToken: 'page-3' });

    const progress = await adapter().progress(STACK, 'e3');

    expect(progress).toMatchObject({ status: 'UPDATE_IN_PROGRESS', finished: false, succeeded: false, cursor: 'e6' });
    expect(progress.events.map((e) => e.eventId)).toEqual(['e4', 'e5', 'e6']);
    expect(progress.events[0]).toEqual({
      eventId: 'e4',
      timestamp: T0 + 4000,
      logicalResourceId: STACK,
      resourceType: 'AWS::CloudFormation::Stack',
      status: 'UPDATE_IN_PROGRESS',
    });
    const calls = cfn.commandCalls(DescribeStackEventsCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      { StackName: STACK_ID, NextToken: undefined },
      { StackName: STACK_ID, NextToken: 'page-2' },
    ]);
  });

  it('stops after maxEventPages pages when `since` is not found', async () => {
    givenStack('UPDATE_IN_PROGRESS');
    let n = 100;
    cfn.on(DescribeStackEventsCommand).callsFake(() => ({ StackEvents: [event(`e${n--}`, n, 'UPDATE_IN_PROGRESS')], NextToken: 'more' }));

    const progress = await adapter({ maxEventPages: 3 }).progress(STACK, 'long-gone');

    expect(cfn.commandCalls(DescribeStackEventsCommand)).toHaveLength(3);
    expect(progress.events.map((e) => e.eventId)).toEqual(['e98', 'e99', 'e100']);
  });

  it('keeps the cursor when nothing happened since', async () => {
    givenStack('UPDATE_IN_PROGRESS');
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [event('e3', 3, 'UPDATE_IN_PROGRESS')] });

    const progress = await adapter().progress(STACK, 'e3');

    expect(progress).toMatchObject({ events: [], cursor: 'e3' });
  });

  it('lists the real failure causes first and leaves out the cancellation echoes and repeats', async () => {
    givenStack('ROLLBACK_COMPLETE');
    cfn.on(DescribeStackEventsCommand).resolves({
      StackEvents: [
        event('e7', 7, 'ROLLBACK_COMPLETE'),
        event('e6', 6, 'DELETE_FAILED', { LogicalResourceId: 'Rule', ResourceStatusReason: 'Listener rule is in use' }),
        event('e5', 5, 'ROLLBACK_IN_PROGRESS', { ResourceStatusReason: 'The following resource(s) failed to create: [Service, Rule].' }),
        event('e4', 4, 'CREATE_FAILED', { LogicalResourceId: 'Rule', ResourceStatusReason: 'Resource creation cancelled' }),
        event('e3', 3, 'CREATE_FAILED', { LogicalResourceId: 'Service', ResourceStatusReason: 'Priority 17 is already in use' }),
        event('e2', 2, 'CREATE_IN_PROGRESS', { LogicalResourceId: 'Service' }),
        event('e1', 1, 'CREATE_IN_PROGRESS', { ResourceStatusReason: 'User Initiated' }),
      ],
    });

    const progress = await adapter().progress(STACK);

    expect(progress).toMatchObject({ status: 'ROLLBACK_COMPLETE', finished: true, succeeded: false, cursor: 'e7' });
    expect(progress.failureReasons).toEqual(['Service: Priority 17 is already in use', 'Rule: Listener rule is in use']);
    expect(progress.events.find((e) => e.eventId === 'e3')).toMatchObject({ status: 'CREATE_FAILED', reason: 'Priority 17 is already in use' });
  });

  it('keeps the cancellation reasons when they are all there is', async () => {
    givenStack('UPDATE_ROLLBACK_IN_PROGRESS');
    cfn.on(DescribeStackEventsCommand).resolves({
      StackEvents: [event('e2', 2, 'UPDATE_FAILED', { LogicalResourceId: 'Alarm', ResourceStatusReason: 'Resource update cancelled' })],
    });

    expect((await adapter().progress(STACK, 'e1')).failureReasons).toEqual(['Alarm: Resource update cancelled']);
  });
});

describe('deleteStack', () => {
  it('is gone for a stack that does not exist', async () => {
    givenStack(undefined);
    expect(await adapter().deleteStack(STACK, TOKEN)).toEqual({ kind: 'gone' });
    expect(cfn.commandCalls(DeleteStackCommand)).toHaveLength(0);
  });

  it('is busy while another operation runs', async () => {
    givenStack('UPDATE_ROLLBACK_IN_PROGRESS');
    expect(await adapter().deleteStack(STACK, TOKEN)).toEqual({ kind: 'busy', status: 'UPDATE_ROLLBACK_IN_PROGRESS' });
    expect(cfn.commandCalls(DeleteStackCommand)).toHaveLength(0);
  });

  it('deletes by stack id with the token and returns a cursor at the newest event', async () => {
    givenStack('UPDATE_COMPLETE');
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [event('e2', 2, 'UPDATE_COMPLETE'), event('e1', 1, 'UPDATE_IN_PROGRESS')] });
    cfn.on(DeleteStackCommand).resolves({});

    expect(await adapter().deleteStack(STACK, TOKEN)).toEqual({ kind: 'started', eventCursor: 'e2' });
    expect(cfn.commandCalls(DeleteStackCommand)[0]!.args[0].input).toEqual({ StackName: STACK_ID, ClientRequestToken: TOKEN });
  });

  it('reports a delete already running as started without deleting again', async () => {
    givenStack('DELETE_IN_PROGRESS');
    cfn.on(DescribeStackEventsCommand).resolves({
      StackEvents: [event('e3', 3, 'DELETE_IN_PROGRESS', { ClientRequestToken: TOKEN }), event('e2', 2, 'UPDATE_COMPLETE')],
    });

    expect(await adapter().deleteStack(STACK, TOKEN)).toEqual({ kind: 'started', eventCursor: 'e2' });
    expect(cfn.commandCalls(DeleteStackCommand)).toHaveLength(0);
  });

  it('deletes a stack held in REVIEW_IN_PROGRESS by an unexecuted change set', async () => {
    givenStack('REVIEW_IN_PROGRESS');
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [event('e1', 1, 'REVIEW_IN_PROGRESS')] });
    cfn.on(DeleteStackCommand).resolves({});

    expect(await adapter().deleteStack(STACK, TOKEN)).toEqual({ kind: 'started', eventCursor: 'e1' });
  });
});

describe('error mapping', () => {
  it.each(['Throttling', 'ThrottlingException', 'TooManyRequestsException'])(
    'retries %s with growing back-off, then fails with a retryable AWS_THROTTLED',
    async (name) => {
      cfn.on(DescribeStacksCommand).rejects(sdkError(name, 'Rate exceeded'));

      const error = await adapter({ maxThrottleRetries: 2 }).describeStack(STACK).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(LanebotError);
      expect(error).toMatchObject({ code: 'AWS_THROTTLED', retryable: true });
      expect((error as Error).message).toContain('cloudformation:DescribeStacks');
      expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(3);
      expect(sleeps).toHaveLength(2);
      expect(sleeps[1]!).toBeGreaterThan(sleeps[0]!);
    },
  );

  it('rides out a single throttle', async () => {
    cfn.on(DescribeStacksCommand).rejectsOnce(sdkError('Throttling', 'Rate exceeded')).resolves({ Stacks: [stack('CREATE_COMPLETE')] });

    expect(await adapter().describeStack(STACK)).toMatchObject({ status: 'CREATE_COMPLETE' });
    expect(sleeps).toHaveLength(1);
  });

  it('maps AccessDenied to AWS_ACCESS_DENIED naming the IAM action and the stack', async () => {
    const denied = sdkError('AccessDenied', 'User is not authorized to perform: cloudformation:DeleteStack', 403);
    givenStack('UPDATE_COMPLETE');
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    cfn.on(DeleteStackCommand).rejects(denied);

    const error = await adapter().deleteStack(STACK, TOKEN).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'AWS_ACCESS_DENIED', cause: denied, retryable: false });
    expect((error as Error).message).toContain(`cloudformation:DeleteStack for stack \`${STACK}\``);
  });

  it('maps another 400 to a final AWS_ERROR naming the operation and the stack, and a 500 to a retryable one', async () => {
    cfn
      .on(DescribeStackEventsCommand)
      .rejectsOnce(sdkError('ValidationError', 'NextToken is invalid'))
      .rejectsOnce(sdkError('InternalFailure', 'boom', 500));
    givenStack('UPDATE_COMPLETE');
    const stacks = adapter();

    const clientError = await stacks.progress(STACK).catch((e: unknown) => e);
    const serverError = await stacks.progress(STACK).catch((e: unknown) => e);

    expect(clientError).toMatchObject({
      code: 'AWS_ERROR',
      retryable: false,
      message: `cloudformation:DescribeStackEvents for stack \`${STACK}\` failed: NextToken is invalid`,
    });
    expect(serverError).toMatchObject({ code: 'AWS_ERROR', retryable: true });
  });

  it('wraps a network error (no answer from AWS) as a retryable AWS_ERROR', async () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    cfn.on(DescribeStacksCommand).rejects(reset);

    const error = await adapter().deployStack(input()).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'AWS_ERROR', retryable: true, cause: reset });
    expect((error as Error).message).toContain('DescribeStacks');
    expect((error as Error).message).toContain(STACK);
  });
});

describe('waitForStack over the adapter', () => {
  it('streams each new event once, oldest first, until the operation finishes', async () => {
    const e1 = event('e1', 1, 'UPDATE_IN_PROGRESS');
    const e2 = event('e2', 2, 'UPDATE_IN_PROGRESS', { LogicalResourceId: 'Service' });
    const e3 = event('e3', 3, 'UPDATE_COMPLETE', { LogicalResourceId: 'Service' });
    const e4 = event('e4', 4, 'UPDATE_COMPLETE');
    cfn
      .on(DescribeStacksCommand)
      .resolvesOnce({ Stacks: [stack('UPDATE_IN_PROGRESS')] })
      .resolvesOnce({ Stacks: [stack('UPDATE_IN_PROGRESS')] })
      .resolves({ Stacks: [stack('UPDATE_COMPLETE')] });
    cfn
      .on(DescribeStackEventsCommand)
      .resolvesOnce({ StackEvents: [e2, e1, event('e0', 0, 'CREATE_COMPLETE')] })
      .resolvesOnce({ StackEvents: [e2, e1] })
      .resolves({ StackEvents: [e4, e3, e2, e1] });
    const seen: string[] = [];

    const result = await waitForStack(adapter(), STACK, {
      since: 'e0',
      pollMs: 5000,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      onEvent: (e) => {
        seen.push(e.eventId);
      },
    });

    expect(seen).toEqual(['e1', 'e2', 'e3', 'e4']);
    expect(result).toMatchObject({ status: 'UPDATE_COMPLETE', succeeded: true, failureReasons: [] });
    expect(result.events.map((e) => e.eventId)).toEqual(['e1', 'e2', 'e3', 'e4']);
    expect(sleeps).toEqual([5000, 5000]);
  });

  it('throws a retryable STACK_WAIT_TIMEOUT naming the stack when it does not finish in time', async () => {
    givenStack('UPDATE_IN_PROGRESS');
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });

    const error = await waitForStack(adapter(), STACK, {
      pollMs: 1000,
      timeoutMs: 3000,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    }).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'STACK_WAIT_TIMEOUT', retryable: true });
    expect((error as Error).message).toContain(STACK);
    expect(sleeps).toEqual([1000, 1000, 1000]);
  });
});
