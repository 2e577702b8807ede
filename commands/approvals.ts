// `/lane approvals`: the deploys of this service/env that wait for an approval, soonest to expire
// first — what an approver looks at before opening the threads to decide.
import { mention, mentionAll } from '../src/access/mention';
import { approvedBy } from '../src/state/approvals';
import { allowEveryone, ephemeral, fitReply, parseNoArgs, type Command } from './command';

export const approvalsCommand: Command<Record<string, never>> = {
  name: 'approvals',
  summary: 'list the deploys of this service and environment that wait for an approval',
  usage: '/lane approvals',
  needsScope: true,
  parse: parseNoArgs('approvals'),
  authorize: allowEveryone,

  async run(ctx, _args, deps) {
    const { service, env } = ctx.scope;
    const pending = await deps.approvals.pending(ctx.scope);
    if (pending.length === 0) return ephemeral(`No deploy of ${service}/${env} waits for an approval.`);
    const lines = pending.map((op) => {
      const approval = op.approval!;
      const expires = `<!date^${Math.floor(approval.expiresAt / 1000)}^{date_short_pretty} {time}|${new Date(approval.expiresAt).toISOString()}>`;
      const got = approval.required > 1 ? ` · ${approvedBy(approval).length} of ${approval.required} approvals` : '';
      // slack.com/archives links open the message in whichever workspace the reader is signed in to.
      const thread = op.rootTs && /^\d+\.\d+$/.test(op.rootTs) ? ` (<https://slack.com/archives/${op.channel}/p${op.rootTs.replace('.', '')}|thread>)` : '';
      return `• lane *${op.lane}* ← \`${op.params.branch}\` asked by ${mention(op.requester)} in <#${op.channel}>${thread}${got} · expires ${expires} · approvers ${mentionAll(approval.approvers)}`;
    });
    return ephemeral(fitReply([`*Deploys of ${service}/${env} waiting for approval* (approve or reject in their threads)`, ...lines].join('\n'), 'Open the threads for the rest.'));
  },
};
