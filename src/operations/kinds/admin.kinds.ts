// Kinds `infra`, `boot` and `setup`: the admin operations that build what lanes stand on.
// `/lane infra` runs the environment's infra pipeline, `/lane boot` the boot pipeline for a service,
// `/lane setup` deploys the three pipeline stacks from templates/pipelines/. Each holds an admin slot
// (domain/names.ts operationRef) so two of a kind never run at once; newest wins.
import type { ChatMessage } from '../../chat/chat.port';
import { escapeAndTruncate, escapeText, executionText, MAX_SUMMARY, simple, threadLink, tookText, errorText, type OperationView } from '../../chat/messages';
import { PIPELINE_STACK_CAPABILITIES, pipelineStackPlans } from '../pipeline-stack-plans';
import type { OperationKind, OperationRecord } from '../../domain/operation';
import { describeCause, LanebotError } from '../../errors';
import type { OperationKindSpec } from '../registry';
import { pipelineExecutionStep } from '../steps/pipeline-execution.step';
import { stackChangesStep } from '../steps/stack-changes.step';

type AdminKind = Extract<OperationKind, 'infra' | 'boot' | 'setup'>;

export const infraKind: OperationKindSpec = {
  kind: 'infra',
  admission: 'newest-wins',
  steps: [pipelineExecutionStep({ variables: async () => ({}) })],
  view: adminView('infra', {
    title: (op) => `*${op.env} · environment infrastructure* ← infra repo \`${op.params.branch}\``,
    summary: (op) => `${op.env} · environment infrastructure (${op.params.pipeline})`,
  }),
};

export const bootKind: OperationKindSpec = {
  kind: 'boot',
  admission: 'newest-wins',
  steps: [pipelineExecutionStep({ variables: async (op) => ({ SERVICE: op.service }) })],
  view: adminView('boot', {
    title: (op) => `*${op.service} · ${op.env} · service bootstrap* ← infra repo \`${op.params.branch}\``,
    summary: (op) => `${op.service} · ${op.env} · service bootstrap (${op.params.pipeline})`,
  }),
};

export const setupKind: OperationKindSpec = {
  kind: 'setup',
  admission: 'newest-wins',
  steps: [
    stackChangesStep({
      changes(op, deps) {
        try {
          return pipelineStackPlans({ service: op.service, env: op.env }, deps.config).map((plan) => ({
            action: 'deploy' as const,
            ...plan,
            capabilities: PIPELINE_STACK_CAPABILITIES,
          }));
        } catch (error) {
          throw new LanebotError(
            'CONFIG_INVALID',
            `${describeCause(error)}. Add it to lanebot.yml (lanebot.example.yml shows how), restart lanebot and run \`/lane setup\` again.`,
          );
        }
      },
      giveUp(message, error, deps) {
        if (error instanceof LanebotError && error.code === 'AWS_ACCESS_DENIED' && !deps.config.setup?.stackRoleArn) {
          // The likeliest cause: the shipped bot policy creates nothing itself; it passes a service role.
          return (
            `${message} lanebot.yml sets no \`setup.stackRoleArn\`: with the shipped bot policy, pipeline stacks are created by the role ` +
            '`lanebot-pipeline-stacks` (templates/iam/pipeline-stack-role.yaml); put its ARN there and run `/lane setup` again.'
          );
        }
        return message;
      },
    }),
  ],
  view: adminView('setup', {
    title: (op) => `*${op.service} · ${op.env} · pipeline setup*`,
    summary: (op) => `${op.service} · ${op.env} · pipeline setup`,
    target: (op) => `pipelines of \`${op.params.pipeline}\``,
    stageNoun: 'Stack',
  }),
};

function adminView(kind: AdminKind, parts: Pick<OperationView, 'title' | 'summary'> & Partial<OperationView>): OperationView {
  return {
    target: (op) => `pipeline \`${op.params.pipeline}\``,
    stageNoun: 'Stage',
    queuedBehind(_op, ctx) {
      const by = ctx.other ? ` by <@${ctx.other.requester}>` : '';
      return simple(`:double_vertical_bar: Another \`/lane ${kind}\`${by} is running${threadLink(ctx)}; this one starts when it ends.`);
    },
    superseded: (_op, ctx) => simple(`:fast_forward: Superseded by a newer \`/lane ${kind}\`${threadLink(ctx)}; this one never started.`),
    finished: (op) => adminFinished(kind, op),
    ...parts,
  };
}

/** The last reply of an admin operation's thread: what it did, or why not and what to do. */
function adminFinished(kind: AdminKind, op: OperationRecord): ChatMessage {
  const command = `/lane ${kind}`;
  const took = tookText(op);
  const execution = executionText(op);
  const done: Record<AdminKind, string> = {
    infra: `The infrastructure of *${op.env}* is deployed${took} (stack \`infra-environment-${op.env}\`: VPC, subnets, ECS cluster, Cloud Map namespace \`${op.env}.local\`). Next, per service: \`/lane boot\`.`,
    boot: `Service *${op.service}* is bootstrapped in *${op.env}*${took} (stack \`boot-${op.service}-${op.env}\`: ALB, listener, log group, Cloud Map service). Lanes can be deployed now: \`/lane deploy <lane> <branch>\`.`,
    setup: `The pipelines of *${op.service}/${op.env}* are set up${took}: ${op.stages.map((s) => `\`${s.name}\``).join(', ')}. On a new environment run \`/lane infra\`, then \`/lane boot\`, then deploy lanes.`,
  };
  switch (op.status) {
    case 'succeeded':
      return simple(`:white_check_mark: ${done[kind]}${execution}`);
    case 'failed': {
      const failedStages = op.stages.filter((s) => s.status === 'Failed');
      const where = failedStages.length > 0 ? ` at ${failedStages.map((s) => `*${escapeText(s.name)}*`).join(', ')}` : '';
      const why = op.statusSummary ? `: ${escapeAndTruncate(op.statusSummary, MAX_SUMMARY)}` : '';
      return simple(`:x: \`${command}\` failed${where}${why}.${execution} Fix the cause (the replies above say what failed) and run \`${command}\` again.`);
    }
    case 'stopped':
    case 'cancelled':
      return simple(`:octagonal_sign: The pipeline execution was ${op.status}.${execution} Run \`${command}\` to try again.`);
    case 'superseded':
      return simple(`:fast_forward: Superseded by a newer \`${command}\`; this one did not run.${execution}`);
    case 'error':
      return simple(`:warning: \`${command}\` could not run: ${errorText(op)}`);
    default:
      return simple(`\`${command}\` is ${op.status}.`);
  }
}
