// `/lane status [<lane>]`: what runs on a lane (or on every lane) of the service/env.
import { laneListText, laneStatusText } from '../src/chat/messages';
import { allowEveryone, ephemeral, parseOptionalLane, type Command } from './command';

export interface StatusArgs {
  lane?: string;
}

export const statusCommand: Command<StatusArgs> = {
  name: 'status',
  summary: 'show the latest deploy of a lane, with its stages (or of every lane)',
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
      return ephemeral(views.map((view) => laneStatusText(view, now)).join('\n\n'));
    }
    const view = await deps.lanes.get({ service, env, lane });
    if (!view) {
      return ephemeral(`Lane *${lane}* of ${service}/${env} has never been deployed. Deploy it with \`/lane deploy ${lane} <branch>\`.`);
    }
    return ephemeral(laneStatusText(view, now));
  },
};
