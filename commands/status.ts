// `/lane status [<lane>]`: what runs on a lane and its latest operation with its stages — or the
// same for the STATUS_LIMIT most recently active lanes, with how to see the others. That first
// answer comes from Redis alone, fast. The lanes' health (ECS service, targets, alarms) needs AWS,
// so it follows as a second message: a worker reads it through the ports and posts it to the
// command's response_url (src/chat/lane-health-report.job.ts).
import { laneListText, laneStatusText } from '../src/chat/messages';
import { laneExpiryState } from '../src/domain/expiry';
import { expiryWindowOf } from '../src/config';
import { imageText } from '../src/cloud/image-uri';
import { releaseLine } from './releases';
import { allowEveryone, ephemeral, fitReply, parseOptionalLane, type Command, type CommandContext, type CommandDeps, type Reply } from './command';

export interface StatusArgs {
  lane?: string;
}

/** Lanes shown in full by `/lane status` without a lane: each may list a dozen stages. */
export const STATUS_LIMIT = 10;

export const statusCommand: Command<StatusArgs> = {
  name: 'status',
  summary:
    'show what a lane runs and its latest operation with its stages (or the most recently active lanes); ' +
    'their target health and alarm states follow in a second message',
  usage: '/lane status [<lane>]',
  needsScope: true,

  parse: parseOptionalLane,

  authorize: allowEveryone,

  async run(ctx, { lane }, deps) {
    const now = deps.clock.now();
    const { service, env } = ctx.scope;
    if (lane === undefined) {
      const views = await deps.lanes.list(ctx.scope);
      if (views.length === 0) return ephemeral(laneListText(views, service, env, now));
      const recent = [...views].sort((a, b) => (b.lastActivityAt ?? 0) - (a.lastActivityAt ?? 0)).slice(0, STATUS_LIMIT);
      let text = recent.map((view) => laneStatusText(view, now, laneExpiryState(expiryWindowOf(deps.config, view), view))).join('\n\n');
      if (views.length > recent.length) {
        text += `\n\n… and ${views.length - recent.length} more lanes, less recently active: \`/lane status <lane>\` shows one, \`/lane list\` lists them all.`;
      }
      return withHealthFollowUp(fitReply(text, 'See one lane with `/lane status <lane>`.'), ctx, recent.map((view) => view.lane), deps);
    }
    const [view, awaiting, releases] = await Promise.all([deps.lanes.get({ service, env, lane }), deps.approvals.pending(ctx.scope), deps.lanes.releases({ service, env, lane })]);
    const approvalLines = awaiting
      .filter((op) => op.lane === lane)
      .map((op) => `:raised_hand: Awaiting approval: \`${op.params.branch}\` asked by <@${op.requester}> (\`/lane approvals\` lists what waits)`);
    if (!view) {
      // Nothing was ever deployed there: no service, targets or alarms to read, so no follow-up.
      const never = `Lane *${lane}* of ${service}/${env} has never been deployed, so it has no health to show. Deploy it with \`/lane deploy ${lane} <branch>\`.`;
      return ephemeral([never, ...approvalLines].join('\n'));
    }
    // The current release, and what it replaced (what a rollback would return to).
    const current = releases[0];
    const releaseLines = current
      ? [`Current release: ${releaseLine(current, 0).replace(/^1\. /, '')}${current.replaced ? ` · replaced \`${imageText(current.replaced)}\`` : ''} (\`/lane releases ${lane}\` lists them)`]
      : [];
    const text = fitReply([laneStatusText(view, now, laneExpiryState(expiryWindowOf(deps.config, view), view)), ...releaseLines, ...approvalLines].join('\n'), 'The stages are in the lane\'s thread.');
    return withHealthFollowUp(text, ctx, [lane], deps);
  },
};

/**
 * The first answer, with the lanes' health queued to follow it. When it cannot be queued the first
 * answer still comes, and says so (the health is a bonus; the status is what was asked).
 */
async function withHealthFollowUp(text: string, ctx: CommandContext, lanes: string[], deps: CommandDeps): Promise<Reply> {
  // Outside a slash command there is nowhere to post a follow-up.
  if (!ctx.responseUrl) return ephemeral(text);
  try {
    const queued = await deps.queueLaneHealth({ responseUrl: ctx.responseUrl, userId: ctx.userId, service: ctx.scope.service, env: ctx.scope.env, lanes });
    const note = lanes.length === 1 ? '_Its target health and alarm states follow in a moment._' : '_Their target health and alarm states follow in a moment._';
    return { ...ephemeral(`${text}\n${note}`), afterDelivery: () => queued.release() };
  } catch {
    // Redis answered the status a moment ago, so this is a blip: say what is missing, not why.
    return ephemeral(`${text}\n_Target health and alarm states could not be queued for reading (lanebot's Redis did not take it); run the command again in a minute._`);
  }
}
