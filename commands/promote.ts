// `/lane promote <lane> [--to <lane>] [--canary | --no-canary]`: put the image a lane runs, proven
// there, on `default` (the baseline every untagged request reaches), or on the lane `--to` names — the
// very image, no rebuild (src/operations/kinds/release.kinds.ts). With `--canary` (or where the
// environment sets `canary: true`, unless `--no-canary`), default gets it progressively: a canary
// takes default's traffic in steps, each checked (src/operations/kinds/canary.kind.ts). Refused from
// Redis alone (the ack path) when the source has no healthy release or the target runs that image
// already; the operation checks the image still exists in its registry.
import { can } from '../src/access/policy';
import { canarySettingsOf } from '../src/config';
import { thresholdsText } from '../src/chat/canary-messages';
import { DEFAULT_LANE, validateLane } from '../src/domain/names';
import { newOperationId, type OperationRequest } from '../src/domain/operation';
import { imageText } from '../src/cloud/image-uri';
import { ephemeral, refusal, threadRefusal, type Command } from './command';

export interface PromoteArgs {
  from: string;
  to: string;
  /** `--canary` (true), `--no-canary` (false), or neither (the environment's `canary.byDefault`). */
  canary?: boolean;
}

export const promoteCommand: Command<PromoteArgs> = {
  name: 'promote',
  summary: 'put the image a lane runs on default (or on the lane --to names): the tested image, no rebuild',
  usage: '/lane promote <lane> [--to <lane>] [--canary | --no-canary]',
  needsScope: true,
  options: ['to', 'canary', 'no-canary'],

  parse(tokens, scope) {
    const rest: string[] = [];
    let to: string | undefined;
    let canary: boolean | undefined;
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      const lower = token.toLowerCase();
      if (lower === '--canary' || lower === '--no-canary') {
        const wanted = lower === '--canary';
        if (canary !== undefined) return { ok: false, problem: canary === wanted ? `\`${lower}\` is given twice` : '`--canary` and `--no-canary` cannot both be given' };
        canary = wanted;
        continue;
      }
      if (lower === '--to' || lower.startsWith('--to=')) {
        if (to !== undefined) return { ok: false, problem: '`--to` is given twice' };
        to = lower === '--to' ? tokens[++i] : token.slice(5);
        if (!to) return { ok: false, problem: '`--to` needs a lane' };
        continue;
      }
      rest.push(token);
    }
    if (rest.length === 0) return { ok: false, problem: 'missing the lane to promote' };
    if (rest.length > 1) return { ok: false, problem: `too many arguments (${rest.length}); expected one lane (and --to <lane>)` };
    const from = rest[0]!;
    const target = to ?? DEFAULT_LANE;
    for (const lane of [from, target]) {
      const check = validateLane(lane, scope);
      if (!check.ok) return { ok: false, problem: check.problem };
    }
    if (from === target) return { ok: false, problem: `lane *${from}* cannot be promoted to itself` };
    if (canary && target !== DEFAULT_LANE) {
      return { ok: false, problem: `a canary moves lane default's untagged traffic, so \`--canary\` promotes to default only; drop \`--to ${target}\` or \`--canary\`` };
    }
    return { ok: true, args: { from, to: target, ...(canary !== undefined ? { canary } : {}) } };
  },

  // Promoting changes the target lane: who may deploy there may promote to it.
  authorize: (ctx, { to }, config) => can(ctx.principal, 'deploy', { ...ctx.scope, lane: to }, config),

  async run(ctx, { from, to, canary: asked }, deps) {
    const scope = ctx.scope;
    const [source, target, releases] = await Promise.all([
      deps.lanes.get({ ...scope, lane: from }),
      deps.lanes.get({ ...scope, lane: to }),
      deps.lanes.releases({ ...scope, lane: from }),
    ]);
    if (!source) return refusal(`Lane *${from}* of ${scope.service}/${scope.env} does not exist: there is nothing to promote.`);
    if (!target) return refusal(`Lane *${to}* of ${scope.service}/${scope.env} has never been deployed: deploy it once (its stack is what a promote updates), then promote.`);
    if (target.state === 'deleting') return refusal(`Lane *${to}* is being deleted; nothing can be promoted to it.`);
    const release = releases[0];
    if (!release?.image) return refusal(`Lane *${from}* has no release with a recorded image: deploy it first.`);
    if (release.health !== 'healthy') {
      const why = release.health === 'unhealthy' ? 'was not healthy after its deploy' : 'was not verified healthy';
      return refusal(`Lane *${from}*'s current release \`${imageText(release.image)}\` ${why}; only a healthy release is promoted.`);
    }
    if (target.image === release.image) return refusal(`Lane *${to}* already runs \`${imageText(release.image)}\`; nothing to promote.`);
    const cannotPost = await threadRefusal(ctx.channelId, deps);
    if (cannotPost) return cannotPost;
    const now = deps.clock.now();
    const settings = canarySettingsOf(deps.config, scope.env);
    const canary = to === DEFAULT_LANE && (asked ?? settings.byDefault);
    const request: OperationRequest = {
      id: newOperationId(now),
      kind: canary ? 'canary' : 'promote',
      ...scope,
      lane: to,
      params: { image: release.image, branch: release.branch, from, ...(target.image ? { replaced: target.image } : {}) },
      requester: ctx.userId,
      channel: ctx.channelId,
      requestedAt: now,
    };
    await deps.enqueue(request);
    if (canary) {
      const interval = Math.round(settings.intervalMs / 60_000);
      return ephemeral(
        `:hatching_chick: Canary of lane *${from}* → *default*: image \`${imageText(release.image)}\`${release.branch ? ` (\`${release.branch}\`)` : ''} takes ${settings.steps.map((p) => `${p} %`).join(' → ')} of default's traffic, each step held ${interval} min and checked (${thresholdsText(settings)}). lanebot posts its progress, with Pause, Promote now and Abort buttons, in a thread in this channel.`,
      );
    }
    return ephemeral(
      `:arrow_up: Promoting lane *${from}* → *${to}*: image \`${imageText(release.image)}\`${release.branch ? ` (\`${release.branch}\`)` : ''}. lanebot posts its progress in a thread in this channel.`,
    );
  },
};
