// templates/canary-stack.yaml, read as CloudFormation reads it: the weighted rule takes exactly the
// requests no lane rule took (every path, at a priority after every lane's), splits them between
// the default target group and the canary's by the two weight parameters within ALB's limits, and
// the names other code builds on stay. And the IAM around it: the bot may create, update and delete
// the canary stack with the default lane's stack role, and that role may create what it holds.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultPipelineName, laneStackName, pipelineStackName } from '../../src/domain/names';
import { CANARY_RULE_PRIORITY, MAX_LANE_RULE_PRIORITY, MAX_RULE_PRIORITY } from '../../src/state/rule-priorities';
import { albHeaderMatches, albPathMatches } from './support/alb-header-match';
import { PSEUDO_PARAMETERS, TEMPLATES_DIR, evaluate, failedRuleAssertions, loadTemplate, walk } from './support/cfn-template';
import { isAllowed, type IamRequest, type PolicyStatement } from './support/iam-policy';

const template = loadTemplate('canary-stack.yaml');
const lanes = loadTemplate('service-stack.yaml');
const BASE = { Env: 'dev', ServiceName: 'user-api', SourceLane: 'gray', ImageUri: 'repo/user-api@sha256:abcd' };

/** The weighted rule's properties, evaluated with the given parameters. */
function ruleOf(parameters: Record<string, string> = {}): { Priority: string; Conditions: any[]; Actions: any[] } {
  return evaluate(template, template.Resources.CanaryListenerRule!.Properties, { parameters: { ...BASE, ...parameters } }) as any;
}

describe('the weighted rule’s priority', () => {
  const priority = template.Parameters!.RulePriority!;

  it('defaults to CANARY_RULE_PRIORITY, the last priority ALB allows', () => {
    expect(priority).toMatchObject({ Type: 'Number', Default: CANARY_RULE_PRIORITY, MaxValue: MAX_RULE_PRIORITY });
    expect(ruleOf().Priority).toBe(String(CANARY_RULE_PRIORITY));
  });

  it('comes after every priority the allocator can hand a lane (ALB evaluates lower numbers first)', () => {
    expect(Number(priority.Default)).toBeGreaterThan(MAX_LANE_RULE_PRIORITY);
    // And the lane template refuses the canary's priority for a lane.
    expect(lanes.Parameters!.RulePriority!.MaxValue).toBe(MAX_LANE_RULE_PRIORITY);
  });
});

describe('the weights', () => {
  it.each(['CanaryWeight', 'BaselineWeight'])('%s is a Number within ALB’s target group weights, 0 to 999', (name) => {
    const weight = template.Parameters![name]!;
    expect(weight.Type).toBe('Number');
    expect(weight.MinValue).toBeGreaterThanOrEqual(0);
    expect(weight.MaxValue).toBeLessThanOrEqual(999);
    expect(weight).toMatchObject({ MinValue: 0, MaxValue: 999 });
  });

  it('default to all traffic on the baseline (0 and 100), a pair that sums to 100 like every pair the bot passes', () => {
    expect(template.Parameters!.CanaryWeight!.Default).toBe(0);
    expect(template.Parameters!.BaselineWeight!.Default).toBe(100);
  });

  it('cannot both be 0 (the Rules section refuses it before anything changes); every other pair passes', () => {
    expect(failedRuleAssertions(template, { ...BASE, CanaryWeight: '0', BaselineWeight: '0' })).toEqual([expect.stringMatching(/cannot both be 0/)]);
    for (const [canary, baseline] of [
      ['0', '100'],
      ['1', '99'],
      ['50', '50'],
      ['100', '0'],
    ]) {
      expect({ canary, baseline, failed: failedRuleAssertions(template, { ...BASE, CanaryWeight: canary!, BaselineWeight: baseline! }) }).toEqual({
        canary,
        baseline,
        failed: [],
      });
    }
  });
});

describe('the forward action', () => {
  it('is one forward to exactly the default target group (BaselineWeight) and the canary’s (CanaryWeight)', () => {
    const raw = template.Resources.CanaryListenerRule!.Properties!.Actions as any[];
    expect(raw).toHaveLength(1);
    expect(raw[0].TargetGroupArn).toBeUndefined();
    expect(raw[0].ForwardConfig.TargetGroups).toEqual([
      { TargetGroupArn: { 'Fn::ImportValue': { 'Fn::Sub': 'boot-${ServiceName}-${Env}-DefaultTargetGroupArn' } }, Weight: { Ref: 'BaselineWeight' } },
      { TargetGroupArn: { Ref: 'CanaryTargetGroup' }, Weight: { Ref: 'CanaryWeight' } },
    ]);
  });

  it('carries the weights the bot passes', () => {
    const [action] = ruleOf({ CanaryWeight: '5', BaselineWeight: '95' }).Actions;
    expect(action).toEqual({
      Type: 'forward',
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: 'import(boot-user-api-dev-DefaultTargetGroupArn)', Weight: '95' },
          { TargetGroupArn: '<CanaryTargetGroup>', Weight: '5' },
        ],
        TargetGroupStickinessConfig: { Enabled: false },
      },
    });
  });

  it('forwards to the target group lane default’s service uses and the listener’s default action forwards to', () => {
    const service = evaluate(lanes, lanes.Resources.Service!.Properties, { parameters: { ...BASE, Lane: 'default' } }) as any;
    expect(service.LoadBalancers[0].TargetGroupArn).toBe('import(boot-user-api-dev-DefaultTargetGroupArn)');
    const boot = loadTemplate('boot-stack.yaml');
    const listener = boot.Resources.HttpListener!.Properties!.DefaultActions as any[];
    expect(listener).toEqual([{ Type: 'forward', TargetGroupArn: { Ref: 'DefaultTargetGroup' } }]);
    expect(boot.Outputs!.DefaultTargetGroupArn!.Value).toEqual({ Ref: 'DefaultTargetGroup' });
  });
});

describe('the rule’s condition', () => {
  const conditions = ruleOf().Conditions;

  it('is one path-pattern, `/*`, within ALB’s limits', () => {
    expect(conditions).toEqual([{ Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } }]);
  });

  it.each(['/', '/health', '/api/v1/users/42', '/UPPER/case', '/a%20b', '/ctx=lane:gray', '//double'])('matches every path: %s', (path) => {
    expect(conditions[0].PathPatternConfig.Values.some((pattern: string) => albPathMatches(pattern, path))).toBe(true);
  });

  it('and nothing about headers: a request whose tracestate names no existing lane falls through to it, like lane default', () => {
    expect(conditions.map((c: { Field: string }) => c.Field)).toEqual(['path-pattern']);
    // The lane rules, evaluated first, are header rules: a request names its lane or reaches this rule.
    const laneRule = evaluate(lanes, lanes.Resources.LaneListenerRule!.Properties, { parameters: { ...BASE, Lane: 'gray', RulePriority: '1' } }) as any;
    expect(laneRule.Conditions[0].Field).toBe('http-header');
    expect(laneRule.Conditions[0].HttpHeaderConfig.Values.some((v: string) => albHeaderMatches(v, 'ctx=lane:blue'))).toBe(false);
  });

  it('the path matcher is case-sensitive and whole-path (so its yes above means something)', () => {
    expect(albPathMatches('/api/*', '/API/x')).toBe(false);
    expect(albPathMatches('/api/*', '/api/x')).toBe(true);
    expect(albPathMatches('/api', '/api/x')).toBe(false);
  });
});

describe('the canary’s service and resources', () => {
  const service = evaluate(template, template.Resources.Service!.Properties, { parameters: BASE }) as any;

  it('runs the release under test as ECS service {service}-{env}-canary behind its own target group', () => {
    expect(service.ServiceName).toBe('user-api-dev-canary');
    expect(service.LoadBalancers).toEqual([{ ContainerName: 'app', ContainerPort: '8080', TargetGroupArn: '<CanaryTargetGroup>' }]);
    const containers = evaluate(template, template.Resources.TaskDefinition!.Properties!.ContainerDefinitions, { parameters: BASE }) as any[];
    expect(containers[0].Image).toBe(BASE.ImageUri);
  });

  it('has a circuit breaker with rollback, like a lane', () => {
    expect(service.DeploymentConfiguration).toEqual(evaluate(lanes, lanes.Resources.Service!.Properties!.DeploymentConfiguration, { parameters: { ...BASE, Lane: 'gray' } }));
    expect(service.DeploymentConfiguration.DeploymentCircuitBreaker).toEqual({ Enable: true, Rollback: true });
  });

  it('is not registered in Cloud Map (service discovery has no weights)', () => {
    expect(service.ServiceRegistries).toBeUndefined();
  });

  it('is created after the rule (ECS refuses a target group no listener uses): the service refers to it', () => {
    const refs: string[] = [];
    walk(template.Resources.Service, (node) => {
      if (typeof node.Ref === 'string') refs.push(node.Ref);
    });
    expect(refs).toContain('CanaryListenerRule');
  });

  it('has no alarms (the bot analyses the canary’s metrics itself) and retains nothing when deleted', () => {
    const types = Object.values(template.Resources).map((r) => r.Type);
    expect(types.filter((t) => t === 'AWS::CloudWatch::Alarm')).toEqual([]);
    expect(types.sort()).toEqual(
      ['AWS::ECS::Service', 'AWS::ECS::TaskDefinition', 'AWS::ElasticLoadBalancingV2::ListenerRule', 'AWS::ElasticLoadBalancingV2::TargetGroup', 'AWS::IAM::Role'].sort(),
    );
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      expect({ logicalId, policy: resource.DeletionPolicy ?? 'Delete' }).toEqual({ logicalId, policy: 'Delete' });
    }
  });

  it('checks its targets like a lane’s target group does', () => {
    const pick = (t: typeof template, id: string, parameters: Record<string, string>) => {
      const { Tags: _tags, ...rest } = evaluate(t, t.Resources[id]!.Properties, { parameters }) as Record<string, unknown>;
      return rest;
    };
    expect(pick(template, 'CanaryTargetGroup', BASE)).toEqual(pick(lanes, 'LaneTargetGroup', { ...BASE, Lane: 'gray' }));
  });

  it('tags everything with lane canary and the lane it is the canary of', () => {
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      const tags = evaluate(template, resource.Properties!.Tags ?? [], { parameters: BASE }) as { Key: string; Value: string }[];
      if (resource.Type === 'AWS::ElasticLoadBalancingV2::ListenerRule') continue; // untagged, like a lane's rule
      expect({ logicalId, tags }).toEqual({
        logicalId,
        tags: expect.arrayContaining([
          { Key: 'lanebot:service', Value: 'user-api' },
          { Key: 'lanebot:env', Value: 'dev' },
          { Key: 'lanebot:lane', Value: 'canary' },
          { Key: 'lanebot:canary-of', Value: 'gray' },
        ]),
      });
    }
  });
});

describe('the names other code builds on', () => {
  it('parameters', () => {
    expect(Object.keys(template.Parameters!)).toEqual([
      'Env',
      'ServiceName',
      'SourceLane',
      'ImageUri',
      'CanaryWeight',
      'BaselineWeight',
      'RulePriority',
      'ContainerPort',
      'Cpu',
      'Memory',
      'DesiredCount',
      'HealthCheckPath',
      'HealthCheckGracePeriodSeconds',
      'TaskRoleArn',
    ]);
  });

  it('outputs', () => {
    expect(Object.keys(template.Outputs!).sort()).toEqual(
      [
        'TargetGroupArn',
        'TargetGroupFullName',
        'BaselineTargetGroupArn',
        'BaselineTargetGroupFullName',
        'LoadBalancerFullName',
        'ListenerRuleArn',
        'ServiceName',
        'ClusterName',
        'ImageUri',
        'TaskDefinitionArn',
        'CanaryWeight',
        'BaselineWeight',
        'SourceLane',
      ].sort(),
    );
  });

  it('the metric dimensions come out as ALB names them: targetgroup/{name}/{id} and app/{name}/{id}', () => {
    const account = PSEUDO_PARAMETERS['AWS::AccountId'];
    const exports: Record<string, string> = {
      'boot-user-api-dev-DefaultTargetGroupArn': `arn:aws:elasticloadbalancing:us-east-1:${account}:targetgroup/boot-user-Defau-1A2B3C4D5E6F/0123456789abcdef`,
      'boot-user-api-dev-LoadBalancerArn': `arn:aws:elasticloadbalancing:us-east-1:${account}:loadbalancer/app/boot-user-LoadB-9Z8Y7X6W5V4U/fedcba9876543210`,
    };
    const context = {
      parameters: BASE,
      importValue: (name: string) => exports[name] ?? `import(${name})`,
      resourceValue: (logicalId: string) =>
        logicalId === 'CanaryTargetGroup' ? `arn:aws:elasticloadbalancing:us-east-1:${account}:targetgroup/app-user-Canar-AAAABBBBCCCC/1111222233334444` : `<${logicalId}>`,
    };
    const out = (name: string) => evaluate(template, template.Outputs![name]!.Value, context);
    expect(out('TargetGroupFullName')).toBe('targetgroup/app-user-Canar-AAAABBBBCCCC/1111222233334444');
    expect(out('BaselineTargetGroupFullName')).toBe('targetgroup/boot-user-Defau-1A2B3C4D5E6F/0123456789abcdef');
    expect(out('LoadBalancerFullName')).toBe('app/boot-user-LoadB-9Z8Y7X6W5V4U/fedcba9876543210');
  });
});

describe('IAM: the bot creates the canary stack with the default lane’s stack role', () => {
  const account = PSEUDO_PARAMETERS['AWS::AccountId'];
  const region = PSEUDO_PARAMETERS['AWS::Region'];
  const scope = { service: 'user-api', env: 'dev' };
  const canaryStack = laneStackName({ ...scope, lane: 'canary' });
  const botPolicy = JSON.parse(readFileSync(join(TEMPLATES_DIR, 'iam/bot-policy.json'), 'utf8')) as { Statement: PolicyStatement[] };
  const appPipeline = loadTemplate('pipelines/app-pipeline.yaml');
  const pipelineParameters = { Env: 'dev', ServiceName: 'user-api', ConnectionArn: 'arn:aws:codestar-connections:us-east-1:123456789012:connection/abc', InfraRepo: 'o/i', AppRepo: 'o/a' };

  // The lane stacks' service role is the app pipeline stack's LaneStackRole, left unnamed, so
  // CloudFormation names it {stack name}-{logical id}-{suffix}: the stack name pipeline-{pipeline}
  // comes first. The buildspec deploys every lane, default included, with it; DescribeStacks of lane
  // default gives it as roleArn.
  const laneStackRole = `arn:aws:iam::${account}:role/${pipelineStackName(defaultPipelineName(scope))}-LaneStackRole-ABCDEF123456`;

  it('the lane stacks are deployed with the pipeline stack’s unnamed LaneStackRole', () => {
    expect(appPipeline.Resources.LaneStackRole!.Properties!.RoleName).toBeUndefined();
    const variables = (appPipeline.Resources.BuildProject!.Properties!.Environment as { EnvironmentVariables: { Name: string; Value: unknown }[] }).EnvironmentVariables;
    expect(variables.find((v) => v.Name === 'LANE_STACK_ROLE_ARN')?.Value).toEqual({ 'Fn::GetAtt': ['LaneStackRole', 'Arn'] });
    expect(readFileSync(join(TEMPLATES_DIR, 'buildspec.yaml'), 'utf8')).toContain('--role-arn "$LANE_STACK_ROLE_ARN"');
  });

  it('the bot may pass that role to CloudFormation, and only to CloudFormation', () => {
    const pass = (service: string): IamRequest => ({ action: 'iam:PassRole', resource: laneStackRole, context: { 'iam:PassedToService': service } });
    expect(isAllowed(botPolicy.Statement, pass('cloudformation.amazonaws.com'))).toBe(true);
    expect(isAllowed(botPolicy.Statement, pass('ecs-tasks.amazonaws.com'))).toBe(false);
  });

  it.each([
    'cloudformation:CreateChangeSet',
    'cloudformation:DescribeChangeSet',
    'cloudformation:ExecuteChangeSet',
    'cloudformation:DeleteChangeSet',
    'cloudformation:DescribeStacks',
    'cloudformation:DescribeStackEvents',
    'cloudformation:DeleteStack',
  ])('the bot may %s on the canary stack', (action) => {
    const stackArn = `arn:aws:cloudformation:${region}:${account}:stack/${canaryStack}/00000000-0000-0000-0000-000000000000`;
    expect(isAllowed(botPolicy.Statement, { action, resource: stackArn })).toBe(true);
  });

  describe('and that role may create, update and delete what the canary stack holds', () => {
    const policies = evaluate(appPipeline, appPipeline.Resources.LaneStackRole!.Properties!.Policies, { parameters: pipelineParameters }) as {
      PolicyDocument: { Statement: PolicyStatement[] };
    }[];
    const statements = policies.flatMap((p) => p.PolicyDocument.Statement);
    const elb = `arn:aws:elasticloadbalancing:${region}:${account}`;
    const listener = `${elb}:listener/app/boot-user-LoadB-9Z8Y7X6W5V4U/fedcba9876543210/0a1b2c3d4e5f6a7b`;
    // CloudFormation names the execution role from the stack, like the lane's: app-{service}-{env}-canary-….
    const executionRole = `arn:aws:iam::${account}:role/${canaryStack}-TaskExecutionRole-ABCDEF123456`;
    const executionPolicy = 'arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy';

    const requests: [string, IamRequest][] = [
      ...['iam:CreateRole', 'iam:GetRole', 'iam:TagRole', 'iam:DeleteRole'].map((action): [string, IamRequest] => ['TaskExecutionRole', { action, resource: executionRole }]),
      ...['iam:AttachRolePolicy', 'iam:DetachRolePolicy'].map((action): [string, IamRequest] => [
        'TaskExecutionRole',
        { action, resource: executionRole, context: { 'iam:PolicyARN': executionPolicy } },
      ]),
      ...['ecs:RegisterTaskDefinition', 'ecs:DeregisterTaskDefinition', 'ecs:DescribeTaskDefinition'].map((action): [string, IamRequest] => ['TaskDefinition', { action, resource: '*' }]),
      ['TaskDefinition', { action: 'iam:PassRole', resource: executionRole, context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } }],
      ...['CreateTargetGroup', 'ModifyTargetGroup', 'ModifyTargetGroupAttributes', 'DeleteTargetGroup', 'AddTags', 'DescribeTargetGroups'].map((a): [string, IamRequest] => [
        'CanaryTargetGroup',
        { action: `elasticloadbalancing:${a}`, resource: `${elb}:targetgroup/app-user-Canar-AAAABBBBCCCC/1111222233334444` },
      ]),
      ['CanaryListenerRule', { action: 'elasticloadbalancing:CreateRule', resource: listener }],
      ...['ModifyRule', 'DeleteRule', 'DescribeRules'].map((a): [string, IamRequest] => [
        'CanaryListenerRule',
        { action: `elasticloadbalancing:${a}`, resource: `${elb}:listener-rule/app/boot-user-LoadB-9Z8Y7X6W5V4U/fedcba9876543210/0a1b2c3d4e5f6a7b/9f8e7d6c5b4a3f2e` },
      ]),
      ...['ecs:CreateService', 'ecs:UpdateService', 'ecs:DeleteService', 'ecs:DescribeServices', 'ecs:TagResource'].map((action): [string, IamRequest] => [
        'Service',
        { action, resource: `arn:aws:ecs:${region}:${account}:service/infra-environment-dev-Cluster-X/user-api-dev-canary` },
      ]),
      ...['ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeVpcs'].map((action): [string, IamRequest] => ['Service', { action, resource: '*' }]),
    ];

    it.each(requests)('%s: %j', (_logicalId, request) => {
      expect(isAllowed(statements, request)).toBe(true);
    });

    it('(the model says no where it should: another stack’s role, another managed policy, a role for EC2)', () => {
      expect(isAllowed(statements, { action: 'iam:CreateRole', resource: `arn:aws:iam::${account}:role/app-other-dev-canary-TaskExecutionRole-X` })).toBe(false);
      expect(isAllowed(statements, { action: 'iam:AttachRolePolicy', resource: executionRole, context: { 'iam:PolicyARN': 'arn:aws:iam::aws:policy/AdministratorAccess' } })).toBe(false);
      expect(isAllowed(statements, { action: 'iam:PassRole', resource: executionRole, context: { 'iam:PassedToService': 'ec2.amazonaws.com' } })).toBe(false);
    });

    it('every resource type of the canary stack is covered above', () => {
      const covered = new Set(requests.map(([logicalId]) => template.Resources[logicalId]!.Type));
      expect([...new Set(Object.values(template.Resources).map((r) => r.Type))].filter((t) => !covered.has(t))).toEqual([]);
    });
  });
});
