// Block Kit messages, built by pure functions from records. Nothing here talks to Slack or Redis.
import type { KnownBlock } from '@slack/web-api';
import type { StageView } from '../cloud/pipelines.port';
import { kindOf, type DeployRecord, type DeployStatus } from '../domain/deploy';
import type { LaneView } from '../state/lane-registry';
import { ACTION_IDS, DEPLOY_AGAIN_STATUSES, encodeActionValue } from './action-ids';
import type { ChatMessage } from './chat.port';

/** Events that get their own reply in a deploy's thread. */
export type ThreadEvent =
  | { kind: 'queued_behind'; aheadDeployId: string }
  | { kind: 'superseded'; byDeployId: string }
  | { kind: 'stage_failed'; stage: StageView }
  | { kind: 'finished' };

/** What a thread reply may mention besides its own deploy, looked up when the reply is sent. */
export interface RenderContext {
  now: number;
  other?: DeployRecord;
  otherLink?: string;
}

const STATUS_LABEL: Record<DeployStatus, string> = {
  queued: ':hourglass_flowing_sand: queued',
  waiting: ':double_vertical_bar: waiting for the lane',
  starting: ':arrow_forward: starting the pipeline',
  running: ':arrows_counterclockwise: running',
  succeeded: ':white_check_mark: deployed',
  failed: ':x: failed',
  stopped: ':octagonal_sign: stopped',
  superseded: ':fast_forward: superseded',
  cancelled: ':no_entry_sign: cancelled',
  error: ':warning: could not run',
};

const STAGE_ICON: Record<StageView['status'], string> = {
  NotStarted: ':white_circle:',
  InProgress: ':large_blue_circle:',
  Succeeded: ':large_green_circle:',
  Failed: ':red_circle:',
  Stopped: ':black_circle:',
  Cancelled: ':black_circle:',
};

/** Slack's section text limit is 3000 characters; error summaries are cut well below it. */
const MAX_SUMMARY = 1500;

export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/** Escapes text for mrkdwn: Slack treats &, < and > as control characters. */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escapes, then cuts to `max` characters without splitting an entity such as `&amp;`. */
function escapeAndTruncate(text: string, max: number): string {
  const escaped = escapeText(text);
  if (escaped.length <= max) return escaped;
  return `${escaped.slice(0, max - 1).replace(/&[a-z]{0,3}$/, '')}…`;
}

function title(deploy: DeployRecord): string {
  switch (kindOf(deploy)) {
    case 'deploy':
      return `*${deploy.service} · ${deploy.env} · lane ${deploy.lane}* ← \`${deploy.branch}\``;
    case 'infra':
      return `*${deploy.env} · environment infrastructure* ← infra repo \`${deploy.branch}\``;
    case 'boot':
      return `*${deploy.service} · ${deploy.env} · service bootstrap* ← infra repo \`${deploy.branch}\``;
    case 'setup':
      return `*${deploy.service} · ${deploy.env} · pipeline setup*`;
  }
}

/** The root message's one-line text (notifications, screen readers). */
function summaryLine(deploy: DeployRecord): string {
  switch (kindOf(deploy)) {
    case 'deploy':
      return `${deploy.service} · ${deploy.env} · lane ${deploy.lane} ← ${deploy.branch}`;
    case 'infra':
      return `${deploy.env} · environment infrastructure (${deploy.pipeline})`;
    case 'boot':
      return `${deploy.service} · ${deploy.env} · service bootstrap (${deploy.pipeline})`;
    case 'setup':
      return `${deploy.service} · ${deploy.env} · pipeline setup`;
  }
}

function stageLine(stage: StageView, now: number): string {
  const end = stage.endedAt ?? (stage.status === 'InProgress' ? now : undefined);
  const duration = stage.startedAt !== undefined && end !== undefined ? ` · ${formatDuration(end - stage.startedAt)}` : '';
  const state = stage.status === 'NotStarted' ? 'not started' : stage.status.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  const detail = stage.detail ? ` (${escapeAndTruncate(stage.detail, 200)})` : '';
  return `${STAGE_ICON[stage.status]} ${escapeText(stage.name)} — ${state}${detail}${duration}`;
}

/** The root message of a deploy's thread, edited in place as the deploy moves on. */
export function rootMessage(deploy: DeployRecord, now: number): ChatMessage {
  const status = STATUS_LABEL[deploy.status];
  const text = `${summaryLine(deploy)}, requested by <@${deploy.requester}>, ${status.replace(/^:[a-z_]+: /, '')}`;
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `${title(deploy)}\n${status}` } },
  ];
  if (deploy.stages.length > 0) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: deploy.stages.map((s) => stageLine(s, now)).join('\n') } });
  }
  const context = [`requested by <@${deploy.requester}>`];
  const end = deploy.finishedAt ?? now;
  if (deploy.startedAt !== undefined) context.push(`${deploy.finishedAt ? 'took' : 'running for'} ${formatDuration(end - deploy.startedAt)}`);
  if (deploy.executionId) {
    const id = deploy.executionId.slice(0, 8);
    context.push(deploy.executionUrl ? `<${deploy.executionUrl}|execution ${id}>` : `execution ${id}`);
  }
  context.push(kindOf(deploy) === 'setup' ? `pipelines of \`${deploy.pipeline}\`` : `pipeline \`${deploy.pipeline}\``);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: context.join(' · ') }] });
  return { text, blocks };
}

/** A reply in a deploy's thread. */
export function threadReply(deploy: DeployRecord, event: ThreadEvent, ctx: RenderContext): ChatMessage {
  switch (event.kind) {
    case 'queued_behind': {
      const ahead = ctx.other;
      if (kindOf(deploy) !== 'deploy') {
        const by = ahead ? ` by <@${ahead.requester}>` : '';
        const link = ctx.otherLink ? ` (<${ctx.otherLink}|thread>)` : '';
        return simple(`:double_vertical_bar: Another \`/lane ${kindOf(deploy)}\`${by} is running${link}; this one starts when it ends.`);
      }
      const what = ahead ? `the deploy of \`${ahead.branch}\` by <@${ahead.requester}>` : 'the deploy in progress';
      const link = ctx.otherLink ? ` (<${ctx.otherLink}|thread>)` : '';
      return simple(
        `:double_vertical_bar: Lane *${deploy.lane}* is busy: this deploy is queued behind ${what}${link} and starts when it ends. ` +
          'A newer deploy to this lane would replace this one.',
      );
    }
    case 'superseded': {
      const newer = ctx.other;
      if (kindOf(deploy) !== 'deploy') {
        const link = ctx.otherLink ? ` (<${ctx.otherLink}|thread>)` : '';
        return simple(`:fast_forward: Superseded by a newer \`/lane ${kindOf(deploy)}\`${link}; this one never started.`);
      }
      const who = newer ? `a newer deploy of \`${newer.branch}\` by <@${newer.requester}>` : 'a newer deploy';
      const link = ctx.otherLink ? ` (<${ctx.otherLink}|thread>)` : '';
      return simple(`:fast_forward: Superseded by ${who}${link}. This deploy never started; nothing was changed.`);
    }
    case 'stage_failed': {
      const failure = event.stage.failure;
      const what = kindOf(deploy) === 'setup' ? 'Stack' : 'Stage';
      const lines = [`:red_circle: ${what} *${escapeText(event.stage.name)}* failed.`];
      if (failure) {
        lines.push(`Action \`${escapeText(failure.actionName)}\`: ${escapeAndTruncate(failure.summary, MAX_SUMMARY)}`);
        if (failure.logUrl) lines.push(`<${failure.logUrl}|Logs of the failed action>`);
      }
      return simple(lines.join('\n'));
    }
    case 'finished': {
      const reply = finishedReply(deploy);
      if (kindOf(deploy) !== 'deploy') return operationFinishedReply(deploy);
      // A deploy that changed nothing can be repeated with one click; the text keeps the command.
      return DEPLOY_AGAIN_STATUSES.has(deploy.status) ? { ...reply, blocks: [...(reply.blocks ?? []), deployAgainActions(deploy)] } : reply;
    }
  }
}

/** Slack's limit for a confirm dialog's text. */
const MAX_CONFIRM_TEXT = 300;

/** The "Deploy again" button. Its value names the deploy only; the listener reloads the rest. */
function deployAgainActions(deploy: DeployRecord): KnownBlock {
  return {
    type: 'actions',
    block_id: 'deploy_again',
    elements: [
      {
        type: 'button',
        action_id: ACTION_IDS.deployAgain,
        text: { type: 'plain_text', text: 'Deploy again' },
        style: 'primary',
        value: encodeActionValue({ v: 1, deployId: deploy.id }),
        confirm: {
          title: { type: 'plain_text', text: 'Deploy again?' },
          text: { type: 'mrkdwn', text: deployAgainQuestion(deploy) },
          confirm: { type: 'plain_text', text: 'Deploy again' },
          deny: { type: 'plain_text', text: 'Cancel' },
        },
      },
    ],
  };
}

function deployAgainQuestion({ lane, branch }: DeployRecord): string {
  const question = (shown: string) => `Deploy \`${shown}\` to lane *${lane}* again?`;
  const full = question(branch);
  if (full.length <= MAX_CONFIRM_TEXT) return full;
  // Branches go up to 255 characters and lanes to 63: cut the branch, never the lane.
  return question(`${branch.slice(0, Math.max(1, branch.length - (full.length - MAX_CONFIRM_TEXT) - 1))}…`);
}

function finishedReply(deploy: DeployRecord): ChatMessage {
  const took = deploy.startedAt !== undefined && deploy.finishedAt !== undefined ? ` in ${formatDuration(deploy.finishedAt - deploy.startedAt)}` : '';
  const execution = deploy.executionUrl ? ` <${deploy.executionUrl}|Execution in the AWS console>.` : '';
  switch (deploy.status) {
    case 'succeeded':
      return simple(`:white_check_mark: Lane *${deploy.lane}* of ${deploy.service}/${deploy.env} now runs \`${deploy.branch}\` (deployed${took}).${execution}`);
    case 'failed': {
      const failed = deploy.stages.find((s) => s.status === 'Failed');
      const where = failed ? ` at stage *${escapeText(failed.name)}*` : '';
      const why = deploy.statusSummary ? `: ${escapeAndTruncate(deploy.statusSummary, MAX_SUMMARY)}` : '';
      return simple(
        `:x: Deploy of \`${deploy.branch}\` to lane *${deploy.lane}* failed${where}${why}.${execution} ` +
          'The lane keeps running what it ran before. Fix the cause and run the deploy again.',
      );
    }
    case 'stopped':
      return simple(`:octagonal_sign: The pipeline execution was stopped${took}.${execution} Run \`/lane deploy ${deploy.lane} ${deploy.branch}\` to try again.`);
    case 'cancelled':
      return simple(`:no_entry_sign: The pipeline execution was cancelled.${execution} Run \`/lane deploy ${deploy.lane} ${deploy.branch}\` to try again.`);
    case 'superseded':
      return simple(`:fast_forward: CodePipeline superseded this execution with a newer one.${execution}`);
    case 'error':
      return simple(`:warning: The deploy could not run: ${escapeAndTruncate(deploy.error ?? 'unknown error', MAX_SUMMARY)}`);
    default:
      return simple(`Deploy is ${deploy.status}.`);
  }
}

/** The last reply of an admin operation's thread: what it did, or why not and what to do. */
function operationFinishedReply(op: DeployRecord): ChatMessage {
  const kind = kindOf(op);
  const command = `/lane ${kind}`;
  const took = op.startedAt !== undefined && op.finishedAt !== undefined ? ` in ${formatDuration(op.finishedAt - op.startedAt)}` : '';
  const execution = op.executionUrl ? ` <${op.executionUrl}|Execution in the AWS console>.` : '';
  const done: Record<Exclude<typeof kind, 'deploy'>, string> = {
    infra: `The infrastructure of *${op.env}* is deployed${took} (stack \`infra-environment-${op.env}\`: VPC, subnets, ECS cluster, Cloud Map namespace \`${op.env}.local\`). Next, per service: \`/lane boot\`.`,
    boot: `Service *${op.service}* is bootstrapped in *${op.env}*${took} (stack \`boot-${op.service}-${op.env}\`: ALB, listener, log group, Cloud Map service). Lanes can be deployed now: \`/lane deploy <lane> <branch>\`.`,
    setup: `The pipelines of *${op.service}/${op.env}* are set up${took}: ${op.stages.map((s) => `\`${s.name}\``).join(', ')}. On a new environment run \`/lane infra\`, then \`/lane boot\`, then deploy lanes.`,
  };
  switch (op.status) {
    case 'succeeded':
      return simple(`:white_check_mark: ${done[kind as keyof typeof done]}${execution}`);
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
      return simple(`:warning: \`${command}\` could not run: ${escapeAndTruncate(op.error ?? 'unknown error', MAX_SUMMARY)}`);
    default:
      return simple(`\`${command}\` is ${op.status}.`);
  }
}

function simple(text: string): ChatMessage {
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

// ---------------------------------------------------------------------------------------------
// Command replies (ephemeral).

export function laneStatusText(view: LaneView, now: number): string {
  const lines = [`*Lane ${view.lane}* of ${view.service}/${view.env}`];
  const last = view.last;
  if (!last) {
    lines.push('No deploy yet.');
  } else {
    lines.push(`${STATUS_LABEL[last.status]} · \`${last.branch}\` by <@${last.requester}> · requested ${ago(now, last.requestedAt)}`);
    if (last.finishedAt) lines.push(`finished ${ago(now, last.finishedAt)}`);
    for (const stage of last.stages) lines.push(`  ${stageLine(stage, now)}`);
    if (last.executionUrl) lines.push(`<${last.executionUrl}|Execution in the AWS console>`);
  }
  if (view.pending) lines.push(`Next: \`${view.pending.branch}\` by <@${view.pending.requester}>, waiting for the lane`);
  return lines.join('\n');
}

export function laneListText(views: LaneView[], service: string, env: string, now: number): string {
  if (views.length === 0) return `No lanes of ${service}/${env} yet. Start one with \`/lane deploy <lane> <branch>\`.`;
  const lines = views.map((view) => {
    const last = view.last;
    const state = last ? `${STATUS_LABEL[last.status]} · \`${last.branch}\` · ${ago(now, last.finishedAt ?? last.requestedAt)}` : 'no deploy yet';
    const next = view.pending ? ` · next: \`${view.pending.branch}\`` : '';
    return `• *${view.lane}* — ${state}${next}`;
  });
  return [`*Lanes of ${service}/${env}*`, ...lines].join('\n');
}

function ago(now: number, then: number): string {
  return `${formatDuration(Math.max(0, now - then))} ago`;
}
