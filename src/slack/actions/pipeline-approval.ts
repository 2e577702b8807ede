// Approve and Reject of a pipeline's manual-approval action (CodePipeline's own approval stage), on
// the deploy's root message while the execution waits there. A click records the decision in Redis
// (only if that very approval still waits: its token) and wakes the operation; its pipeline step
// sends it to CodePipeline (PutApprovalResult), so no AWS call is made from a click. Reject asks for
// a reason in a modal first (REJECT_PIPELINE_REASON_CALLBACK_ID, handled in src/slack/slack-app.ts).
import type { KnownBlock, ModalView } from '@slack/web-api';
import { askForReason, reasonModal, type ReasonModalModule } from './reason-modal';
import { mention } from '../../access/mention';
import { can } from '../../access/policy';
import { approvalGateOf } from '../../config';
import { OPERATION_ID, type OperationRecord } from '../../domain/operation';
import type { ActionDeps, ButtonModule, Click, ClickOutcome } from './action';
import { decodeButtonValue, type DecodeResult } from './button-value';

export const APPROVE_PIPELINE_ACTION_ID = 'lane_approve_pipeline';
export const REJECT_PIPELINE_ACTION_ID = 'lane_reject_pipeline';
export const REJECT_PIPELINE_REASON_CALLBACK_ID = 'lane_reject_pipeline_reason';

export interface PipelineApprovalValue {
  v: 1;
  operationId: string;
  token: string;
}

const TOKEN = /^[A-Za-z0-9-]{1,128}$/;

export function decodePipelineApprovalValue(raw: unknown): DecodeResult<PipelineApprovalValue> {
  return decodeButtonValue(raw, 1, ({ operationId, token }) =>
    typeof operationId === 'string' && OPERATION_ID.test(operationId) && typeof token === 'string' && TOKEN.test(token)
      ? { ok: true, value: { v: 1, operationId, token } }
      : { ok: false, problem: 'the value does not name a pipeline approval' },
  );
}

/** The root message's section while the pipeline waits at a manual approval (and how it ended). */
export function pipelineApprovalBlocks(op: OperationRecord): KnownBlock[] {
  const approval = op.pipelineApproval;
  if (!approval) return [];
  const where = `*${approval.stageName}* of \`${op.params.pipeline}\``;
  switch (approval.state) {
    case 'pending': {
      const value = JSON.stringify({ v: 1, operationId: op.id, token: approval.token });
      const expires = approval.expiresAt ? ` — expires <!date^${Math.floor(approval.expiresAt / 1000)}^{date_short_pretty} {time}|${new Date(approval.expiresAt).toISOString()}>` : '';
      return [
        { type: 'section', text: { type: 'mrkdwn', text: `:raised_hand: The pipeline waits for a manual approval at ${where}${expires}.` } },
        {
          type: 'actions',
          block_id: 'pipeline_approval',
          elements: [
            { type: 'button', action_id: APPROVE_PIPELINE_ACTION_ID, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value },
            { type: 'button', action_id: REJECT_PIPELINE_ACTION_ID, style: 'danger', text: { type: 'plain_text', text: 'Reject' }, value },
          ],
        },
      ];
    }
    case 'deciding':
      return [{ type: 'section', text: { type: 'mrkdwn', text: `:hourglass_flowing_sand: Sending ${mention(approval.decision?.by ?? '')}'s decision on ${where} to CodePipeline…` } }];
    case 'approved':
    case 'rejected':
      return [{ type: 'section', text: { type: 'mrkdwn', text: `${approval.state === 'approved' ? ':white_check_mark:' : ':no_entry:'} ${where} ${approval.state} by ${mention(approval.decision?.by ?? '')}.` } }];
    case 'decided-elsewhere':
      return [{ type: 'section', text: { type: 'mrkdwn', text: `:information_source: ${where} was ${approval.elsewhere ?? 'decided'} outside Slack.` } }];
  }
}

export function rejectPipelineModal(op: OperationRecord, token: string): ModalView {
  return reasonModal({
    callbackId: REJECT_PIPELINE_REASON_CALLBACK_ID,
    metadata: { v: 1, operationId: op.id, token },
    title: 'Reject the approval',
    question: `Reject *${op.pipelineApproval?.stageName ?? 'the approval'}* of \`${op.params.pipeline}\` for lane *${op.lane}*? CodePipeline stops the execution there.`,
  });
}

/** Both buttons: the approval still waits with this token, and the clicker may decide it. */
export async function checkPipelineApprover(click: Click<PipelineApprovalValue>, deps: ActionDeps): Promise<{ ok: true; op: OperationRecord } | { ok: false; outcome: ClickOutcome }> {
  const refuse = (text: string, op?: OperationRecord) => ({
    ok: false as const,
    outcome: { outcome: 'refused' as const, reply: text, detail: text, scope: op && { service: op.service, env: op.env, lane: op.lane, operationId: op.id } },
  });
  const op = await deps.operations.get(click.value.operationId);
  if (!op || op.channel !== click.channelId) return refuse(':warning: That pipeline approval is no longer known to lanebot (or belongs to another channel).');
  const approval = op.pipelineApproval;
  if (!approval || approval.token !== click.value.token || approval.state !== 'pending') {
    return refuse(':information_source: This pipeline approval was already decided (here or in the AWS console); the thread says how.', op);
  }
  const gate = approvalGateOf(deps.config, op.env);
  if (gate && !gate.allowSelfApproval && click.principal.userId === op.requester) {
    return refuse(':no_entry: You asked for this deploy, so you cannot approve its pipeline yourself: another approver must.', op);
  }
  const decision = can(click.principal, 'approve', { service: op.service, env: op.env, lane: op.lane }, deps.config);
  if (!decision.allowed) return refuse(`:no_entry: ${decision.reason}`, op);
  return { ok: true, op };
}

/** Records the decision and wakes the operation; what the clicker is told. */
export async function decidePipelineApproval(op: OperationRecord, token: string, approved: boolean, by: string, deps: ActionDeps, reason?: string): Promise<ClickOutcome> {
  const scope = { service: op.service, env: op.env, lane: op.lane, operationId: op.id };
  const state = await deps.approvals.decidePipeline(op, token, { approved, by, reason, at: deps.clock.now() });
  if (state !== 'deciding') return { outcome: 'refused', reply: ':information_source: This pipeline approval was already decided; the thread says how.', detail: `already ${state}`, scope };
  await deps.refreshThread(op.id);
  await deps.resume(op.id);
  return { outcome: 'accepted', reply: `${approved ? ':white_check_mark: Approved' : ':no_entry: Rejected'}: lanebot sends it to CodePipeline now; the thread says when it is done.`, detail: approved ? 'pipeline approved' : `pipeline rejected: ${reason ?? ''}`, scope };
}

export const approvePipelineButton: ButtonModule<PipelineApprovalValue> = {
  actionId: APPROVE_PIPELINE_ACTION_ID,
  name: 'approve_pipeline',
  instead: 'the approval in the AWS console',
  decode: decodePipelineApprovalValue,
  async handle(click, deps) {
    const check = await checkPipelineApprover(click, deps);
    if (!check.ok) return check.outcome;
    return decidePipelineApproval(check.op, click.value.token, true, click.principal.userId, deps);
  },
};

export const rejectPipelineButton: ButtonModule<PipelineApprovalValue> = {
  actionId: REJECT_PIPELINE_ACTION_ID,
  name: 'reject_pipeline',
  instead: 'the approval in the AWS console',
  decode: decodePipelineApprovalValue,
  async handle(click, deps) {
    const check = await checkPipelineApprover(click, deps);
    if (!check.ok) return check.outcome;
    const op = check.op;
    return askForReason(click, deps, rejectPipelineModal(op, click.value.token), { service: op.service, env: op.env, lane: op.lane, operationId: op.id });
  },
};

/** The reason modal's submission: re-check the approver, then record the rejection for CodePipeline. */
export const rejectPipelineReason: ReasonModalModule<PipelineApprovalValue> = {
  callbackId: REJECT_PIPELINE_REASON_CALLBACK_ID,
  name: 'reject_pipeline',
  decode: decodePipelineApprovalValue,

  async submit(value, reason, principal, deps) {
    const op = await deps.operations.get(value.operationId);
    const check = await checkPipelineApprover({ principal, channelId: op?.channel ?? '', value }, deps);
    if (!check.ok) return check.outcome;
    return decidePipelineApproval(check.op, value.token, false, principal.userId, deps, reason);
  },
};
