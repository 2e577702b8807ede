// Every operation kind lanebot runs. Adding a kind: write its spec next to these and list it here.
import { OperationRegistry } from '../registry';
import { bootKind, infraKind, setupKind } from './admin.kinds';
import { deleteKind } from './delete.kind';
import { deployKind } from './deploy.kind';
import { laneThreadKind } from './lane-thread.kind';
import { canaryKind } from './canary.kind';
import { promoteKind, rollbackKind } from './release.kinds';

export const OPERATION_KINDS = [deployKind, infraKind, bootKind, setupKind, deleteKind, promoteKind, rollbackKind, canaryKind, laneThreadKind] as const;

/** The registry, checked: the composition root calls this at start-up. */
export function createOperationRegistry(): OperationRegistry {
  const registry = new OperationRegistry(OPERATION_KINDS);
  registry.requireAll(['deploy', 'infra', 'boot', 'setup', 'delete', 'promote', 'rollback', 'canary', 'lane-thread']);
  return registry;
}
