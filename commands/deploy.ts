// `/lane deploy <lane> <branch>`: queue a deploy of a branch to a lane.
// The request is queued as one BullMQ job; the operations runner (src/operations/runner.ts) admits
// it to the lane and runs the `deploy` kind (src/operations/kinds/deploy.kind.ts): the pipeline,
// then the release record.
//
// The "Deploy again" button (src/slack/actions/deploy-again.ts) calls the same `requestDeploy`.
import { can } from '../src/access/policy';
import { pipelineNameFor } from '../src/config';
import { QueueUnavailableError } from '../src/errors';
import { newOperationId, type OperationRequest } from '../src/domain/operation';
import { validateBranch, validateLane } from '../src/domain/names';
import { refusal, threadRefusal, type Command, type CommandContext, type CommandDeps } from './command';

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

  authorize: (ctx, { lane }, config) => can(ctx.principal, 'deploy', { ...ctx.scope, lane }, config),

  acknowledge: queuingText,

  // The ack already told the user; only a refusal or a failure to queue needs another message.
  async run(ctx, args, deps) {
    // Both reads at once: each is a Redis round trip on the way to the ack.
    const [deleting, cannotPost] = await Promise.all([
      laneBeingDeleted(ctx, args.lane, deps).catch((error: unknown) => {
        // The lane could not be read, so nothing will be queued either: say it the same way.
        throw new QueueUnavailableError(error);
      }),
      threadRefusal(ctx.channelId, deps),
    ]);
    if (deleting) return refusal(deleting);
    if (cannotPost) return cannotPost;
    await requestDeploy(ctx, args, deps);
    return undefined;
  },
};

export function queuingText(ctx: CommandContext, { lane, branch }: DeployArgs): string {
  return (
    `:inbox_tray: Queued the deploy of \`${branch}\` to lane *${lane}* of ${ctx.scope.service}/${ctx.scope.env}. ` +
    'lanebot posts its progress in a thread in this channel.'
  );
}

/** Why a deploy to `lane` is refused now (the lane is being deleted), or undefined. */
export async function laneBeingDeleted(ctx: CommandContext, lane: string, deps: Pick<CommandDeps, 'lanes'>): Promise<string | undefined> {
  if ((await deps.lanes.state({ ...ctx.scope, lane })) !== 'deleting') return undefined;
  return (
    `:no_entry: Nothing was queued: lane *${lane}* of ${ctx.scope.service}/${ctx.scope.env} is being deleted, so it takes no deploy. ` +
    `Once it is gone, \`/lane deploy ${lane} <branch>\` creates it afresh.`
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
  deps: Pick<CommandDeps, 'config' | 'clock' | 'enqueue'>,
): Promise<OperationRequest> {
  const now = deps.clock.now();
  const request: OperationRequest = {
    id: newOperationId(now),
    kind: 'deploy',
    service: ctx.scope.service,
    env: ctx.scope.env,
    lane,
    params: { branch, pipeline: pipelineNameFor(deps.config, ctx.scope) },
    requester: ctx.userId,
    channel: ctx.channelId,
    requestedAt: now,
  };
  await deps.enqueue(request);
  return request;
}
