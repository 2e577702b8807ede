// Finds the dangling references of a template: Refs, GetAtts, Sub placeholders, conditions and
// DependsOn that name nothing declared, GetAtts of attributes the resource type does not have, and
// references to a conditional resource from a place that exists when the resource does not (checked
// for every combination of the values the conditions compare parameters with).
import { attributesOf } from './cfn-spec';
import { PSEUDO_PARAMETERS, evaluateConditions, intrinsicName, subPlaceholders, walk, type CfnTemplate } from './cfn-template';

export function referenceProblems(template: CfnTemplate): string[] {
  const structural = referencePass(template, undefined);
  const problems = new Set(structural);
  for (const parameters of conditionCases(template)) {
    for (const problem of referencePass(template, evaluateConditions(template, parameters))) {
      if (!structural.includes(problem)) problems.add(`${problem} (with ${JSON.stringify(parameters)})`);
    }
  }
  return [...problems];
}

/**
 * Parameter values that drive every condition both ways: for each parameter a condition reads, its
 * AllowedValues, or the literals it is compared with plus one other value.
 */
export function conditionCases(template: CfnTemplate): Record<string, string>[] {
  const candidates = new Map<string, Set<string>>();
  walk(template.Conditions ?? {}, (node) => {
    const equals = node['Fn::Equals'];
    if (!Array.isArray(equals)) return;
    const [a, b] = equals as unknown[];
    for (const [side, other] of [[a, b], [b, a]] as const) {
      if (intrinsicName(side) !== 'Ref') continue;
      const name = (side as { Ref: string }).Ref;
      const set = candidates.get(name) ?? new Set(['some-other-value']);
      if (typeof other === 'string' || typeof other === 'number') set.add(String(other));
      const allowed = template.Parameters?.[name]?.AllowedValues;
      if (allowed) candidates.set(name, new Set(allowed.map(String)));
      else candidates.set(name, set);
    }
  });
  let cases: Record<string, string>[] = [{}];
  for (const [name, values] of candidates) {
    cases = cases.flatMap((c) => [...values].map((v) => ({ ...c, [name]: v })));
  }
  // Required parameters the conditions do not read still need a value to evaluate.
  const filler = Object.fromEntries(
    Object.entries(template.Parameters ?? {})
      .filter(([name, p]) => p.Default === undefined && !candidates.has(name))
      .map(([name]) => [name, 'x']),
  );
  return cases.map((c) => ({ ...filler, ...c }));
}

/**
 * One pass over the template. Without `conditionValues`, both branches of every Fn::If are visited
 * and conditional resources are not checked for presence; with them, only the branches taken are,
 * and every reference must name a resource that exists under those conditions.
 */
function referencePass(template: CfnTemplate, conditionValues: Record<string, boolean> | undefined): string[] {
  const out: string[] = [];
  const exists = (condition: string | undefined) => condition === undefined || conditionValues === undefined || conditionValues[condition] === true;
  const parameters = new Set(Object.keys(template.Parameters ?? {}));
  const resources = template.Resources;
  const conditions = new Set(Object.keys(template.Conditions ?? {}));

  const checkCondition = (name: unknown, where: string) => {
    if (typeof name !== 'string' || !conditions.has(name)) out.push(`${where}: unknown condition ${JSON.stringify(name)}`);
  };

  const checkTarget = (logicalId: string, attribute: string | undefined, where: string, _guards: string[], allowParameters: boolean) => {
    if (allowParameters && (parameters.has(logicalId) || logicalId in PSEUDO_PARAMETERS)) return;
    const resource = resources[logicalId];
    if (!resource) {
      out.push(`${where}: ${attribute ? 'GetAtt' : 'Ref'} to undeclared ${logicalId}`);
      return;
    }
    if (attribute && !attributesOf(resource.Type).includes(attribute)) {
      out.push(`${where}: ${resource.Type} has no attribute ${attribute}`);
    }
    if (!exists(resource.Condition)) {
      out.push(`${where}: refers to ${logicalId}, which does not exist here (its condition ${resource.Condition} is false)`);
    }
  };

  const visit = (node: unknown, where: string, guards: string[], inRules = false): void => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => visit(item, `${where}[${i}]`, guards, inRules));
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const fn = intrinsicName(node);
    const arg = fn ? (node as Record<string, unknown>)[fn] : undefined;
    switch (fn) {
      case 'Ref':
        if (inRules) {
          if (!parameters.has(arg as string) && !((arg as string) in PSEUDO_PARAMETERS)) out.push(`${where}: rule refers to non-parameter ${String(arg)}`);
        } else {
          checkTarget(arg as string, undefined, where, guards, true);
        }
        return;
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = arg as [string, string];
        checkTarget(logicalId, attribute, where, guards, false);
        return;
      }
      case 'Fn::Sub': {
        const [text, vars] = typeof arg === 'string' ? [arg, {} as Record<string, unknown>] : (arg as [string, Record<string, unknown>]);
        for (const placeholder of subPlaceholders(text)) {
          if (placeholder in vars) continue;
          const dot = placeholder.indexOf('.');
          if (dot > 0 && !(placeholder in PSEUDO_PARAMETERS)) {
            checkTarget(placeholder.slice(0, dot), placeholder.slice(dot + 1), where, guards, false);
          } else {
            checkTarget(placeholder, undefined, where, guards, true);
          }
        }
        visit(vars, where, guards, inRules);
        return;
      }
      case 'Condition':
        checkCondition(arg, where);
        return;
      case 'Fn::If': {
        const [name, whenTrue, whenFalse] = arg as [string, unknown, unknown];
        checkCondition(name, where);
        if (conditionValues === undefined || conditionValues[name] === true) visit(whenTrue, `${where}<${name}>`, guards, inRules);
        if (conditionValues === undefined || conditionValues[name] === false) visit(whenFalse, `${where}<not ${name}>`, guards, inRules);
        return;
      }
      default:
        for (const [key, child] of Object.entries(node)) visit(child, `${where}.${key}`, guards, inRules);
    }
  };

  for (const [name, body] of Object.entries(template.Conditions ?? {})) visit(body, `Conditions.${name}`, []);
  for (const [name, rule] of Object.entries(template.Rules ?? {})) visit(rule, `Rules.${name}`, [], true);
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (!exists(resource.Condition)) continue;
    const guards = resource.Condition ? [resource.Condition] : [];
    if (resource.Condition) checkCondition(resource.Condition, `${logicalId}.Condition`);
    for (const dependency of [resource.DependsOn ?? []].flat()) checkTarget(dependency, undefined, `${logicalId}.DependsOn`, guards, false);
    visit(resource.Properties ?? {}, `${logicalId}.Properties`, guards);
  }
  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    if (!exists(output.Condition)) continue;
    const guards = output.Condition ? [output.Condition] : [];
    if (output.Condition) checkCondition(output.Condition, `Outputs.${name}.Condition`);
    visit(output.Value, `Outputs.${name}.Value`, guards);
    if (output.Export) visit(output.Export.Name, `Outputs.${name}.Export`, guards);
  }
  return out;
}
