// `/lane releases <lane>`: what the lane ran, newest first — the release history that promote and
// rollback choose from (seeds 003/004: every release records what ran before it). Each release: when,
// who, which operation, the branch, the image (digest-pinned, shortened) and its health verdict.
import { escapeText } from '../src/chat/messages';
import { slackDate } from '../src/domain/expiry';
import { imageText } from '../src/cloud/image-uri';
import { validateLane } from '../src/domain/names';
import type { LaneRelease } from '../src/state/lane-registry';
import { allowEveryone, ephemeral, fitReply, type Command } from './command';

export interface ReleasesArgs {
  lane: string;
}

export const releasesCommand: Command<ReleasesArgs> = {
  name: 'releases',
  summary: 'list what a lane ran, newest first: when, who, branch, image and health of each release',
  usage: '/lane releases <lane>',
  needsScope: true,

  parse(tokens, scope) {
    if (tokens.length === 0) return { ok: false, problem: 'missing the lane' };
    if (tokens.length > 1) return { ok: false, problem: `too many arguments (${tokens.length}); expected one lane` };
    const lane = tokens[0]!;
    const check = validateLane(lane, scope);
    return check.ok ? { ok: true, args: { lane } } : { ok: false, problem: check.problem };
  },

  authorize: allowEveryone,

  async run(ctx, { lane }, deps) {
    const ref = { ...ctx.scope, lane };
    const [view, releases] = await Promise.all([deps.lanes.get(ref), deps.lanes.releases(ref)]);
    if (!view) return ephemeral(`Lane *${lane}* of ${ref.service}/${ref.env} does not exist: it was never deployed, or it was deleted.`);
    if (releases.length === 0) return ephemeral(`Lane *${lane}* of ${ref.service}/${ref.env} has no release recorded yet: its first successful deploy records one.`);
    const lines = releases.map((release, i) => releaseLine(release, i));
    return ephemeral(fitReply([`*Releases of lane ${lane}* of ${ref.service}/${ref.env} (newest first; 1 runs now)`, ...lines].join('\n'), 'Only the newest releases fit here.'));
  },
};

/** "1. Tue … · `release/1.2.3` · image repo@sha256:ab12cd34… · healthy · deploy by @alice". */
export function releaseLine(release: LaneRelease, index: number): string {
  const health = release.health === 'healthy' ? ':white_check_mark: healthy' : release.health === 'unhealthy' ? ':warning: unhealthy' : release.health === 'unchecked' ? 'health not checked' : '';
  const who = release.by === 'lanebot' ? 'lanebot' : `<@${release.by}>`;
  const parts = [
    `${index + 1}. ${slackDate(release.at, '{date_short} {time}')}`,
    release.branch ? `\`${escapeText(release.branch)}\`` : '',
    release.image ? `image \`${escapeText(imageText(release.image))}\`` : 'image unknown',
    health,
    `${release.kind} by ${who}`,
  ];
  return parts.filter(Boolean).join(' · ');
}


