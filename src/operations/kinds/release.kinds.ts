// Kinds `promote` and `rollback`: put a release's image on a lane without a pipeline or a build
// (seeds 001, 003, 004). `/lane promote gray` puts gray's current image on `default` (or on the lane
// `--to` names); `/lane rollback <lane> [<n|tag|digest>]` puts an earlier release of the lane back.
// Both update the target lane's stack in place — the previous template, `ImageUri` changed, every
// other parameter kept — then verify its health and record the release, like a deploy. Queued on the
// target lane's slot (newest wins), behind the approval gate where the environment has one.
//
// Params: `image` (the URI to run), `branch` (the release's branch, for the record and the thread),
// `from` (promote: the source lane; rollback: which release, e.g. "2").
import { aheadText, errorText, escapeAndTruncate, escapeText, MAX_SUMMARY, refusedText, simple, threadLink, tookText, type RenderContext } from '../../chat/messages';
import { healthStatusLabel, healthText } from '../../chat/health-messages';
import type { ChatMessage } from '../../chat/chat.port';
import { imageText } from '../../cloud/image-uri';
import { laneStackName } from '../../domain/names';
import type { OperationRecord } from '../../domain/operation';
import { isLanebotError } from '../../errors';
import { approvalBlocks } from '../../slack/actions/approve-deploy';
import { rollbackBlock } from '../../slack/actions/roll-back';
import { approvalGate } from '../gates/approval.gate';
import type { OperationKindSpec } from '../registry';
import { end, next, type OperationStep } from '../step';
import { recordReleaseStep } from '../steps/record-release.step';
import { onAwsFault } from '../steps/retry';
import { stackChangesStep } from '../steps/stack-changes.step';
import { verifyHealthStep } from '../steps/verify-health.step';


/**
 * The image must still be in its registry (ECR keeps only so many): checked here, through the
 * cloud, never in the command's ack. A registry lanebot cannot read (not ECR) is said and passed.
 */
export const checkImageStep: OperationStep = {
  name: 'check-image',
  async run(op, deps) {
    const image = op.params.image ?? '';
    const failures = Number(op.progress?.failures ?? 0);
    let check;
    try {
      check = await deps.cloud.images.imageExists(image);
    } catch (error) {
      return onAwsFault(error, {
        failures,
        minWaitMs: deps.pollIntervalMs,
        baseMs: 1000,
        capMs: 30_000,
        progress: (f) => ({ progress: { failures: f } }),
        giveUp: (message) => `checking that image \`${imageText(image)}\` still exists failed: ${isLanebotError(error) ? error.message : message}`,
      });
    }
    if (check.kind === 'missing') {
      return end('refused', { error: `the image it would run no longer exists: ${check.reason}. Deploy the branch again instead.` });
    }
    if (check.kind === 'uncheckable') {
      await deps.narrator.say(op.id, 'image-uncheckable', { kind: 'note', text: `:grey_question: lanebot could not check that the image still exists (${escapeText(check.reason)}); going on.` });
    }
    return next();
  },
};

const updateImageStep = stackChangesStep({
  changes: (op) => [{ action: 'update-parameters', stackName: laneStackName(op), parameters: { ImageUri: op.params.image ?? '' } }],
});

const STEPS = [checkImageStep, updateImageStep, verifyHealthStep, recordReleaseStep] as const;

function what(op: OperationRecord): string {
  return op.kind === 'promote' ? `promote ${op.params.from} → ${op.lane}` : `roll back ${op.lane} to release ${op.params.from}`;
}

function finished(op: OperationRecord, ctx: RenderContext): ChatMessage {
  const image = `\`${imageText(op.params.image)}\``;
  const branch = op.params.branch ? ` (\`${escapeText(op.params.branch)}\`)` : '';
  switch (op.status) {
    case 'succeeded': {
      const health = op.health;
      const icon = !health || health.verdict === 'healthy' ? ':white_check_mark:' : ':warning:';
      const before = op.params.replaced ? ` It ran \`${imageText(op.params.replaced)}\` before.` : '';
      const text = `${icon} Lane *${op.lane}* of ${op.service}/${op.env} now runs ${image}${branch} (${op.kind === 'promote' ? `promoted from lane *${op.params.from}*` : `rolled back to release ${op.params.from}`}${tookText(op)}).${before}${healthText(health)}`;
      // What ran before is one click away (a rollback of a rollback returns to the newer release).
      return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }, rollbackBlock(op)] };
    }
    case 'refused':
      return simple(op.error === 'deleting' ? refusedText(op, ctx) : `:no_entry: Nothing was changed: ${escapeAndTruncate(op.error ?? '', MAX_SUMMARY)}`);
    case 'failed':
      return simple(`:x: The stack update failed${op.statusSummary ? `: ${escapeAndTruncate(op.statusSummary, MAX_SUMMARY)}` : ''}. CloudFormation rolled the lane back to what it ran before.`);
    case 'error':
      return simple(`:warning: The ${op.kind} could not run: ${errorText(op)}`);
    case 'rejected':
      return simple(`:no_entry: <@${op.approval?.rejectedBy ?? ''}> rejected it: ${escapeAndTruncate(op.approval?.reason ?? '', MAX_SUMMARY)}. Nothing was changed.`);
    case 'expired':
      return simple(':hourglass: Nobody approved it in time; nothing was changed.');
    case 'superseded':
      return simple(':fast_forward: A newer operation on this lane replaced this one before it started; nothing was changed.');
    default:
      return simple(`The ${op.kind} is ${op.status}.`);
  }
}

function releaseKind(kind: 'promote' | 'rollback'): OperationKindSpec {
  return {
    kind,
    admission: 'newest-wins',
    gate: approvalGate,
    steps: STEPS,
    view: {
      title: (op) => `*${op.service} · ${op.env} · ${what(op)}*`,
      summary: (op) => `${op.service} · ${op.env} · ${what(op)}: image ${imageText(op.params.image)}`,
      target: (op) => `stack \`${laneStackName(op)}\` · image \`${imageText(op.params.image)}\`${op.params.branch ? ` (\`${op.params.branch}\`)` : ''}`,
      stageNoun: 'Stack',
      statusLabels: { starting: ':arrow_forward: starting', running: ':arrows_counterclockwise: updating the lane' },
      statusLabel: healthStatusLabel,
      extraBlocks: (op, now) => approvalBlocks(op, now),
      queuedBehind: (op, ctx) => simple(`:double_vertical_bar: Lane *${op.lane}* is busy: this ${op.kind} is queued behind ${aheadText(ctx.other)}${threadLink(ctx)} and starts when it ends.`),
      superseded: (op, ctx) => simple(`:fast_forward: Superseded by a newer operation on lane *${op.lane}*${threadLink(ctx)}; nothing was changed.`),
      finished,
    },
  };
}

export const promoteKind = releaseKind('promote');
export const rollbackKind = releaseKind('rollback');
