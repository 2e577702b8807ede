// The pipeline contract lanebot relies on (names of pipelines, variables, stages and actions), the
// buildspec's deploy of the lane stack, and the bot's IAM policy.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { SIM_APP_STAGES } from '../../src/cloud/sim/sim-pipeline-catalog';
import { pipelineStackName } from '../../src/domain/names';
import { TEMPLATES_DIR, evaluate, loadTemplate, type TemplateFile } from './support/cfn-template';

const COMMON = {
  Env: 'dev',
  ServiceName: 'user-api',
  ConnectionArn: 'arn:aws:codestar-connections:us-east-1:123456789012:connection/abc',
  InfraRepo: 'org/infra',
  AppRepo: 'org/user-api',
};

function pipeline(file: TemplateFile, parameters: Record<string, string> = {}) {
  const template = loadTemplate(file);
  return evaluate(template, template.Resources.Pipeline!.Properties, { parameters: { ...COMMON, ...parameters } }) as any;
}

/** Stage names, each with its action names, in order (stages dropped by AWS::NoValue removed). */
function layout(p: any): [string, string[]][] {
  return p.Stages.filter((s: any) => s !== '').map((s: any) => [s.Name, s.Actions.map((a: any) => a.Name)]);
}

function actionOf(p: any, stage: string, name: string): any {
  return p.Stages.find((s: any) => s?.Name === stage).Actions.find((a: any) => a.Name === name);
}

describe('app-pipeline.yaml', () => {
  it('is a V2 pipeline in PARALLEL mode named {service}-{env} by default, or PipelineName', () => {
    const p = pipeline('pipelines/app-pipeline.yaml');
    expect(p).toMatchObject({ Name: 'user-api-dev', PipelineType: 'V2', ExecutionMode: 'PARALLEL' });
    expect(pipeline('pipelines/app-pipeline.yaml', { PipelineName: 'custom-name' }).Name).toBe('custom-name');
  });

  it('has the variables LANE, BRANCH and RULE_PRIORITY', () => {
    expect(pipeline('pipelines/app-pipeline.yaml').Variables.map((v: any) => v.Name)).toEqual(['LANE', 'BRANCH', 'RULE_PRIORITY']);
  });

  it('runs Source (AppSource, InfraSource) -> Build (BuildAndPush) -> Deploy (DeployLaneStack) without approval', () => {
    expect(layout(pipeline('pipelines/app-pipeline.yaml'))).toEqual([
      ['Source', ['AppSource', 'InfraSource']],
      ['Build', ['BuildAndPush']],
      ['Deploy', ['DeployLaneStack']],
    ]);
  });

  it('adds Approval (ManualApproval) before Build when RequireApproval is true', () => {
    expect(layout(pipeline('pipelines/app-pipeline.yaml', { RequireApproval: 'true' }))).toEqual([
      ['Source', ['AppSource', 'InfraSource']],
      ['Approval', ['ManualApproval']],
      ['Build', ['BuildAndPush']],
      ['Deploy', ['DeployLaneStack']],
    ]);
  });

  it('gives the approval action ApprovalTimeoutInMinutes: CodePipeline\'s 7 days by default, 5 to 86400 allowed', () => {
    const approval = (parameters: Record<string, string>) => actionOf(pipeline('pipelines/app-pipeline.yaml', { RequireApproval: 'true', ...parameters }), 'Approval', 'ManualApproval');
    expect(approval({})).toMatchObject({
      ActionTypeId: { Category: 'Approval', Owner: 'AWS', Provider: 'Manual', Version: '1' },
      TimeoutInMinutes: '10080',
    });
    expect(approval({ ApprovalTimeoutInMinutes: '240' }).TimeoutInMinutes).toBe('240');
    expect(loadTemplate('pipelines/app-pipeline.yaml').Parameters!.ApprovalTimeoutInMinutes).toMatchObject({ Type: 'Number', Default: 10080, MinValue: 5, MaxValue: 86400 });
  });

  it('names the approval stage, action and message as the simulator and the bot\'s policy expect', () => {
    const approval = actionOf(pipeline('pipelines/app-pipeline.yaml', { RequireApproval: 'true' }), 'Approval', 'ManualApproval');
    const simulated = SIM_APP_STAGES.find((s) => s.name === 'Approval')!.actions;
    expect(simulated.map((a) => [a.name, a.kind, a.customData])).toEqual([['ManualApproval', 'approval', approval.Configuration.CustomData]]);
  });

  it('builds the app repository at #{variables.BRANCH} and the infra repository at InfraBranch, on no push', () => {
    const p = pipeline('pipelines/app-pipeline.yaml', { InfraBranch: 'stable' });
    expect(actionOf(p, 'Source', 'AppSource').Configuration).toMatchObject({
      FullRepositoryId: 'org/user-api',
      BranchName: '#{variables.BRANCH}',
      ConnectionArn: COMMON.ConnectionArn,
      DetectChanges: 'false',
    });
    expect(actionOf(p, 'Source', 'InfraSource').Configuration).toMatchObject({ FullRepositoryId: 'org/infra', BranchName: 'stable', DetectChanges: 'false' });
  });

  it('runs one CodeBuild project twice: STEP=build exports IMAGE_URI, STEP=deploy gets it with LANE and RULE_PRIORITY', () => {
    const p = pipeline('pipelines/app-pipeline.yaml');
    const build = actionOf(p, 'Build', 'BuildAndPush');
    const deploy = actionOf(p, 'Deploy', 'DeployLaneStack');
    expect(build.Configuration.ProjectName).toBe(deploy.Configuration.ProjectName);
    const env = (action: any) => Object.fromEntries(JSON.parse(action.Configuration.EnvironmentVariables).map((v: any) => [v.name, v.value]));
    expect(env(build)).toEqual({ STEP: 'build', LANE: '#{variables.LANE}', BRANCH: '#{variables.BRANCH}', COMMIT_ID: '#{AppSourceVariables.CommitId}' });
    expect(env(deploy)).toEqual({ STEP: 'deploy', LANE: '#{variables.LANE}', RULE_PRIORITY: '#{variables.RULE_PRIORITY}', IMAGE_URI: '#{BuildVariables.IMAGE_URI}' });
    expect(build.Namespace).toBe('BuildVariables');
    expect(actionOf(p, 'Source', 'AppSource').Namespace).toBe('AppSourceVariables');
  });
});

describe('boot-pipeline.yaml', () => {
  const p = pipeline('pipelines/boot-pipeline.yaml');

  it('is the V2 PARALLEL pipeline boot-{env} with the variable SERVICE', () => {
    expect(p).toMatchObject({ Name: 'boot-dev', PipelineType: 'V2', ExecutionMode: 'PARALLEL' });
    expect(p.Variables.map((v: any) => v.Name)).toEqual(['SERVICE']);
  });

  it('runs Source (InfraSource) -> Deploy (DeployBootStack) of boot-#{variables.SERVICE}-{env} from boot-stack.yaml', () => {
    expect(layout(p)).toEqual([
      ['Source', ['InfraSource']],
      ['Deploy', ['DeployBootStack']],
    ]);
    const config = actionOf(p, 'Deploy', 'DeployBootStack').Configuration;
    expect(config).toMatchObject({ ActionMode: 'CREATE_UPDATE', StackName: 'boot-#{variables.SERVICE}-dev', TemplatePath: 'InfraOut::templates/boot-stack.yaml' });
    expect(JSON.parse(config.ParameterOverrides)).toEqual({ Env: 'dev', ServiceName: '#{variables.SERVICE}' });
  });
});

describe('infra-pipeline.yaml', () => {
  it('is the V2 PARALLEL pipeline infra-{env}: Source (InfraSource) -> Deploy (DeployInfraStack)', () => {
    const p = pipeline('pipelines/infra-pipeline.yaml');
    expect(p).toMatchObject({ Name: 'infra-dev', PipelineType: 'V2', ExecutionMode: 'PARALLEL' });
    expect(layout(p)).toEqual([
      ['Source', ['InfraSource']],
      ['Deploy', ['DeployInfraStack']],
    ]);
    const config = actionOf(p, 'Deploy', 'DeployInfraStack').Configuration;
    expect(config).toMatchObject({ StackName: 'infra-environment-dev', TemplatePath: 'InfraOut::templates/infra-stack.yaml' });
  });

  it('passes every network parameter through to infra-stack.yaml', () => {
    const p = pipeline('pipelines/infra-pipeline.yaml', { CreateNetwork: 'false', ExistingVpcId: 'vpc-1', ExistingPublicSubnetIds: 'a,b' });
    const overrides = JSON.parse(actionOf(p, 'Deploy', 'DeployInfraStack').Configuration.ParameterOverrides);
    expect(overrides).toMatchObject({ Env: 'dev', CreateNetwork: 'false', ExistingVpcId: 'vpc-1', ExistingPublicSubnetIds: 'a,b' });
    const infraParameters = Object.keys(loadTemplate('infra-stack.yaml').Parameters!);
    expect(Object.keys(overrides).filter((k) => !infraParameters.includes(k))).toEqual([]);
  });
});

describe('buildspec.yaml', () => {
  const text = readFileSync(join(TEMPLATES_DIR, 'buildspec.yaml'), 'utf8');
  const buildspec = parse(text) as any;
  const commands: string = Object.values(buildspec.phases)
    .flatMap((phase: any) => phase.commands)
    .join('\n');

  it('deploys service-stack.yaml with every parameter the lane stack requires, plus RulePriority', () => {
    const service = loadTemplate('service-stack.yaml');
    const required = Object.entries(service.Parameters!)
      .filter(([, p]) => p.Default === undefined)
      .map(([name]) => name);
    for (const name of [...required, 'RulePriority']) expect(commands).toContain(`"${name}=`);
    expect(commands).toContain('--template-file "$TEMPLATES_PATH/service-stack.yaml"');
    expect(commands).toContain('--role-arn "$LANE_STACK_ROLE_ARN"');
    expect(commands).toContain('--no-fail-on-empty-changeset');
  });

  it('gets every variable it reads from the CodeBuild project or the pipeline action', () => {
    const template = loadTemplate('pipelines/app-pipeline.yaml');
    const project = template.Resources.BuildProject!.Properties!.Environment as { EnvironmentVariables: { Name: string }[] };
    const fromProject = project.EnvironmentVariables.map((v) => v.Name);
    const fromActions = ['STEP', 'LANE', 'BRANCH', 'COMMIT_ID', 'RULE_PRIORITY', 'IMAGE_URI'];
    const fromCodeBuild = ['AWS_REGION', 'CODEBUILD_SRC_DIR_AppOut'];
    const locals = ['STACK', 'STATUS'];
    const used = new Set([...commands.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!));
    const unknown = [...used].filter((v) => ![...fromProject, ...fromActions, ...fromCodeBuild, ...locals].includes(v));
    expect(unknown).toEqual([]);
    // The secondary source's directory follows the artifact name the pipeline gives it.
    expect(JSON.stringify(template.Resources.Pipeline!.Properties)).toContain('"Name":"AppOut"');
  });
});

describe('iam/bot-policy.json', () => {
  const policy = JSON.parse(readFileSync(join(TEMPLATES_DIR, 'iam/bot-policy.json'), 'utf8')) as {
    Statement: { Sid: string; Effect: string; Action: string | string[]; Resource: string | string[] }[];
  };
  const statements = (effect: string) => policy.Statement.filter((s) => s.Effect === effect);
  const actions = (effect: string) => statements(effect).flatMap((s) => [s.Action].flat());

  it('lets the bot start, read, approve and stop pipelines', () => {
    expect(actions('Allow')).toEqual(
      expect.arrayContaining([
        'codepipeline:StartPipelineExecution',
        'codepipeline:StopPipelineExecution',
        'codepipeline:PutApprovalResult',
        'codepipeline:GetPipelineExecution',
        'codepipeline:ListActionExecutions',
        'codepipeline:ListPipelineExecutions',
      ]),
    );
  });

  it('lets the bot answer only the app pipelines\' approval action ({pipeline}/{stage}/{action} ARNs)', () => {
    const approving = statements('Allow').filter((s) => [s.Action].flat().some((a) => a === 'codepipeline:PutApprovalResult' || a === 'codepipeline:*'));
    expect(approving).toHaveLength(1);
    expect([approving[0]!.Action].flat()).toEqual(['codepipeline:PutApprovalResult']);
    expect([approving[0]!.Resource].flat()).toEqual(['arn:aws:codepipeline:*:*:*/Approval/ManualApproval']);
    // The stage and action the ARN names are the template's.
    const approval = actionOf(pipeline('pipelines/app-pipeline.yaml', { RequireApproval: 'true' }), 'Approval', 'ManualApproval');
    expect(approval.Name).toBe('ManualApproval');
  });

  it('allows CloudFormation, change sets included, only on app-* and pipeline-* stacks', () => {
    const cfn = statements('Allow').filter((s) => [s.Action].flat().some((a) => a === 'cloudformation:CreateStack'));
    expect(cfn).toHaveLength(1);
    expect([cfn[0]!.Action].flat()).toEqual(expect.arrayContaining(['cloudformation:CreateChangeSet', 'cloudformation:ExecuteChangeSet', 'cloudformation:DeleteStack']));
    const stackResources = [cfn[0]!.Resource].flat().filter((r) => r.includes(':stack/'));
    expect(stackResources.sort()).toEqual(['arn:aws:cloudformation:*:*:stack/app-*/*', 'arn:aws:cloudformation:*:*:stack/pipeline-*/*']);
  });

  it('explicitly denies every CloudFormation action on boot-* and infra-environment-* stacks', () => {
    const deny = statements('Deny').find((s) => [s.Action].flat().includes('cloudformation:*'))!;
    expect([deny.Resource].flat().sort()).toEqual(['arn:aws:cloudformation:*:*:stack/boot-*/*', 'arn:aws:cloudformation:*:*:stack/infra-environment-*/*']);
  });

  it('reads CloudWatch, ELBv2 and ECS without writing them', () => {
    const all = actions('Allow');
    for (const prefix of ['cloudwatch:', 'elasticloadbalancing:', 'ecs:']) {
      const mine = all.filter((a) => a.startsWith(prefix));
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.filter((a) => !/:(Describe|Get|List)/.test(a))).toEqual([]);
    }
  });

  it('reads ECR images, without pulling or writing them, only in the app pipelines\' repositories', () => {
    const ecr = statements('Allow').filter((s) => [s.Action].flat().some((a) => a.startsWith('ecr:')));
    expect(ecr).toHaveLength(1);
    expect([ecr[0]!.Action].flat()).toEqual(['ecr:DescribeImages']);
    expect([ecr[0]!.Resource].flat()).toEqual(['arn:aws:ecr:*:*:repository/pipeline-*']);
    // The repository is the pipeline stack's (pipeline-{pipeline}), named by CloudFormation: {stack}-repository-{suffix}.
    const repository = loadTemplate('pipelines/app-pipeline.yaml').Resources.Repository as any;
    expect(repository.Type).toBe('AWS::ECR::Repository');
    expect(repository.Properties.RepositoryName).toBeUndefined();
    expect(pipelineStackName('user-api-dev')).toBe('pipeline-user-api-dev');
  });

  it('may pass roles only to CloudFormation (the stack service roles), never a wildcard action', () => {
    const pass = statements('Allow').filter((s) => [s.Action].flat().includes('iam:PassRole'));
    expect(pass).toHaveLength(1);
    expect((pass[0] as any).Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } });
    expect(actions('Allow').filter((a) => a.endsWith(':*') || a === '*')).toEqual([]);
    expect(actions('Allow').filter((a) => a.startsWith('iam:') && a !== 'iam:PassRole')).toEqual([]);
  });

  it('grants every AWS call the adapters make (the IAM action of each SDK command in src/)', () => {
    const calls = sdkCalls(join(__dirname, '..', '..', 'src'));
    expect(calls.length).toBeGreaterThan(10);
    const granted = (action: string) => statements('Allow').some((s) => [s.Action].flat().includes(action));
    const missing = calls.map(iamActionOf).filter((action) => !granted(action));
    expect(missing).toEqual([]);
    // The mapping knows batch calls (so the check above is not vacuous for SQS).
    expect(calls).toContainEqual({ client: 'sqs', command: 'DeleteMessageBatch' });
    expect(iamActionOf({ client: 'sqs', command: 'DeleteMessageBatch' })).toBe('sqs:DeleteMessage');
  });
});

/** IAM service prefix of each SDK client package lanebot uses; a new client must be added here. */
const IAM_PREFIX: Record<string, string> = {
  cloudformation: 'cloudformation',
  cloudwatch: 'cloudwatch',
  codepipeline: 'codepipeline',
  ecr: 'ecr',
  ecs: 'ecs',
  'elastic-load-balancing-v2': 'elasticloadbalancing',
  sqs: 'sqs',
};

/** SDK operations IAM authorises under another action's name. */
const AUTHORISED_AS: Record<string, string> = {
  'sqs:DeleteMessageBatch': 'sqs:DeleteMessage',
  'sqs:SendMessageBatch': 'sqs:SendMessage',
  'sqs:ChangeMessageVisibilityBatch': 'sqs:ChangeMessageVisibility',
};

function iamActionOf({ client, command }: { client: string; command: string }): string {
  const prefix = IAM_PREFIX[client];
  if (!prefix) throw new Error(`no IAM prefix known for @aws-sdk/client-${client}: add it to IAM_PREFIX`);
  const action = `${prefix}:${command}`;
  return AUTHORISED_AS[action] ?? action;
}

/** Every `new XCommand(` under `dir`, with the @aws-sdk/client-* package it was imported from. */
function sdkCalls(dir: string): { client: string; command: string }[] {
  const out = new Map<string, { client: string; command: string }>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    const clientOf = new Map<string, string>();
    for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/client-([a-z0-9-]+)'/g)) {
      for (const name of m[1]!.split(',').map((n) => n.replace(/^\s*type\s+/, '').trim())) if (name.endsWith('Command')) clientOf.set(name, m[2]!);
    }
    for (const m of text.matchAll(/new\s+([A-Z][A-Za-z0-9]*)Command\s*\(/g)) {
      const client = clientOf.get(`${m[1]}Command`);
      if (!client) continue; // not an SDK command
      out.set(`${client}:${m[1]}`, { client, command: m[1]! });
    }
  }
  return [...out.values()];
}
