// `/lane deploy <lane> <branch>`: queue a deploy of a branch to a lane.
// The request is queued as one BullMQ job (src/jobs/deploy.job.ts), which admits it to the lane
// and starts the pipeline through the PipelinesPort (src/cloud/pipelines.port.ts).
//
// The "Deploy again" button on a failed, stopped or cancelled deploy (src/slack/messages.ts) ends up
// here too: `deployAgain` re-checks the click and calls the same `requestDeploy` as the command.
import { pipelineNameFor } from '../src/config';
import { newDeployId, type DeployRequest } from '../src/domain/deploy';
import { validateBranch, validateLane, type Scope } from '../src/domain/names';
import { DEPLOY_AGAIN_STATUSES } from '../src/slack/action-ids';
import { ephemeral, mention, type Command, type CommandContext, type CommandDeps, type Reply } from './command';

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

  acknowledge: queuingText,

  // The ack already told the user; only a failure to queue needs another message (thrown).
  async run(ctx, args, deps) {
    await requestDeploy(ctx, args, deps);
    return undefined;
  },
};

function queuingText(ctx: CommandContext, { lane, branch }: DeployArgs): string {
  return (
    `:inbox_tray: Queuing the deploy of \`${branch}\` to lane *${lane}* of ${ctx.scope.service}/${ctx.scope.env}. ` +
    'lanebot posts its progress in a thread in this channel.'
  );
}

/**
 * The use case both entry points share: queue a deploy of `branch` to `lane` of `ctx.scope`, requested
 * by `ctx.userId` in `ctx.channelId`. Callers have parsed and authorized the request already.
 * Throws QueueUnavailableError when Redis cannot take it.
 */
export async function requestDeploy(
  ctx: CommandContext,
  { lane, branch }: DeployArgs,
  deps: Pick<CommandDeps, 'config' | 'clock' | 'enqueueDeploy'>,
): Promise<DeployRequest> {
  const now = deps.clock.now();
  const request: DeployRequest = {
    id: newDeployId(now),
    service: ctx.scope.service,
    env: ctx.scope.env,
    lane,
    branch,
    pipeline: pipelineNameFor(deps.config, ctx.scope),
    requester: ctx.userId,
    channel: ctx.channelId,
    requestedAt: now,
  };
  await deps.enqueueDeploy(request);
  return request;
}

/** A click on "Deploy again": who clicked, where, and the deploy id the button's value names. */
export interface DeployAgainClick {
  userId: string;
  channelId: string;
  deployId: string;
}

export type DeployAgainOutcome = { kind: 'queued'; request: DeployRequest; reply: Reply } | { kind: 'refused'; reply: Reply };

const TYPE_INSTEAD = 'Type `/lane deploy <lane> <branch>` instead.';

/**
 * "Deploy again": the same service, env, lane and branch, for whoever clicked, exactly as if they had
 * typed `/lane deploy <lane> <branch>` in that channel. Only the deploy id comes from the payload;
 * the deploy is read from Redis, and the channel, the lane and branch, and the clicker's right to
 * deploy are all checked again. Refusals are values; a Redis or queue failure throws.
 */
export async function deployAgain(click: DeployAgainClick, deps: CommandDeps): Promise<DeployAgainOutcome> {
  const deploy = await deps.deploys.get(click.deployId);
  if (!deploy) {
    return refused(`That deploy is no longer known to lanebot (its record has expired or was removed). ${TYPE_INSTEAD}`);
  }
  // Say nothing about a deploy of another channel: the person clicking may not be able to see it.
  if (deploy.channel !== click.channelId) {
    return refused(`This button belongs to a deploy of another channel; lanebot deploys again only where the deploy was requested. ${TYPE_INSTEAD}`);
  }
  if (!DEPLOY_AGAIN_STATUSES.has(deploy.status)) {
    return refused(
      `The deploy of \`${deploy.branch}\` to lane *${deploy.lane}* has status ${deploy.status}; only failed, stopped or cancelled deploys ` +
        `are deployed again with this button. Type \`/lane deploy ${deploy.lane} ${deploy.branch}\` to deploy it once more.`,
    );
  }
  const scope: Scope = { service: deploy.service, env: deploy.env };
  if (!Object.hasOwn(deps.config.services, scope.service) || !Object.hasOwn(deps.config.environments, scope.env)) {
    return refused(`${scope.service}/${scope.env} is no longer in lanebot's configuration, so lanebot cannot deploy to it.`);
  }
  const parsed = deployCommand.parse([deploy.lane, deploy.branch], scope);
  if (!parsed.ok) return refused(`lanebot cannot deploy that again: ${parsed.problem}.`);
  const ctx: CommandContext = { userId: click.userId, channelId: click.channelId, scope };
  const auth = deployCommand.authorize(ctx, parsed.args, deps.config);
  if (!auth.allowed) return { kind: 'refused', reply: ephemeral(`:no_entry: ${auth.reason}`) };
  const request = await requestDeploy(ctx, parsed.args, deps);
  return { kind: 'queued', request, reply: ephemeral(queuingText(ctx, parsed.args)) };
}

function refused(text: string): DeployAgainOutcome {
  return { kind: 'refused', reply: ephemeral(`:warning: ${text}`) };
}
