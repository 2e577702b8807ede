// Every template parses as CloudFormation YAML, matches the official resource specification and
// refers only to what it declares; parameters follow the seeds' names with defaults for the rest.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { specProblems } from './support/cfn-spec';
import { TEMPLATES_DIR, TEMPLATE_FILES, evaluate, loadTemplate, parseTemplate, walk, type TemplateFile } from './support/cfn-template';
import { referenceProblems } from './support/references';

/** Parameters a caller must give; every other parameter has a default. */
const REQUIRED_PARAMETERS: Record<TemplateFile, string[]> = {
  'infra-stack.yaml': ['Env'],
  'boot-stack.yaml': ['Env', 'ServiceName'],
  'service-stack.yaml': ['Env', 'ServiceName', 'Lane', 'ImageUri'],
  'canary-stack.yaml': ['Env', 'ServiceName', 'SourceLane', 'ImageUri'],
  'pipelines/infra-pipeline.yaml': ['Env', 'ConnectionArn', 'InfraRepo'],
  'pipelines/boot-pipeline.yaml': ['Env', 'ConnectionArn', 'InfraRepo'],
  'pipelines/app-pipeline.yaml': ['Env', 'ServiceName', 'ConnectionArn', 'InfraRepo', 'AppRepo'],
  'iam/pipeline-stack-role.yaml': ['ConnectionArn'],
  'lanebot-alarm-events.yaml': [],
  'lanebot-pipeline-events.yaml': [],
  'lanebot-service.yaml': ['ImageUri', 'SecretArn', 'BotPolicyArn', 'VpcId', 'SubnetIds'],
};

describe.each(TEMPLATE_FILES)('%s', (file) => {
  const template = loadTemplate(file);

  it('is a CloudFormation template with a description and resources', () => {
    expect(template.AWSTemplateFormatVersion).toBe('2010-09-09');
    expect(typeof template.Description).toBe('string');
    expect(Object.keys(template.Resources).length).toBeGreaterThan(0);
    const known = ['AWSTemplateFormatVersion', 'Description', 'Parameters', 'Rules', 'Conditions', 'Resources', 'Outputs'];
    expect(Object.keys(template).filter((key) => !known.includes(key))).toEqual([]);
  });

  it('matches the CloudFormation resource specification (types, property names, required properties, allowed values)', () => {
    expect(specProblems(template)).toEqual([]);
  });

  it('refers only to declared parameters, resources, attributes and conditions', () => {
    expect(referenceProblems(template)).toEqual([]);
  });

  it('needs only the documented parameters; every other one has a default', () => {
    const withoutDefault = Object.entries(template.Parameters ?? {})
      .filter(([, p]) => p.Default === undefined)
      .map(([name]) => name);
    expect(withoutDefault.sort()).toEqual([...REQUIRED_PARAMETERS[file]].sort());
  });

  it('has parameter defaults that satisfy their own constraints', () => {
    for (const [name, p] of Object.entries(template.Parameters ?? {})) {
      if (p.Default === undefined) continue;
      const value = String(p.Default);
      if (p.AllowedValues) expect({ name, ok: p.AllowedValues.map(String).includes(value) }).toEqual({ name, ok: true });
      if (p.AllowedPattern) expect({ name, ok: new RegExp(p.AllowedPattern).test(value) }).toEqual({ name, ok: true });
      if (p.Type === 'Number') {
        expect(Number.isFinite(Number(value))).toBe(true);
        if (p.MinValue !== undefined) expect(Number(value)).toBeGreaterThanOrEqual(p.MinValue);
        if (p.MaxValue !== undefined) expect(Number(value)).toBeLessThanOrEqual(p.MaxValue);
      }
    }
  });

  it('uses only the resource attributes CloudFormation defines', () => {
    const keys = new Set(['Type', 'Properties', 'Condition', 'DependsOn', 'DeletionPolicy', 'UpdateReplacePolicy', 'Metadata']);
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      expect({ logicalId, extra: Object.keys(resource).filter((k) => !keys.has(k)) }).toEqual({ logicalId, extra: [] });
    }
  });
});

describe('CloudFormation YAML parsing', () => {
  it('turns every short-form tag into its long form', () => {
    const parsed = parseTemplate(
      [
        'Resources:',
        '  X:',
        '    Type: AWS::SNS::Topic',
        '    Properties:',
        '      A: !Ref P',
        '      B: !GetAtt Db.Endpoint.Address',
        "      C: !Sub '${P}-x'",
        "      D: !Join ['-', [!Select [0, !Split [',', !ImportValue { 'Fn::Sub': 'e-${P}' }]], !FindInMap [M, k, v]]]",
        "      E: !If [C1, !Base64 'x', !Cidr ['10.0.0.0/16', 2, 8]]",
        '      F: !Select [0, !GetAZs ""]',
        '      G: !And [!Equals [a, b], !Or [!Not [!Condition C2], !Condition C3]]',
      ].join('\n'),
    );
    expect(parsed.Resources.X!.Properties).toEqual({
      A: { Ref: 'P' },
      B: { 'Fn::GetAtt': ['Db', 'Endpoint.Address'] },
      C: { 'Fn::Sub': '${P}-x' },
      D: {
        'Fn::Join': [
          '-',
          [
            { 'Fn::Select': [0, { 'Fn::Split': [',', { 'Fn::ImportValue': { 'Fn::Sub': 'e-${P}' } }] }] },
            { 'Fn::FindInMap': ['M', 'k', 'v'] },
          ],
        ],
      },
      E: { 'Fn::If': ['C1', { 'Fn::Base64': 'x' }, { 'Fn::Cidr': ['10.0.0.0/16', 2, 8] }] },
      F: { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] },
      G: { 'Fn::And': [{ 'Fn::Equals': ['a', 'b'] }, { 'Fn::Or': [{ 'Fn::Not': [{ Condition: 'C2' }] }, { Condition: 'C3' }] }] },
    });
  });

  it('refuses an unknown tag', () => {
    expect(() => parseTemplate('A: !Nope x\n')).toThrow();
  });
});

describe('the reference checker', () => {
  it('reports dangling references (so its silence above means something)', () => {
    const problems = referenceProblems(
      parseTemplate(
        [
          'Parameters:',
          '  P: { Type: String, Default: off }',
          'Conditions:',
          "  C: !Equals [!Ref P, 'on']",
          'Resources:',
          '  Only:',
          '    Type: AWS::SNS::Topic',
          '    Condition: C',
          '  T:',
          '    Type: AWS::SNS::Topic',
          '    DependsOn: Missing',
          '    Properties:',
          '      TopicName: !Ref Nope',
          '      DisplayName: !GetAtt Only.NoSuchAttribute',
          "      KmsMasterKeyId: !If [Unknown, 'a', 'b']",
          '      FifoTopic: !Ref Only',
        ].join('\n'),
      ),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('Ref to undeclared Nope'),
        expect.stringContaining('has no attribute NoSuchAttribute'),
        expect.stringContaining('unknown condition "Unknown"'),
        expect.stringContaining('Ref to undeclared Missing'),
        expect.stringContaining('its condition C is false'),
      ]),
    );
  });

  it('and the spec checker reports unknown types, unknown and missing properties, bad allowed values', () => {
    const problems = specProblems(
      parseTemplate(
        [
          'Resources:',
          '  A: { Type: AWS::Nope::Thing }',
          '  B: { Type: AWS::ElasticLoadBalancingV2::ListenerRule, Properties: { Priority: 1, Actions: [], Bogus: 1 } }',
          '  C: { Type: AWS::ECS::Service, Properties: { LaunchType: MOON } }',
        ].join('\n'),
      ),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'A: unknown resource type AWS::Nope::Thing',
        expect.stringMatching(/^B\.Properties\.Bogus: no such property/),
        'B.Properties.Conditions: required property missing',
        expect.stringMatching(/^C\.Properties\.LaunchType: "MOON" is not one of/),
      ]),
    );
  });
});

describe('templates/buildspec.yaml and templates/iam/bot-policy.json', () => {
  it('the buildspec is YAML version 0.2 exporting IMAGE_URI', () => {
    const buildspec = parse(readFileSync(join(TEMPLATES_DIR, 'buildspec.yaml'), 'utf8')) as Record<string, any>;
    expect(buildspec.version).toBe(0.2);
    expect(buildspec.env['exported-variables']).toEqual(['IMAGE_URI']);
    expect(Object.keys(buildspec.phases)).toEqual(['pre_build', 'build']);
  });

  it('the bot policy is an IAM policy document with well-formed statements', () => {
    const policy = JSON.parse(readFileSync(join(TEMPLATES_DIR, 'iam/bot-policy.json'), 'utf8'));
    expect(policy.Version).toBe('2012-10-17');
    for (const statement of policy.Statement) {
      expect(['Allow', 'Deny']).toContain(statement.Effect);
      expect(statement.Sid).toMatch(/^[A-Za-z0-9]+$/);
      for (const action of [statement.Action].flat()) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z*]+$/);
      for (const resource of [statement.Resource].flat()) expect(resource).toMatch(/^(\*|arn:aws:[a-z0-9-]+:)/);
    }
  });
});

describe('no template names what has a short AWS name limit or cannot be replaced', () => {
  it.each(TEMPLATE_FILES)('%s leaves ALB, target group and IAM role names to CloudFormation', (file) => {
    const template = loadTemplate(file);
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      if (resource.Type === 'AWS::ElasticLoadBalancingV2::LoadBalancer' || resource.Type === 'AWS::ElasticLoadBalancingV2::TargetGroup') {
        expect({ logicalId, name: resource.Properties?.Name }).toEqual({ logicalId, name: undefined });
      }
      if (resource.Type === 'AWS::IAM::Role' && file !== 'iam/pipeline-stack-role.yaml') {
        expect({ logicalId, name: resource.Properties?.RoleName }).toEqual({ logicalId, name: undefined });
      }
    }
  });

  it('the one named role (per account, set up by hand) is short and fixed', () => {
    const template = loadTemplate('iam/pipeline-stack-role.yaml');
    const name = evaluate(template, template.Resources.PipelineStacksRole!.Properties!.RoleName, { parameters: {} });
    expect(name).toBe('lanebot-pipeline-stacks');
  });

  it('no template uses YAML anchors or merge keys (CloudFormation does not promise them)', () => {
    for (const file of TEMPLATE_FILES) {
      const text = readFileSync(join(TEMPLATES_DIR, file), 'utf8');
      expect({ file, anchors: /(^|\s)[&*][A-Za-z]\w*\s*$|<<:/m.test(text) }).toEqual({ file, anchors: false });
    }
    // And walk() sees every node (used by the other tests).
    let count = 0;
    walk({ a: [{ b: 1 }, { c: { d: 2 } }] }, () => count++);
    expect(count).toBe(4);
  });
});
