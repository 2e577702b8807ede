// templates/lanebot-service.yaml deployed on moto (a local AWS), as the install walkthrough in
// templates/README.md does it: the bot policy created from templates/iam/bot-policy.json with IAM's
// CreatePolicy (what `aws iam create-policy` calls), a certificate in ACM, the network from
// infra-stack.yaml, then the stack in HTTP mode and again in Socket Mode.
//
// What this covers: the parameters, conditions and intrinsic functions as moto's CloudFormation
// evaluates them; the container definition ECS stores (image, command, environment, secrets, health
// check, stop timeout, logs) and the task's memory, the ECS service and cluster, the IAM roles'
// inline policies (the bot's role has none of its own), the log group, the security groups,
// and in HTTP mode the ALB, its HTTPS listener, rules and target group, read back through their
// APIs. What it does not: moto cannot create ElastiCache resources from CloudFormation, so the
// replication group, its parameter group and subnet group are SSM-parameter stand-ins
// (test/templates/support/moto-variant.ts); moto's ECS keeps only a task definition's family,
// containers, volumes and memory (not its roles, CPU, network mode or platform) and a service's
// cluster, task definition and count; its CloudFormation attaches no ManagedPolicyArns to a role
// (the bot policy, AWS's task execution policy); it ignores the Rules section and runs no tasks.
// lanebot-service.test.ts checks all of those from the template.
import { ACMClient, RequestCertificateCommand } from '@aws-sdk/client-acm';
import { CloudFormationClient, CreateStackCommand, DescribeStackResourcesCommand, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient, ListServicesCommand, type ContainerDefinition } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreatePolicyCommand, GetPolicyVersionCommand, GetRolePolicyCommand, IAMClient, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeWithMoto, startMoto, type MotoServer } from '../support/moto';
import { TEMPLATES_DIR, loadTemplate, type TemplateFile } from './support/cfn-template';
import { motoVariant } from './support/moto-variant';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:lanebot/slack-AbCdEf';
const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/lanebot:0.1.0';

/**
 * An inline role policy as GetRolePolicy returns it: URL-encoded JSON from IAM, but, for a role
 * moto's CloudFormation created, the Python text of the document (single quotes). These documents
 * hold no quote characters of their own, so the quotes can be swapped.
 */
function policyDocument(text: string): { Statement: any[] } {
  const decoded = decodeURIComponent(text);
  return JSON.parse(decoded.startsWith("{'") ? decoded.replaceAll("'", '"') : decoded) as { Statement: any[] };
}

describeWithMoto('lanebot-service.yaml on moto', () => {
  let moto: MotoServer;
  let cfn: CloudFormationClient;
  let iam: IAMClient;
  let ecs: ECSClient;
  let elb: ElasticLoadBalancingV2Client;
  let acm: ACMClient;
  let network: Record<string, string>;
  let botPolicyArn: string;
  let certificateArn: string;

  beforeAll(async () => {
    moto = await startMoto();
    cfn = new CloudFormationClient(moto.clientConfig);
    iam = new IAMClient(moto.clientConfig);
    ecs = new ECSClient(moto.clientConfig);
    elb = new ElasticLoadBalancingV2Client(moto.clientConfig);
    acm = new ACMClient(moto.clientConfig);
  });

  afterAll(async () => {
    for (const client of [cfn, iam, ecs, elb, acm]) client?.destroy();
    await moto?.stop();
  });

  async function deploy(stackName: string, file: TemplateFile, parameters: Record<string, string>): Promise<Stack> {
    const variant = motoVariant(loadTemplate(file), parameters);
    await cfn.send(
      new CreateStackCommand({
        StackName: stackName,
        TemplateBody: variant.body,
        Capabilities: ['CAPABILITY_IAM'],
        Parameters: Object.entries(parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
      }),
    );
    for (let attempt = 0; attempt < 200; attempt++) {
      const stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks![0]!;
      if (!stack.StackStatus!.endsWith('_IN_PROGRESS')) return stack;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${stackName} still in progress`);
  }

  const outputs = (stack: Stack) => Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue!]));

  async function resourcesOf(stackName: string): Promise<Map<string, { type: string; id: string }>> {
    const resources = (await cfn.send(new DescribeStackResourcesCommand({ StackName: stackName }))).StackResources ?? [];
    // (moto also lists an empty entry for a security group ingress it created outside the stack's own list.)
    return new Map(resources.filter((r) => r.LogicalResourceId).map((r) => [r.LogicalResourceId!, { type: r.ResourceType!, id: r.PhysicalResourceId! }]));
  }

  async function containerOf(stackName: string): Promise<{ container: ContainerDefinition; taskDefinition: NonNullable<Awaited<ReturnType<typeof describeTaskDefinition>>> }> {
    const taskDefinition = await describeTaskDefinition((await resourcesOf(stackName)).get('TaskDefinition')!.id);
    return { container: taskDefinition.containerDefinitions![0]!, taskDefinition };
  }

  async function describeTaskDefinition(arn: string) {
    return (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }))).taskDefinition!;
  }

  it('the network (infra-stack.yaml) and the bot policy created from templates/iam/bot-policy.json as the README says', async () => {
    const infra = await deploy('infra-environment-ops', 'infra-stack.yaml', { Env: 'ops' });
    expect(infra.StackStatus).toBe('CREATE_COMPLETE');
    network = outputs(infra);
    const policy = await iam.send(
      new CreatePolicyCommand({ PolicyName: 'lanebot-bot', PolicyDocument: readFileSync(join(TEMPLATES_DIR, 'iam', 'bot-policy.json'), 'utf8') }),
    );
    botPolicyArn = policy.Policy!.Arn!;
    expect(botPolicyArn).toBe('arn:aws:iam::123456789012:policy/lanebot-bot');
    const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn: botPolicyArn, VersionId: policy.Policy!.DefaultVersionId! }));
    expect(JSON.parse(decodeURIComponent(version.PolicyVersion!.Document!))).toEqual(JSON.parse(readFileSync(join(TEMPLATES_DIR, 'iam', 'bot-policy.json'), 'utf8')));
    certificateArn = (await acm.send(new RequestCertificateCommand({ DomainName: 'lanebot.example.com', ValidationMethod: 'DNS' }))).CertificateArn!;
  });

  it('HTTP mode: the bot’s service, its roles and secrets, and a public HTTPS load balancer forwarding only Slack’s path', async () => {
    const stack = await deploy('lanebot', 'lanebot-service.yaml', {
      ImageUri: IMAGE,
      SecretArn: SECRET_ARN,
      BotPolicyArn: botPolicyArn,
      VpcId: network.VpcId!,
      SubnetIds: network.PrivateSubnets!,
      SlackMode: 'http',
      CertificateArn: certificateArn,
      DomainName: 'lanebot.example.com',
      PublicSubnetIds: network.PublicSubnets!,
      QueueDashboard: 'private',
      InternalAccessCidr: '10.0.0.0/16',
    });
    expect({ status: stack.StackStatus, reason: stack.StackStatusReason }).toEqual({ status: 'CREATE_COMPLETE', reason: undefined });
    const out = outputs(stack);
    expect(out).toMatchObject({ LogGroupName: '/ecs/lanebot', SlackRequestUrl: 'https://lanebot.example.com/slack/events' });
    expect(out.QueueDashboardUrl).toBeUndefined();

    // The task definition ECS keeps.
    const { container, taskDefinition } = await containerOf('lanebot');
    expect(taskDefinition).toMatchObject({ memory: '1024' });
    expect(container).toMatchObject({ name: 'lanebot', image: IMAGE, essential: true, stopTimeout: 30, portMappings: [expect.objectContaining({ containerPort: 3000 })] });
    expect(container.command!.slice(0, 2)).toEqual(['sh', '-c']);
    expect(container.command![2]).toContain('exec node dist/src/main.js');
    // (moto hands a Number parameter's Ref on as a number; CloudFormation as a string.)
    const environment = Object.fromEntries(container.environment!.map((e) => [e.name!, String(e.value)]));
    expect(environment).toMatchObject({ CLOUD: 'aws', AWS_REGION: 'us-east-1', PORT: '3000', LANEBOT_CONFIG: '/tmp/lanebot.yml', LOG_LEVEL: 'info' });
    expect(environment.REDIS_URL).toMatch(/^rediss:\/\//);
    expect(container.secrets!.map((s) => [s.name, s.valueFrom])).toEqual([
      ['SLACK_BOT_TOKEN', `${SECRET_ARN}:SLACK_BOT_TOKEN::`],
      ['SLACK_SIGNING_SECRET', `${SECRET_ARN}:SLACK_SIGNING_SECRET::`],
      ['ADMIN_TOKEN', `${SECRET_ARN}:ADMIN_TOKEN::`],
      ['LANEBOT_CONFIG_YAML', 'arn:aws:ssm:us-east-1:123456789012:parameter/lanebot/config'],
    ]);
    expect(container.healthCheck!.command!.join(' ')).toContain('/healthz');
    expect(container.logConfiguration).toMatchObject({ logDriver: 'awslogs', options: { 'awslogs-group': '/ecs/lanebot', 'awslogs-stream-prefix': 'bot' } });

    // The roles: the bot's has no policy of its own (its rights are the bot policy, attached through
    // ManagedPolicyArns, which moto's CloudFormation does not attach: lanebot-service.test.ts checks
    // it from the template); ECS's reads the secret and the config.
    const resources = await resourcesOf('lanebot');
    const taskRole = resources.get('TaskRole')!.id;
    expect((await iam.send(new ListRolePoliciesCommand({ RoleName: taskRole }))).PolicyNames).toEqual([]);
    const executionRole = resources.get('TaskExecutionRole')!.id;
    const inline = await iam.send(new GetRolePolicyCommand({ RoleName: executionRole, PolicyName: 'secret-and-config' }));
    const statements = policyDocument(inline.PolicyDocument!).Statement as { Action: string; Resource: string }[];
    expect(statements.map((s) => [s.Action, s.Resource])).toEqual([
      ['secretsmanager:GetSecretValue', SECRET_ARN],
      ['ssm:GetParameters', 'arn:aws:ssm:us-east-1:123456789012:parameter/lanebot/config'],
    ]);

    // The service.
    const cluster = resources.get('Cluster')!.id;
    const serviceArns = (await ecs.send(new ListServicesCommand({ cluster }))).serviceArns!;
    expect(serviceArns).toHaveLength(1);
    const service = (await ecs.send(new DescribeServicesCommand({ cluster, services: serviceArns }))).services![0]!;
    expect(service).toMatchObject({ desiredCount: 2, taskDefinition: expect.stringContaining(taskDefinition.family!) });

    // The load balancer: internet-facing in the public subnets, HTTPS with the certificate, a 404 by
    // default and one rule forwarding /slack/events to the bot's port, health-checked on /healthz.
    const loadBalancerArn = resources.get('LoadBalancer')!.id;
    const [loadBalancer] = (await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [loadBalancerArn] }))).LoadBalancers!;
    expect(loadBalancer).toMatchObject({ Scheme: 'internet-facing', Type: 'application' });
    expect(out.LoadBalancerDnsName).toBe(loadBalancer!.DNSName);
    expect(loadBalancer!.AvailabilityZones!.map((z) => z.SubnetId).sort()).toEqual(network.PublicSubnets!.split(',').sort());
    const [listener] = (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn }))).Listeners!;
    expect(listener).toMatchObject({ Protocol: 'HTTPS', Port: 443, Certificates: [{ CertificateArn: certificateArn }] });
    expect(listener!.DefaultActions![0]).toMatchObject({ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } });
    const rules = (await elb.send(new DescribeRulesCommand({ ListenerArn: listener!.ListenerArn }))).Rules!.filter((r) => !r.IsDefault);
    const targetGroupArn = resources.get('TargetGroup')!.id;
    expect(rules.map((r) => ({ priority: r.Priority, paths: r.Conditions![0]!.PathPatternConfig?.Values ?? r.Conditions![0]!.Values, to: r.Actions![0]!.TargetGroupArn }))).toEqual([
      { priority: '10', paths: ['/slack/events'], to: targetGroupArn },
    ]);
    const [targetGroup] = (await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [targetGroupArn] }))).TargetGroups!;
    expect(targetGroup).toMatchObject({ TargetType: 'ip', Protocol: 'HTTP', Port: 3000, HealthCheckPath: '/healthz' });

    // The Redis stand-ins are the only replaced resources.
    expect(motoVariant(loadTemplate('lanebot-service.yaml'), {}).replaced.sort()).toEqual(['Redis', 'RedisParameterGroup', 'RedisSubnetGroup']);
  });

  it('Socket Mode: the same service with the app token instead of the signing secret, and no load balancer at all', async () => {
    const stack = await deploy('lanebot-socket', 'lanebot-service.yaml', {
      ImageUri: IMAGE,
      SecretArn: SECRET_ARN,
      BotPolicyArn: botPolicyArn,
      VpcId: network.VpcId!,
      SubnetIds: network.PrivateSubnets!,
      CpuArchitecture: 'ARM64',
      DesiredCount: '1',
      EnableExecuteCommand: 'true',
    });
    expect({ status: stack.StackStatus, reason: stack.StackStatusReason }).toEqual({ status: 'CREATE_COMPLETE', reason: undefined });
    expect(Object.keys(outputs(stack)).sort()).toEqual(['ClusterName', 'LogGroupName', 'RedisEndpoint', 'ServiceName', 'TaskRoleArn', 'TaskSecurityGroupId']);
    const resources = await resourcesOf('lanebot-socket');
    const types = [...resources.values()].map((r) => r.type);
    expect(types.filter((t) => t.startsWith('AWS::ElasticLoadBalancingV2::') || t.startsWith('AWS::Route53::'))).toEqual([]);
    const { container } = await containerOf('lanebot-socket');
    expect(container.secrets!.map((s) => s.name)).toEqual(['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'LANEBOT_CONFIG_YAML']);
    // ECS Exec adds its session channel to the bot's role, and nothing else.
    const taskRole = resources.get('TaskRole')!.id;
    expect((await iam.send(new ListRolePoliciesCommand({ RoleName: taskRole }))).PolicyNames).toEqual(['ecs-exec']);
    const exec = await iam.send(new GetRolePolicyCommand({ RoleName: taskRole, PolicyName: 'ecs-exec' }));
    const actions = (policyDocument(exec.PolicyDocument!).Statement as { Action: string[] }[]).flatMap((statement) => statement.Action);
    expect(actions.every((action) => action.startsWith('ssmmessages:'))).toBe(true);
  });
});
