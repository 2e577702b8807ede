// The shape every `/lane` subcommand module has: usage text, a pure parser, an authorization rule,
// and what it does. commands/index.ts routes the slash command text to one of them.
import type { RenewResult } from '../src/domain/expiry';
import type { KnownBlock, ModalView } from '@slack/web-api';
import { can, type AccessDecision, type Principal } from '../src/access/policy';
import type { AuditLog } from '../src/audit/audit-log';
import type { Clock } from '../src/clock';
import type { LanebotConfig } from '../src/config';
import type { OperationRecord, OperationRequest } from '../src/domain/operation';
import type { ApprovalOutcome } from '../src/state/approvals';
import { validateLane, type LaneRef, type Scope } from '../src/domain/names';
import type { LaneRegistry } from '../src/state/lane-registry';
import type { OperationStore } from '../src/state/operation-store';

export type ParseResult<A> = { ok: true; args: A } | { ok: false; problem: string };

/** The access policy's answer (src/access/policy.ts). */
export type Authorization = AccessDecision;

export interface Reply {
  text: string;
  blocks?: KnownBlock[];
  /** Ephemeral replies are seen only by the person who typed the command. */
  visibility: 'ephemeral' | 'in_channel';
  /** The command was refused after the ack (the audit log records it as refused). */
  refused?: boolean;
  /**
   * Called once this reply is delivered (or failed to be): lets go of a follow-up the command
   * queued, so that the follow-up arrives second (`/lane status`'s health). Failures are logged.
   */
  afterDelivery?: () => Promise<void>;
}

/** Who typed the command, where. */
export interface CommandContext {
  userId: string;
  /** The user with the configured user groups they belong to (from lanebot's Redis copy). */
  principal: Principal;
  channelId: string;
  /** The service/env the command is about: from the channel binding or --service/--env. */
  scope: Scope;
  /** Where later answers to the command go (Slack's response_url); absent outside a slash command. */
  responseUrl?: string;
}

/** `/lane status`'s follow-up: the health of these lanes, posted to the command's response_url. */
export interface LaneHealthRequest {
  responseUrl: string;
  userId: string;
  service: string;
  env: string;
  lanes: string[];
}

/** What commands may use. No AWS here: listeners must answer Slack within 3 seconds. */
export interface CommandDeps {
  config: LanebotConfig;
  clock: Clock;
  lanes: Pick<LaneRegistry, 'state' | 'get' | 'list' | 'page' | 'releases'>;
  /** Read-only: an operation's record, for buttons that name an operation by id. */
  operations: Pick<OperationStore, 'get'>;
  /** Read-only: `/lane history`. */
  audit: Pick<AuditLog, 'recent'>;
  /** Queues an operation request; throws QueueUnavailableError when Redis cannot take it. */
  enqueue(request: OperationRequest): Promise<void>;
  /**
   * Queues `/lane status`'s health follow-up: a worker reads the cloud (never the listener) and posts
   * to the command's response_url. It waits until `release()`, which the listener calls once the
   * first answer is delivered, so the follow-up comes second (or a few seconds at most, should
   * nobody call it). Throws QueueUnavailableError when Redis cannot take it.
   */
  queueLaneHealth(request: LaneHealthRequest): Promise<{ release(): Promise<void> }>;
  /**
   * Renews a lane (expiry/lane-expiry.ts): Redis only, so commands and buttons call it in the ack path.
   * The caller has checked who asks; this checks the lane and the duration.
   */
  renewLane(ref: LaneRef, by: string, durationMs?: number): Promise<RenewResult>;
  /** Approval requests: decisions (one Lua script each) and what waits. */
  approvals: {
    decide(op: OperationRecord, action: 'approve' | 'reject', user: string, reason?: string): Promise<{ outcome: ApprovalOutcome; state: string }>;
    pending(scope: Scope): Promise<OperationRecord[]>;
    /** A click on a pipeline's manual approval: `deciding` when it recorded the decision. */
    decidePipeline(op: OperationRecord, token: string, decision: { approved: boolean; by: string; reason?: string; at: number }): Promise<string>;
  };
  /** A person's control of a running operation (a canary's pause, abort, promote now): OperationStore.setControl. */
  controlOperation: OperationStore['setControl'];
  /** Brings an operation waiting for a decision back to its runner at once. */
  resume(operationId: string): Promise<void>;
  /** Re-renders an operation's root message (its approval request) from its record. */
  refreshThread(operationId: string): Promise<void>;
  /** Opens a modal (views.open) for a click's trigger; used right after a click's ack. */
  openModal(triggerId: string, view: ModalView): Promise<void>;
  /** Whether the bot may post in a channel, from lanebot's Redis copy (never a Slack call). */
  canPost(channelId: string): Promise<'yes' | 'no' | 'unknown'>;
}

export interface Command<A = unknown> {
  name: string;
  /** One line for `/lane help`. */
  summary: string;
  /** e.g. "/lane deploy <lane> <branch>" */
  usage: string;
  /** False for commands that work in any channel (help). */
  needsScope: boolean;
  /** Options of its own (`to` for `--to <lane>`), left in its tokens for `parse`; others are refused. */
  options?: readonly string[];
  /** Pure: tokens after the subcommand and global flags. */
  parse(tokens: string[], scope: Scope): ParseResult<A>;
  authorize(ctx: CommandContext, args: A, config: LanebotConfig): Authorization;
  /**
   * Optional: what the configuration lacks for this command (e.g. `/lane setup` without a `setup:`
   * section), checked after authorization; a problem is answered with the usage and nothing runs.
   */
  precondition?(ctx: CommandContext, args: A, config: LanebotConfig): string | undefined;
  /**
   * For commands that queue work whose result shows up elsewhere (a deploy's thread): what the ack
   * says once `run` has queued it. The ack waits for `run` (bounded; see src/slack/slack-app.ts), so it
   * confirms only what Redis has taken, and a refusal or failure is the ack's own text.
   */
  acknowledge?(ctx: CommandContext, args: A): string;
  /** Does the work; a reply, or undefined when the ack already said everything. */
  run(ctx: CommandContext, args: A, deps: CommandDeps): Promise<Reply | undefined>;
}

export const allowEveryone = (): Authorization => ({ allowed: true });

/** The parser of commands that take no arguments. */
export function parseNoArgs(name: string) {
  return (tokens: string[]): ParseResult<Record<string, never>> =>
    tokens.length > 0 ? { ok: false, problem: `\`${name}\` takes no arguments` } : { ok: true, args: {} };
}

/** The parser of commands that take at most a lane (`/lane status [<lane>]`, `/lane history [<lane>]`). */
export function parseOptionalLane(tokens: string[], scope: Scope): ParseResult<{ lane?: string }> {
  if (tokens.length > 1) return { ok: false, problem: `too many arguments (${tokens.length}); expected at most a lane` };
  const [lane] = tokens;
  if (lane === undefined) return { ok: true, args: {} };
  const check = validateLane(lane, scope);
  return check.ok ? { ok: true, args: { lane } } : { ok: false, problem: check.problem };
}

/** Authorization of the admin commands (`/lane setup`, `infra`, `boot`): the policy's `admin`. */
export function adminsOnly(commandName: string) {
  return (ctx: CommandContext, _args: unknown, config: LanebotConfig): Authorization => {
    const decision = can(ctx.principal, 'admin', ctx.scope, config);
    // The policy speaks of "this"; the command knows its own name.
    return decision.allowed ? decision : { allowed: false, reason: decision.reason.replace(/^This changes/, `\`/lane ${commandName}\` changes`) };
  };
}

/**
 * Why an operation requested in `channelId` must not be queued: the bot cannot post there, so its
 * thread would never appear. Undefined when it can, or when lanebot does not know yet (then the
 * narrator tells the requester by DM if Slack refuses the thread).
 */
export async function threadRefusal(channelId: string, deps: Pick<CommandDeps, 'canPost'>): Promise<Reply | undefined> {
  if ((await deps.canPost(channelId)) !== 'no') return undefined;
  return refusal(
    ':no_entry: Nothing was queued: lanebot is not a member of this channel, so it could not post the thread it promises. ' +
      'Invite it with `/invite @lanebot` (or run the command in the service\'s own channel), then run the command again.',
  );
}

/** Slack refuses message text over 40,000 characters; answers stay well below. */
export const MAX_REPLY_TEXT = 39_000;

/** Cuts a long answer at a line boundary below MAX_REPLY_TEXT and says so, with what to do instead. */
export function fitReply(text: string, instead: string): string {
  if (text.length <= MAX_REPLY_TEXT) return text;
  const note = `\n… cut here: the answer is longer than Slack shows. ${instead}`;
  const cut = text.slice(0, MAX_REPLY_TEXT - note.length);
  return `${cut.slice(0, Math.max(0, cut.lastIndexOf('\n')))}${note}`;
}

export function ephemeral(text: string): Reply {
  return { text, visibility: 'ephemeral' };
}

/** An ephemeral refusal: nothing was done, and the text says why. */
export function refusal(text: string): Reply {
  return { text, visibility: 'ephemeral', refused: true };
}

export { mention } from '../src/access/mention';
