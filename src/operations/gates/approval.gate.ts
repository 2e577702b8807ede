// The approval gate of protected environments (and any environment with `approval:` settings): a
// deploy there waits for `requiredApprovals` approvers before it is admitted to its lane. The request
// is shown in the thread's root message (approvers mentioned in a reply, which notifies them) with
// Approve and Reject buttons (src/slack/actions/approve-deploy.ts, reject-deploy.ts). It expires after
// `approvalTimeout`; a newer request for the same lane supersedes it. Nothing starts before approval.
import { mentionAll } from '../../access/mention';
import { approvalGateOf } from '../../config';
import type { ApprovalState } from '../../domain/operation';
import type { OperationGate } from '../registry';

export const approvalGate: OperationGate = {
  name: 'approval',

  async open(op, deps) {
    if (op.approval) return 'opened';
    const settings = approvalGateOf(deps.config, op.env);
    if (!settings) return 'none';
    const now = deps.clock.now();
    const approval: ApprovalState = {
      state: 'pending',
      required: settings.requiredApprovals,
      allowSelfApproval: settings.allowSelfApproval,
      approvers: deps.config.environments[op.env]?.approvers ?? [],
      approvedBy: [],
      requestedAt: now,
      expiresAt: now + settings.approvalTimeout,
    };
    const { opened, supersededId } = await deps.approvals.open(op, approval);
    if (!opened) return 'opened';
    await deps.audit.record({ at: now, actor: op.requester, action: `operation:${op.kind}`, outcome: 'awaiting_approval', service: op.service, env: op.env, lane: op.lane, operationId: op.id, channel: op.channel });
    const needed = approval.required > 1 ? `${approval.required} approvals` : 'an approval';
    await deps.narrator.say(op.id, 'approval_requested', {
      kind: 'note',
      text: `:raised_hand: ${mentionAll(approval.approvers)}: this ${op.kind} to *${op.env}* needs ${needed} before it starts. Approve or reject it with the buttons above.`,
    });
    await deps.narrator.refreshRoot(op.id);
    // The older request's own job wakes up, finds it superseded and ends it (its thread says so).
    if (supersededId) await deps.resume(supersededId);
    return 'opened';
  },

  async check(op, deps) {
    const approval = op.approval;
    if (!approval) return { kind: 'pass' };
    const now = deps.clock.now();
    switch (approval.state) {
      case 'approved':
        return { kind: 'pass' };
      case 'rejected':
        return { kind: 'end', status: 'rejected', patch: { error: approval.reason } };
      case 'expired':
        return { kind: 'end', status: 'expired' };
      case 'superseded':
        return { kind: 'end', status: 'superseded', patch: { supersededBy: approval.supersededBy } };
      case 'pending': {
        if (now < approval.expiresAt) return { kind: 'wait', inMs: Math.min(approval.expiresAt - now, deps.recheckMs) };
        const { state } = await deps.approvals.decide(op, 'expire', 'lanebot', now);
        return state === 'pending' ? { kind: 'wait', inMs: 1000 } : this.check((await deps.operations.get(op.id)) ?? op, deps);
      }
    }
  },
};
