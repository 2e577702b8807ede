// The Approve and Reject buttons of an approval request (the root message of a deploy to a protected
// environment; src/operations/gates/approval.gate.ts). The value names the operation only; the
// handlers read the request from Redis, ask the access policy whether the clicker approves there,
// refuse self-approval unless the environment allows it, and decide with one Lua script, so two
// approvers clicking at once make one decision. Reject asks for a reason in a modal
// (src/slack/actions/reject-deploy.ts).
import type { KnownBlock } from '@slack/web-api';
import { can } from '../../access/policy';
import { mention, mentionAll } from '../../access/mention';
import { OPERATION_ID, type OperationRecord } from '../../domain/operation';
import { approvedBy } from '../../state/approvals';
import type { ActionDeps, ButtonModule, Click, ClickOutcome } from './action';
import { decodeButtonValue, type DecodeResult } from './button-value';

export const APPROVE_DEPLOY_ACTION_ID = 'lane_approve_deploy';
export const REJECT_DEPLOY_ACTION_ID = 'lane_reject_deploy';

export interface ApprovalValue {
  v: 1;
  operationId: string;
}

export function decodeApprovalValue(raw: unknown): DecodeResult<ApprovalValue> {
  return decodeButtonValue(raw, 1, ({ operationId }) =>
    typeof operationId === 'string' && OPERATION_ID.test(operationId)
      ? { ok: true, value: { v: 1, operationId } }
      : { ok: false, problem: 'the value does not name a deploy' },
  );
}

/** The request's section in the root message: what is asked, by whom, the buttons while pending. */
export function approvalBlocks(op: OperationRecord, now: number): KnownBlock[] {
  const approval = op.approval;
  if (!approval) return [];
  const approvals = approvedBy(approval);
  const when = (at: number) => `<!date^${Math.floor(at / 1000)}^{time}|${new Date(at).toISOString().slice(11, 16)} UTC>`;
  const lines: string[] = [];
  switch (approval.state) {
    case 'pending': {
      const got = approval.required > 1 ? ` (${approvals.length} of ${approval.required} so far${approvals.length ? `: ${approvals.map((a) => mention(a.user)).join(', ')}` : ''})` : '';
      lines.push(`:raised_hand: *Approval needed*${got} from ${mentionAll(approval.approvers)} — expires ${when(approval.expiresAt)}.`);
      if (!approval.allowSelfApproval) lines.push(`${mention(op.requester)} asked for it and cannot approve it.`);
      break;
    }
    case 'approved':
      lines.push(`:white_check_mark: Approved by ${approvals.map((a) => `${mention(a.user)} at ${when(a.at)}`).join(', ')}.`);
      break;
    case 'rejected':
      lines.push(`:no_entry: Rejected by ${mention(approval.rejectedBy ?? '')}${approval.decidedAt ? ` at ${when(approval.decidedAt)}` : ''}: ${approval.reason ?? ''}`);
      break;
    case 'expired':
      lines.push(`:hourglass: The approval request expired at ${when(approval.expiresAt)}; nothing was started.`);
      break;
    case 'superseded':
      lines.push(':fast_forward: A newer deploy request to this lane replaced this one before it was approved; nothing was started.');
      break;
  }
  void now;
  const blocks: KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } }];
  if (approval.state === 'pending' && op.status === 'awaiting_approval') {
    const value = JSON.stringify({ v: 1, operationId: op.id });
    blocks.push({
      type: 'actions',
      block_id: 'approval',
      elements: [
        { type: 'button', action_id: APPROVE_DEPLOY_ACTION_ID, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value },
        { type: 'button', action_id: REJECT_DEPLOY_ACTION_ID, style: 'danger', text: { type: 'plain_text', text: 'Reject' }, value },
      ],
    });
  }
  return blocks;
}

export type ApprovalCheck = { ok: true; op: OperationRecord } | { ok: false; outcome: ClickOutcome };

/** What both buttons check before deciding: the request exists here, is pending, and the clicker may decide it. */
export async function checkApprover(click: Click<ApprovalValue>, deps: ActionDeps): Promise<ApprovalCheck> {
  const refused = (text: string, op?: OperationRecord): ApprovalCheck => ({
    ok: false,
    outcome: { outcome: 'refused', reply: text, detail: text, scope: op && { service: op.service, env: op.env, lane: op.lane, operationId: op.id } },
  });
  const op = await deps.operations.get(click.value.operationId);
  if (!op?.approval || op.channel !== click.channelId) return refused(':warning: That approval request is no longer known to lanebot (or belongs to another channel).');
  const approval = op.approval;
  if (approval.state !== 'pending' || op.status !== 'awaiting_approval') return refused(closedText(op), op);
  if (deps.clock.now() >= approval.expiresAt) return refused(`:hourglass: This approval request expired; nothing was started. Run \`${commandAgain(op)}\` again to ask anew.`, op);
  // Said first: whoever asked learns why their own click does not count, approver or not.
  if (!approval.allowSelfApproval && click.principal.userId === op.requester) {
    return refused(`:no_entry: You asked for this ${op.kind}, so you cannot approve it yourself: another approver (${mentionAll(approval.approvers)}) must.`, op);
  }
  const decision = can(click.principal, 'approve', { service: op.service, env: op.env, lane: op.lane }, deps.config);
  if (!decision.allowed) return refused(`:no_entry: ${decision.reason}`, op);
  return { ok: true, op };
}

/** The command that asks for the same operation again (deploy, promote, rollback, canary). */
function commandAgain(op: OperationRecord): string {
  switch (op.kind) {
    case 'promote':
      return `/lane promote ${op.params.from ?? '<lane>'}${op.lane === 'default' ? '' : ` --to ${op.lane}`}`;
    case 'canary':
      return `/lane promote ${op.params.from ?? '<lane>'} --canary`;
    case 'rollback':
      return `/lane rollback ${op.lane}`;
    default:
      return `/lane deploy ${op.lane} ${op.params.branch ?? '<branch>'}`;
  }
}

/** "the deploy of `release/1.2` to lane gray", "the canary of lane gray's release to lane default". */
function subjectText(op: OperationRecord): string {
  const to = `lane *${op.lane}* of ${op.service}/${op.env}`;
  switch (op.kind) {
    case 'promote':
    case 'canary':
      return `the ${op.kind} of lane *${op.params.from ?? '?'}*'s release to ${to}`;
    case 'rollback':
      return `the rollback of ${to} to release ${op.params.from ?? '?'}`;
    default:
      return `the ${op.kind} of \`${op.params.branch ?? ''}\` to ${to}`;
  }
}

/** What a click on a request that is no longer pending is told. */
export function closedText(op: OperationRecord): string {
  const approval = op.approval!;
  switch (approval.state) {
    case 'approved':
      return `:white_check_mark: This ${op.kind} was already approved by ${approvedBy(approval).map((a) => mention(a.user)).join(', ')}.`;
    case 'rejected':
      return `:no_entry: This ${op.kind} was already rejected by ${mention(approval.rejectedBy ?? '')}.`;
    case 'expired':
      return ':hourglass: This approval request expired; nothing was started.';
    case 'superseded':
      return `:fast_forward: A newer request to this lane replaced this ${op.kind}; approve that one instead.`;
    default:
      return `:warning: This ${op.kind} is ${op.status}; there is nothing to approve.`;
  }
}

export const approveDeployButton: ButtonModule<ApprovalValue> = {
  actionId: APPROVE_DEPLOY_ACTION_ID,
  name: 'approve_deploy',
  instead: 'the approval request in the deploy\'s thread',
  decode: decodeApprovalValue,

  async handle(click, deps): Promise<ClickOutcome> {
    const check = await checkApprover(click, deps);
    if (!check.ok) return check.outcome;
    const op = check.op;
    const scope = { service: op.service, env: op.env, lane: op.lane, operationId: op.id };
    const { outcome, state } = await deps.approvals.decide(op, 'approve', click.principal.userId);
    await deps.refreshThread(op.id);
    switch (outcome) {
      case 'approved':
        await deps.resume(op.id);
        return { outcome: 'accepted', reply: `:white_check_mark: Approved: ${subjectText(op)} starts now.`, detail: 'approved', scope };
      case 'counted':
        return { outcome: 'accepted', reply: `:white_check_mark: Your approval is counted; the ${op.kind} starts once enough approvers have approved.`, detail: 'approval counted', scope };
      case 'already':
        return { outcome: 'refused', reply: `:information_source: You approved this ${op.kind} already.`, detail: 'approved twice', scope };
      case 'expired':
        await deps.resume(op.id);
        return { outcome: 'refused', reply: ':hourglass: This approval request expired; nothing was started.', detail: 'expired', scope };
      default: {
        const fresh = (await deps.operations.get(op.id)) ?? op;
        return { outcome: 'refused', reply: fresh.approval ? closedText(fresh) : `:warning: This request is ${state}.`, detail: `closed (${state})`, scope };
      }
    }
  },
};
