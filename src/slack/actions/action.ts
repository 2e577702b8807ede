// The shape every button lanebot posts has: one module per button (this folder), each with its
// action id, a decoder of its small versioned value, and its handler. The handler gets the decoded
// value and who clicked where; it re-reads the current state in Redis and asks the access policy
// again. Listing a module in index.ts registers it; nothing else needs to change.
import type { Principal } from '../../access/policy';
import type { CommandDeps } from '../../../commands/command';
import type { ChatMessage } from '../../chat/chat.port';
import type { DecodeResult } from './button-value';

/** Who clicked, where, on which message. */
export interface Click<V> {
  principal: Principal;
  channelId: string;
  /** The message the button is on (absent for ephemeral messages). */
  messageTs?: string;
  /** Slack's trigger for opening a modal (valid for 3 seconds after the click). */
  triggerId?: string;
  value: V;
}

export interface ClickOutcome {
  /** For the audit log and metrics. */
  outcome: 'accepted' | 'refused';
  /** Shown to the clicker only (ephemeral). */
  reply?: string;
  /** Replaces the ephemeral message the button was on (e.g. a confirmation once used). */
  replaceOriginal?: ChatMessage;
  /** What the audit entry says (the refusal reason, the queued operation). */
  detail?: string;
  /** What the click is about, for the audit entry. */
  scope?: { service: string; env: string; lane?: string; operationId?: string };
}

/** What handlers may use: the same as commands (no AWS, no Slack calls). */
export type ActionDeps = CommandDeps;

export interface ButtonModule<V = unknown> {
  actionId: string;
  /** Names the button in metrics and the audit log. */
  name: string;
  /** What to type instead when the button is broken or outdated, e.g. "`/lane deploy <lane> <branch>`". */
  instead: string;
  decode(raw: unknown): DecodeResult<V>;
  handle(click: Click<V>, deps: ActionDeps): Promise<ClickOutcome>;
}
