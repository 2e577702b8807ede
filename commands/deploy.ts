// `/lane deploy <lane> <branch>`: queue a deploy of a branch to a lane.
// The request is queued as one BullMQ job (src/jobs/deploy.job.ts), which admits it to the lane
// and starts the pipeline through the PipelinesPort (src/cloud/pipelines.port.ts).
import { pipelineNameFor } from '../src/config';
import { newDeployId } from '../src/domain/deploy';
import { validateBranch, validateLane } from '../src/domain/names';
import { mention, type Command } from './command';

export interface DeployArgs {
  lane: string;
  branch: string;
}

export const deployCommand: Command<DeployArgs> = {
  name: 'deploy',
  summary: 'deploy a branch to a lane (queued behind a deploy already running on that lane)',
  usage: '/lane deploy <lane> <branch>',
  needsScope: true,

  parse(tokens, scope) {
    if (tokens.length < 2) return { ok: false, problem: tokens.length === 0 ? 'missing the lane and the branch' : 'missing the branch' };
    if (tokens.length > 2) return { ok: false, problem: `too many arguments (${tokens.length}); expected a lane and a branch` };
    const [lane, branch] = tokens as [string, string];
    const laneCheck = validateLane(lane, scope);
    if (!laneCheck.ok) return { ok: false, problem: laneCheck.problem };
    const branchCheck = validateBranch(branch);
    if (!branchCheck.ok) return { ok: false, problem: branchCheck.problem };
    return { ok: true, args: { lane, branch } };
  },

  authorize(ctx, _args, config) {
    const env = config.environments[ctx.scope.env];
    if (!env?.protected) return { allowed: true };
    // Approval requests are not built yet; until they are, a protected environment takes deploys
    // only from its approvers (listed by user id) rather than from anyone.
    if (env.approvers.includes(ctx.userId)) return { allowed: true };
    return {
      allowed: false,
      reason:
        `${ctx.scope.env} is a protected environment: deploys to it need an approver. ` +
        `Ask one of ${env.approvers.map(mention).join(', ')} to run this deploy.`,
    };
  },

  acknowledge(ctx, { lane, branch }) {
    return (
      `:inbox_tray: Queuing the deploy of \`${branch}\` to lane *${lane}* of ${ctx.scope.service}/${ctx.scope.env}. ` +
      'lanebot posts its progress in a thread in this channel.'
    );
  },

  // The ack already told the user; only a failure to queue needs another message (thrown).
  async run(ctx, { lane, branch }, deps) {
    const now = deps.clock.now();
    await deps.enqueueDeploy({
      id: newDeployId(now),
      service: ctx.scope.service,
      env: ctx.scope.env,
      lane,
      branch,
      pipeline: pipelineNameFor(deps.config, ctx.scope),
      requester: ctx.userId,
      channel: ctx.channelId,
      requestedAt: now,
    });
    return undefined;
  },
};
