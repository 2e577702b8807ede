// Kind `deploy`: `/lane deploy <lane> <branch>` (and the "Deploy again" button). Runs the service's
// pipeline with LANE, BRANCH and the lane's listener rule priority, then records the release (the
// image the lane stack now runs). Newest wins: a newer deploy replaces one still waiting.
import { aheadText, escapeAndTruncate, escapeText, executionText, MAX_SUMMARY, refusedText, simple, threadLink, tookText, errorText } from '../../chat/messages';
import type { ChatMessage } from '../../chat/chat.port';
import type { OperationRecord } from '../../domain/operation';
import { approvalBlocks } from '../../slack/actions/approve-deploy';
import { pipelineApprovalBlocks } from '../../slack/actions/pipeline-approval';
import { deployAgainBlock, DEPLOY_AGAIN_STATUSES } from '../../slack/actions/deploy-again';
import { approvalGate } from '../gates/approval.gate';
import type { OperationKindSpec } from '../registry';
import { pipelineExecutionStep } from '../steps/pipeline-execution.step';
import { verifyHealthStep } from '../steps/verify-health.step';
import { recordReleaseStep } from '../steps/record-release.step';
import { rollbackBlock } from '../../slack/actions/roll-back';
import { healthStatusLabel, healthText } from '../../chat/health-messages';

// A deploy's params: `branch` (the app branch) and `pipeline` (the one that builds and deploys it).

export const deployKind: OperationKindSpec = {
  kind: 'deploy',
  admission: 'newest-wins',
  gate: approvalGate,
  steps: [
    pipelineExecutionStep({
      async variables(op, deps) {
        // Allocated on the lane's first deploy and the same ever after (state/rule-priorities.ts).
        const priority = await deps.rulePriorities.allocate(op);
        return { LANE: op.lane, BRANCH: op.params.branch ?? '', RULE_PRIORITY: String(priority) };
      },
    }),
    verifyHealthStep,
    recordReleaseStep,
  ],
  view: {
    title: (op) => `*${op.service} · ${op.env} · lane ${op.lane}* ← \`${op.params.branch}\``,
    summary: (op) => `${op.service} · ${op.env} · lane ${op.lane} ← ${op.params.branch}`,
    target: (op) => `pipeline \`${op.params.pipeline}\``,
    stageNoun: 'Stage',
    statusLabel: healthStatusLabel,
    // The approval request of a protected environment lives in the root, edited in place.
    extraBlocks: (op, now) => [...approvalBlocks(op, now), ...pipelineApprovalBlocks(op)],
    queuedBehind(op, ctx) {
      return simple(
        `:double_vertical_bar: Lane *${op.lane}* is busy: this deploy is queued behind ${aheadText(ctx.other)}${threadLink(ctx)} and starts when it ends. ` +
          'A newer deploy to this lane would replace this one.',
      );
    },
    superseded(op, ctx) {
      if (op.approval?.state === 'superseded') {
        return simple(`:fast_forward: A newer deploy request to lane *${op.lane}*${threadLink(ctx)} replaced this one while it waited for approval; nothing was started.`);
      }
      const newer = ctx.other;
      const who = !newer ? 'a newer deploy' : newer.kind === 'deploy' ? `a newer deploy of \`${newer.params.branch}\` by <@${newer.requester}>` : `the \`/lane ${newer.kind}\` by <@${newer.requester}>`;
      return simple(`:fast_forward: Superseded by ${who}${threadLink(ctx)}. This deploy never started; nothing was changed.`);
    },
    finished(op, ctx) {
      const reply = deployFinished(op);
      if (op.status === 'refused') return simple(refusedText(op, ctx));
      // A deploy that changed nothing can be repeated with one click; the text keeps the command.
      return DEPLOY_AGAIN_STATUSES.has(op.status) ? { ...reply, blocks: [...(reply.blocks ?? []), deployAgainBlock(op)] } : reply;
    },
  },
};

function deployFinished(deploy: OperationRecord): ChatMessage {
  const took = tookText(deploy);
  const execution = executionText(deploy);
  const branch = deploy.params.branch ?? '';
  switch (deploy.status) {
    case 'succeeded': {
      const health = deploy.health;
      const icon = !health || health.verdict === 'healthy' ? ':white_check_mark:' : health.verdict === 'unhealthy' ? ':warning:' : ':grey_question:';
      if (health?.rolloutFailed) {
        // The pipeline deployed the stack, but ECS never ran the new tasks (its circuit breaker rolled back).
        return simple(`${icon} The pipeline deployed \`${branch}\` to lane *${deploy.lane}* of ${deploy.service}/${deploy.env}${took}, but ECS did not roll it out.${execution}${healthText(health)}`);
      }
      const reply = simple(`${icon} Lane *${deploy.lane}* of ${deploy.service}/${deploy.env} now runs \`${branch}\` (deployed${took}).${execution}${healthText(health)}`);
      // Running but not healthy: the previous release is one click away (no rebuild).
      return health?.verdict === 'unhealthy' ? { ...reply, blocks: [...(reply.blocks ?? []), rollbackBlock(deploy)] } : reply;
    }
    case 'failed': {
      const failed = deploy.stages.find((s) => s.status === 'Failed');
      const where = failed ? ` at stage *${escapeText(failed.name)}*` : '';
      // The summary is a sentence of its own; the reply adds its own full stop.
      const why = deploy.statusSummary ? `: ${escapeAndTruncate(deploy.statusSummary.replace(/\.+\s*$/, ''), MAX_SUMMARY)}` : '';
      return simple(
        `:x: Deploy of \`${branch}\` to lane *${deploy.lane}* failed${where}${why}.${execution} ` +
          'The lane keeps running what it ran before. Fix the cause and run the deploy again.',
      );
    }
    case 'stopped':
      return simple(`:octagonal_sign: The pipeline execution was stopped${took}.${execution} Run \`/lane deploy ${deploy.lane} ${branch}\` to try again.`);
    case 'cancelled':
      return simple(`:no_entry_sign: The pipeline execution was cancelled.${execution} Run \`/lane deploy ${deploy.lane} ${branch}\` to try again.`);
    case 'superseded':
      if (deploy.approval?.state === 'superseded') {
        return simple(`:fast_forward: A newer deploy request to lane *${deploy.lane}* replaced this one while it waited for approval; nothing was started.`);
      }
      return simple(`:fast_forward: CodePipeline superseded this execution with a newer one.${execution}`);
    case 'error':
      return simple(`:warning: The deploy could not run: ${errorText(deploy)}`);
    case 'rejected':
      return simple(
        `:no_entry: <@${deploy.approval?.rejectedBy ?? ''}> rejected the deploy of \`${branch}\` to lane *${deploy.lane}*: ${escapeAndTruncate(deploy.approval?.reason ?? deploy.error ?? '', MAX_SUMMARY)}. Nothing was started.`,
      );
    case 'expired':
      return simple(`:hourglass: Nobody approved the deploy of \`${branch}\` to lane *${deploy.lane}* in time; nothing was started. Run \`/lane deploy ${deploy.lane} ${branch}\` to ask again.`);
    default:
      return simple(`Deploy is ${deploy.status}.`);
  }
}
