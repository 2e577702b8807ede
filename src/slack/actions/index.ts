// Every button lanebot handles, and every modal they open. Adding one: write its module next to
// these and list it here.
import type { ButtonModule } from './action';
import { deleteLaneButton } from './delete-lane';
import { approveDeployButton } from './approve-deploy';
import { approvePipelineButton, rejectPipelineButton, rejectPipelineReason } from './pipeline-approval';
import type { ReasonModalModule } from './reason-modal';
import { deployAgainButton } from './deploy-again';
import { renewLaneButton, renewLaneLongButton } from './renew-lane';
import { rollBackButton } from './roll-back';
import { abortCanaryButton, pauseCanaryButton, promoteCanaryNowButton, resumeCanaryButton } from './canary-controls';
import { rejectDeployButton, rejectDeployReason } from './reject-deploy';

export const BUTTONS: readonly ButtonModule<never>[] = [deployAgainButton, deleteLaneButton, approveDeployButton, rejectDeployButton, approvePipelineButton, rejectPipelineButton, renewLaneButton, renewLaneLongButton, rollBackButton, pauseCanaryButton, resumeCanaryButton, promoteCanaryNowButton, abortCanaryButton] as unknown as ButtonModule<never>[];

/** Every reason modal a Reject button opens (reason-modal.ts). */
export const REASON_MODALS: readonly ReasonModalModule<never>[] = [rejectDeployReason, rejectPipelineReason] as unknown as ReasonModalModule<never>[];

/** Throws at start-up when two buttons share an action id. */
export function checkButtons(buttons: readonly ButtonModule<never>[] = BUTTONS): void {
  const ids = buttons.map((b) => b.actionId);
  const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
  if (repeated) throw new Error(`two buttons share the action id "${repeated}"`);
  for (const id of ids) if (!/^[a-z_]{1,255}$/.test(id)) throw new Error(`action id "${id}" is not within Slack's limits`);
}
