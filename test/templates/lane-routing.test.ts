// The lane's listener rule, read out of templates/service-stack.yaml, routes exactly the requests
// whose tracestate carries the member ctx=lane:{lane}, within ALB's limits; lane `default` has no
// rule; a lane's rule and target group live and die with its stack.
import { laneRuleHeaderValues } from '../../src/domain/names';
import { MAX_LANE_RULE_PRIORITY } from '../../src/state/rule-priorities';
import { albHeaderMatches } from './support/alb-header-match';
import { evaluate, evaluateConditions, failedRuleAssertions, loadTemplate } from './support/cfn-template';

const template = loadTemplate('service-stack.yaml');
const BASE = { Env: 'dev', ServiceName: 'user-api', ImageUri: 'repo:x', RulePriority: '17' };

function ruleOf(lane: string): { Priority: unknown; Conditions: any[]; Actions: any[] } {
  return evaluate(template, template.Resources.LaneListenerRule!.Properties, { parameters: { ...BASE, Lane: lane } }) as any;
}

function headerValuesOf(lane: string): string[] {
  const conditions = ruleOf(lane).Conditions;
  expect(conditions).toHaveLength(1);
  expect(conditions[0].Field).toBe('http-header');
  expect(conditions[0].HttpHeaderConfig.HttpHeaderName).toBe('tracestate');
  return conditions[0].HttpHeaderConfig.Values;
}

function routes(values: string[], header: string): boolean {
  return values.some((pattern) => albHeaderMatches(pattern, header));
}

describe('the ALB wildcard evaluator', () => {
  it.each<[string, string, boolean]>([
    ['abc', 'abc', true],
    ['abc', 'ABC', true],
    ['abc', 'abcd', false],
    ['a*c', 'ac', true],
    ['a*c', 'abbbc', true],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['*', '', true],
    ['*x*', 'axb', true],
    ['*x', 'axb', false],
  ])('%j against %j is %s', (pattern, value, expected) => {
    expect(albHeaderMatches(pattern, value)).toBe(expected);
  });
});

describe('the lane rule (values read from the template with Lane=gray)', () => {
  const values = headerValuesOf('gray');

  it('stays within ALB limits: at most 5 values, 5 wildcards per rule, 128 characters a value', () => {
    expect(values.length).toBeLessThanOrEqual(5);
    const wildcards = values.join('').replace(/[^*?]/g, '').length;
    expect(wildcards).toBeLessThanOrEqual(5);
    for (const v of values) expect(v.length).toBeLessThanOrEqual(128);
  });

  it('is what laneRuleHeaderValues() in src/domain/names.ts says', () => {
    expect(values).toEqual(laneRuleHeaderValues('gray'));
  });

  it.each([
    ['alone', 'ctx=lane:gray'],
    ['first', 'ctx=lane:gray,rojo=00f067aa0ba902b7'],
    ['first, space after comma', 'ctx=lane:gray, rojo=00f067aa0ba902b7'],
    ['middle', 'congo=t61rcWkgMzE,ctx=lane:gray,rojo=00f067aa0ba902b7'],
    ['middle, spaces after commas', 'congo=t61rcWkgMzE, ctx=lane:gray, rojo=00f067aa0ba902b7'],
    ['middle, mixed spacing', 'congo=t61rcWkgMzE,ctx=lane:gray, rojo=00f067aa0ba902b7'],
    ['last', 'congo=t61rcWkgMzE,ctx=lane:gray'],
    ['last, space after comma', 'congo=t61rcWkgMzE, ctx=lane:gray'],
    ['last, tab after comma', 'congo=t61rcWkgMzE,\tctx=lane:gray'],
    ['upper case (ALB ignores case)', 'CTX=LANE:GRAY'],
    ['many members', 'a=1,b=2,c=3, d=4,ctx=lane:gray,e=5, f=6'],
  ])('routes a tracestate with the member %s: %j', (_where, header) => {
    expect(routes(values, header)).toBe(true);
  });

  it.each([
    ['a longer lane', 'ctx=lane:gray2'],
    ['a longer lane, first', 'ctx=lane:grayx,rojo=1'],
    ['a longer lane, middle', 'a=1, ctx=lane:gray-blue, b=2'],
    ['a longer lane, last', 'a=1,ctx=lane:grayish'],
    ['a shorter lane', 'ctx=lane:gra'],
    ['another lane', 'ctx=lane:blue'],
    ['another lane among others', 'a=1,ctx=lane:blue,b=2'],
    ['the lane as another key', 'lane=gray'],
    ['the lane in another member value', 'a=gray,ctx=lane:blue'],
    ['a different key prefix', 'ctx=lanes:gray'],
    ['no tracestate member at all', ''],
  ])('does not route %s: %j', (_what, header) => {
    expect(routes(values, header)).toBe(false);
  });

  // Documented limitation (src/domain/names.ts laneRuleHeaderValues): what precedes `ctx` is not
  // pinned, because pinning both ends exactly would take 6 values. A vendor key ending in "ctx"
  // with the value lane:gray is routed; W3C values cannot contain "=", so nothing else can be.
  it('routes a member whose key merely ends in ctx (the one known over-match)', () => {
    expect(routes(values, 'myctx=lane:gray')).toBe(true);
  });

  it('forwards to the lane’s own target group at the priority the bot passed', () => {
    const rule = ruleOf('gray');
    expect(rule.Priority).toBe('17');
    expect(rule.Actions).toEqual([{ Type: 'forward', TargetGroupArn: '<LaneTargetGroup>' }]);
  });

  it('holds for lanes with dashes and digits, each routing only itself', () => {
    const v1 = headerValuesOf('feature-1');
    const v12 = headerValuesOf('feature-12');
    expect(routes(v1, 'a=1,ctx=lane:feature-1')).toBe(true);
    expect(routes(v1, 'a=1,ctx=lane:feature-12')).toBe(false);
    expect(routes(v12, 'a=1, ctx=lane:feature-12, b=2')).toBe(true);
    expect(routes(v12, 'a=1, ctx=lane:feature-1, b=2')).toBe(false);
  });
});

describe('RulePriority', () => {
  const priority = template.Parameters!.RulePriority!;

  it('is a Number, default 0, 0..49999: what the allocator hands lanes (50000 is the canary rule’s)', () => {
    expect(priority).toMatchObject({ Type: 'Number', Default: 0, MinValue: 0, MaxValue: MAX_LANE_RULE_PRIORITY });
  });

  it('0 is refused for a lane other than default, by a template Rules assertion', () => {
    expect(failedRuleAssertions(template, { ...BASE, Lane: 'gray', RulePriority: '0' })).toEqual([expect.stringMatching(/RulePriority must be between 1 and 49999/)]);
    expect(failedRuleAssertions(template, { ...BASE, Lane: 'gray', RulePriority: '1' })).toEqual([]);
    expect(failedRuleAssertions(template, { ...BASE, Lane: 'default', RulePriority: '0' })).toEqual([]);
  });
});

describe('lane default', () => {
  const conditions = evaluateConditions(template, { ...BASE, Lane: 'default' });

  it('has no listener rule and no target group of its own', () => {
    expect(conditions[template.Resources.LaneListenerRule!.Condition!]).toBe(false);
    expect(conditions[template.Resources.LaneTargetGroup!.Condition!]).toBe(false);
  });

  it('attaches its ECS service to the boot stack’s default target group', () => {
    const service = evaluate(template, template.Resources.Service!.Properties, { parameters: { ...BASE, Lane: 'default' } }) as any;
    expect(service.LoadBalancers[0].TargetGroupArn).toBe('import(boot-user-api-dev-DefaultTargetGroupArn)');
  });

  it('while other lanes attach to their own target group', () => {
    const service = evaluate(template, template.Resources.Service!.Properties, { parameters: { ...BASE, Lane: 'gray' } }) as any;
    expect(service.LoadBalancers[0].TargetGroupArn).toBe('<LaneTargetGroup>');
  });
});

describe('a lane’s rule and target group belong to its stack', () => {
  // moto keeps ELBv2 resources after a stack is deleted, so the moto test cannot show that deleting
  // the lane removes them; CloudFormation deletes every resource of a stack that is not retained.
  it.each(['LaneListenerRule', 'LaneTargetGroup'])('%s is a resource of the lane stack without DeletionPolicy Retain', (logicalId) => {
    const resource = template.Resources[logicalId]!;
    expect(resource.Type).toMatch(/^AWS::ElasticLoadBalancingV2::/);
    expect(resource.DeletionPolicy ?? 'Delete').toBe('Delete');
    expect(resource.UpdateReplacePolicy ?? 'Delete').toBe('Delete');
  });

  it('no resource of the lane stack is retained (deleting the lane leaves nothing behind)', () => {
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      expect({ logicalId, retained: resource.DeletionPolicy === 'Retain' || resource.DeletionPolicy === 'RetainExceptOnCreate' }).toEqual({ logicalId, retained: false });
    }
  });

  it('the target group is unnamed and tagged with its lane', () => {
    const tg = evaluate(template, template.Resources.LaneTargetGroup!.Properties, { parameters: { ...BASE, Lane: 'gray' } }) as any;
    expect(tg.Name).toBeUndefined();
    expect(tg.Tags).toEqual(expect.arrayContaining([{ Key: 'lanebot:lane', Value: 'gray' }]));
    expect(tg.HealthCheckPath).toBe('/health');
  });
});
