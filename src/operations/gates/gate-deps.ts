// What gates may use; built once by the composition root (the runner hands it on).
import type { AuditLog } from '../../audit/audit-log';
import type { ThreadNarrator } from '../../chat/thread-narrator';
import type { Clock } from '../../clock';
import type { LanebotConfig } from '../../config';
import type { ApprovalStore } from '../../state/approvals';
import type { OperationStore } from '../../state/operation-store';

export interface GateDeps {
  config: LanebotConfig;
  approvals: ApprovalStore;
  operations: OperationStore;
  narrator: ThreadNarrator;
  audit: AuditLog;
  clock: Clock;
  /** Brings an operation's waiting request job back now (its gate was decided). */
  resume(operationId: string): Promise<void>;
}
