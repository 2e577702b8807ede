// The vocabulary of the simulator's CloudFormation: the stack families of the simulated account
// (told apart by name prefix, as DESIGN.md's three stack layers plus the pipeline stacks), the kinds
// of operation and how long each takes per family, and what a stack is configured with.

/** Stack families, by name prefix (see DESIGN.md, "three stack layers", plus the pipeline stacks). */
export type StackFamily = 'lane' | 'boot' | 'infra' | 'pipeline' | 'other';

export function stackFamily(stackName: string): StackFamily {
  if (stackName.startsWith('app-')) return 'lane';
  if (stackName.startsWith('boot-')) return 'boot';
  if (stackName.startsWith('infra-environment-')) return 'infra';
  if (stackName.startsWith('pipeline-')) return 'pipeline';
  return 'other';
}

export type OperationKind = 'create' | 'update' | 'delete';

/** Simulated seconds per operation (before SIM_TIME_SCALE); a failed operation takes about as long. */
export const SIM_STACK_SECONDS: Record<StackFamily, Record<OperationKind, number>> = {
  lane: { create: 90, update: 60, delete: 30 },
  boot: { create: 180, update: 60, delete: 90 },
  infra: { create: 240, update: 90, delete: 180 },
  pipeline: { create: 30, update: 20, delete: 20 },
  other: { create: 60, update: 45, delete: 30 },
};

/** The resource type of a stack's own events (as opposed to its resources'). */
export const STACK_RESOURCE = 'AWS::CloudFormation::Stack';

/** What a stack was created or updated with. */
export interface StackConfig {
  templateHash: string;
  parameters: Record<string, string>;
  tags: Record<string, string>;
  /**
   * The service role (RoleARN) the stack was created or last updated with; an update that names none
   * keeps it, as CloudFormation does. Not part of sameConfig: what a stack holds follows from its
   * template, parameters and tags, not from the role that made it.
   */
  roleArn?: string;
}

/** A resource an operation will fail on, and the reason CloudFormation will give. */
export interface PlannedFailure {
  logicalId: string;
  reason: string;
}

export function sameConfig(a: StackConfig | undefined, b: StackConfig): boolean {
  return !!a && a.templateHash === b.templateHash && sameRecord(a.parameters, b.parameters) && sameRecord(a.tags, b.tags);
}

export function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => a[k] === b[k]);
}
