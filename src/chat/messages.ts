// Block Kit messages, built by pure functions from records. Nothing here talks to Slack or Redis.
// What differs per kind of operation (titles, the final reply) comes from the kind's view
// (src/operations/kinds/); the frame every thread shares (the root message, stage lines) is here.
import type { KnownBlock } from '@slack/web-api';
import type { StageView } from '../cloud/pipelines.port';
import { slackDate, type LaneExpiryState } from '../domain/expiry';
import { requesterMention, type OperationRecord, type OperationStatus } from '../domain/operation';
import type { LaneView } from '../state/lane-registry';
import type { ChatMessage } from './chat.port';

/** Events that get their own reply in an operation's thread. */
export type ThreadEvent =
  | { kind: 'queued_behind'; aheadId: string }
  | { kind: 'superseded'; byId: string }
  | { kind: 'stage_failed'; stage: StageView }
  /**
   * A reply made elsewhere (already mrkdwn, maybe with blocks such as buttons); `broadcast` also
   * shows it in the channel. Its ts is kept, so an `edit` can change it later.
   */
  | { kind: 'note'; text: string; broadcast?: boolean; blocks?: KnownBlock[] }
  /** Replaces an earlier `note` of this thread (by its entry id), e.g. a prompt whose buttons were answered. */
  | { kind: 'edit'; entryId: string; text: string; blocks?: KnownBlock[] }
  | { kind: 'finished' };

/** What a thread reply may mention besides its own operation, looked up when the reply is sent. */
export interface RenderContext {
  now: number;
  other?: OperationRecord;
  otherLink?: string;
}

/** How one kind of operation shows in its thread (each kind in src/operations/kinds/ has one). */
export interface OperationView {
  /** The root message's bold first line. */
  title(op: OperationRecord): string;
  /** The root message's one-line text (notifications, screen readers). */
  summary(op: OperationRecord): string;
  /** The root message's last context item (what it runs: the pipeline, the stack). */
  target(op: OperationRecord): string;
  /** Blocks the root message shows after the stages (an approval request with its buttons). */
  extraBlocks?(op: OperationRecord, now: number): KnownBlock[];
  /** What a failed stage is called in this kind (Stage, Stack). */
  stageNoun: string;
  /** The reply when the operation waits behind another one. */
  queuedBehind(op: OperationRecord, ctx: RenderContext): ChatMessage;
  /** The reply when a newer operation replaced this one. */
  superseded(op: OperationRecord, ctx: RenderContext): ChatMessage;
  /** The last reply: what happened, and what to do next. */
  finished(op: OperationRecord, ctx: RenderContext): ChatMessage;
  /** The root's status words where this kind differs from STATUS_LABEL (a finished delete is not "deployed"). */
  statusLabels?: Partial<Record<OperationStatus, string>>;
  /** The root's status words from the record itself (a succeeded deploy that is not healthy), when it has any to say. */
  statusLabel?(op: OperationRecord): string | undefined;
}

/** Finds the view of an operation's kind (the operations registry). */
export type ViewOf = (op: OperationRecord) => OperationView;

export const STATUS_LABEL: Record<OperationStatus, string> = {
  queued: ':hourglass_flowing_sand: queued',
  awaiting_approval: ':raised_hand: awaiting approval',
  waiting: ':double_vertical_bar: waiting for the lane',
  starting: ':arrow_forward: starting the pipeline',
  running: ':arrows_counterclockwise: running',
  succeeded: ':white_check_mark: deployed',
  failed: ':x: failed',
  stopped: ':octagonal_sign: stopped',
  superseded: ':fast_forward: superseded',
  cancelled: ':no_entry_sign: cancelled',
  refused: ':no_entry: refused',
  rejected: ':no_entry: rejected',
  expired: ':hourglass: approval expired',
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
export const MAX_SUMMARY = 1500;

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
export function escapeAndTruncate(text: string, max: number): string {
  const escaped = escapeText(text);
  if (escaped.length <= max) return escaped;
  return `${escaped.slice(0, max - 1).replace(/&[a-z]{0,3}$/, '')}…`;
}

export function stageLine(stage: StageView, now: number): string {
  const end = stage.endedAt ?? (stage.status === 'InProgress' ? now : undefined);
  const duration = stage.startedAt !== undefined && end !== undefined ? ` · ${formatDuration(end - stage.startedAt)}` : '';
  const state = stage.status === 'NotStarted' ? 'not started' : stage.status.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  const detail = stage.detail ? ` (${escapeAndTruncate(stage.detail, 200)})` : '';
  return `${STAGE_ICON[stage.status]} ${escapeText(stage.name)} — ${state}${detail}${duration}`;
}

/** The root message of an operation's thread, edited in place as the operation moves on. */
export function rootMessage(op: OperationRecord, view: OperationView, now: number): ChatMessage {
  const status = view.statusLabel?.(op) ?? view.statusLabels?.[op.status] ?? STATUS_LABEL[op.status];
  const text = `${view.summary(op)}, requested by ${requesterMention(op.requester)}, ${status.replace(/^:[a-z_]+: /, '')}`;
  const blocks: KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text: `${view.title(op)}\n${status}` } }];
  if (op.stages.length > 0) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: op.stages.map((s) => stageLine(s, now)).join('\n') } });
  }
  blocks.push(...(view.extraBlocks?.(op, now) ?? []));
  const context = [`requested by ${requesterMention(op.requester)}`];
  const end = op.finishedAt ?? now;
  if (op.startedAt !== undefined) context.push(`${op.finishedAt ? 'took' : 'running for'} ${formatDuration(end - op.startedAt)}`);
  if (op.executionId) {
    const id = op.executionId.slice(0, 8);
    context.push(op.executionUrl ? `<${op.executionUrl}|execution ${id}>` : `execution ${id}`);
  }
  context.push(view.target(op));
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: context.join(' · ') }] });
  return { text, blocks };
}

/**
 * The root message's first post: who asked for what, without a status. The status is only ever
 * written by editing the ts lanebot recorded, so a copy of this post left behind by a lost answer
 * (see thread-narrator.ts) never shows a status that goes stale.
 */
export function rootPlaceholder(op: OperationRecord, view: OperationView): ChatMessage {
  return {
    text: `${view.summary(op)}, requested by ${requesterMention(op.requester)}`,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `${view.title(op)}\nrequested by ${requesterMention(op.requester)}` } }],
  };
}

/**
 * The direct message to a requester when Slack refuses lanebot's posts in the channel for good:
 * what happened, how to fix it, and what happens to the operation (it goes on; the outcome follows).
 */
export function cannotPostNotice(op: OperationRecord, view: OperationView, slackError: string, hint: string): ChatMessage {
  const fix =
    slackError === 'not_in_channel'
      ? `Invite me with \`/invite @lanebot\` in <#${op.channel}>; later operations there get their thread again.`
      : slackError === 'is_archived'
        ? `The channel is archived: bind ${op.service}/${op.env} to another channel in lanebot.yml.`
        : `The channel does not exist or I cannot see it (a private channel: invite me with \`/invite @lanebot\`). ${escapeText(hint)}`;
  const text = [
    `:warning: I could not post the thread of *${escapeText(view.summary(op))}* in <#${op.channel}>: Slack answered \`${escapeText(slackError)}\`.`,
    fix,
    `The ${op.kind} itself goes on (it was already queued); I will send you its outcome here when it ends.`,
  ].join('\n');
  return simple(text);
}

/** The direct message with the outcome of an operation whose channel thread could not be posted. */
export function outcomeNotice(op: OperationRecord, view: OperationView, finished: ChatMessage): ChatMessage {
  const intro = `Outcome of *${escapeText(view.summary(op))}* (requested in <#${op.channel}>, where I could not post): ${STATUS_LABEL[op.status]}`;
  return { text: `${intro}\n${finished.text}`, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: intro } }, ...(finished.blocks ?? [])] };
}

/** A reply in an operation's thread. */
export function threadReply(op: OperationRecord, event: ThreadEvent, view: OperationView, ctx: RenderContext): ChatMessage {
  switch (event.kind) {
    case 'queued_behind':
      return view.queuedBehind(op, ctx);
    case 'superseded':
      return view.superseded(op, ctx);
    case 'stage_failed': {
      const failure = event.stage.failure;
      const lines = [`:red_circle: ${view.stageNoun} *${escapeText(event.stage.name)}* failed.`];
      if (failure) {
        lines.push(`Action \`${escapeText(failure.actionName)}\`: ${escapeAndTruncate(failure.summary, MAX_SUMMARY)}`);
        if (failure.logUrl) lines.push(`<${failure.logUrl}|Logs of the failed action>`);
      }
      return simple(lines.join('\n'));
    }
    case 'note':
    case 'edit': {
      const message: ChatMessage = event.blocks ? { text: event.text, blocks: event.blocks } : simple(event.text);
      return event.kind === 'note' && event.broadcast ? { ...message, broadcast: true } : message;
    }
    case 'finished':
      return view.finished(op, ctx);
  }
}

/** "took 3m 05s" → " in 3m 05s", or nothing when the operation never started. */
export function tookText(op: OperationRecord): string {
  return op.startedAt !== undefined && op.finishedAt !== undefined ? ` in ${formatDuration(op.finishedAt - op.startedAt)}` : '';
}

/** A link to the pipeline execution, as a sentence, or nothing. */
export function executionText(op: OperationRecord): string {
  return op.executionUrl ? ` <${op.executionUrl}|Execution in the AWS console>.` : '';
}

/** Why an operation ended in `error`, with the reference that matches the log line. */
export function errorText(op: OperationRecord): string {
  const reference = op.correlationId ? ` (reference \`${op.correlationId}\`)` : '';
  return `${escapeAndTruncate(op.error ?? 'unknown error', MAX_SUMMARY)}${reference}`;
}

/** The operation another one waits behind, in a sentence: "the deploy of `x` by @u". */
export function aheadText(ahead: OperationRecord | undefined): string {
  if (!ahead) return 'the deploy in progress';
  return ahead.kind === 'deploy' ? `the deploy of \`${ahead.params.branch}\` by ${requesterMention(ahead.requester)}` : `the \`/lane ${ahead.kind}\` by ${requesterMention(ahead.requester)}`;
}

/** A thread link as " (thread)", or nothing. */
export function threadLink(ctx: RenderContext): string {
  return ctx.otherLink ? ` (<${ctx.otherLink}|thread>)` : '';
}

/** Why the lane refused an operation (it is being deleted). */
export function refusedText(op: OperationRecord, ctx: RenderContext): string {
  const by = ctx.other ? ` by ${requesterMention(ctx.other.requester)}` : '';
  return `:no_entry: Lane *${op.lane}* is being deleted${by}${threadLink(ctx)}, so it takes no other operation; nothing was changed. Once it is gone, a deploy creates it afresh.`;
}

export function simple(text: string): ChatMessage {
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

// ---------------------------------------------------------------------------------------------
// Command replies (ephemeral).

/**
 * One lane in full. `expiry` (domain/expiry.ts laneExpiryState, computed by the command, which has
 * the config) adds its line after what the lane runs.
 */
export function laneStatusText(view: LaneView, now: number, expiry?: LaneExpiryState): string {
  const lines = [`*Lane ${view.lane}* of ${view.service}/${view.env}${view.state === 'deleting' ? ' · :wastebasket: being deleted' : ''}`];
  if (view.branch) lines.push(`runs \`${view.branch}\`${view.image ? ` · image \`${view.image}\`` : ''}`);
  if (expiry) lines.push(capitalize(expiryText(expiry)));
  const last = view.last;
  if (!last) {
    lines.push('No deploy yet.');
  } else {
    const what = last.kind === 'deploy' ? `\`${last.params.branch ?? ''}\`` : `\`/lane ${last.kind}\``;
    lines.push(`${statusLabelOf(last)} · ${what} by ${requesterMention(last.requester)} · requested ${ago(now, last.requestedAt)}`);
    if (last.finishedAt) lines.push(`finished ${ago(now, last.finishedAt)}`);
    for (const stage of last.stages) lines.push(`  ${stageLine(stage, now)}`);
    if (last.executionUrl) lines.push(`<${last.executionUrl}|Execution in the AWS console>`);
  }
  if (view.pending) lines.push(`Next: ${pendingText(view.pending)} by ${requesterMention(view.pending.requester)}, waiting for the lane`);
  return lines.join('\n');
}

/**
 * One line per lane. `expiries` (by lane name; domain/expiry.ts laneExpiryState, computed by the
 * command, which has the config) adds when each lane expires.
 */
export function laneListText(views: LaneView[], service: string, env: string, now: number, expiries?: ReadonlyMap<string, LaneExpiryState>): string {
  if (views.length === 0) return `No lanes of ${service}/${env} yet. Start one with \`/lane deploy <lane> <branch>\`.`;
  const lines = views.map((view) => {
    const last = view.last;
    const runs = view.branch ? `runs \`${view.branch}\`` : 'runs nothing yet';
    const state = view.state === 'deleting' ? ':wastebasket: being deleted' : last ? statusLabelOf(last) : 'no operation yet';
    // The latest deploy's branch, when it is not (yet) what the lane runs.
    const lastWhat = view.state === 'active' && last?.kind === 'deploy' && last.params.branch !== view.branch ? ` \`${last.params.branch ?? ''}\`` : '';
    const idle = view.lastActivityAt !== undefined ? ` · idle ${formatDuration(Math.max(0, now - view.lastActivityAt))}` : '';
    const next = view.pending ? ` · next: ${pendingText(view.pending)}` : '';
    const expiry = expiries?.get(view.lane);
    return `• *${view.lane}* — ${runs} · ${state}${lastWhat}${idle}${expiry ? ` · ${expiryText(expiry)}` : ''}${next}`;
  });
  return [`*Lanes of ${service}/${env}*`, ...lines].join('\n');
}

/** "expires <date>", ":hourglass: pending deletion on <date>" or "never expires"; dates in each reader's time zone. */
export function expiryText(expiry: LaneExpiryState): string {
  switch (expiry.kind) {
    case 'never':
      return 'never expires';
    case 'expires':
      return `expires ${slackDate(expiry.at)}`;
    case 'pending-deletion':
      return `:hourglass: pending deletion on ${slackDate(expiry.at)} unless renewed`;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function pendingText(op: OperationRecord): string {
  return op.kind === 'deploy' ? `\`${op.params.branch ?? ''}\`` : `\`/lane ${op.kind}\``;
}

/**
 * An operation's status words where no view is at hand (lane status and list): a succeeded change
 * with a health verdict says it ("deployed and healthy", "deployed, unhealthy").
 */
export function statusLabelOf(op: OperationRecord): string {
  if (op.status === 'succeeded' && op.health) {
    switch (op.health.verdict) {
      case 'healthy':
        return ':white_check_mark: deployed and healthy';
      case 'unhealthy':
        return ':warning: deployed, unhealthy';
      case 'unchecked':
        return ':white_check_mark: deployed (health not checked)';
    }
  }
  return STATUS_LABEL[op.status];
}

export function ago(now: number, then: number): string {
  return `${formatDuration(Math.max(0, now - then))} ago`;
}
