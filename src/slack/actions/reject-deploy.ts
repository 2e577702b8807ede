// The Reject button of an approval request: it asks for the reason in a modal (views.open within
// Slack's 3-second trigger window, right after the click's ack), and the modal's submission
// (`view_submission`, callback REJECT_REASON_CALLBACK_ID, handled in src/slack/slack-app.ts) rejects
// the deploy with it. Both steps check the request and the clicker again.
import type { ModalView } from '@slack/web-api';
import type { OperationRecord } from '../../domain/operation';
import type { ButtonModule, ClickOutcome } from './action';
import { askForReason, reasonModal, type ReasonModalModule } from './reason-modal';
import { checkApprover, decodeApprovalValue, REJECT_DEPLOY_ACTION_ID, type ApprovalValue } from './approve-deploy';

export const REJECT_REASON_CALLBACK_ID = 'lane_reject_reason';

export function rejectModal(op: OperationRecord): ModalView {
  return reasonModal({
    callbackId: REJECT_REASON_CALLBACK_ID,
    metadata: { v: 1, operationId: op.id },
    title: 'Reject the deploy',
    question: `Reject the ${op.kind} of \`${op.params.branch}\` to lane *${op.lane}* of ${op.service}/${op.env}, asked for by <@${op.requester}>? The reason goes into the thread and the audit log.`,
  });
}

export const rejectDeployButton: ButtonModule<ApprovalValue> = {
  actionId: REJECT_DEPLOY_ACTION_ID,
  name: 'reject_deploy',
  instead: 'the approval request in the deploy\'s thread',
  decode: decodeApprovalValue,

  async handle(click, deps): Promise<ClickOutcome> {
    const check = await checkApprover(click, deps);
    if (!check.ok) return check.outcome;
    const op = check.op;
    return askForReason(click, deps, rejectModal(op), { service: op.service, env: op.env, lane: op.lane, operationId: op.id });
  },
};

/** The reason modal's submission: re-check the approver, then reject. */
export const rejectDeployReason: ReasonModalModule<ApprovalValue> = {
  callbackId: REJECT_REASON_CALLBACK_ID,
  name: 'reject_deploy',
  // The same small value the buttons carry: the operation id, nothing else trusted.
  decode: decodeApprovalValue,

  async submit(value, reason, principal, deps) {
    const op = await deps.operations.get(value.operationId);
    const check = await checkApprover({ principal, channelId: op?.channel ?? '', value }, deps);
    if (!check.ok) return check.outcome;
    const about = { service: check.op.service, env: check.op.env, lane: check.op.lane, operationId: check.op.id };
    const { outcome } = await deps.approvals.decide(check.op, 'reject', principal.userId, reason);
    if (outcome !== 'rejected') return { outcome: 'refused', reply: 'Someone decided this deploy first (or it expired); see its thread.', detail: `not rejected (${outcome})`, scope: about };
    await deps.refreshThread(check.op.id);
    await deps.resume(check.op.id);
    return { outcome: 'accepted', detail: `rejected: ${reason}`, scope: about };
  },
};
