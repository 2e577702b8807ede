// templates/lanebot-service.yaml, the stack that runs lanebot itself, read the way CloudFormation
// reads it (parameters, conditions and rules evaluated): the Redis it gets (Valkey, TLS, Multi-AZ,
// noeviction, snapshots), the environment its container gets (checked by the bot's own env parser),
// the config file written at start (the container's shell command run here), its IAM, its health
// check (the Dockerfile's), and the load balancer of HTTP mode (none in Socket Mode).
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, readEnvOptions } from '../../src/config';
import { TEMPLATES_DIR, evaluate, evaluateConditions, loadTemplate, type CfnTemplate } from './support/cfn-template';

const ROOT = join(TEMPLATES_DIR, '..');
const template = loadTemplate('lanebot-service.yaml');

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:lanebot/slack-AbCdEf';
const REQUIRED = {
  ImageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/lanebot:0.1.0',
  SecretArn: SECRET_ARN,
  BotPolicyArn: 'arn:aws:iam::123456789012:policy/lanebot-bot',
  VpcId: 'vpc-0123456789abcdef0',
  SubnetIds: 'subnet-0aaaaaaaaaaaaaaaa,subnet-0bbbbbbbbbbbbbbbb',
};
const HTTP = {
  ...REQUIRED,
  SlackMode: 'http',
  CertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666',
  DomainName: 'lanebot.example.com',
  PublicSubnetIds: 'subnet-0cccccccccccccccc,subnet-0dddddddddddddddd',
};
const REDIS_HOST = 'master.lanebot-redis-abc.xyz123.use1.cache.amazonaws.com';

/** A resource's properties with the template evaluated for these parameters. */
function propertiesOf(logicalId: string, parameters: Record<string, string>): any {
  return evaluate(template, template.Resources[logicalId]!.Properties, {
    parameters,
    resourceValue: (id, attribute) => {
      if (id === 'Redis' && attribute === 'PrimaryEndPoint.Address') return REDIS_HOST;
      if (id === 'Redis' && attribute === 'PrimaryEndPoint.Port') return '6379';
      return attribute ? `<${id}.${attribute}>` : `<${id}>`;
    },
  });
}

/** Drops what AWS::NoValue removes (the evaluator leaves it as ''). */
function withoutNoValue<T>(items: (T | '')[]): T[] {
  return items.filter((item): item is T => item !== '');
}

function container(parameters: Record<string, string>): any {
  return propertiesOf('TaskDefinition', parameters).ContainerDefinitions[0];
}

function present(parameters: Record<string, string>): string[] {
  const conditions = evaluateConditions(template, parameters);
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Condition === undefined || conditions[r.Condition])
    .map(([id]) => id);
}

function failedAssertions(t: CfnTemplate, parameters: Record<string, string>): string[] {
  const failed: string[] = [];
  for (const rule of Object.values(t.Rules ?? {})) {
    if (rule.RuleCondition !== undefined && !evaluate(t, rule.RuleCondition, { parameters })) continue;
    for (const assertion of rule.Assertions) if (!evaluate(t, assertion.Assert, { parameters })) failed.push(assertion.AssertDescription ?? '?');
  }
  return failed;
}

describe('its Redis', () => {
  it('is Valkey with maxmemory-policy noeviction (BullMQ), in a parameter group of the engine version’s family', () => {
    const group = propertiesOf('RedisParameterGroup', REQUIRED);
    expect(group.Properties).toEqual({ 'maxmemory-policy': 'noeviction' });
    const redis = propertiesOf('Redis', REQUIRED);
    expect(redis).toMatchObject({ Engine: 'valkey', CacheParameterGroupName: '<RedisParameterGroup>', CacheSubnetGroupName: '<RedisSubnetGroup>' });
    // valkey8 serves every allowed version (8.x).
    expect(group.CacheParameterGroupFamily).toBe('valkey8');
    for (const version of template.Parameters!.ValkeyVersion!.AllowedValues!) expect(String(version)).toMatch(/^8\./);
  });

  it('is reached over TLS only (encryption in transit and at rest), from the bot’s tasks only', () => {
    const redis = propertiesOf('Redis', REQUIRED);
    expect(redis).toMatchObject({ TransitEncryptionEnabled: true, AtRestEncryptionEnabled: true, Port: 6379 });
    const group = propertiesOf('RedisSecurityGroup', REQUIRED);
    expect(group.SecurityGroupIngress).toEqual([{ IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379, SourceSecurityGroupId: '<TaskSecurityGroup.GroupId>' }]);
  });

  it('keeps a replica in another AZ with automatic failover (default), or runs one node when asked', () => {
    expect(propertiesOf('Redis', REQUIRED)).toMatchObject({ NumCacheClusters: 2, AutomaticFailoverEnabled: true, MultiAZEnabled: true });
    expect(propertiesOf('Redis', { ...REQUIRED, MultiAz: 'false' })).toMatchObject({ NumCacheClusters: 1, AutomaticFailoverEnabled: false, MultiAZEnabled: false });
  });

  it('is one shard (cluster mode disabled: lanebot’s client uses one primary endpoint)', () => {
    const redis = propertiesOf('Redis', REQUIRED);
    for (const clusterOnly of ['ClusterMode', 'NumNodeGroups', 'NodeGroupConfiguration', 'ReplicasPerNodeGroup']) expect(redis[clusterOnly]).toBeUndefined();
  });

  it('is snapshotted daily, and once more when the stack deletes or replaces it', () => {
    expect(Number(template.Parameters!.SnapshotRetentionDays!.Default)).toBeGreaterThanOrEqual(1);
    expect(propertiesOf('Redis', REQUIRED).SnapshotRetentionLimit).toBe('7');
    expect(template.Resources.Redis).toMatchObject({ DeletionPolicy: 'Snapshot', UpdateReplacePolicy: 'Snapshot' });
  });
});

describe('the container’s environment', () => {
  const cases: [string, Record<string, string>, { appToken: boolean; signingSecret: boolean; adminToken: boolean }][] = [
    ['Socket Mode (default)', REQUIRED, { appToken: true, signingSecret: false, adminToken: false }],
    ['Socket Mode with the dashboard', { ...REQUIRED, QueueDashboard: 'private' }, { appToken: true, signingSecret: false, adminToken: true }],
    ['HTTP mode', HTTP, { appToken: false, signingSecret: true, adminToken: false }],
    ['HTTP mode with a public dashboard', { ...HTTP, QueueDashboard: 'public' }, { appToken: false, signingSecret: true, adminToken: true }],
  ];

  it.each(cases)('%s is one lanebot accepts, with only the secrets that mode reads', (_label, parameters, expected) => {
    const def = container(parameters);
    const environment = withoutNoValue<{ Name: string; Value: string }>(def.Environment);
    const secrets = withoutNoValue<{ Name: string; ValueFrom: string }>(def.Secrets);
    const env: Record<string, string> = Object.fromEntries(environment.map((e) => [e.Name, e.Value]));
    // What ECS puts in each secret variable; values made up, names real.
    for (const secret of secrets) env[secret.Name] = secret.Name === 'ADMIN_TOKEN' ? 'x'.repeat(64) : `${secret.Name.toLowerCase()}-value`;
    const options = readEnvOptions(env);
    expect(options).toMatchObject({ CLOUD: 'aws', AWS_REGION: 'us-east-1', PORT: 3000, REDIS_URL: `rediss://${REDIS_HOST}:6379`, LANEBOT_CONFIG: '/tmp/lanebot.yml' });
    expect({
      appToken: options.SLACK_APP_TOKEN !== undefined,
      signingSecret: options.SLACK_SIGNING_SECRET !== undefined,
      adminToken: options.ADMIN_TOKEN !== undefined,
    }).toEqual(expected);
    expect(options.ALARM_EVENTS_QUEUE_URL).toBeUndefined();
    expect(options.PIPELINE_EVENTS_QUEUE_URL).toBeUndefined();
  });

  it('reads each Slack secret and the admin token from a JSON key of the one secret, and the config from the SSM parameter', () => {
    const secrets = withoutNoValue<{ Name: string; ValueFrom: string }>(container({ ...HTTP, QueueDashboard: 'public' }).Secrets);
    expect(secrets).toEqual([
      { Name: 'SLACK_BOT_TOKEN', ValueFrom: `${SECRET_ARN}:SLACK_BOT_TOKEN::` },
      { Name: 'SLACK_SIGNING_SECRET', ValueFrom: `${SECRET_ARN}:SLACK_SIGNING_SECRET::` },
      { Name: 'ADMIN_TOKEN', ValueFrom: `${SECRET_ARN}:ADMIN_TOKEN::` },
      { Name: 'LANEBOT_CONFIG_YAML', ValueFrom: 'arn:aws:ssm:us-east-1:123456789012:parameter/lanebot/config' },
    ]);
    const socket = withoutNoValue<{ Name: string }>(container(REQUIRED).Secrets).map((s) => s.Name);
    expect(socket).toEqual(['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'LANEBOT_CONFIG_YAML']);
  });

  it('passes the alarm events queue when given', () => {
    const url = 'https://sqs.us-east-1.amazonaws.com/123456789012/lanebot-alarm-events';
    const environment = withoutNoValue<{ Name: string; Value: string }>(container({ ...REQUIRED, AlarmEventsQueueUrl: url }).Environment);
    expect(environment).toContainEqual({ Name: 'ALARM_EVENTS_QUEUE_URL', Value: url });
  });

  it('passes the pipeline events queue when given, a URL the bot accepts', () => {
    const url = 'https://sqs.us-east-1.amazonaws.com/123456789012/lanebot-pipeline-events';
    const environment = withoutNoValue<{ Name: string; Value: string }>(container({ ...REQUIRED, PipelineEventsQueueUrl: url }).Environment);
    expect(environment).toContainEqual({ Name: 'PIPELINE_EVENTS_QUEUE_URL', Value: url });
    expect(new RegExp(template.Parameters!.PipelineEventsQueueUrl!.AllowedPattern as string).test(url)).toBe(true);
  });

  it('has the Dockerfile’s health check (GET /healthz) and more stop time than lanebot’s 25 s shutdown grace', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const healthcheck = /^HEALTHCHECK (.*?) \\\n\s+CMD (\[.*\])$/m.exec(dockerfile)!;
    const flags = Object.fromEntries([...healthcheck[1]!.matchAll(/--([a-z-]+)=(\d+)s?/g)].map((m) => [m[1]!, Number(m[2])]));
    const def = container(REQUIRED);
    expect(def.HealthCheck).toEqual({
      Command: ['CMD', ...(JSON.parse(healthcheck[2]!) as string[])],
      Interval: flags.interval,
      Timeout: flags.timeout,
      StartPeriod: flags['start-period'],
      Retries: flags.retries,
    });
    expect(def.HealthCheck.Command.join(' ')).toContain('/healthz');
    expect(readFileSync(join(ROOT, 'src', 'main.ts'), 'utf8')).toMatch(/SHUTDOWN_GRACE_MS = 25_000/);
    expect(def.StopTimeout).toBeGreaterThan(25);
  });

  it('listens on the port the image exposes, and logs to the stack’s log group', () => {
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^EXPOSE 3000$/m);
    const def = container(REQUIRED);
    expect(def.PortMappings).toEqual([{ ContainerPort: '3000', Protocol: 'tcp' }]);
    expect(def.LogConfiguration).toEqual({ LogDriver: 'awslogs', Options: { 'awslogs-group': '<LogGroup>', 'awslogs-region': 'us-east-1', 'awslogs-stream-prefix': 'bot' } });
  });
});

describe('the config file written at start', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lanebot-config-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the container's command with a stand-in `node` that records how it was started. */
  async function runContainerCommand(configYaml: string): Promise<{ shellPid: number; node: { pid: number; args: string; inheritedYaml: string } }> {
    const [shell, flag, script] = container(REQUIRED).Command as string[];
    writeFileSync(join(dir, 'node'), '#!/bin/sh\nprintf \'{"pid":%s,"args":"%s","inheritedYaml":"%s"}\' "$$" "$*" "${LANEBOT_CONFIG_YAML-unset}" > "$RECORD"\n');
    chmodSync(join(dir, 'node'), 0o755);
    const child = spawn(shell!, [flag!, script!], {
      env: { PATH: `${dir}:/usr/bin:/bin`, LANEBOT_CONFIG_YAML: configYaml, LANEBOT_CONFIG: join(dir, 'lanebot.yml'), RECORD: join(dir, 'record.json') },
      stdio: 'ignore',
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    return { shellPid: child.pid!, node: JSON.parse(readFileSync(join(dir, 'record.json'), 'utf8')) };
  }

  it('is the SSM parameter’s text byte for byte, and node replaces the shell (SIGTERM reaches lanebot)', async () => {
    // The example config, plus what a shell or printf could mangle.
    const yaml = `${readFileSync(join(ROOT, 'lanebot.example.yml'), 'utf8').trimEnd()}\n# tricky: $HOME \`id\` "quotes" 'single' \\n %s %d \\\\ back\\slash\n`;
    const { shellPid, node } = await runContainerCommand(yaml);
    const written = readFileSync(join(dir, 'lanebot.yml'), 'utf8');
    expect(written).toBe(`${yaml}\n`);
    expect(parseConfig(written)).toEqual(parseConfig(yaml));
    expect(node).toEqual({ pid: shellPid, args: 'dist/src/main.js', inheritedYaml: 'unset' });
  });
});

describe('the config parameter', () => {
  it('holds the example config once the README strips its comment lines: a standard SSM parameter (4 KB), parsed the same', async () => {
    const readme = readFileSync(join(TEMPLATES_DIR, 'README.md'), 'utf8');
    const strip = "sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' lanebot.yml > lanebot.min.yml";
    expect(readme).toContain(strip);
    const child = spawn('sed', ['-e', '/^[[:space:]]*#/d', '-e', '/^[[:space:]]*$/d', join(ROOT, 'lanebot.example.yml')]);
    let stripped = '';
    child.stdout.on('data', (chunk: Buffer) => (stripped += chunk.toString('utf8')));
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0);
    expect(Buffer.byteLength(stripped)).toBeLessThanOrEqual(4096);
    expect(parseConfig(stripped)).toEqual(parseConfig(readFileSync(join(ROOT, 'lanebot.example.yml'), 'utf8')));
  });
});

describe('IAM', () => {
  it('the bot’s role has the managed policy of bot-policy.json and nothing else for AWS', () => {
    const role = propertiesOf('TaskRole', REQUIRED);
    expect(role.ManagedPolicyArns).toEqual([REQUIRED.BotPolicyArn]);
    expect(role.Policies).toBe('');
    expect(role.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({ Service: 'ecs-tasks.amazonaws.com' });
  });

  it('with ECS Exec on, it adds the session channel only', () => {
    const role = propertiesOf('TaskRole', { ...REQUIRED, EnableExecuteCommand: 'true' });
    const actions = role.Policies.flatMap((p: any) => p.PolicyDocument.Statement.flatMap((s: any) => s.Action));
    expect(actions.every((a: string) => a.startsWith('ssmmessages:'))).toBe(true);
    expect(propertiesOf('Service', { ...REQUIRED, EnableExecuteCommand: 'true' }).EnableExecuteCommand).toBe(true);
  });

  it('bot-policy.json fits an IAM managed policy (6,144 characters without whitespace)', () => {
    const text = readFileSync(join(TEMPLATES_DIR, 'iam', 'bot-policy.json'), 'utf8');
    expect(text.replace(/\s/g, '').length).toBeLessThanOrEqual(6144);
  });

  it('ECS may read exactly the secret and the config parameter the container names, and the KMS key only when given', () => {
    const statements = (parameters: Record<string, string>) =>
      withoutNoValue<any>(propertiesOf('TaskExecutionRole', parameters).Policies[0].PolicyDocument.Statement);
    const configArn = container(REQUIRED).Secrets.find((s: any) => s.Name === 'LANEBOT_CONFIG_YAML').ValueFrom;
    expect(statements(REQUIRED)).toEqual([
      { Sid: 'ReadTheBotSecret', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: SECRET_ARN },
      { Sid: 'ReadTheConfig', Effect: 'Allow', Action: 'ssm:GetParameters', Resource: configArn },
    ]);
    const key = 'arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666';
    expect(statements({ ...REQUIRED, SecretsKmsKeyArn: key })).toContainEqual({ Sid: 'DecryptTheBotSecret', Effect: 'Allow', Action: 'kms:Decrypt', Resource: key });
  });
});

describe('Slack’s way in', () => {
  const edge = ['LoadBalancer', 'LoadBalancerSecurityGroup', 'TargetGroup', 'HttpsListener', 'SlackEventsRule', 'TaskIngressFromLoadBalancer'];

  it('Socket Mode has no load balancer, no public ingress and no DNS record', () => {
    const resources = present(REQUIRED);
    for (const id of [...edge, 'QueueDashboardRule', 'DnsRecord']) expect({ id, present: resources.includes(id) }).toEqual({ id, present: false });
    expect(propertiesOf('Service', REQUIRED).LoadBalancers).toBe('');
    const conditions = evaluateConditions(template, REQUIRED);
    expect(Object.entries(template.Outputs!).filter(([, o]) => !o.Condition || conditions[o.Condition]).map(([name]) => name).sort()).toEqual(
      ['ClusterName', 'LogGroupName', 'RedisEndpoint', 'ServiceName', 'TaskRoleArn', 'TaskSecurityGroupId'],
    );
  });

  it('HTTP mode: HTTPS 443 with the certificate; only POST /slack/events reaches the bot, the rest is 404', () => {
    const resources = present(HTTP);
    for (const id of edge) expect({ id, present: resources.includes(id) }).toEqual({ id, present: true });
    const listener = propertiesOf('HttpsListener', HTTP);
    expect(listener).toMatchObject({ Protocol: 'HTTPS', Port: 443, Certificates: [{ CertificateArn: HTTP.CertificateArn }] });
    expect(listener.DefaultActions).toEqual([{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain', MessageBody: 'not found' } }]);
    const forwarded = (parameters: Record<string, string>) =>
      present(parameters)
        .filter((id) => template.Resources[id]!.Type === 'AWS::ElasticLoadBalancingV2::ListenerRule')
        .flatMap((id) => propertiesOf(id, parameters).Conditions.flatMap((c: any) => c.PathPatternConfig.Values));
    expect(forwarded(HTTP)).toEqual(['/slack/events']);
    expect(forwarded({ ...HTTP, QueueDashboard: 'private' })).toEqual(['/slack/events']);
    expect(forwarded({ ...HTTP, QueueDashboard: 'public' })).toEqual(['/slack/events', '/admin/queues', '/admin/queues/*']);
    const group = propertiesOf('TargetGroup', HTTP);
    expect(group).toMatchObject({ TargetType: 'ip', Protocol: 'HTTP', Port: '3000', HealthCheckPath: '/healthz', Matcher: { HttpCode: '200' } });
    expect(propertiesOf('Service', HTTP).LoadBalancers).toEqual([{ ContainerName: 'lanebot', ContainerPort: '3000', TargetGroupArn: '<TargetGroup>' }]);
    expect(evaluate(template, template.Outputs!.SlackRequestUrl!.Value, { parameters: HTTP })).toBe('https://lanebot.example.com/slack/events');
  });

  it('HTTP mode with a hosted zone gets the alias record of DomainName', () => {
    const parameters = { ...HTTP, HostedZoneId: 'Z0123456789ABCDEFGHIJ' };
    expect(present(parameters)).toContain('DnsRecord');
    expect(propertiesOf('DnsRecord', parameters)).toMatchObject({ HostedZoneId: 'Z0123456789ABCDEFGHIJ', Name: 'lanebot.example.com', Type: 'A' });
    expect(present(HTTP)).not.toContain('DnsRecord');
  });

  it('the direct way in (Prometheus, the dashboard) is opened only for InternalAccessCidr', () => {
    expect(present(REQUIRED)).not.toContain('TaskIngressInternal');
    const parameters = { ...REQUIRED, InternalAccessCidr: '10.0.0.0/16' };
    expect(propertiesOf('TaskIngressInternal', parameters)).toMatchObject({ CidrIp: '10.0.0.0/16', FromPort: '3000', ToPort: '3000' });
    expect(propertiesOf('TaskSecurityGroup', parameters).SecurityGroupIngress).toBeUndefined();
  });

  it('the Rules refuse HTTP mode without its certificate, domain and public subnets, and a public dashboard without HTTP mode', () => {
    expect(failedAssertions(template, REQUIRED)).toEqual([]);
    expect(failedAssertions(template, HTTP)).toEqual([]);
    expect(failedAssertions(template, { ...REQUIRED, SlackMode: 'http' })).toEqual([
      expect.stringMatching(/needs CertificateArn/),
      expect.stringMatching(/needs DomainName/),
      expect.stringMatching(/needs PublicSubnetIds/),
    ]);
    expect(failedAssertions(template, { ...REQUIRED, QueueDashboard: 'public' })).toEqual([expect.stringMatching(/QueueDashboard=public needs SlackMode=http/)]);
  });
});
