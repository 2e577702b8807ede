// `/lane rollback <lane> [<n|tag|digest>]`: put an earlier release of the lane back, without a
// pipeline or a build (src/operations/kinds/release.kinds.ts). Without a selector: the release before
// the current one; `3`: the third newest (1 runs now); a tag or a digest (or a part of it): the newest
// release whose image has it. The "Roll back" button (src/slack/actions/roll-back.ts) calls the same
// `requestRollback`. Checked here from Redis (the ack path); the image's existence is checked by the
// operation, through the cloud.
import { can, type Principal } from '../src/access/policy';
import { newOperationId, type OperationRequest } from '../src/domain/operation';
import { validateLane, type LaneRef } from '../src/domain/names';
import { imageText } from '../src/cloud/image-uri';
import type { LaneRelease } from '../src/state/lane-registry';
import { ephemeral, refusal, threadRefusal, type Command, type CommandDeps } from './command';

export interface RollbackArgs {
  lane: string;
  /** A release number (1 = current), or a tag or digest to look for. */
  selector?: string;
}

export const rollbackCommand: Command<RollbackArgs> = {
  name: 'rollback',
  summary: 'put an earlier release of a lane back (no rebuild): the previous one, the n-th newest, or the one with a tag or digest',
  usage: '/lane rollback <lane> [<n|tag|digest>]',
  needsScope: true,

  parse(tokens, scope) {
    if (tokens.length === 0) return { ok: false, problem: 'missing the lane' };
    if (tokens.length > 2) return { ok: false, problem: `too many arguments (${tokens.length}); expected a lane and, optionally, which release` };
    const [lane, selector] = tokens as [string, string | undefined];
    const check = validateLane(lane, scope);
    if (!check.ok) return { ok: false, problem: check.problem };
    if (selector !== undefined && !/^[A-Za-z0-9_.:@-]{1,140}$/.test(selector)) {
      return { ok: false, problem: 'the release must be a number (2 = the one before the current), or an image tag or digest' };
    }
    return { ok: true, args: selector === undefined ? { lane } : { lane, selector } };
  },

  authorize: (ctx, { lane }, config) => can(ctx.principal, 'deploy', { ...ctx.scope, lane }, config),

  async run(ctx, { lane, selector }, deps) {
    const cannotPost = await threadRefusal(ctx.channelId, deps);
    if (cannotPost) return cannotPost;
    const result = await requestRollback(ctx.principal, ctx.channelId, { ...ctx.scope, lane }, selector, deps);
    return result.ok ? ephemeral(result.text) : refusal(result.problem);
  },
};

/** Picks the release to return to; a refusal names why none fits. */
export function chooseRelease(releases: LaneRelease[], selector: string | undefined): { ok: true; release: LaneRelease; number: number } | { ok: false; problem: string } {
  if (releases.length === 0) return { ok: false, problem: 'the lane has no release recorded yet' };
  if (selector === undefined) {
    const previous = releases.slice(1).find((r) => r.image && r.image !== releases[0]!.image);
    if (!previous) return { ok: false, problem: 'there is no earlier release that ran another image' };
    return { ok: true, release: previous, number: releases.indexOf(previous) + 1 };
  }
  if (/^\d{1,2}$/.test(selector)) {
    const n = Number(selector);
    const release = releases[n - 1];
    if (n < 1 || !release) return { ok: false, problem: `there is no release ${selector}: the lane has ${releases.length} (\`/lane releases <lane>\` lists them)` };
    return { ok: true, release, number: n };
  }
  const index = releases.findIndex((r) => r.image?.includes(selector));
  if (index < 0) return { ok: false, problem: `no release of the lane ran an image with \`${selector}\` (\`/lane releases <lane>\` lists them)` };
  return { ok: true, release: releases[index]!, number: index + 1 };
}

/** Checks and queues a rollback of `ref` for `principal` (the command and the button). */
export async function requestRollback(
  principal: Principal,
  channelId: string,
  ref: LaneRef,
  selector: string | undefined,
  deps: Pick<CommandDeps, 'config' | 'clock' | 'lanes' | 'enqueue'>,
): Promise<{ ok: true; text: string; request: OperationRequest } | { ok: false; problem: string }> {
  const decision = can(principal, 'deploy', ref, deps.config);
  if (!decision.allowed) return { ok: false, problem: `:no_entry: ${decision.reason}` };
  const [view, releases] = await Promise.all([deps.lanes.get(ref), deps.lanes.releases(ref)]);
  if (!view) return { ok: false, problem: `Lane *${ref.lane}* of ${ref.service}/${ref.env} does not exist: it was never deployed, or it was deleted.` };
  if (view.state === 'deleting') return { ok: false, problem: `Lane *${ref.lane}* is being deleted; nothing to roll back.` };
  const chosen = chooseRelease(releases, selector);
  if (!chosen.ok) return { ok: false, problem: `Cannot roll back lane *${ref.lane}*: ${chosen.problem}.` };
  const { release, number } = chosen;
  if (!release.image) return { ok: false, problem: `Cannot roll back lane *${ref.lane}*: release ${number} did not record its image.` };
  if (release.image === view.image) return { ok: false, problem: `Lane *${ref.lane}* already runs \`${imageText(release.image)}\` (release ${number}); nothing to do.` };
  const now = deps.clock.now();
  const request: OperationRequest = {
    id: newOperationId(now),
    kind: 'rollback',
    ...ref,
    params: { image: release.image, branch: release.branch, from: String(number), ...(view.image ? { replaced: view.image } : {}) },
    requester: principal.userId,
    channel: channelId,
    requestedAt: now,
  };
  await deps.enqueue(request);
  return { ok: true, request, text: `:rewind: Rolling lane *${ref.lane}* back to release ${number}: \`${imageText(release.image)}\`${release.branch ? ` (\`${release.branch}\`)` : ''}. lanebot posts its progress in a thread in this channel.` };
}
