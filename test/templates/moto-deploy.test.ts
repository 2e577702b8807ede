// The three stack layers deployed on moto (a local AWS): environment -> boot stacks of two services
// -> lanes gray, blue and default of one service -> the canary of that service's default lane, its
// weights moved by a parameter update and the canary deleted; then the gray lane deleted.
//
// What this covers: the templates' parameters, conditions, intrinsic functions, cross-stack exports
// and imports, and the VPC, subnets, NAT, routes, ECS cluster/task definition/service, ALB,
// listener, target groups, listener rules, security groups, log group and IAM role as moto's
// CloudFormation creates them. What it does not: moto cannot create Cloud Map resources or CloudWatch
// alarms and has no Fn::Cidr, so it deploys the variant of test/templates/support/moto-variant.ts
// (stand-ins for those resources, Fn::Cidr computed here); it does not evaluate the Rules section;
// it runs no tasks and deletes no ELBv2/ECS resource when a stack is deleted (lane-routing.test.ts
// proves from the template that the rule and target group are the lane stack's own). And moto reads
// a Number parameter kept with UsePreviousValue as changed (its stored value is a number, the new
// one a string) and then fails to update the resources that use it in place, so the canary's weight
// updates name every parameter's value (what the adapter's UsePreviousValue means; that path is
// tested on moto in test/integration/cloudformation-moto.test.ts).
import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStacksCommand,
  ListExportsCommand,
  ListStacksCommand,
  UpdateStackCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { DescribeRulesCommand, DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client, type Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import { laneRuleHeaderValues } from '../../src/domain/names';
import { CANARY_RULE_PRIORITY } from '../../src/state/rule-priorities';
import { describeWithMoto, startMoto, type MotoServer } from '../support/moto';
import { loadTemplate, type TemplateFile } from './support/cfn-template';
import { MOTO_STAND_IN_TYPES, motoVariant } from './support/moto-variant';

describeWithMoto('the stack layers on moto', () => {
  let moto: MotoServer;
  let cfn: CloudFormationClient;
  let elb: ElasticLoadBalancingV2Client;

  beforeAll(async () => {
    moto = await startMoto();
    cfn = new CloudFormationClient(moto.clientConfig);
    elb = new ElasticLoadBalancingV2Client(moto.clientConfig);
  });

  afterAll(async () => {
    cfn?.destroy();
    elb?.destroy();
    await moto?.stop();
  });

  /** Creates a stack from the moto variant of a template and waits until its operation ends. */
  async function deploy(stackName: string, file: TemplateFile, parameters: Record<string, string>): Promise<Stack> {
    await cfn.send(
      new CreateStackCommand({
        StackName: stackName,
        TemplateBody: motoVariant(loadTemplate(file), parameters).body,
        Capabilities: ['CAPABILITY_IAM'],
        Parameters: Object.entries(parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
      }),
    );
    return settled(stackName);
  }

  async function settled(stackName: string): Promise<Stack> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks![0]!;
      if (!stack.StackStatus!.endsWith('_IN_PROGRESS')) return stack;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${stackName} still in progress`);
  }

  function outputs(stack: Stack): Record<string, string> {
    return Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue!]));
  }

  async function exportNames(): Promise<Map<string, string>> {
    const all = (await cfn.send(new ListExportsCommand({}))).Exports ?? [];
    return new Map(all.map((e) => [e.Name!, e.Value!]));
  }

  const stacks: Record<string, Stack> = {};

  it('the stand-ins replace only what moto cannot create', () => {
    const replaced = (['infra-stack.yaml', 'boot-stack.yaml', 'service-stack.yaml', 'canary-stack.yaml'] as const).flatMap(
      (file) => motoVariant(loadTemplate(file), { Env: 'dev', ServiceName: 'x', Lane: 'gray', SourceLane: 'gray' }).replaced,
    );
    expect(replaced.sort()).toEqual(['CloudMapService', 'Namespace', 'RunningTasksAlarm', 'TargetErrorRateAlarm', 'UnhealthyHostsAlarm']);
    // The other three stand-in types are lanebot-service.yaml's ElastiCache resources (lanebot-service-moto.test.ts).
    expect(MOTO_STAND_IN_TYPES).toHaveLength(6);
  });

  it('creates the environment with its own network (two AZs, NAT per AZ) and exports it', async () => {
    const stack = await deploy('infra-environment-dev', 'infra-stack.yaml', { Env: 'dev', NatGatewayPerAz: 'true' });
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    stacks.infra = stack;
    const exports = await exportNames();
    for (const name of ['VpcId', 'PrivateSubnets', 'PublicSubnets', 'ClusterName', 'namespace-id']) {
      expect(exports.get(`infra-environment-dev-${name}`)).toBeTruthy();
    }
    expect(exports.get('infra-environment-dev-VpcId')).toMatch(/^vpc-/);
    expect(exports.get('infra-environment-dev-PrivateSubnets')!.split(',')).toHaveLength(2);
    expect(exports.get('infra-environment-dev-PublicSubnets')!.split(',')).toHaveLength(2);
  });

  it('with CreateNetwork=false wraps an existing VPC and subnets and exports them the same way', async () => {
    const existing = outputs(stacks.infra!);
    const stack = await deploy('infra-environment-qa', 'infra-stack.yaml', {
      Env: 'qa',
      CreateNetwork: 'false',
      ExistingVpcId: existing.VpcId!,
      ExistingPublicSubnetIds: existing.PublicSubnets!,
      ExistingPrivateSubnetIds: existing.PrivateSubnets!,
    });
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    const exports = await exportNames();
    expect(exports.get('infra-environment-qa-VpcId')).toBe(existing.VpcId);
    expect(exports.get('infra-environment-qa-PublicSubnets')).toBe(existing.PublicSubnets);
    expect(exports.get('infra-environment-qa-PrivateSubnets')).toBe(existing.PrivateSubnets);
    expect(exports.get('infra-environment-qa-ClusterName')).toBeTruthy();
  });

  it('creates the boot stacks of two services, each with its exports', async () => {
    for (const service of ['user-api', 'order-api']) {
      const stack = await deploy(`boot-${service}-dev`, 'boot-stack.yaml', { Env: 'dev', ServiceName: service });
      expect(stack.StackStatus).toBe('CREATE_COMPLETE');
      stacks[service] = stack;
    }
    const exports = await exportNames();
    for (const service of ['user-api', 'order-api']) {
      for (const name of ['LoadBalancerArn', 'DnsName', 'HttpListenerArn', `${service}-service-arn`, 'LogGroupName', 'DefaultTargetGroupArn', 'TaskSecurityGroupId']) {
        expect({ name, value: exports.get(`boot-${service}-dev-${name}`) }).toEqual({ name, value: expect.any(String) });
      }
      expect(exports.get(`boot-${service}-dev-LogGroupName`)).toBe(`/ecs/dev/${service}`);
    }
    expect(exports.get('boot-user-api-dev-LoadBalancerArn')).not.toBe(exports.get('boot-order-api-dev-LoadBalancerArn'));
  });

  it('creates lanes gray, blue and default of user-api; gray and blue get rules with distinct priorities', async () => {
    const image = '123456789012.dkr.ecr.us-east-1.amazonaws.com/user-api:gray-0123456789ab';
    const lanes = [
      ['gray', '10'],
      ['blue', '20'],
      ['default', '0'],
    ] as const;
    for (const [lane, priority] of lanes) {
      const stack = await deploy(`app-user-api-dev-${lane}`, 'service-stack.yaml', {
        Env: 'dev',
        ServiceName: 'user-api',
        Lane: lane,
        ImageUri: image,
        RulePriority: priority,
      });
      expect({ lane, status: stack.StackStatus }).toEqual({ lane, status: 'CREATE_COMPLETE' });
      stacks[lane] = stack;
      expect(outputs(stack)).toMatchObject({ ServiceName: `user-api-dev-${lane}`, ImageUri: image, RulePriority: priority });
    }

    const listenerArn = outputs(stacks['user-api']!).HttpListenerArn!;
    const rules = (await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }))).Rules!;
    const laneRules = rules.filter((r) => !r.IsDefault);
    expect(laneRules.map((r) => r.Priority).sort()).toEqual(['10', '20']);
    for (const lane of ['gray', 'blue']) {
      const out = outputs(stacks[lane]!);
      const rule = laneRules.find((r) => r.RuleArn === out.ListenerRuleArn)!;
      expect(rule.Conditions).toEqual([
        { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'tracestate', Values: laneRuleHeaderValues(lane) } },
      ]);
      expect(rule.Actions).toEqual([{ Type: 'forward', TargetGroupArn: out.TargetGroupArn }]);
      expect(out.TargetGroupFullName).toBe(out.TargetGroupArn!.split(':')[5]);
    }

    // Lane default has no rule: it is the listener's default action, on the boot stack's group.
    const defaultRule = rules.find((r) => r.IsDefault)!;
    const bootDefaultGroup = outputs(stacks['user-api']!).DefaultTargetGroupArn;
    expect(defaultRule.Actions![0]!.TargetGroupArn).toBe(bootDefaultGroup);
    expect(outputs(stacks.default!).TargetGroupArn).toBe(bootDefaultGroup);
    expect(outputs(stacks.default!).ListenerRuleArn).toBeUndefined();

    // Each non-default lane has its own, unnamed (CloudFormation-named) target group.
    const groups = (await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: ['gray', 'blue'].map((l) => outputs(stacks[l]!).TargetGroupArn!) }))).TargetGroups!;
    expect(new Set(groups.map((g) => g.TargetGroupArn)).size).toBe(2);
    for (const group of groups) {
      expect(group.TargetGroupName!.length).toBeLessThanOrEqual(32);
      expect(group.HealthCheckPath).toBe('/health');
    }
    // The other service's listener has no lane rule.
    const otherRules = (await elb.send(new DescribeRulesCommand({ ListenerArn: outputs(stacks['order-api']!).HttpListenerArn! }))).Rules!;
    expect(otherRules.filter((r) => !r.IsDefault)).toEqual([]);
  });

  describe('the canary of lane default (canary-stack.yaml)', () => {
    const image = '123456789012.dkr.ecr.us-east-1.amazonaws.com/user-api@sha256:' + 'c'.repeat(64);
    const canaryStack = 'app-user-api-dev-canary';
    // Every parameter named, as lanebot does (it copies the default lane's sizes): see the note at the top.
    const parameters: Record<string, string> = {
      Env: 'dev',
      ServiceName: 'user-api',
      SourceLane: 'gray',
      ImageUri: image,
      CanaryWeight: '0',
      BaselineWeight: '100',
      RulePriority: String(CANARY_RULE_PRIORITY),
      ContainerPort: '8080',
      Cpu: '256',
      Memory: '512',
      DesiredCount: '1',
      HealthCheckPath: '/health',
      HealthCheckGracePeriodSeconds: '60',
      TaskRoleArn: '',
    };

    /** A parameter update on the previous template, as updateStackParameters makes it (see the note at the top). */
    async function setWeights(canary: number): Promise<Stack> {
      Object.assign(parameters, { CanaryWeight: String(canary), BaselineWeight: String(100 - canary) });
      await cfn.send(
        new UpdateStackCommand({
          StackName: canaryStack,
          UsePreviousTemplate: true,
          Capabilities: ['CAPABILITY_IAM'],
          Parameters: Object.entries(parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
        }),
      );
      return settled(canaryStack);
    }

    async function canaryRule(): Promise<Rule> {
      const rules = (await elb.send(new DescribeRulesCommand({ ListenerArn: outputs(stacks['user-api']!).HttpListenerArn! }))).Rules!;
      return rules.find((r) => r.RuleArn === outputs(stacks.canary!).ListenerRuleArn)!;
    }

    it('creates its own service and target group, and one weighted rule at 50000, after every lane rule, with all traffic on the baseline', async () => {
      const stack = await deploy(canaryStack, 'canary-stack.yaml', parameters);
      expect(stack.StackStatus).toBe('CREATE_COMPLETE');
      stacks.canary = stack;
      const out = outputs(stack);
      const boot = outputs(stacks['user-api']!);
      expect(out).toMatchObject({
        ServiceName: 'user-api-dev-canary',
        ClusterName: outputs(stacks.infra!).ClusterName,
        ImageUri: image,
        SourceLane: 'gray',
        CanaryWeight: '0',
        BaselineWeight: '100',
        BaselineTargetGroupArn: boot.DefaultTargetGroupArn,
      });
      expect(out.TargetGroupArn).not.toBe(boot.DefaultTargetGroupArn);
      expect(out.TargetGroupFullName).toBe(out.TargetGroupArn!.split(':')[5]);
      expect(out.BaselineTargetGroupFullName).toBe(boot.DefaultTargetGroupArn!.split(':')[5]);
      expect(out.LoadBalancerFullName).toBe(boot.LoadBalancerArn!.split(':loadbalancer/')[1]);
      expect(out.LoadBalancerFullName).toMatch(/^app\/[^/]+\/[^/]+$/);

      const rule = await canaryRule();
      expect(rule.Priority).toBe(String(CANARY_RULE_PRIORITY));
      expect(rule.Conditions).toEqual([expect.objectContaining({ Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } })]);
      expect(rule.Actions).toEqual([
        expect.objectContaining({
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: boot.DefaultTargetGroupArn, Weight: 100 },
              { TargetGroupArn: out.TargetGroupArn, Weight: 0 },
            ],
            TargetGroupStickinessConfig: { Enabled: false },
          },
        }),
      ]);
      // Every lane rule comes first (lower number: evaluated earlier).
      const rules = (await elb.send(new DescribeRulesCommand({ ListenerArn: boot.HttpListenerArn! }))).Rules!;
      const lanePriorities = rules.filter((r) => !r.IsDefault && r.RuleArn !== rule.RuleArn).map((r) => Number(r.Priority));
      expect(lanePriorities.sort()).toEqual([10, 20]);
      expect(Math.max(...lanePriorities)).toBeLessThan(CANARY_RULE_PRIORITY);

      const groups = (await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [out.TargetGroupArn!] }))).TargetGroups!;
      expect(groups[0]).toMatchObject({ HealthCheckPath: '/health', TargetType: 'ip', Protocol: 'HTTP', Port: 8080 });
      expect(groups[0]!.TargetGroupName!.length).toBeLessThanOrEqual(32);
    });

    it('shifts traffic by a parameter update of the two weights (previous template, the rest unchanged), as the bot does', async () => {
      const stack = await setWeights(5);
      expect(stack.StackStatus).toBe('UPDATE_COMPLETE');
      expect(Object.fromEntries(stack.Parameters!.map((p) => [p.ParameterKey, p.ParameterValue]))).toMatchObject({
        CanaryWeight: '5',
        BaselineWeight: '95',
        ImageUri: image,
        RulePriority: '50000',
      });

      const rule = await canaryRule();
      expect(rule.Priority).toBe(String(CANARY_RULE_PRIORITY));
      expect(rule.Actions![0]!.ForwardConfig!.TargetGroups).toEqual([
        { TargetGroupArn: outputs(stacks['user-api']!).DefaultTargetGroupArn, Weight: 95 },
        { TargetGroupArn: outputs(stacks.canary!).TargetGroupArn, Weight: 5 },
      ]);
    });

    it('is deleted with its weight back at 0, leaving the lanes as they were', async () => {
      expect((await setWeights(0)).StackStatus).toBe('UPDATE_COMPLETE');
      expect((await canaryRule()).Actions![0]!.ForwardConfig!.TargetGroups!.map((g) => g.Weight)).toEqual([100, 0]);

      await cfn.send(new DeleteStackCommand({ StackName: canaryStack }));
      const summaries = async () => (await cfn.send(new ListStacksCommand({}))).StackSummaries ?? [];
      expect((await summaries()).find((s) => s.StackId === stacks.canary!.StackId)?.StackStatus).toBe('DELETE_COMPLETE');
      for (const lane of ['gray', 'blue', 'default']) {
        expect((await settled(`app-user-api-dev-${lane}`)).StackStatus).toBe('CREATE_COMPLETE');
      }
    });
  });

  it('deletes the gray lane stack', async () => {
    await cfn.send(new DeleteStackCommand({ StackName: 'app-user-api-dev-gray' }));
    let status = 'DELETE_IN_PROGRESS';
    for (let attempt = 0; attempt < 200 && status.endsWith('_IN_PROGRESS'); attempt++) {
      const summaries = (await cfn.send(new ListStacksCommand({}))).StackSummaries ?? [];
      status = summaries.find((s) => s.StackName === 'app-user-api-dev-gray' && s.StackId === stacks.gray!.StackId)?.StackStatus ?? 'missing';
      if (status.endsWith('_IN_PROGRESS')) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toBe('DELETE_COMPLETE');
    // The other lanes are untouched.
    for (const lane of ['blue', 'default']) {
      expect((await settled(`app-user-api-dev-${lane}`)).StackStatus).toBe('CREATE_COMPLETE');
    }
  });
});
