// Kind `canary`: `/lane promote <lane> --canary` (or any promote to default where the environment sets
// `canary: true`). The release of <lane> runs beside lane default in its own stack
// (templates/canary-stack.yaml) and takes default's untagged traffic in steps, each held and checked
// against the baseline (domain/canary.ts); it ends promoted (default runs the image, the canary is
// removed) or rolled back (all traffic back on default, the canary removed), and says why.
//
//   check-image → canary-plan → canary-create → canary-traffic → canary-promote-default
//     → canary-traffic-off → canary-remove → canary-verdict (ends a canary that did not promote)
//     → verify-health (lane default) → record-release
//
// Queued on lane default's slot, which it holds from start to end: no deploy, promote or delete of
// default runs meanwhile (they wait behind it). Behind the approval gate where the environment has one.
// Params as promote's: `image`, `branch`, `from` (the source lane), `replaced` (default's image before).
import { canaryOutcomeText, canaryProgressBlocks, canaryStatusLabel } from '../../chat/canary-messages';
import type { ChatMessage } from '../../chat/chat.port';
import { healthText } from '../../chat/health-messages';
import { aheadText, errorText, escapeAndTruncate, MAX_SUMMARY, refusedText, simple, threadLink, tookText, type RenderContext } from '../../chat/messages';
import { imageText } from '../../cloud/image-uri';
import { canaryStackName } from '../../domain/names';
import type { OperationRecord } from '../../domain/operation';
import { approvalBlocks } from '../../slack/actions/approve-deploy';
import { canaryControlBlocks } from '../../slack/actions/canary-controls';
import { rollbackBlock } from '../../slack/actions/roll-back';
import { approvalGate } from '../gates/approval.gate';
import type { OperationKindSpec } from '../registry';
import { canaryCreateStep, canaryPlanStep, canaryPromoteDefaultStep, canaryRemoveStep, canaryTrafficOffStep, canaryVerdictStep } from '../steps/canary-stack.steps';
import { canaryTrafficStep } from '../steps/canary-traffic.step';
import { recordReleaseStep } from '../steps/record-release.step';
import { verifyHealthStep } from '../steps/verify-health.step';
import { checkImageStep } from './release.kinds';

const STEPS = [
  checkImageStep,
  canaryPlanStep,
  canaryCreateStep,
  canaryTrafficStep,
  canaryPromoteDefaultStep,
  canaryTrafficOffStep,
  canaryRemoveStep,
  canaryVerdictStep,
  verifyHealthStep,
  recordReleaseStep,
] as const;

function what(op: OperationRecord): string {
  return `canary ${op.params.from} → ${op.lane}`;
}

/** " The canary stack could not be removed (…): it takes no traffic; delete it in CloudFormation." */
function leftoverText(op: OperationRecord): string {
  const why = op.canary?.removeFailed;
  return why
    ? ` :warning: The canary stack \`${canaryStackName(op)}\` could not be removed (${escapeAndTruncate(why, 400)}); it takes no traffic. Delete it in CloudFormation; the next canary replaces it otherwise.`
    : '';
}

function finished(op: OperationRecord, ctx: RenderContext): ChatMessage {
  const image = `\`${imageText(op.params.image)}\``;
  const branch = op.params.branch ? ` (\`${escapeAndTruncate(op.params.branch, 200)}\`)` : '';
  const canary = op.canary;
  const steps = canary ? `${canary.checks.filter((c) => c.verdict === 'pass').length} of ${canary.settings.steps.length} steps passed` : '';
  switch (op.status) {
    case 'succeeded': {
      const early = canary?.outcome === 'promoted-now' ? `${canaryOutcomeText(canary)}; ` : '';
      const before = op.params.replaced ? ` It ran \`${imageText(op.params.replaced)}\` before.` : '';
      const icon = !op.health || op.health.verdict === 'healthy' ? ':white_check_mark:' : ':warning:';
      const text = `${icon} *Canary promoted:* lane *${op.lane}* of ${op.service}/${op.env} now runs ${image}${branch} from lane *${op.params.from}* (${early}${steps}${tookText(op)}); the canary is removed and all traffic is on default.${before}${leftoverText(op)}${healthText(op.health)}`;
      return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }, rollbackBlock(op)] };
    }
    case 'failed':
      if (canary?.outcome) {
        return simple(
          `:rewind: *Canary rolled back:* ${canaryOutcomeText(canary)}. Lane *${op.lane}* still runs ${op.params.replaced ? `\`${imageText(op.params.replaced)}\`` : 'what it ran'}; all of its traffic is back on it and the canary is removed.${leftoverText(op)}`,
        );
      }
      return simple(`:x: The canary failed${op.statusSummary ? `: ${escapeAndTruncate(op.statusSummary, MAX_SUMMARY)}` : ''}.`);
    case 'cancelled':
      return simple(`:no_entry_sign: *Canary aborted:* ${canary ? canaryOutcomeText(canary) : 'aborted'}. All of default's traffic is back on the version it runs and the canary is removed.${leftoverText(op)}`);
    case 'refused':
      return simple(op.error === 'deleting' ? refusedText(op, ctx) : `:no_entry: Nothing was changed: ${escapeAndTruncate(op.error ?? '', MAX_SUMMARY)}`);
    case 'error':
      return simple(`:warning: The canary could not run: ${errorText(op)}${leftoverText(op)}`);
    case 'rejected':
      return simple(`:no_entry: <@${op.approval?.rejectedBy ?? ''}> rejected it: ${escapeAndTruncate(op.approval?.reason ?? '', MAX_SUMMARY)}. Nothing was changed.`);
    case 'expired':
      return simple(':hourglass: Nobody approved it in time; nothing was changed.');
    case 'superseded':
      return simple(':fast_forward: A newer operation on this lane replaced this one before it started; nothing was changed.');
    default:
      return simple(`The canary is ${op.status}.`);
  }
}

export const canaryKind: OperationKindSpec = {
  kind: 'canary',
  admission: 'newest-wins',
  gate: approvalGate,
  steps: STEPS,
  view: {
    title: (op) => `*${op.service} · ${op.env} · ${what(op)}*`,
    summary: (op) => `${op.service} · ${op.env} · ${what(op)}: image ${imageText(op.params.image)}`,
    target: (op) => `stack \`${canaryStackName(op)}\` · image \`${imageText(op.params.image)}\`${op.params.branch ? ` (\`${op.params.branch}\`)` : ''}`,
    stageNoun: 'Step',
    statusLabels: { starting: ':arrow_forward: starting', running: ':hatching_chick: canary running', succeeded: ':white_check_mark: promoted', failed: ':rewind: rolled back', cancelled: ':no_entry_sign: aborted, rolled back' },
    statusLabel: canaryStatusLabel,
    extraBlocks: (op, now) => [...approvalBlocks(op, now), ...canaryProgressBlocks(op), ...canaryControlBlocks(op)],
    queuedBehind: (op, ctx) => simple(`:double_vertical_bar: Lane *${op.lane}* is busy: this canary is queued behind ${aheadText(ctx.other)}${threadLink(ctx)} and starts when it ends.`),
    superseded: (op, ctx) => simple(`:fast_forward: Superseded by a newer operation on lane *${op.lane}*${threadLink(ctx)}; nothing was changed.`),
    finished,
  },
};
