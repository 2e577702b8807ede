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
  /**
   * How often a waiting request looks again on its own (besides being brought back by a decision):
   * so an expiry is noticed on time whatever clock the bot runs on (the simulator's moves).
   */
  recheckMs: number;
  /** Brings an operation's waiting request job back now (its gate was decided). */
  resume(operationId: string): Promise<void>;
}
