// The CloudFormation adapter against moto_server's CloudFormation.
//
// What moto (5.2) cannot reproduce, and the unit tests (aws-sdk-client-mock) cover instead:
// - failures: moto runs a change set synchronously and never rolls back (a resource that fails makes
//   the call answer HTTP 500), so there is no CREATE_FAILED / ROLLBACK_COMPLETE stack, no "replacing",
//   and no `rejected` change set (a malformed template is a 500 too, not a ValidationError);
// - busy: every operation has finished by the time the call returns, so nothing is ever *_IN_PROGRESS;
// - ClientToken/ClientRequestToken deduplication and AlreadyExistsException for a change-set name
//   (moto makes a second change set, and a second CREATE change set makes a second stack of the same
//   name), resource-level stack events and event tokens;
// - outputs of a stack made through change sets (moto does not rebuild outputs on execute), so the
//   outputs test makes its stack with CreateStack directly.
import { CloudFormationClient, CreateStackCommand, DescribeChangeSetCommand } from '@aws-sdk/client-cloudformation';
import { CloudFormationAdapter } from '../../src/cloud/aws/cloudformation.adapter';
import type { DeployStackInput } from '../../src/cloud/stacks.port';
import { waitForStack } from '../../src/cloud/wait-for-stack';
import { describeWithMoto, startMoto, type MotoServer } from '../support/moto';

/** An SSM parameter whose value is a stack parameter, plus outputs. */
const TEMPLATE = JSON.stringify({
  Parameters: { Greeting: { Type: 'String' } },
  Resources: {
    Param: {
      Type: 'AWS::SSM::Parameter',
      Properties: { Name: { 'Fn::Sub': '${AWS::StackName}-greeting' }, Type: 'String', Value: { Ref: 'Greeting' } },
    },
  },
  Outputs: { ParamName: { Value: { Ref: 'Param' } }, Greeting: { Value: { Ref: 'Greeting' } } },
});

/** Two parameters, for a parameter update that must keep the other one (promote and rollback set ImageUri only). */
const TWO_PARAMETER_TEMPLATE = JSON.stringify({
  Parameters: { ImageUri: { Type: 'String' }, RulePriority: { Type: 'String', Default: '1' } },
  Resources: {
    Image: {
      Type: 'AWS::SSM::Parameter',
      Properties: { Name: { 'Fn::Sub': '${AWS::StackName}-image' }, Type: 'String', Value: { Ref: 'ImageUri' } },
    },
    Priority: {
      Type: 'AWS::SSM::Parameter',
      Properties: { Name: { 'Fn::Sub': '${AWS::StackName}-priority' }, Type: 'String', Value: { Ref: 'RulePriority' } },
    },
  },
});

/** No parameters: moto then answers an unchanged deploy with a FAILED change set, as CloudFormation does. */
const FIXED_TEMPLATE = JSON.stringify({
  Resources: {
    Param: { Type: 'AWS::SSM::Parameter', Properties: { Name: { 'Fn::Sub': '${AWS::StackName}-fixed' }, Type: 'String', Value: 'fixed' } },
  },
});

describeWithMoto('CloudFormationAdapter on moto', () => {
  let moto: MotoServer;
  let client: CloudFormationClient;
  let stacks: CloudFormationAdapter;
  let seq = 0;
  const noSleep = async (): Promise<void> => {};

  beforeAll(async () => {
    moto = await startMoto();
    client = new CloudFormationClient(moto.clientConfig);
    stacks = new CloudFormationAdapter({ client, region: moto.clientConfig.region, sleep: noSleep });
  });

  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  /** moto finds change sets by name across stacks, so every test uses its own stack and tokens. */
  function fresh(): { stackName: string; token: (step: string) => string } {
    seq += 1;
    const id = `${Date.now().toString(36)}-${seq}`;
    return { stackName: `app-moto-${id}`, token: (step) => `${step}-${id}` };
  }

  function deployInput(stackName: string, clientRequestToken: string, greeting: string): DeployStackInput {
    return { stackName, templateBody: TEMPLATE, parameters: { Greeting: greeting }, tags: { lane: 'gray' }, clientRequestToken };
  }

  it('creates a stack and follows it to CREATE_COMPLETE with only this operation’s events', async () => {
    const { stackName, token } = fresh();

    const started = await stacks.deployStack(deployInput(stackName, token('create'), 'hello'));
    expect(started).toMatchObject({ kind: 'started', operation: 'create' });
    if (started.kind !== 'started') return;
    expect(started.stackId).toContain(`:stack/${stackName}/`);

    const seen: string[] = [];
    const result = await waitForStack(stacks, stackName, {
      since: started.eventCursor,
      pollMs: 10,
      sleep: noSleep,
      onEvent: (e) => {
        seen.push(e.status);
      },
    });

    expect(result).toMatchObject({ status: 'CREATE_COMPLETE', succeeded: true, failureReasons: [] });
    // The REVIEW_IN_PROGRESS event of the change set is before the cursor.
    expect(seen).toEqual(['CREATE_IN_PROGRESS', 'CREATE_COMPLETE']);
    expect(result.events.map((e) => e.status)).toEqual(seen);
    expect(await stacks.describeStack(stackName)).toMatchObject({
      stackName,
      stackId: started.stackId,
      status: 'CREATE_COMPLETE',
      parameters: { Greeting: 'hello' },
      tags: { lane: 'gray' },
    });
  });

  it('reports no-changes for the same template and parameters (CreateChangeSet says "No updates are to be performed.")', async () => {
    const { stackName, token } = fresh();
    await stacks.deployStack(deployInput(stackName, token('create'), 'hello'));

    const again = await stacks.deployStack(deployInput(stackName, token('again'), 'hello'));

    const view = await stacks.describeStack(stackName);
    expect(again).toEqual({ kind: 'no-changes', stackId: view?.stackId });
    expect(view?.status).toBe('CREATE_COMPLETE');
  });

  it('reports no-changes for an unchanged parameterless stack (a FAILED change set) and deletes that change set', async () => {
    const { stackName, token } = fresh();
    const first = await stacks.deployStack({ stackName, templateBody: FIXED_TEMPLATE, parameters: {}, clientRequestToken: token('create') });
    expect(first).toMatchObject({ kind: 'started', operation: 'create' });

    const again = await stacks.deployStack({ stackName, templateBody: FIXED_TEMPLATE, parameters: {}, clientRequestToken: token('again') });

    expect(again).toMatchObject({ kind: 'no-changes' });
    await expect(client.send(new DescribeChangeSetCommand({ StackName: stackName, ChangeSetName: `lanebot-${token('again')}` }))).rejects.toMatchObject({
      name: 'ValidationError',
    });
  });

  it('does not run a change set twice when called again with the same token', async () => {
    const { stackName, token } = fresh();
    const input = deployInput(stackName, token('create'), 'hello');
    const first = await stacks.deployStack(input);
    const eventsAfterFirst = (await stacks.progress(stackName)).events.length;

    // moto re-applies an executed change set if asked to, so this would add events if it executed again.
    const second = await stacks.deployStack(input);

    expect(second).toMatchObject({ kind: 'started', operation: 'create', stackId: first.kind === 'started' ? first.stackId : '' });
    expect((await stacks.progress(stackName)).events).toHaveLength(eventsAfterFirst);
  });

  it('updates a changed parameter to UPDATE_COMPLETE', async () => {
    const { stackName, token } = fresh();
    await stacks.deployStack(deployInput(stackName, token('create'), 'hello'));

    const update = await stacks.deployStack(deployInput(stackName, token('update'), 'bye'));
    expect(update).toMatchObject({ kind: 'started', operation: 'update' });
    if (update.kind !== 'started') return;
    const progress = await stacks.progress(stackName, update.eventCursor);

    expect(progress).toMatchObject({ status: 'UPDATE_COMPLETE', finished: true, succeeded: true, failureReasons: [] });
    expect(progress.events.map((e) => e.status)).toEqual(['UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE']);
    expect((await stacks.describeStack(stackName))?.parameters).toEqual({ Greeting: 'bye' });
  });

  it('updates one parameter with the previous template; the other keeps its value (not its default), and the tags stay', async () => {
    const { stackName, token } = fresh();
    const created = await stacks.deployStack({
      stackName,
      templateBody: TWO_PARAMETER_TEMPLATE,
      parameters: { ImageUri: 'repo/user-api@sha256:aaaa', RulePriority: '17' },
      tags: { lane: 'gray' },
      clientRequestToken: token('create'),
    });
    expect(created).toMatchObject({ kind: 'started', operation: 'create' });

    const update = await stacks.updateStackParameters({ stackName, parameters: { ImageUri: 'repo/user-api@sha256:bbbb' }, clientRequestToken: token('promote') });
    expect(update).toMatchObject({ kind: 'started', operation: 'update' });
    if (update.kind !== 'started') return;
    const progress = await stacks.progress(stackName, update.eventCursor);

    expect(progress).toMatchObject({ status: 'UPDATE_COMPLETE', finished: true, succeeded: true });
    expect(await stacks.describeStack(stackName)).toMatchObject({
      parameters: { ImageUri: 'repo/user-api@sha256:bbbb', RulePriority: '17' },
      tags: { lane: 'gray' },
    });
    // The resources were updated from the previous template with both values.
    const executed = await client.send(new DescribeChangeSetCommand({ StackName: stackName, ChangeSetName: `lanebot-${token('promote')}` }));
    expect(executed.Parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ParameterKey: 'ImageUri', ParameterValue: 'repo/user-api@sha256:bbbb' }),
        expect.objectContaining({ ParameterKey: 'RulePriority', ParameterValue: '17' }),
      ]),
    );
  });

  it('does not run a parameter update twice for the same token, and says no-changes for the value the stack has', async () => {
    const { stackName, token } = fresh();
    await stacks.deployStack({
      stackName,
      templateBody: TWO_PARAMETER_TEMPLATE,
      parameters: { ImageUri: 'repo/user-api@sha256:aaaa', RulePriority: '17' },
      clientRequestToken: token('create'),
    });
    const input = { stackName, parameters: { ImageUri: 'repo/user-api@sha256:bbbb' }, clientRequestToken: token('promote') };
    const first = await stacks.updateStackParameters(input);
    const eventsAfterFirst = (await stacks.progress(stackName)).events.length;

    const second = await stacks.updateStackParameters(input);

    expect(second).toMatchObject({ kind: 'started', operation: 'update', stackId: first.kind === 'started' ? first.stackId : '' });
    expect((await stacks.progress(stackName)).events).toHaveLength(eventsAfterFirst);
    await expect(stacks.updateStackParameters({ ...input, clientRequestToken: token('again') })).resolves.toMatchObject({ kind: 'no-changes' });
  });

  it('rejects a parameter update of a stack that does not exist, saying so', async () => {
    const { stackName, token } = fresh();

    const result = await stacks.updateStackParameters({ stackName, parameters: { ImageUri: 'x' }, clientRequestToken: token('promote') });

    expect(result).toEqual({ kind: 'rejected', reason: expect.stringContaining(`Stack ${stackName} does not exist`) });
  });

  it('deletes a stack: started, then gone once progress reports DELETE_COMPLETE', async () => {
    const { stackName, token } = fresh();
    await stacks.deployStack(deployInput(stackName, token('create'), 'hello'));

    const deleted = await stacks.deleteStack(stackName, token('delete'));
    expect(deleted).toMatchObject({ kind: 'started' });
    if (deleted.kind !== 'started') return;
    const result = await waitForStack(stacks, stackName, { since: deleted.eventCursor, pollMs: 10, sleep: noSleep });

    expect(result).toMatchObject({ status: 'DELETE_COMPLETE', succeeded: true });
    expect(await stacks.describeStack(stackName)).toBeUndefined();
    expect(await stacks.deleteStack(stackName, token('delete'))).toEqual({ kind: 'gone' });
  });

  it('describes outputs, parameters and tags (stack made with CreateStack: see the note at the top)', async () => {
    const { stackName } = fresh();
    await client.send(
      new CreateStackCommand({
        StackName: stackName,
        TemplateBody: TEMPLATE,
        Parameters: [{ ParameterKey: 'Greeting', ParameterValue: 'hola' }],
        Tags: [{ Key: 'lane', Value: 'blue' }],
      }),
    );

    const view = await stacks.describeStack(stackName);

    expect(view).toMatchObject({
      stackName,
      status: 'CREATE_COMPLETE',
      parameters: { Greeting: 'hola' },
      outputs: { ParamName: `${stackName}-greeting`, Greeting: 'hola' },
      tags: { lane: 'blue' },
    });
    expect(view?.url).toContain('cloudformation/home?region=us-east-1#/stacks/events?stackId=');
  });

  it('describes the service role a stack was created with; a parameter update keeps it', async () => {
    const { stackName, token } = fresh();
    const role = 'arn:aws:iam::123456789012:role/pipeline-user-api-dev-LaneStackRole-ABCDEF123456';
    await stacks.deployStack({
      stackName,
      templateBody: TWO_PARAMETER_TEMPLATE,
      parameters: { ImageUri: 'repo/user-api@sha256:aaaa', RulePriority: '17' },
      roleArn: role,
      clientRequestToken: token('create'),
    });
    expect((await stacks.describeStack(stackName))?.roleArn).toBe(role);

    const update = await stacks.updateStackParameters({ stackName, parameters: { ImageUri: 'repo/user-api@sha256:bbbb' }, clientRequestToken: token('promote') });

    expect(update).toMatchObject({ kind: 'started', operation: 'update' });
    expect(await stacks.describeStack(stackName)).toMatchObject({ parameters: { ImageUri: 'repo/user-api@sha256:bbbb' }, roleArn: role });
  });

  it('describes no role for a stack created without one', async () => {
    const { stackName, token } = fresh();
    await stacks.deployStack(deployInput(stackName, token('create'), 'hello'));
    const view = await stacks.describeStack(stackName);
    expect(view?.status).toBe('CREATE_COMPLETE');
    expect(view?.roleArn).toBeUndefined();
  });

  it('reports a missing stack as undefined, gone, and DELETE_COMPLETE', async () => {
    const { stackName, token } = fresh();

    expect(await stacks.describeStack(stackName)).toBeUndefined();
    expect(await stacks.deleteStack(stackName, token('delete'))).toEqual({ kind: 'gone' });
    expect(await stacks.progress(stackName)).toMatchObject({ status: 'DELETE_COMPLETE', finished: true, succeeded: true, events: [] });
  });
});
