// Reads the CloudFormation templates under templates/ the way CloudFormation does: YAML with the
// short-form intrinsic tags (!Ref, !Sub, !GetAtt...) turned into their long JSON form, so tests see
// exactly the structure CloudFormation sees. Also a small evaluator of the intrinsic functions, used
// to compute names, export names and listener-rule values from the templates themselves.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type Tags } from 'yaml';

export const TEMPLATES_DIR = join(__dirname, '..', '..', '..', 'templates');

/** Every CloudFormation template lanebot ships, relative to templates/. */
export const TEMPLATE_FILES = [
  'infra-stack.yaml',
  'boot-stack.yaml',
  'service-stack.yaml',
  'canary-stack.yaml',
  'pipelines/infra-pipeline.yaml',
  'pipelines/boot-pipeline.yaml',
  'pipelines/app-pipeline.yaml',
  'iam/pipeline-stack-role.yaml',
  'lanebot-alarm-events.yaml',
  'lanebot-pipeline-events.yaml',
  'lanebot-service.yaml',
] as const;
export type TemplateFile = (typeof TEMPLATE_FILES)[number];

export interface CfnResource {
  Type: string;
  Condition?: string;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Properties?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface CfnParameter {
  Type: string;
  Default?: string | number;
  AllowedValues?: unknown[];
  AllowedPattern?: string;
  MinLength?: number;
  MaxLength?: number;
  MinValue?: number;
  MaxValue?: number;
  [key: string]: unknown;
}

export interface CfnOutput {
  Value: unknown;
  Condition?: string;
  Export?: { Name: unknown };
  [key: string]: unknown;
}

export interface CfnTemplate {
  AWSTemplateFormatVersion?: string;
  Description?: string;
  Parameters?: Record<string, CfnParameter>;
  Rules?: Record<string, { RuleCondition?: unknown; Assertions: { Assert: unknown; AssertDescription?: string }[] }>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, CfnOutput>;
  [key: string]: unknown;
}

/** Short-form tags CloudFormation accepts, and the long form each becomes. */
const SHORT_FORMS: Record<string, string> = {
  Ref: 'Ref',
  Condition: 'Condition',
  GetAtt: 'Fn::GetAtt',
  Sub: 'Fn::Sub',
  Join: 'Fn::Join',
  If: 'Fn::If',
  Equals: 'Fn::Equals',
  Not: 'Fn::Not',
  And: 'Fn::And',
  Or: 'Fn::Or',
  Select: 'Fn::Select',
  Split: 'Fn::Split',
  ImportValue: 'Fn::ImportValue',
  FindInMap: 'Fn::FindInMap',
  GetAZs: 'Fn::GetAZs',
  Base64: 'Fn::Base64',
  Cidr: 'Fn::Cidr',
  Transform: 'Fn::Transform',
  Contains: 'Fn::Contains',
  EachMemberEquals: 'Fn::EachMemberEquals',
  EachMemberIn: 'Fn::EachMemberIn',
  RefAll: 'Fn::RefAll',
  ValueOf: 'Fn::ValueOf',
  ValueOfAll: 'Fn::ValueOfAll',
};

function scalarForm(longName: string, text: string): unknown {
  // !GetAtt Resource.Attribute (the attribute may itself contain dots: Endpoint.Address).
  if (longName === 'Fn::GetAtt') {
    const dot = text.indexOf('.');
    return { [longName]: [text.slice(0, dot), text.slice(dot + 1)] };
  }
  return { [longName]: text };
}

export const CFN_YAML_TAGS: Tags = Object.entries(SHORT_FORMS).flatMap(([short, longName]) => [
  { tag: `!${short}`, resolve: (text: string) => scalarForm(longName, text) },
  { tag: `!${short}`, collection: 'seq' as const, resolve: (seq: { toJSON(): unknown }) => ({ [longName]: seq.toJSON() }) },
  { tag: `!${short}`, collection: 'map' as const, resolve: (map: { toJSON(): unknown }) => ({ [longName]: map.toJSON() }) },
]) as unknown as Tags;

/** Parses CloudFormation YAML; unknown tags and YAML errors throw. */
export function parseTemplate(text: string): CfnTemplate {
  return parse(text, { customTags: CFN_YAML_TAGS, strict: true, prettyErrors: true, uniqueKeys: true }) as CfnTemplate;
}

export function templateText(file: TemplateFile | string): string {
  return readFileSync(join(TEMPLATES_DIR, file), 'utf8');
}

const cache = new Map<string, CfnTemplate>();

/** A fresh deep copy of a template, parsed once per test file. */
export function loadTemplate(file: TemplateFile): CfnTemplate {
  if (!cache.has(file)) cache.set(file, parseTemplate(templateText(file)));
  return structuredClone(cache.get(file)!);
}

/** Calls `visit` on every object node under `value`, with its path. */
export function walk(value: unknown, visit: (node: Record<string, unknown>, path: string) => void, path = ''): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => walk(item, visit, `${path}[${i}]`));
  } else if (value !== null && typeof value === 'object') {
    const node = value as Record<string, unknown>;
    visit(node, path);
    for (const [key, child] of Object.entries(node)) walk(child, visit, path ? `${path}.${key}` : key);
  }
}

/** The single key of an intrinsic-function object ({Ref: x}, {'Fn::Sub': ...}), else undefined. */
export function intrinsicName(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const key = keys[0]!;
  return key === 'Ref' || key === 'Condition' || key.startsWith('Fn::') ? key : undefined;
}

export const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::AccountId': '123456789012',
  'AWS::Region': 'us-east-1',
  'AWS::Partition': 'aws',
  'AWS::StackName': 'stack',
  'AWS::StackId': 'arn:aws:cloudformation:us-east-1:123456789012:stack/stack/00000000-0000-0000-0000-000000000000',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::NoValue': '',
  'AWS::NotificationARNs': '',
};

/** `${Name}` and `${Resource.Attribute}` placeholders of a Fn::Sub string (not `${!Literal}`). */
export function subPlaceholders(text: string): string[] {
  return [...text.matchAll(/\$\{([^!}][^}]*)\}/g)].map((m) => m[1]!.trim());
}

export interface EvalContext {
  /** Parameter values (defaults are used for the others). */
  parameters: Record<string, string>;
  /** Value of Fn::ImportValue by export name; default `import(<name>)`. */
  importValue?: (name: string) => string;
  /** Value of a resource's Ref / GetAtt; default `<logicalId>` / `<logicalId>.<attr>`. */
  resourceValue?: (logicalId: string, attribute?: string) => string;
}

/**
 * Evaluates the intrinsic functions of `value` in `template` with the given parameters, the way
 * CloudFormation would (for the functions lanebot's templates use). Resources evaluate to
 * placeholders unless the context says otherwise.
 */
export function evaluate(template: CfnTemplate, value: unknown, context: EvalContext): unknown {
  const params = (name: string): string => {
    if (name in context.parameters) return context.parameters[name]!;
    const declared = template.Parameters?.[name];
    if (declared?.Default !== undefined) return String(declared.Default);
    if (declared) throw new Error(`parameter ${name} has no value and no default`);
    throw new Error(`unknown parameter ${name}`);
  };
  const ref = (name: string): string => {
    if (name in PSEUDO_PARAMETERS) return PSEUDO_PARAMETERS[name]!;
    if (template.Parameters && name in template.Parameters) return params(name);
    if (name in template.Resources) return context.resourceValue?.(name) ?? `<${name}>`;
    throw new Error(`Ref to unknown ${name}`);
  };
  const getAtt = (logicalId: string, attribute: string): string => {
    if (!(logicalId in template.Resources)) throw new Error(`GetAtt of unknown resource ${logicalId}`);
    return context.resourceValue?.(logicalId, attribute) ?? `<${logicalId}.${attribute}>`;
  };
  const condition = (name: string): boolean => {
    const body = template.Conditions?.[name];
    if (body === undefined) throw new Error(`unknown condition ${name}`);
    return Boolean(run(body));
  };
  const str = (v: unknown): string => {
    const out = run(v);
    if (typeof out !== 'string' && typeof out !== 'number') throw new Error(`expected a string, got ${JSON.stringify(out)}`);
    return String(out);
  };

  function run(node: unknown): unknown {
    if (Array.isArray(node)) return node.map(run);
    const fn = intrinsicName(node);
    if (!fn) {
      if (node !== null && typeof node === 'object') {
        return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, run(v)]));
      }
      return node;
    }
    const arg = (node as Record<string, unknown>)[fn];
    switch (fn) {
      case 'Ref':
        return ref(arg as string);
      case 'Condition':
        return condition(arg as string);
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = arg as [string, string];
        return getAtt(logicalId, attribute);
      }
      case 'Fn::Sub': {
        const [text, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
        return text
          .replace(/\$\{([^!}][^}]*)\}/g, (_m, name: string) => {
            const key = name.trim();
            if (key in vars) return str(vars[key]);
            if (key.includes('.') && !(key in PSEUDO_PARAMETERS)) {
              const dot = key.indexOf('.');
              return getAtt(key.slice(0, dot), key.slice(dot + 1));
            }
            return ref(key);
          })
          .replace(/\$\{!/g, '${');
      }
      case 'Fn::Join': {
        const [separator, list] = arg as [string, unknown];
        return (run(list) as unknown[]).map((item) => String(item)).join(separator);
      }
      case 'Fn::Split': {
        const [separator, source] = arg as [string, unknown];
        return str(source).split(separator);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const items = run(list) as unknown[];
        const i = Number(run(index));
        if (!(i in items)) throw new Error(`Fn::Select index ${i} out of ${items.length}`);
        return items[i];
      }
      case 'Fn::If': {
        const [name, whenTrue, whenFalse] = arg as [string, unknown, unknown];
        return condition(name) ? run(whenTrue) : run(whenFalse);
      }
      case 'Fn::Equals': {
        const [a, b] = arg as [unknown, unknown];
        return String(run(a)) === String(run(b));
      }
      case 'Fn::Not':
        return !run((arg as unknown[])[0]);
      case 'Fn::And':
        return (arg as unknown[]).every((c) => Boolean(run(c)));
      case 'Fn::Or':
        return (arg as unknown[]).some((c) => Boolean(run(c)));
      case 'Fn::ImportValue': {
        const name = str(arg);
        return context.importValue?.(name) ?? `import(${name})`;
      }
      case 'Fn::Contains': {
        // Rules only: whether a string is in a list (a list parameter's Ref is its comma-joined text here).
        const [list, item] = arg as [unknown, unknown];
        const items = run(list);
        return (Array.isArray(items) ? items.map(String) : String(items).split(',')).includes(str(item));
      }
      case 'Fn::GetAZs':
        return ['us-east-1a', 'us-east-1b', 'us-east-1c'];
      case 'Fn::Cidr': {
        const [, count] = arg as [unknown, unknown];
        return Array.from({ length: Number(run(count)) }, (_v, i) => `10.0.${i * 16}.0/20`);
      }
      default:
        throw new Error(`evaluate: ${fn} is not supported`);
    }
  }
  return run(value);
}

/** Evaluates a template's conditions for the given parameters. */
export function evaluateConditions(template: CfnTemplate, parameters: Record<string, string>): Record<string, boolean> {
  return Object.fromEntries(
    Object.keys(template.Conditions ?? {}).map((name) => [name, Boolean(evaluate(template, { Condition: name }, { parameters }))]),
  );
}

/** Evaluates a template's Rules like CloudFormation: the descriptions of the assertions that fail. */
export function failedRuleAssertions(template: CfnTemplate, parameters: Record<string, string>): string[] {
  const failed: string[] = [];
  for (const rule of Object.values(template.Rules ?? {})) {
    if (rule.RuleCondition !== undefined && !evaluate(template, rule.RuleCondition, { parameters })) continue;
    for (const assertion of rule.Assertions) {
      if (!evaluate(template, assertion.Assert, { parameters })) failed.push(assertion.AssertDescription ?? '?');
    }
  }
  return failed;
}
