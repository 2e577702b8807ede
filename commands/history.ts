// `/lane history [<lane>]`: the latest audit entries of this channel's service/env (or of one lane):
// who did what, when, and how it ended — commands, clicks, and every status change of operations.
// Details are shown as recorded: lanebot's own texts (with mentions) and command text as Slack
// sent it (Slack escapes &, < and > in it, so it cannot mention anyone).
import type { AuditEntry } from '../src/audit/audit-log';
import { allowEveryone, ephemeral, parseOptionalLane, type Command } from './command';

export interface HistoryArgs {
  lane?: string;
}

/** Entries shown; Slack shows an ephemeral reply of this many lines comfortably. */
export const HISTORY_LIMIT = 25;

export const historyCommand: Command<HistoryArgs> = {
  name: 'history',
  summary: 'show who did what lately on this service and environment (or one lane), newest first',
  usage: '/lane history [<lane>]',
  needsScope: true,

  parse: parseOptionalLane,

  authorize: allowEveryone,

  async run(ctx, { lane }, deps) {
    const { service, env } = ctx.scope;
    const entries = await deps.audit.recent({ service, env, lane }, HISTORY_LIMIT);
    const what = lane ? `lane *${lane}* of ${service}/${env}` : `${service}/${env}`;
    if (entries.length === 0) return ephemeral(`Nothing recorded yet for ${what}.`);
    return ephemeral([`*History of ${what}* (newest first)`, ...entries.map(historyLine)].join('\n'));
  },
};

/** One line: when (in the reader's time zone), who, what, how it ended. */
export function historyLine(entry: AuditEntry): string {
  const seconds = Math.floor(entry.at / 1000);
  const fallback = new Date(entry.at).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  const when = `<!date^${seconds}^{date_short} {time}|${fallback}>`;
  const who = entry.actor === 'lanebot' ? 'lanebot' : `<@${entry.actor}>`;
  const [source, name] = entry.action.split(':', 2) as [string, string | undefined];
  const verb = source === 'command' ? `\`/lane ${name}\`` : source === 'click' ? `clicked *${name}*` : `${name ?? source}`;
  const lane = entry.lane && !entry.lane.startsWith('@') ? ` · lane ${entry.lane}` : '';
  const detail = entry.detail && entry.outcome !== 'accepted' ? ` — ${entry.detail.slice(0, 160)}` : '';
  return `• ${when} ${who} ${verb}${lane} → *${entry.outcome}*${detail}`;
}
