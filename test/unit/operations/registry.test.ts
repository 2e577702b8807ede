// The operation registry is checked once at start-up: a malformed kind must stop the start with a
// message that names the kind, not fail the first deploy hours later.
import type { OperationKind } from '../../../src/domain/operation';
import { createOperationRegistry, OPERATION_KINDS } from '../../../src/operations/kinds/index';
import { OperationRegistry, type OperationKindSpec } from '../../../src/operations/registry';
import { next, type OperationStep } from '../../../src/operations/step';
import type { AdmissionPolicy } from '../../../src/state/lane-registry';

const step = (name: string): OperationStep => ({ name, run: async () => next() });

/** A real kind's spec (its view and admission) with what the test is about changed. */
function kindSpec(kind: OperationKind, overrides: Partial<OperationKindSpec> = {}): OperationKindSpec {
  const base = OPERATION_KINDS.find((k) => k.kind === kind)!;
  return { ...base, ...overrides };
}

describe('OperationRegistry at start-up', () => {
  it('refuses a kind registered twice, naming it', () => {
    expect(() => new OperationRegistry([kindSpec('deploy'), kindSpec('infra'), kindSpec('deploy')])).toThrow(
      'operation kind "deploy" is registered twice',
    );
  });

  it('refuses a kind without steps, naming it', () => {
    expect(() => new OperationRegistry([kindSpec('deploy'), kindSpec('boot', { steps: [] })])).toThrow('operation kind "boot" has no steps');
  });

  it('refuses two steps with one name in a kind, naming the kind and the step', () => {
    expect(() => new OperationRegistry([kindSpec('setup', { steps: [step('plan'), step('apply'), step('plan')] })])).toThrow(
      'operation kind "setup" has two steps named "plan"',
    );
  });

  it('refuses an unknown admission policy, naming the kind and the policy', () => {
    const spec = kindSpec('delete', { admission: 'first-come' as AdmissionPolicy });
    expect(() => new OperationRegistry([spec])).toThrow('operation kind "delete" has an unknown admission policy "first-come"');
  });

  it('requireAll names every kind the code queues that has no spec', () => {
    const registry = new OperationRegistry([kindSpec('deploy'), kindSpec('infra')]);
    expect(() => registry.requireAll(['deploy', 'infra', 'boot', 'delete'])).toThrow('operation kinds without a spec: boot, delete');
    expect(() => registry.requireAll(['deploy', 'infra'])).not.toThrow();
  });

  it('createOperationRegistry passes the check and knows every kind, with its steps in order', () => {
    const registry = createOperationRegistry();
    expect(registry.kinds().sort()).toEqual(['boot', 'canary', 'delete', 'deploy', 'infra', 'lane-thread', 'promote', 'rollback', 'setup']);
    // The canary: its stack, the traffic steps, then default promoted (or not), the canary removed, the verdict.
    expect(registry.spec('canary').steps.map((s) => s.name)).toEqual([
      'check-image',
      'canary-plan',
      'canary-create',
      'canary-traffic',
      'canary-promote-default',
      'canary-traffic-off',
      'canary-remove',
      'canary-verdict',
      'verify-health',
      'record-release',
    ]);
    // Promote and rollback: no pipeline, the image checked, the stack updated in place, verified, recorded.
    expect(registry.spec('promote').steps.map((s) => s.name)).toEqual(['check-image', 'stack-changes', 'verify-health', 'record-release']);
    expect(registry.spec('rollback').steps.map((s) => s.name)).toEqual(registry.spec('promote').steps.map((s) => s.name));
    expect(registry.spec('deploy').steps.map((s) => s.name)).toEqual(OPERATION_KINDS[0].steps.map((s) => s.name));
    // A deploy is verified before its release is recorded (the release carries the verdict).
    expect(registry.spec('deploy').steps.map((s) => s.name)).toEqual(['pipeline-execution', 'verify-health', 'record-release']);
    expect(registry.spec('delete').admission).toBe('exclusive');
    expect(registry.spec('deploy').admission).toBe('newest-wins');
    expect(registry.has('deploy')).toBe(true);
    expect(registry.has('canary')).toBe(true);
    expect(registry.has('scale')).toBe(false);
  });

  it('spec() of a kind it lacks (a record written by a newer lanebot) throws naming the kind', () => {
    const registry = new OperationRegistry([kindSpec('deploy')]);
    expect(() => registry.spec('delete')).toThrow('unknown operation kind "delete"');
  });
});
