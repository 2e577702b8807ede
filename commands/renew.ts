// `/lane renew <lane> [<duration>]`: keep an idle lane from being deleted. Without a duration the lane
// gets the environment's `deleteAfter` (7 days) from now; a duration may reach `expiry.maxRenewal`
// (30 days). A lane warned that it is about to be deleted is no longer pending deletion, and its
// prompt says who renewed it until when. The Renew buttons of the prompt (src/slack/actions/renew-lane.ts)
// call the same `renewLane`. Redis only: the ack carries the answer.
import { can, type Principal } from '../src/access/policy';
import { parseDuration } from '../src/config';
import { validateLane, type LaneRef } from '../src/domain/names';
import { ephemeral, refusal, type Command, type CommandDeps } from './command';

export interface RenewArgs {
  lane: string;
  durationMs?: number;
}

export const renewCommand: Command<RenewArgs> = {
  name: 'renew',
  summary: 'keep an idle lane from being deleted: renew it for the environment\'s expiry.deleteAfter, or for <duration> (at most expiry.maxRenewal)',
  usage: '/lane renew <lane> [<duration>]',
  needsScope: true,

  parse(tokens, scope) {
    if (tokens.length === 0) return { ok: false, problem: 'missing the lane' };
    if (tokens.length > 2) return { ok: false, problem: `too many arguments (${tokens.length}); expected a lane and, optionally, a duration such as 14d` };
    const [lane, duration] = tokens as [string, string | undefined];
    const laneCheck = validateLane(lane, scope);
    if (!laneCheck.ok) return { ok: false, problem: laneCheck.problem };
    if (duration === undefined) return { ok: true, args: { lane } };
    const durationMs = parseDuration(duration);
    if (durationMs === undefined || durationMs === 0) return { ok: false, problem: `"${duration}" is not a duration; write a whole number and a unit: 12h, 7d or 30d` };
    return { ok: true, args: { lane, durationMs } };
  },

  authorize: (ctx, { lane }, config) => can(ctx.principal, 'deploy', { ...ctx.scope, lane }, config),

  async run(ctx, { lane, durationMs }, deps) {
    const result = await renewLane(ctx.principal, { ...ctx.scope, lane }, durationMs, deps);
    if (!result.ok) return refusal(result.problem);
    return ephemeral(result.text);
  },
};

/** Renews the lane for `principal` if they may deploy to it (the command and the buttons). */
export async function renewLane(
  principal: Principal,
  ref: LaneRef,
  durationMs: number | undefined,
  deps: Pick<CommandDeps, 'config' | 'renewLane'>,
): Promise<{ ok: true; text: string; until: number } | { ok: false; problem: string }> {
  const decision = can(principal, 'deploy', ref, deps.config);
  if (!decision.allowed) return { ok: false, problem: `:no_entry: ${decision.reason}` };
  const result = await deps.renewLane(ref, principal.userId, durationMs);
  if (!result.ok) return { ok: false, problem: `:warning: ${result.problem}` };
  return { ok: true, text: result.text, until: result.until };
}
