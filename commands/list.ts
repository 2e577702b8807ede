// `/lane list`: one line per lane of the service/env.
import { laneListText } from '../src/chat/messages';
import { allowEveryone, ephemeral, type Command } from './command';

export const listCommand: Command<Record<string, never>> = {
  name: 'list',
  summary: 'list the lanes of this service and environment',
  usage: '/lane list',
  needsScope: true,

  parse(tokens) {
    if (tokens.length > 0) return { ok: false, problem: '`list` takes no arguments' };
    return { ok: true, args: {} };
  },

  authorize: allowEveryone,

  async run(ctx, _args, deps) {
    const views = await deps.lanes.list(ctx.scope);
    return ephemeral(laneListText(views, ctx.scope.service, ctx.scope.env, deps.clock.now()));
  },
};
