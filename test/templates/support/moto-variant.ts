// moto (5.2.1) implements most of what the templates use, but its CloudFormation cannot create
// Cloud Map namespaces/services, CloudWatch alarms or ElastiCache resources (lanebot-service.yaml's
// Redis): it skips unknown resource types and then fails
// on a GetAtt of them. The moto test therefore deploys a variant in which only those resources are
// replaced by SSM parameters (a type moto creates, whose Ref is a name), and a GetAtt of a replaced
// resource becomes its Ref. moto also lacks Fn::Cidr, which the variant computes from the stack's
// parameters, and keeps a list item that an Fn::If turns into AWS::NoValue as a null (CloudFormation
// drops it): the variant drops such items itself, for the stack's parameters. Everything else,
// parameters, conditions, rules, outputs and exports included, is the production template unchanged.
import { evaluateConditions, evaluate, intrinsicName, type CfnTemplate } from './cfn-template';

/** Fn::Cidr for IPv4: `count` consecutive blocks of `hostBits` host bits from the start of `ipBlock`. */
export function cidrBlocks(ipBlock: string, count: number, hostBits: number): string[] {
  const [address, prefix] = ipBlock.split('/') as [string, string];
  const base = address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const start = base - (base % 2 ** (32 - Number(prefix)));
  return Array.from({ length: count }, (_v, i) => {
    const n = start + i * 2 ** hostBits;
    return `${[24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.')}/${32 - hostBits}`;
  });
}

export const MOTO_STAND_IN_TYPES = [
  'AWS::ServiceDiscovery::PrivateDnsNamespace',
  'AWS::ServiceDiscovery::Service',
  'AWS::CloudWatch::Alarm',
  'AWS::ElastiCache::ReplicationGroup',
  'AWS::ElastiCache::ParameterGroup',
  'AWS::ElastiCache::SubnetGroup',
] as const;

export interface MotoVariant {
  body: string;
  /** Logical ids replaced by stand-ins. */
  replaced: string[];
}

export function motoVariant(template: CfnTemplate, parameters: Record<string, string>): MotoVariant {
  const copy = structuredClone(template);
  const replaced = Object.entries(copy.Resources)
    .filter(([, r]) => (MOTO_STAND_IN_TYPES as readonly string[]).includes(r.Type))
    .map(([logicalId]) => logicalId);
  for (const logicalId of replaced) {
    const original = copy.Resources[logicalId]!;
    copy.Resources[logicalId] = {
      Type: 'AWS::SSM::Parameter',
      ...(original.Condition ? { Condition: original.Condition } : {}),
      // moto needs a name; its Ref is that name.
      Properties: { Name: { 'Fn::Sub': `/moto-stand-in/\${AWS::StackName}/${logicalId}` }, Type: 'String', Value: `moto stand-in for ${original.Type}` },
    };
  }
  let conditions: Record<string, boolean> | undefined;
  const noValueItem = (item: unknown): boolean => {
    if (intrinsicName(item) !== 'Fn::If') return false;
    const [condition, whenTrue, whenFalse] = (item as { 'Fn::If': [string, unknown, unknown] })['Fn::If'];
    conditions ??= evaluateConditions(template, parameters);
    const taken = conditions[condition] ? whenTrue : whenFalse;
    return intrinsicName(taken) === 'Ref' && (taken as { Ref: string }).Ref === 'AWS::NoValue';
  };
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.filter((item) => !noValueItem(item)).map(rewrite);
    if (node === null || typeof node !== 'object') return node;
    if (intrinsicName(node) === 'Fn::Cidr') {
      const [ipBlock, count, hostBits] = (node as { 'Fn::Cidr': unknown[] })['Fn::Cidr'].map((arg) => String(evaluate(template, arg, { parameters })));
      return cidrBlocks(ipBlock!, Number(count), Number(hostBits));
    }
    if (intrinsicName(node) === 'Fn::GetAtt') {
      const [logicalId] = (node as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
      if (replaced.includes(logicalId)) return { Ref: logicalId };
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, rewrite(v)]));
  };
  return { body: JSON.stringify(rewrite(copy), null, 1), replaced };
}
