// Checks templates against the official CloudFormation resource specification, as shipped in
// @aws-cdk/aws-service-spec (db.json.gz: a gzip'd JSON database of entities; resources carry
// `properties` and `attributes`, nested property types are `typeDefinition` entities referenced
// by `$ref`). Read directly rather than through the package's loader: the tests need four lookups,
// not the query engine.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { intrinsicName, type CfnTemplate } from './cfn-template';

type SpecType =
  | { type: 'string' | 'integer' | 'number' | 'boolean' | 'json' | 'date-time' | 'null' | 'tag'; allowedValues?: string[] }
  | { type: 'array'; element: SpecType }
  | { type: 'map'; element: SpecType }
  | { type: 'ref'; reference: { $ref: string } }
  | { type: 'union'; types: SpecType[] };

interface SpecProperty {
  type: SpecType;
  previousTypes?: SpecType[];
  required?: boolean;
  deprecated?: unknown;
}

export interface SpecResource {
  cloudFormationType: string;
  properties: Record<string, SpecProperty>;
  attributes: Record<string, unknown>;
}

interface SpecTypeDefinition {
  name: string;
  properties: Record<string, SpecProperty>;
}

export interface Spec {
  resources: Map<string, SpecResource>;
  typeDefinitions: Map<string, SpecTypeDefinition>;
}

let loaded: Spec | undefined;

export function loadSpec(): Spec {
  if (loaded) return loaded;
  const path = require.resolve('@aws-cdk/aws-service-spec/db.json.gz');
  const db = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as {
    schema: { resource: { entities: (SpecResource & { $id: string })[] }; typeDefinition: { entities: (SpecTypeDefinition & { $id: string })[] } };
  };
  loaded = {
    resources: new Map(db.schema.resource.entities.map((r) => [r.cloudFormationType, r])),
    typeDefinitions: new Map(db.schema.typeDefinition.entities.map((t) => [t.$id, t])),
  };
  return loaded;
}

/** True when a value is computed by CloudFormation (its type cannot be checked statically). */
function computed(value: unknown): boolean {
  return intrinsicName(value) !== undefined;
}

/**
 * Problems of `value` against `type`, each as "path: what". Only what can be known before
 * deployment: structure, property names, required properties and allowed literal values.
 */
function checkValue(spec: Spec, type: SpecType, value: unknown, path: string, out: string[]): void {
  const fn = intrinsicName(value);
  if (fn === 'Fn::If') {
    // Both branches must be valid (AWS::NoValue drops the property).
    const [, whenTrue, whenFalse] = (value as { 'Fn::If': unknown[] })['Fn::If'];
    for (const branch of [whenTrue, whenFalse]) {
      if (intrinsicName(branch) === 'Ref' && (branch as { Ref: string }).Ref === 'AWS::NoValue') continue;
      checkValue(spec, type, branch, path, out);
    }
    return;
  }
  if (fn) return;
  switch (type.type) {
    case 'string':
      if (typeof value === 'object' && value !== null) out.push(`${path}: expected a string, got ${JSON.stringify(value).slice(0, 80)}`);
      else if (type.allowedValues && typeof value === 'string' && !type.allowedValues.includes(value)) {
        out.push(`${path}: ${JSON.stringify(value)} is not one of ${type.allowedValues.join(', ')}`);
      }
      return;
    case 'integer':
    case 'number':
      if (typeof value === 'object' || (typeof value === 'string' && Number.isNaN(Number(value)))) out.push(`${path}: expected a number`);
      return;
    case 'boolean':
      if (typeof value === 'object' || (typeof value === 'string' && !['true', 'false'].includes(value))) out.push(`${path}: expected a boolean`);
      return;
    case 'json':
    case 'date-time':
    case 'null':
      return;
    case 'tag':
      if (typeof value !== 'object' || value === null || !('Key' in value) || !('Value' in value)) out.push(`${path}: expected {Key, Value}`);
      return;
    case 'array':
      if (!Array.isArray(value)) {
        out.push(`${path}: expected a list`);
        return;
      }
      value.forEach((item, i) => checkValue(spec, type.element, item, `${path}[${i}]`, out));
      return;
    case 'map':
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        out.push(`${path}: expected a map`);
        return;
      }
      for (const [k, v] of Object.entries(value)) checkValue(spec, type.element, v, `${path}.${k}`, out);
      return;
    case 'ref': {
      const definition = spec.typeDefinitions.get(type.reference.$ref);
      if (!definition) throw new Error(`spec: missing type definition ${type.reference.$ref}`);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        out.push(`${path}: expected a ${definition.name} object`);
        return;
      }
      checkProperties(spec, definition.properties, value as Record<string, unknown>, path, out);
      return;
    }
    case 'union': {
      // Valid when any member type accepts it.
      const attempts = type.types.map((member) => {
        const problems: string[] = [];
        checkValue(spec, member, value, path, problems);
        return problems;
      });
      if (attempts.every((p) => p.length > 0)) out.push(...attempts.sort((a, b) => a.length - b.length)[0]!);
      return;
    }
  }
}

function checkProperties(
  spec: Spec,
  declared: Record<string, SpecProperty>,
  given: Record<string, unknown>,
  path: string,
  out: string[],
): void {
  for (const [name, value] of Object.entries(given)) {
    const property = declared[name];
    if (!property) {
      out.push(`${path}.${name}: no such property (known: ${Object.keys(declared).sort().join(', ')})`);
      continue;
    }
    const candidates = [property.type, ...(property.previousTypes ?? [])];
    const attempts = candidates.map((t) => {
      const problems: string[] = [];
      checkValue(spec, t, value, `${path}.${name}`, problems);
      return problems;
    });
    if (attempts.every((p) => p.length > 0)) out.push(...attempts[0]!);
  }
  for (const [name, property] of Object.entries(declared)) {
    if (property.required && !(name in given)) out.push(`${path}.${name}: required property missing`);
  }
}

/** Everything in `template`'s resources the specification disagrees with; empty when valid. */
export function specProblems(template: CfnTemplate): string[] {
  const spec = loadSpec();
  const out: string[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const definition = spec.resources.get(resource.Type);
    if (!definition) {
      out.push(`${logicalId}: unknown resource type ${resource.Type}`);
      continue;
    }
    checkProperties(spec, definition.properties, resource.Properties ?? {}, `${logicalId}.Properties`, out);
  }
  return out;
}

/** Attributes Fn::GetAtt may read from a resource type. */
export function attributesOf(resourceType: string): string[] {
  const definition = loadSpec().resources.get(resourceType);
  return definition ? Object.keys(definition.attributes ?? {}) : [];
}
