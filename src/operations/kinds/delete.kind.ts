// Kind `delete`: `/lane delete <lane>` (after its confirmation button). Deletes the lane's stack
// `app-{service}-{env}-{lane}` (its ECS service, target group, listener rule and alarms go with it),
// frees the lane's listener rule priority, and retires the lane. Exclusive: it waits behind whatever
// runs on the lane and is never superseded; while it is queued or running the lane refuses deploys.
// A delete that fails (DELETE_FAILED) leaves the lane active, and the thread says which resources
// failed and why.
import type { ChatMessage } from '../../chat/chat.port';
import { aheadText, errorText, escapeAndTruncate, MAX_SUMMARY, simple, threadLink, tookText, type RenderContext } from '../../chat/messages';
import { laneStackName } from '../../domain/names';
import { requesterMention, type OperationRecord } from '../../domain/operation';
import type { OperationKindSpec } from '../registry';
import { next, type OperationStep } from '../step';
import { stackChangesStep } from '../steps/stack-changes.step';

/** The stack and its listener rule are gone: the rule priority is free for the next new lane. */
const freeRulePriority: OperationStep = {
  name: 'free-rule-priority',
  async run(op, deps) {
    await deps.rulePriorities.release(op);
    return next();
  },
};

export const deleteKind: OperationKindSpec = {
  kind: 'delete',
  admission: 'exclusive',
  steps: [stackChangesStep({ changes: (op) => [{ action: 'delete', stackName: laneStackName(op) }] }), freeRulePriority],
  laneOutcome: (op) => (op.status === 'succeeded' ? 'retire' : 'restore'),
  view: {
    title: (op) => `*${op.service} · ${op.env} · lane ${op.lane}* — delete${op.params.reason === 'expired' ? ' (idle, not renewed)' : ''}`,
    summary: (op) => `${op.service} · ${op.env} · delete lane ${op.lane}`,
    target: (op) => `stack \`${laneStackName(op)}\``,
    stageNoun: 'Stack',
    // STATUS_LABEL speaks of deploys and pipelines; a delete's root must not say "deployed".
    statusLabels: { starting: ':arrow_forward: starting', succeeded: ':wastebasket: deleted' },
    queuedBehind(op, ctx) {
      return simple(
        `:double_vertical_bar: Lane *${op.lane}* is busy: the delete is queued behind ${aheadText(ctx.other)}${threadLink(ctx)} and starts when it ends. ` +
          'Until the lane is deleted it takes no new deploy.',
      );
    },
    // Deletes are never superseded (admission `exclusive`); this covers a record of an older version.
    superseded: () => simple(':fast_forward: This delete was superseded; nothing was deleted.'),
    finished: (op, ctx) => deleteFinished(op, ctx),
  },
};

function deleteFinished(op: OperationRecord, ctx: RenderContext): ChatMessage {
  const stack = `\`${laneStackName(op)}\``;
  switch (op.status) {
    case 'refused': {
      const by = ctx.other ? ` by ${requesterMention(ctx.other.requester)}` : '';
      return simple(`:wastebasket: Lane *${op.lane}* is already being deleted${by}${threadLink(ctx)}; this second delete did nothing.`);
    }
    case 'succeeded':
      return simple(
        `:wastebasket: Lane *${op.lane}* of ${op.service}/${op.env} is deleted${tookText(op)}: stack ${stack} is gone, and with it the lane's ECS service, ` +
          `target group, listener rule and alarms. Requests for lane ${op.lane} now reach the default lane. ` +
          `\`/lane deploy ${op.lane} <branch>\` would create it afresh.`,
      );
    case 'failed': {
      const why = op.statusSummary ? ` (${escapeAndTruncate(op.statusSummary, MAX_SUMMARY)})` : '';
      return simple(
        `:x: Deleting lane *${op.lane}* failed${why}: CloudFormation could not delete every resource of ${stack} (the reply above lists them with their reasons). ` +
          `The lane stays active and keeps what is left. Fix the cause — often a resource changed or protected outside CloudFormation — and run \`/lane delete ${op.lane}\` again.`,
      );
    }
    case 'error':
      return simple(`:warning: The delete of lane *${op.lane}* could not run: ${errorText(op)} The lane stays active.`);
    default:
      return simple(`The delete of lane *${op.lane}* is ${op.status}.`);
  }
}
