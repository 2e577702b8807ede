// `/lane status [<lane>]`: what runs on a lane and its latest operation with its stages — or the
// same for the STATUS_LIMIT most recently active lanes, with how to see the others.
import { laneListText, laneStatusText } from '../src/chat/messages';
import { allowEveryone, ephemeral, fitReply, parseOptionalLane, type Command } from './command';

export interface StatusArgs {
  lane?: string;
}

/** Lanes shown in full by `/lane status` without a lane: each may list a dozen stages. */
export const STATUS_LIMIT = 10;

export const statusCommand: Command<StatusArgs> = {
  name: 'status',
  summary: 'show what a lane runs and its latest operation with its stages (or the most recently active lanes)',
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
      let text = recent.map((view) => laneStatusText(view, now)).join('\n\n');
      if (views.length > recent.length) {
        text += `\n\n… and ${views.length - recent.length} more lanes, less recently active: \`/lane status <lane>\` shows one, \`/lane list\` lists them all.`;
      }
      return ephemeral(fitReply(text, 'See one lane with `/lane status <lane>`.'));
    }
    const [view, awaiting] = await Promise.all([deps.lanes.get({ service, env, lane }), deps.approvals.pending(ctx.scope)]);
    const approvalLines = awaiting
      .filter((op) => op.lane === lane)
      .map((op) => `:raised_hand: Awaiting approval: \`${op.params.branch}\` asked by <@${op.requester}> (\`/lane approvals\` lists what waits)`);
    if (!view) {
      const never = `Lane *${lane}* of ${service}/${env} has never been deployed. Deploy it with \`/lane deploy ${lane} <branch>\`.`;
      return ephemeral([never, ...approvalLines].join('\n'));
    }
    return ephemeral(fitReply([laneStatusText(view, now), ...approvalLines].join('\n'), 'The stages are in the lane\'s thread.'));
  },
};
