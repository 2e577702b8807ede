// The Reject button of an approval request: it asks for the reason in a modal (views.open within
// Slack's 3-second trigger window, right after the click's ack), and the modal's submission
// (`view_submission`, callback REJECT_REASON_CALLBACK_ID, handled in src/slack/slack-app.ts) rejects
// the deploy with it. Both steps check the request and the clicker again.
import type { ModalView } from '@slack/web-api';
import { OPERATION_ID, type OperationRecord } from '../../domain/operation';
import type { ButtonModule, ClickOutcome } from './action';
import { checkApprover, decodeApprovalValue, REJECT_DEPLOY_ACTION_ID, type ApprovalValue } from './approve-deploy';

export const REJECT_REASON_CALLBACK_ID = 'lane_reject_reason';
/** The modal's input: its block id and action id. */
export const REASON_BLOCK = 'reason';
export const MAX_REASON_LENGTH = 500;

export function rejectModal(op: OperationRecord): ModalView {
  return {
    type: 'modal',
    callback_id: REJECT_REASON_CALLBACK_ID,
    private_metadata: JSON.stringify({ v: 1, operationId: op.id }),
    title: { type: 'plain_text', text: 'Reject the deploy' },
    submit: { type: 'plain_text', text: 'Reject' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `Reject the deploy of \`${op.params.branch}\` to lane *${op.lane}* of ${op.service}/${op.env}, asked for by <@${op.requester}>? The reason goes into the thread and the audit log.` },
      },
      {
        type: 'input',
        block_id: REASON_BLOCK,
        label: { type: 'plain_text', text: 'Reason' },
        element: { type: 'plain_text_input', action_id: REASON_BLOCK, multiline: true, max_length: MAX_REASON_LENGTH },
      },
    ],
  };
}

/** The operation a reject modal is about, read back from its private_metadata (never trusted beyond the id). */
export function decodeRejectMetadata(raw: unknown): ApprovalValue | undefined {
  if (typeof raw !== 'string' || raw.length > 3000) return undefined;
  try {
    const parsed = JSON.parse(raw) as { v?: unknown; operationId?: unknown };
    return parsed.v === 1 && typeof parsed.operationId === 'string' && OPERATION_ID.test(parsed.operationId) ? { v: 1, operationId: parsed.operationId } : undefined;
  } catch {
    return undefined;
  }
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
    const scope = { service: op.service, env: op.env, lane: op.lane, operationId: op.id };
    if (!click.triggerId) return { outcome: 'refused', reply: ':warning: Slack sent this click without a trigger, so lanebot cannot ask for a reason; click Reject again.', scope };
    try {
      await deps.openModal(click.triggerId, rejectModal(op));
    } catch (error) {
      // The trigger lives 3 seconds; a slow moment anywhere can miss it.
      const text = ':warning: Slack did not let lanebot open the reason dialog in time; click Reject again.';
      return { outcome: 'refused', reply: text, detail: `views.open failed: ${(error as Error).message}`.slice(0, 200), scope };
    }
    return { outcome: 'accepted', detail: 'asked for the reason', scope };
  },
};
