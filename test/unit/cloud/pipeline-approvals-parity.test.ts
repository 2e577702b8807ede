// The AWS adapter and the simulator answer manual approvals alike: for each situation, CodePipeline's
// answer (mocked as the API gives it) through the adapter and the simulator's own state give the same
// outcome kind, or the same error code, retryable flag and call named in the message.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  ApprovalAlreadyCompletedException,
  CodePipelineClient,
  CodePipelineServiceException,
  GetPipelineCommand,
  GetPipelineExecutionCommand,
  InvalidApprovalTokenException,
  ListActionExecutionsCommand,
  PutApprovalResultCommand,
  type ActionExecutionDetail,
} from '@aws-sdk/client-codepipeline';
import { mockClient } from 'aws-sdk-client-mock';
import { CodePipelineAdapter } from '../../../src/cloud/aws/codepipeline.adapter';
import type { ApprovalDecision, ApprovalOutcome, PendingApproval } from '../../../src/cloud/pipelines.port';
import { SimFaults, type SimFaultKind } from '../../../src/cloud/sim/sim-faults';
import { SIM_APP_STAGES, type SimPipelineInfo } from '../../../src/cloud/sim/sim-pipeline-catalog';
import { SimPipelines } from '../../../src/cloud/sim/sim-pipelines';
import { SimStacks } from '../../../src/cloud/sim/sim-stacks';
import { isLanebotError } from '../../../src/errors';
import { redisPerTest, T0 } from '../../support/fixtures';

const PIPELINE = 'api-prod';
const SOURCE_MS = 20_000;
const cp = mockClient(CodePipelineClient);
const db = redisPerTest();
let t: number;
const clock = { now: () => t };
const PIPELINES: SimPipelineInfo[] = [{ name: PIPELINE, kind: 'app', service: 'api', env: 'prod', protected: true }];

/** What a call came to, in terms both implementations can be compared by. */
type Result = { outcome: ApprovalOutcome['kind'] } | { error: string; retryable: boolean; call: boolean };

async function resultOf(call: Promise<ApprovalOutcome>): Promise<Result> {
  try {
    return { outcome: (await call).kind };
  } catch (error) {
    if (!isLanebotError(error)) throw error;
    return { error: error.code, retryable: error.retryable, call: error.message.includes('PutApprovalResult') };
  }
}

function sdkError(name: string, httpStatusCode: number, message = `${name} happened`): CodePipelineServiceException {
  return new CodePipelineServiceException({ name, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode }, message });
}

/** A simulated account whose protected pipeline waits at its approval; the decision names its token. */
async function simWaiting(): Promise<{ sim: SimPipelines; faults: SimFaults; decision: ApprovalDecision; pending: PendingApproval[] }> {
  const faults = new SimFaults({ redis: db.redis, prefix: `${db.prefix}:sim` });
  const sim = new SimPipelines({
    redis: db.redis,
    prefix: `${db.prefix}:sim`,
    clock,
    timeScale: 1,
    pipelines: () => PIPELINES,
    stacks: new SimStacks({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale: 1 }),
    templatesDir: join(tmpdir(), `no-templates-${randomUUID()}`),
    faults,
  });
  const { executionId } = await sim.startExecution({ pipelineName: PIPELINE, variables: { LANE: 'gray', BRANCH: 'release/1.2.3' }, clientRequestToken: randomUUID() });
  t = T0 + SOURCE_MS + 1000;
  const pending = await sim.pendingApprovals(PIPELINE, executionId);
  return { sim, faults, pending, decision: { ...pending[0]!, pipelineName: PIPELINE, approved: true, summary: 'Approved by @bob in Slack' } };
}

/** The same execution as CodePipeline reports it to the adapter. */
function awsWaiting(token: string): { adapter: CodePipelineAdapter; decision: ApprovalDecision } {
  const approvalType = { category: 'Approval', owner: 'AWS', provider: 'Manual', version: '1' } as const;
  const executionId = randomUUID();
  cp.on(GetPipelineExecutionCommand).resolves({ pipelineExecution: { pipelineName: PIPELINE, pipelineExecutionId: executionId, pipelineVersion: 1, status: 'InProgress' } });
  cp.on(GetPipelineCommand).resolves({
    pipeline: {
      name: PIPELINE,
      roleArn: 'arn:aws:iam::123456789012:role/cp',
      version: 1,
      stages: SIM_APP_STAGES.map((stage) => ({
        name: stage.name,
        actions: stage.actions.map((a) => ({ name: a.name, actionTypeId: a.kind === 'approval' ? approvalType : undefined })),
      })),
    },
  });
  const action = (stageName: string, actionName: string, status: ActionExecutionDetail['status'], start: number, extra: Partial<ActionExecutionDetail> = {}): ActionExecutionDetail => ({
    pipelineExecutionId: executionId,
    stageName,
    actionName,
    status,
    startTime: new Date(T0 + start),
    lastUpdateTime: new Date(T0 + start),
    ...extra,
  });
  cp.on(ListActionExecutionsCommand).resolves({
    actionExecutionDetails: [
      action('Source', 'AppSource', 'Succeeded', 0),
      action('Source', 'InfraSource', 'Succeeded', 0),
      action('Approval', 'ManualApproval', 'InProgress', SOURCE_MS, {
        input: { actionTypeId: approvalType, resolvedConfiguration: { CustomData: 'Deploy release/1.2.3 to lane gray' } },
        output: { executionResult: { externalExecutionId: token } },
      }),
    ],
  });
  const adapter = new CodePipelineAdapter({ client: new CodePipelineClient({ region: 'eu-west-1' }), region: 'eu-west-1', sleep: async () => undefined, maxThrottleRetries: 1 });
  return { adapter, decision: { pipelineName: PIPELINE, stageName: 'Approval', actionName: 'ManualApproval', token, approved: true, summary: 'Approved by @bob in Slack' } };
}

beforeEach(() => {
  t = T0;
  cp.reset();
});

it('lists the waiting approval alike', async () => {
  const { pending: simulated, decision } = await simWaiting();
  const { adapter } = awsWaiting(decision.token);
  const real = await adapter.pendingApprovals(PIPELINE, 'any');
  expect(real).toEqual(simulated);
  expect(real).toEqual([
    {
      stageName: 'Approval',
      actionName: 'ManualApproval',
      token: decision.token,
      customMessage: 'Deploy release/1.2.3 to lane gray',
      requestedAt: T0 + SOURCE_MS,
      expiresAt: T0 + SOURCE_MS + 7 * 86_400_000,
    },
  ]);
});

type Scenario = {
  name: string;
  /** Brings the simulated account into the situation and makes the call. */
  sim: (s: { sim: SimPipelines; faults: SimFaults; decision: ApprovalDecision }) => Promise<ApprovalOutcome>;
  /** What CodePipeline answers PutApprovalResult in that situation, call by call (after these: it accepts). */
  aws: (() => Error)[];
  decide?: (decision: ApprovalDecision) => ApprovalDecision;
  expected: Result;
};

const fault = (kind: SimFaultKind) => async ({ sim, faults, decision }: { sim: SimPipelines; faults: SimFaults; decision: ApprovalDecision }) => {
  await faults.inject({ service: 'codepipeline', fault: kind, count: 5 });
  return sim.putApprovalResult(decision);
};

const SCENARIOS: Scenario[] = [
  { name: 'a waiting request', sim: ({ sim, decision }) => sim.putApprovalResult(decision), aws: [], expected: { outcome: 'recorded' } },
  {
    name: 'a request answered in the console first',
    sim: async ({ sim, decision }) => {
      const [executionId] = await sim.executionIds(PIPELINE);
      await sim.approve(executionId!, false, 'no');
      return sim.putApprovalResult(decision);
    },
    aws: [() => new ApprovalAlreadyCompletedException({ message: 'The approval action has already been approved or rejected', $metadata: { httpStatusCode: 400 } })],
    expected: { outcome: 'already-decided' },
  },
  {
    name: 'an expired request',
    sim: ({ sim, decision }) => {
      t = T0 + SOURCE_MS + 7 * 86_400_000;
      return sim.putApprovalResult(decision);
    },
    aws: [() => new InvalidApprovalTokenException({ message: 'The approval request already received a response or has expired', $metadata: { httpStatusCode: 400 } })],
    expected: { outcome: 'invalid-token' },
  },
  {
    name: 'an unknown token',
    sim: ({ sim, decision }) => sim.putApprovalResult(decision),
    decide: (d) => ({ ...d, token: '00000000-0000-4000-8000-000000000000' }),
    aws: [() => new InvalidApprovalTokenException({ message: 'The approval request already received a response or has expired', $metadata: { httpStatusCode: 400 } })],
    expected: { outcome: 'invalid-token' },
  },
  {
    name: 'a stage the pipeline lacks',
    sim: ({ sim, decision }) => sim.putApprovalResult(decision),
    decide: (d) => ({ ...d, stageName: 'Review' }),
    aws: [() => sdkError('StageNotFoundException', 400, 'The stage Review was not found')],
    expected: { error: 'AWS_ERROR', retryable: false, call: true },
  },
  {
    name: 'throttling that outlasts the retries',
    sim: fault('throttled'),
    aws: [() => sdkError('ThrottlingException', 400, 'Rate exceeded'), () => sdkError('ThrottlingException', 400, 'Rate exceeded')],
    expected: { error: 'AWS_THROTTLED', retryable: true, call: true },
  },
  {
    name: 'access denied',
    sim: fault('access-denied'),
    aws: [() => sdkError('AccessDeniedException', 403, 'not authorized to perform: codepipeline:PutApprovalResult')],
    expected: { error: 'AWS_ACCESS_DENIED', retryable: false, call: true },
  },
  {
    name: 'a 503',
    sim: fault('unavailable'),
    aws: [() => sdkError('ServiceUnavailableException', 503, '503 Service Unavailable')],
    expected: { error: 'AWS_ERROR', retryable: true, call: true },
  },
];

it.each(SCENARIOS.map((s) => [s.name, s] as const))('%s: the same outcome from both', async (_name, scenario) => {
  const simulated = await simWaiting();
  const decide = scenario.decide ?? ((d: ApprovalDecision) => d);
  const simResult = await resultOf(scenario.sim({ ...simulated, decision: decide(simulated.decision) }));

  const { adapter, decision } = awsWaiting(simulated.decision.token);
  let answers = cp.on(PutApprovalResultCommand);
  for (const answer of scenario.aws) answers = answers.rejectsOnce(answer());
  answers.resolves({ approvedAt: new Date(t) });
  const awsResult = await resultOf(adapter.putApprovalResult(decide(decision)));

  expect(simResult).toEqual(scenario.expected);
  expect(awsResult).toEqual(scenario.expected);
});
