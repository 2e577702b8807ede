import {
  CodePipelineClient,
  CodePipelineServiceException,
  GetPipelineCommand,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
  ListPipelineExecutionsCommand,
  PipelineExecutionNotFoundException,
  PipelineNotFoundException,
  ApprovalAlreadyCompletedException,
  InvalidApprovalTokenException,
  PutApprovalResultCommand,
  StartPipelineExecutionCommand,
  type ActionExecutionDetail,
  type PipelineExecutionStatus,
} from '@aws-sdk/client-codepipeline';
import { mockClient } from 'aws-sdk-client-mock';
import { CodePipelineAdapter } from '../../../src/cloud/aws/codepipeline.adapter';
import { LanebotError } from '../../../src/errors';

const cp = mockClient(CodePipelineClient);
const PIPELINE = 'api-staging';
const EXEC = 'exec-1';
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const at = (seconds: number): Date => new Date(T0 + seconds * 1000);

let sleeps: number[];
function adapter(maxThrottleRetries?: number): CodePipelineAdapter {
  return new CodePipelineAdapter({
    client: new CodePipelineClient({ region: 'eu-west-1' }),
    region: 'eu-west-1',
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    maxThrottleRetries,
  });
}

function sdkError(name: string, httpStatusCode: number | undefined, message = `${name} happened`): CodePipelineServiceException {
  return new CodePipelineServiceException({ name, $fault: 'client', $metadata: { httpStatusCode }, message });
}

function action(stageName: string, actionName: string, status: ActionExecutionDetail['status'], start: number, end: number, extra: Partial<ActionExecutionDetail> = {}): ActionExecutionDetail {
  return { pipelineExecutionId: EXEC, stageName, actionName, status, startTime: at(start), lastUpdateTime: at(end), ...extra };
}

/** Source(1 action) → Build(1) → Deploy(2, run orders 1 and 2) → Verify(1), at version 7. */
function givenPipeline(status: PipelineExecutionStatus, actions: ActionExecutionDetail[], statusSummary?: string): void {
  cp.on(GetPipelineExecutionCommand).resolves({
    pipelineExecution: { pipelineName: PIPELINE, pipelineExecutionId: EXEC, pipelineVersion: 7, status, statusSummary },
  });
  cp.on(GetPipelineCommand).resolves({
    pipeline: {
      name: PIPELINE,
      roleArn: 'arn:aws:iam::123456789012:role/cp',
      version: 7,
      stages: [
        { name: 'Source', actions: [{ name: 'Checkout', actionTypeId: undefined }] },
        { name: 'Build', actions: [{ name: 'Compile', actionTypeId: undefined }] },
        {
          name: 'Deploy',
          actions: [
            { name: 'Migrate', actionTypeId: undefined, runOrder: 1 },
            { name: 'EcsDeploy', actionTypeId: undefined, runOrder: 2 },
          ],
        },
        { name: 'Verify', actions: [{ name: 'Smoke', actionTypeId: undefined }] },
      ],
    },
  });
  cp.on(ListActionExecutionsCommand).resolves({ actionExecutionDetails: actions });
}

beforeEach(() => {
  cp.reset();
  sleeps = [];
});

describe('startExecution', () => {
  it('sends the pipeline name, variables in key order and the idempotency token', async () => {
    cp.on(StartPipelineExecutionCommand).resolves({ pipelineExecutionId: EXEC });

    const result = await adapter().startExecution({
      pipelineName: PIPELINE,
      variables: { IMAGE_TAG: 'abc123', LANE: 'default' },
      clientRequestToken: 'deploy-42',
    });

    expect(result).toEqual({ executionId: EXEC });
    expect(cp.commandCalls(StartPipelineExecutionCommand)[0]!.args[0].input).toEqual({
      name: PIPELINE,
      variables: [
        { name: 'IMAGE_TAG', value: 'abc123' },
        { name: 'LANE', value: 'default' },
      ],
      clientRequestToken: 'deploy-42',
    });
  });

  it('sends no variables list at all for a pipeline started without variables (the API takes 1 to 50)', async () => {
    cp.on(StartPipelineExecutionCommand).resolves({ pipelineExecutionId: EXEC });
    await adapter().startExecution({ pipelineName: 'infra-dev', variables: {}, clientRequestToken: 'infra-1' });
    expect(cp.commandCalls(StartPipelineExecutionCommand)[0]!.args[0].input).toEqual({
      name: 'infra-dev',
      variables: undefined,
      clientRequestToken: 'infra-1',
    });
  });

  it('passes the same token again on a repeated start, leaving deduplication to AWS', async () => {
    cp.on(StartPipelineExecutionCommand).resolves({ pipelineExecutionId: EXEC });
    const pipelines = adapter();
    const input = { pipelineName: PIPELINE, variables: { IMAGE_TAG: 'abc123' }, clientRequestToken: 'deploy-42' };

    const first = await pipelines.startExecution(input);
    const second = await pipelines.startExecution(input);

    const tokens = cp.commandCalls(StartPipelineExecutionCommand).map((call) => call.args[0].input.clientRequestToken);
    expect(tokens).toEqual(['deploy-42', 'deploy-42']);
    expect(second).toEqual(first);
  });

  it('fails with AWS_ERROR when AWS returns no execution id', async () => {
    cp.on(StartPipelineExecutionCommand).resolves({});
    await expect(
      adapter().startExecution({ pipelineName: PIPELINE, variables: {}, clientRequestToken: 't' }),
    ).rejects.toMatchObject({ code: 'AWS_ERROR' });
  });
});

describe('getExecution', () => {
  it('lists every declared stage in order, with status, timings and a console link', async () => {
    givenPipeline('InProgress', [
      action('Source', 'Checkout', 'Succeeded', 0, 10),
      action('Build', 'Compile', 'Succeeded', 11, 200),
      // Only the first of Deploy's two run orders has run: the stage is still in progress.
      action('Deploy', 'Migrate', 'Succeeded', 201, 230),
    ]);

    const view = await adapter().getExecution(PIPELINE, EXEC);

    expect(view).toEqual({
      pipelineName: PIPELINE,
      executionId: EXEC,
      status: 'InProgress',
      stages: [
        { name: 'Source', status: 'Succeeded', startedAt: at(0).getTime(), endedAt: at(10).getTime() },
        { name: 'Build', status: 'Succeeded', startedAt: at(11).getTime(), endedAt: at(200).getTime() },
        { name: 'Deploy', status: 'InProgress', startedAt: at(201).getTime() },
        { name: 'Verify', status: 'NotStarted' },
      ],
      url: 'https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/api-staging/executions/exec-1/timeline?region=eu-west-1',
    });
    expect(cp.commandCalls(GetPipelineCommand)[0]!.args[0].input).toEqual({ name: PIPELINE, version: 7 });
    expect(cp.commandCalls(ListActionExecutionsCommand)[0]!.args[0].input).toMatchObject({
      pipelineName: PIPELINE,
      filter: { pipelineExecutionId: EXEC },
    });
  });

  it('reports a failed stage with the failed action, its error summary and log link', async () => {
    givenPipeline(
      'Failed',
      [
        action('Source', 'Checkout', 'Succeeded', 0, 10),
        action('Build', 'Compile', 'Failed', 11, 95, {
          output: {
            executionResult: {
              errorDetails: { code: 'JobFailed', message: 'Build failed: npm test exited 1' },
              externalExecutionSummary: 'build summary',
              externalExecutionUrl: 'https://console.aws.amazon.com/codebuild/build/42',
            },
          },
        }),
      ],
      'Action Compile failed',
    );

    const view = await adapter().getExecution(PIPELINE, EXEC);

    expect(view.status).toBe('Failed');
    expect(view.statusSummary).toBe('Action Compile failed');
    expect(view.stages.map((s) => s.status)).toEqual(['Succeeded', 'Failed', 'NotStarted', 'NotStarted']);
    expect(view.stages[1]).toEqual({
      name: 'Build',
      status: 'Failed',
      startedAt: at(11).getTime(),
      endedAt: at(95).getTime(),
      failure: {
        actionName: 'Compile',
        summary: 'Build failed: npm test exited 1',
        logUrl: 'https://console.aws.amazon.com/codebuild/build/42',
      },
    });
  });

  it('falls back to the external summary, then to a placeholder, when no error message is reported', async () => {
    givenPipeline('Failed', [
      action('Build', 'Compile', 'Failed', 0, 5, { output: { executionResult: { externalExecutionSummary: 'exit 2' } } }),
      action('Deploy', 'Migrate', 'Failed', 6, 9),
    ]);

    const [, build, deploy] = (await adapter().getExecution(PIPELINE, EXEC)).stages;

    expect(build!.failure).toEqual({ actionName: 'Compile', summary: 'exit 2', logUrl: undefined });
    expect(deploy!.failure).toEqual({ actionName: 'Migrate', summary: 'no error summary reported', logUrl: undefined });
  });

  it('follows nextToken across pages of action executions', async () => {
    givenPipeline('Succeeded', []);
    cp.on(ListActionExecutionsCommand)
      .resolvesOnce({
        actionExecutionDetails: [action('Source', 'Checkout', 'Succeeded', 0, 10), action('Build', 'Compile', 'Succeeded', 11, 20)],
        nextToken: 'page-2',
      })
      .resolvesOnce({
        actionExecutionDetails: [
          action('Deploy', 'Migrate', 'Succeeded', 21, 30),
          action('Deploy', 'EcsDeploy', 'Succeeded', 31, 40),
          action('Verify', 'Smoke', 'Succeeded', 41, 50),
        ],
      });

    const view = await adapter().getExecution(PIPELINE, EXEC);

    const calls = cp.commandCalls(ListActionExecutionsCommand);
    expect(calls.map((call) => call.args[0].input.nextToken)).toEqual([undefined, 'page-2']);
    expect(view.stages.map((s) => s.status)).toEqual(['Succeeded', 'Succeeded', 'Succeeded', 'Succeeded']);
    expect(view.stages[2]).toMatchObject({ startedAt: at(21).getTime(), endedAt: at(40).getTime() });
  });

  it('judges a retried action by its latest execution', async () => {
    givenPipeline('Succeeded', [
      // Listed newest first on purpose: the choice must follow startTime, not list order.
      action('Build', 'Compile', 'Succeeded', 100, 150),
      action('Build', 'Compile', 'Failed', 0, 50, { output: { executionResult: { errorDetails: { message: 'flaky' } } } }),
    ]);

    const build = (await adapter().getExecution(PIPELINE, EXEC)).stages[1]!;

    expect(build).toEqual({ name: 'Build', status: 'Succeeded', startedAt: at(100).getTime(), endedAt: at(150).getTime() });
  });

  it('marks the running stage Stopped when the execution was stopped, and leaves later stages NotStarted', async () => {
    givenPipeline('Stopped', [
      action('Source', 'Checkout', 'Succeeded', 0, 10),
      action('Build', 'Compile', 'Succeeded', 11, 20),
      action('Deploy', 'Migrate', 'InProgress', 21, 25),
    ]);

    const view = await adapter().getExecution(PIPELINE, EXEC);

    expect(view.stages.map((s) => s.status)).toEqual(['Succeeded', 'Succeeded', 'Stopped', 'NotStarted']);
    expect(view.stages[2]!.endedAt).toBe(at(25).getTime());
  });

  it('fetches a pipeline version once and reuses it for later polls', async () => {
    givenPipeline('InProgress', [action('Source', 'Checkout', 'InProgress', 0, 1)]);
    const pipelines = adapter();

    await pipelines.getExecution(PIPELINE, EXEC);
    await pipelines.getExecution(PIPELINE, EXEC);

    expect(cp.commandCalls(GetPipelineCommand)).toHaveLength(1);
    expect(cp.commandCalls(GetPipelineExecutionCommand)).toHaveLength(2);
  });
});

describe('listExecutions', () => {
  const summary = (id: string, status: PipelineExecutionStatus, start: number, update: number) => ({
    pipelineExecutionId: id,
    status,
    startTime: at(start),
    lastUpdateTime: at(update),
  });

  it('reads one page of the newest executions into summaries (status, start, last update)', async () => {
    cp.on(ListPipelineExecutionsCommand).resolves({
      pipelineExecutionSummaries: [summary('e3', 'InProgress', 30, 40), { ...summary('e2', 'Failed', 20, 25), statusSummary: 'Build failed' }],
      nextToken: 'page-2',
    });
    const list = await adapter().listExecutions(PIPELINE);
    expect(list).toEqual([
      { executionId: 'e3', status: 'InProgress', startedAt: at(30).getTime(), lastUpdatedAt: at(40).getTime() },
      { executionId: 'e2', status: 'Failed', statusSummary: 'Build failed', startedAt: at(20).getTime(), lastUpdatedAt: at(25).getTime() },
    ]);
    // Without startedSince one page is enough: one call per pipeline per poll.
    expect(cp.commandCalls(ListPipelineExecutionsCommand)).toHaveLength(1);
    expect(cp.commandCalls(ListPipelineExecutionsCommand)[0]!.args[0].input).toEqual({ pipelineName: PIPELINE, maxResults: 100, nextToken: undefined });
  });

  it('pages back until it passes startedSince, and no further', async () => {
    cp.on(ListPipelineExecutionsCommand, { pipelineName: PIPELINE, maxResults: 100, nextToken: undefined }).resolves({
      pipelineExecutionSummaries: [summary('e4', 'InProgress', 40, 41), summary('e3', 'InProgress', 30, 31)],
      nextToken: 'p2',
    });
    cp.on(ListPipelineExecutionsCommand, { pipelineName: PIPELINE, maxResults: 100, nextToken: 'p2' }).resolves({
      pipelineExecutionSummaries: [summary('e2', 'Succeeded', 20, 21), summary('e1', 'Succeeded', 10, 11)],
      nextToken: 'p3',
    });
    const list = await adapter().listExecutions(PIPELINE, { startedSince: at(25).getTime() });
    expect(list.map((e) => e.executionId)).toEqual(['e4', 'e3', 'e2', 'e1']);
    expect(cp.commandCalls(ListPipelineExecutionsCommand)).toHaveLength(2);
  });

  it('maps a missing pipeline to PIPELINE_NOT_FOUND', async () => {
    cp.on(ListPipelineExecutionsCommand).rejects(sdkError('PipelineNotFoundException', 400));
    await expect(adapter().listExecutions(PIPELINE)).rejects.toMatchObject({ code: 'PIPELINE_NOT_FOUND' });
  });
});

describe('error mapping', () => {
  it('retries throttling with growing delays, then succeeds', async () => {
    givenPipeline('InProgress', []);
    cp.on(GetPipelineExecutionCommand)
      .rejectsOnce(sdkError('ThrottlingException', 400))
      .rejectsOnce(sdkError('TooManyRequestsException', 429))
      .resolves({ pipelineExecution: { pipelineExecutionId: EXEC, pipelineVersion: 7, status: 'InProgress' } });

    const view = await adapter().getExecution(PIPELINE, EXEC);

    expect(view.status).toBe('InProgress');
    expect(cp.commandCalls(GetPipelineExecutionCommand)).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[1]!).toBeGreaterThan(sleeps[0]!);
  });

  it('gives up after maxThrottleRetries extra attempts with AWS_THROTTLED', async () => {
    cp.on(StartPipelineExecutionCommand).rejects(sdkError('SlowDown', 429));

    const error = await adapter(2)
      .startExecution({ pipelineName: PIPELINE, variables: {}, clientRequestToken: 't' })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(LanebotError);
    expect(error).toMatchObject({ code: 'AWS_THROTTLED', retryable: true });
    expect((error as Error).message).toContain('StartPipelineExecution');
    expect(cp.commandCalls(StartPipelineExecutionCommand)).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[1]!).toBeGreaterThan(sleeps[0]!);
  });

  it('does not retry a LimitExceededException that is a quota, not a rate', async () => {
    cp.on(StartPipelineExecutionCommand).rejects(sdkError('LimitExceededException', 400, 'Maximum number of pipelines reached'));

    await expect(
      adapter().startExecution({ pipelineName: PIPELINE, variables: {}, clientRequestToken: 't' }),
    ).rejects.toMatchObject({ code: 'AWS_ERROR', retryable: false });
    expect(sleeps).toEqual([]);
  });

  it('maps PipelineNotFoundException to PIPELINE_NOT_FOUND naming the pipeline', async () => {
    cp.on(StartPipelineExecutionCommand).rejects(new PipelineNotFoundException({ message: 'no such pipeline', $metadata: { httpStatusCode: 400 } }));

    const error = await adapter()
      .startExecution({ pipelineName: PIPELINE, variables: {}, clientRequestToken: 't' })
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'PIPELINE_NOT_FOUND', retryable: false });
    expect((error as Error).message).toContain(PIPELINE);
    expect(cp.commandCalls(StartPipelineExecutionCommand)).toHaveLength(1);
  });

  it('maps PipelineExecutionNotFoundException to PIPELINE_EXECUTION_NOT_FOUND naming both', async () => {
    cp.on(GetPipelineExecutionCommand).rejects(
      new PipelineExecutionNotFoundException({ message: 'not found', $metadata: { httpStatusCode: 400 } }),
    );

    const error = await adapter().getExecution(PIPELINE, EXEC).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'PIPELINE_EXECUTION_NOT_FOUND' });
    expect((error as Error).message).toEqual(expect.stringContaining(EXEC));
    expect((error as Error).message).toEqual(expect.stringContaining(PIPELINE));
  });

  it('maps AccessDeniedException to AWS_ACCESS_DENIED naming the IAM action', async () => {
    const denied = Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });
    cp.on(GetPipelineExecutionCommand).rejects(denied);

    const error = await adapter().getExecution(PIPELINE, EXEC).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'AWS_ACCESS_DENIED', cause: denied });
    expect((error as Error).message).toContain('codepipeline:GetPipelineExecution');
  });

  it('maps an unknown 500 to a retryable AWS_ERROR and an unknown 400 to a final one', async () => {
    cp.on(GetPipelineExecutionCommand).rejectsOnce(sdkError('InternalFailure', 500, 'boom')).rejectsOnce(sdkError('ValidationException', 400, 'bad id'));
    const pipelines = adapter();

    const serverError = await pipelines.getExecution(PIPELINE, EXEC).catch((e: unknown) => e);
    const clientError = await pipelines.getExecution(PIPELINE, EXEC).catch((e: unknown) => e);

    expect(serverError).toMatchObject({ code: 'AWS_ERROR', retryable: true, message: `codepipeline:GetPipelineExecution on pipeline \`${PIPELINE}\` failed: boom` });
    expect(clientError).toMatchObject({ code: 'AWS_ERROR', retryable: false });
    expect(sleeps).toEqual([]);
  });
});

describe('manual approvals', () => {
  const TOKEN = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
  const APPROVAL_TYPE = { category: 'Approval', owner: 'AWS', provider: 'Manual', version: '1' } as const;

  /** Source → Approval (ManualApproval, timeout `timeoutInMinutes`) → Build. */
  function givenApprovalPipeline(actions: ActionExecutionDetail[], timeoutInMinutes?: number, status: PipelineExecutionStatus = 'InProgress'): void {
    cp.on(GetPipelineExecutionCommand).resolves({ pipelineExecution: { pipelineName: PIPELINE, pipelineExecutionId: EXEC, pipelineVersion: 3, status } });
    cp.on(GetPipelineCommand).resolves({
      pipeline: {
        name: PIPELINE,
        roleArn: 'arn:aws:iam::123456789012:role/cp',
        version: 3,
        stages: [
          { name: 'Source', actions: [{ name: 'Checkout', actionTypeId: undefined }] },
          { name: 'Approval', actions: [{ name: 'ManualApproval', actionTypeId: APPROVAL_TYPE, timeoutInMinutes }] },
          { name: 'Build', actions: [{ name: 'Compile', actionTypeId: undefined }] },
        ],
      },
    });
    cp.on(ListActionExecutionsCommand).resolves({ actionExecutionDetails: actions });
  }

  function waitingApproval(extra: Partial<ActionExecutionDetail> = {}): ActionExecutionDetail {
    return action('Approval', 'ManualApproval', 'InProgress', 11, 11, {
      input: {
        actionTypeId: APPROVAL_TYPE,
        configuration: { CustomData: 'Deploy #{variables.BRANCH} to lane #{variables.LANE}', ExternalEntityLink: 'https://example.com/changes/42' },
        resolvedConfiguration: { CustomData: 'Deploy release/1.2.3 to lane gray', ExternalEntityLink: 'https://example.com/changes/42' },
      },
      output: { executionResult: { externalExecutionId: TOKEN } },
      ...extra,
    });
  }

  const decision = { pipelineName: PIPELINE, stageName: 'Approval', actionName: 'ManualApproval', token: TOKEN, approved: true, summary: 'Approved in Slack by @bob' };

  it('lists a waiting approval with the externalExecutionId as its token, the resolved message, the link and the expiry', async () => {
    givenApprovalPipeline([action('Source', 'Checkout', 'Succeeded', 0, 10), waitingApproval()], 120);

    const pending = await adapter().pendingApprovals(PIPELINE, EXEC);

    expect(pending).toEqual([
      {
        stageName: 'Approval',
        actionName: 'ManualApproval',
        token: TOKEN,
        customMessage: 'Deploy release/1.2.3 to lane gray',
        reviewUrl: 'https://example.com/changes/42',
        requestedAt: at(11).getTime(),
        expiresAt: at(11).getTime() + 120 * 60_000,
      },
    ]);
    expect(cp.commandCalls(ListActionExecutionsCommand)[0]!.args[0].input).toMatchObject({ pipelineName: PIPELINE, filter: { pipelineExecutionId: EXEC } });
    expect(cp.commandCalls(GetPipelineCommand)[0]!.args[0].input).toEqual({ name: PIPELINE, version: 3 });
  });

  it('shows the waiting stage in the execution view, and expires after CodePipeline\'s 7 days when the action sets no timeout', async () => {
    givenApprovalPipeline([action('Source', 'Checkout', 'Succeeded', 0, 10), waitingApproval({ input: { actionTypeId: APPROVAL_TYPE } })]);

    const view = await adapter().getExecution(PIPELINE, EXEC);

    expect(view.stages.map((s) => [s.name, s.status, s.detail])).toEqual([
      ['Source', 'Succeeded', undefined],
      ['Approval', 'InProgress', 'waiting for approval'],
      ['Build', 'NotStarted', undefined],
    ]);
    expect(view.stages[1]!.approvals).toEqual([
      { stageName: 'Approval', actionName: 'ManualApproval', token: TOKEN, requestedAt: at(11).getTime(), expiresAt: at(11).getTime() + 7 * 86_400_000 },
    ]);
  });

  it('finds the approval on a later page of action executions', async () => {
    givenApprovalPipeline([]);
    cp.on(ListActionExecutionsCommand)
      .resolvesOnce({ actionExecutionDetails: [action('Source', 'Checkout', 'Succeeded', 0, 10)], nextToken: 'page-2' })
      .resolvesOnce({ actionExecutionDetails: [waitingApproval()] });

    const pending = await adapter().pendingApprovals(PIPELINE, EXEC);

    expect(pending.map((p) => p.token)).toEqual([TOKEN]);
    expect(cp.commandCalls(ListActionExecutionsCommand).map((c) => c.args[0].input.nextToken)).toEqual([undefined, 'page-2']);
  });

  it('lists nothing once the approval was answered, the execution stopped, or before CodePipeline issued the token', async () => {
    givenApprovalPipeline([action('Source', 'Checkout', 'Succeeded', 0, 10), waitingApproval({ status: 'Succeeded' })]);
    expect(await adapter().pendingApprovals(PIPELINE, EXEC)).toEqual([]);

    cp.reset();
    givenApprovalPipeline([waitingApproval()], undefined, 'Stopped');
    const stopped = await adapter().getExecution(PIPELINE, EXEC);
    expect(stopped.stages[1]).toMatchObject({ status: 'Stopped' });
    expect(stopped.stages[1]!.approvals).toBeUndefined();

    cp.reset();
    givenApprovalPipeline([waitingApproval({ output: undefined })]);
    const early = await adapter().getExecution(PIPELINE, EXEC);
    expect(early.stages[1]).toMatchObject({ status: 'InProgress', detail: 'waiting for approval' });
    expect(early.stages[1]!.approvals).toBeUndefined();
  });

  it('answers with the token, Approved or Rejected, and the summary', async () => {
    cp.on(PutApprovalResultCommand).resolves({ approvedAt: at(100) });

    await expect(adapter().putApprovalResult(decision)).resolves.toEqual({ kind: 'recorded' });
    await expect(adapter().putApprovalResult({ ...decision, approved: false, summary: '  Rejected by @bob: not during the freeze ' })).resolves.toEqual({ kind: 'recorded' });

    expect(cp.commandCalls(PutApprovalResultCommand).map((c) => c.args[0].input)).toEqual([
      { pipelineName: PIPELINE, stageName: 'Approval', actionName: 'ManualApproval', token: TOKEN, result: { status: 'Approved', summary: 'Approved in Slack by @bob' } },
      {
        pipelineName: PIPELINE,
        stageName: 'Approval',
        actionName: 'ManualApproval',
        token: TOKEN,
        result: { status: 'Rejected', summary: 'Rejected by @bob: not during the freeze' },
      },
    ]);
  });

  it('cuts the summary to the API\'s 512 characters, never inside a surrogate pair', async () => {
    cp.on(PutApprovalResultCommand).resolves({});
    await adapter().putApprovalResult({ ...decision, summary: `Rejected by @bob: ${'🚫'.repeat(600)}` });

    const sent = cp.commandCalls(PutApprovalResultCommand)[0]!.args[0].input.result!.summary!;
    expect(Array.from(sent)).toHaveLength(512);
    expect(sent.startsWith('Rejected by @bob: 🚫')).toBe(true);
    expect(sent.endsWith('🚫…')).toBe(true);
  });

  it('turns ApprovalAlreadyCompletedException and InvalidApprovalTokenException into answers, without retrying', async () => {
    cp.on(PutApprovalResultCommand)
      .rejectsOnce(new ApprovalAlreadyCompletedException({ message: 'The approval action has already been approved or rejected', $metadata: { httpStatusCode: 400 } }))
      .rejectsOnce(new InvalidApprovalTokenException({ message: 'The approval request already received a response or has expired', $metadata: { httpStatusCode: 400 } }));
    const pipelines = adapter();

    await expect(pipelines.putApprovalResult(decision)).resolves.toEqual({ kind: 'already-decided' });
    await expect(pipelines.putApprovalResult(decision)).resolves.toEqual({ kind: 'invalid-token' });
    expect(cp.commandCalls(PutApprovalResultCommand)).toHaveLength(2);
    expect(sleeps).toEqual([]);
  });

  it('retries a throttled answer, then records it', async () => {
    cp.on(PutApprovalResultCommand).rejectsOnce(sdkError('ThrottlingException', 400)).resolves({});

    await expect(adapter().putApprovalResult(decision)).resolves.toEqual({ kind: 'recorded' });
    expect(cp.commandCalls(PutApprovalResultCommand)).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
  });

  it('throws AWS_THROTTLED after the retries, and access denied and a missing pipeline as LanebotErrors', async () => {
    cp.on(PutApprovalResultCommand).rejects(sdkError('ThrottlingException', 400));
    await expect(adapter(1).putApprovalResult(decision)).rejects.toMatchObject({ code: 'AWS_THROTTLED', retryable: true });

    cp.reset();
    cp.on(PutApprovalResultCommand).rejects(sdkError('AccessDeniedException', 403, 'not authorized'));
    const denied = await adapter().putApprovalResult(decision).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(LanebotError);
    expect(denied).toMatchObject({ code: 'AWS_ACCESS_DENIED' });
    expect((denied as Error).message).toContain('codepipeline:PutApprovalResult');

    cp.reset();
    cp.on(PutApprovalResultCommand).rejects(new PipelineNotFoundException({ message: 'no such pipeline', $metadata: { httpStatusCode: 400 } }));
    await expect(adapter().putApprovalResult(decision)).rejects.toMatchObject({ code: 'PIPELINE_NOT_FOUND' });

    cp.reset();
    cp.on(PutApprovalResultCommand).rejects(sdkError('ActionNotFoundException', 400, 'no such action'));
    await expect(adapter().putApprovalResult(decision)).rejects.toMatchObject({ code: 'AWS_ERROR', retryable: false });
  });
});
