// `/lane list [<text>]`: one line per lane of the service/env — its state, what it runs, how long it
// has been idle, when it expires (or that it is pending deletion) — at most LIST_LIMIT lanes,
// optionally those whose name contains <text>. A service with hundreds of lanes gets the first page
// and how to narrow it, never an answer Slack refuses. Expiry is worked out here, where the config
// is (domain/expiry.ts), from what the page read; the text function stays pure.
import { laneListText } from '../src/chat/messages';
import { laneExpiryState, type LaneExpiryState } from '../src/domain/expiry';
import { expiryWindowOf } from '../src/config';
import { allowEveryone, ephemeral, fitReply, type Command } from './command';

export interface ListArgs {
  contains?: string;
}

/** Lanes per answer: about 8,000 characters, easy to read, far below Slack's 40,000. */
export const LIST_LIMIT = 50;

export const listCommand: Command<ListArgs> = {
  name: 'list',
  summary: 'list the lanes of this service and environment (or those whose name contains <text>), with when each expires',
  usage: '/lane list [<text>]',
  needsScope: true,

  parse(tokens) {
    if (tokens.length > 1) return { ok: false, problem: `too many arguments (${tokens.length}); expected at most a part of a lane name` };
    const [contains] = tokens;
    if (contains === undefined) return { ok: true, args: {} };
    if (!/^[a-z0-9-]{1,63}$/.test(contains)) return { ok: false, problem: 'filter lanes with a part of a lane name: lowercase letters, digits and `-`' };
    return { ok: true, args: { contains } };
  },

  authorize: allowEveryone,

  async run(ctx, { contains }, deps) {
    const { service, env } = ctx.scope;
    const { views, total } = await deps.lanes.page(ctx.scope, { contains, limit: LIST_LIMIT });
    if (contains && total === 0) return ephemeral(`No lane of ${service}/${env} has \`${contains}\` in its name. \`/lane list\` shows them all.`);
    const expiries = new Map<string, LaneExpiryState>();
    for (const view of views) {
      const expiry = laneExpiryState(expiryWindowOf(deps.config, view), view);
      if (expiry) expiries.set(view.lane, expiry);
    }
    let text = laneListText(views, service, env, deps.clock.now(), expiries);
    if (contains) text = text.replace(`*Lanes of ${service}/${env}*`, `*Lanes of ${service}/${env} with \`${contains}\` in their name*`);
    if (total > views.length) {
      text += `\n… and ${total - views.length} more (${total} in all). Narrow the list with \`/lane list <part of a name>\`, or see one lane with \`/lane status <lane>\`.`;
    }
    return ephemeral(fitReply(text, 'Narrow it with `/lane list <part of a name>`.'));
  },
};
