// Layers read the layer below only through exports: every Fn::ImportValue of a template must name an
// export of a lower layer, computed with the same Env and ServiceName. And the exports are exactly
// DESIGN.md's, plus the two templates/README.md explains.
import { evaluate, loadTemplate, walk, type CfnTemplate, type TemplateFile } from './support/cfn-template';

const PARAMS = { Env: 'dev', ServiceName: 'user-api', Lane: 'gray', SourceLane: 'gray', ImageUri: 'repo:gray-0123456789ab', RulePriority: '7' };

function exportsOf(file: TemplateFile): string[] {
  const template = loadTemplate(file);
  return Object.values(template.Outputs ?? {})
    .filter((output) => output.Export)
    .map((output) => evaluate(template, output.Export!.Name, { parameters: PARAMS }) as string);
}

function importsOf(template: CfnTemplate): string[] {
  const names = new Set<string>();
  walk(template, (node) => {
    if ('Fn::ImportValue' in node) names.add(evaluate(template, node['Fn::ImportValue'], { parameters: PARAMS }) as string);
  });
  return [...names].sort();
}

describe('exports', () => {
  it('the environment stack exports exactly DESIGN.md’s names', () => {
    expect(exportsOf('infra-stack.yaml').sort()).toEqual(
      [
        'infra-environment-dev-VpcId',
        'infra-environment-dev-PrivateSubnets',
        'infra-environment-dev-PublicSubnets',
        'infra-environment-dev-ClusterName',
        'infra-environment-dev-namespace-id',
      ].sort(),
    );
  });

  it('the boot stack exports DESIGN.md’s names plus DefaultTargetGroupArn and TaskSecurityGroupId (templates/README.md says why)', () => {
    expect(exportsOf('boot-stack.yaml').sort()).toEqual(
      [
        'boot-user-api-dev-LoadBalancerArn',
        'boot-user-api-dev-DnsName',
        'boot-user-api-dev-HttpListenerArn',
        'boot-user-api-dev-user-api-service-arn',
        'boot-user-api-dev-LogGroupName',
        'boot-user-api-dev-DefaultTargetGroupArn',
        'boot-user-api-dev-TaskSecurityGroupId',
      ].sort(),
    );
  });

  it('the alarm-events stack exports its four outputs under its own stack name ({stack}-QueueUrl...), for nothing of lanebot\'s to import', () => {
    // AWS::StackName evaluates to "stack" here; templates/README.md suggests lanebot-alarm-events.
    expect(exportsOf('lanebot-alarm-events.yaml').sort()).toEqual(['stack-DeadLetterQueueUrl', 'stack-QueueArn', 'stack-QueueUrl', 'stack-RuleArn']);
  });

  it('the lane stack, the canary stack and the pipeline stacks export nothing (nothing may come to depend on a lane)', () => {
    for (const file of ['service-stack.yaml', 'canary-stack.yaml', 'pipelines/app-pipeline.yaml', 'pipelines/boot-pipeline.yaml', 'pipelines/infra-pipeline.yaml'] as const) {
      expect({ file, exports: exportsOf(file) }).toEqual({ file, exports: [] });
    }
  });
});

describe('every Fn::ImportValue matches an export of a lower layer', () => {
  const infra = new Set(exportsOf('infra-stack.yaml'));
  const boot = new Set(exportsOf('boot-stack.yaml'));

  it('the environment stack imports nothing', () => {
    expect(importsOf(loadTemplate('infra-stack.yaml'))).toEqual([]);
  });

  it('the boot stack imports only from the environment stack', () => {
    const imports = importsOf(loadTemplate('boot-stack.yaml'));
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter((name) => !infra.has(name))).toEqual([]);
  });

  it('the lane stack imports only from the environment and boot stacks, and uses each boot export it needs', () => {
    const imports = importsOf(loadTemplate('service-stack.yaml'));
    expect(imports.filter((name) => !infra.has(name) && !boot.has(name))).toEqual([]);
    expect(imports).toEqual(
      expect.arrayContaining([
        'boot-user-api-dev-HttpListenerArn',
        'boot-user-api-dev-LogGroupName',
        'boot-user-api-dev-user-api-service-arn',
        'boot-user-api-dev-DefaultTargetGroupArn',
        'boot-user-api-dev-TaskSecurityGroupId',
        'infra-environment-dev-ClusterName',
        'infra-environment-dev-PrivateSubnets',
        'infra-environment-dev-VpcId',
      ]),
    );
  });

  it('the canary stack imports only from the environment and boot stacks: the default target group and what a lane needs but Cloud Map', () => {
    const imports = importsOf(loadTemplate('canary-stack.yaml'));
    expect(imports.filter((name) => !infra.has(name) && !boot.has(name))).toEqual([]);
    expect(imports).toEqual(
      [
        'boot-user-api-dev-DefaultTargetGroupArn',
        'boot-user-api-dev-HttpListenerArn',
        'boot-user-api-dev-LoadBalancerArn',
        'boot-user-api-dev-LogGroupName',
        'boot-user-api-dev-TaskSecurityGroupId',
        'infra-environment-dev-ClusterName',
        'infra-environment-dev-PrivateSubnets',
        'infra-environment-dev-VpcId',
      ].sort(),
    );
  });

  it('the alarm-events stack imports nothing (it watches alarms by name, not through the layers)', () => {
    expect(importsOf(loadTemplate('lanebot-alarm-events.yaml'))).toEqual([]);
  });

  it('the pipeline stacks import nothing (they deploy the layers, they do not depend on them)', () => {
    for (const file of ['pipelines/app-pipeline.yaml', 'pipelines/boot-pipeline.yaml', 'pipelines/infra-pipeline.yaml'] as const) {
      expect({ file, imports: importsOf(loadTemplate(file)) }).toEqual({ file, imports: [] });
    }
  });
});
