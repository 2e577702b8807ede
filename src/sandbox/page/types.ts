// What the page gets from the console API, typed from the server's own modules (`import type`
// only: nothing of the server is bundled, page-bundle.ts checks it).
import type { KnownBlock, MessageAttachment } from '@slack/web-api';
import type { Channel, ChangeKind, ConsoleMessage, ConsoleModal, ModalChange, User } from '../slack-workspace';

export type { ChangeKind, Channel, ConsoleModal, KnownBlock, ModalChange };

/** GET /sandbox/users: the people of the workspace (the bot is not one). */
export type ConsoleUser = Pick<User, 'id' | 'name' | 'realName' | 'title'>;

/**
 * A message as the page keeps it: the console's message (posted by the server, or an ack this tab
 * shows locally), read leniently. The renderer also takes the shapes Slack itself sends (legacy
 * attachments, `bot_id`, an `edited` object, several viewers) so that what the bot posts through
 * the Web API shows as Slack would show it.
 */
export interface PageMessage extends Omit<ConsoleMessage, 'blocks' | 'edited' | 'visibleTo' | 'username' | 'isBot' | 'edits' | 'ephemeral'> {
  username?: string;
  isBot?: boolean;
  edits?: number;
  ephemeral?: boolean;
  /** The bot posts Block Kit; the server keeps it as it came (`unknown[]`), and the renderer checks each block's type. */
  blocks?: KnownBlock[];
  attachments?: MessageAttachment[];
  edited?: boolean | { ts?: string; user?: string };
  visibleTo?: string | string[] | null;
  bot_id?: string;
  latest_reply?: string;
  /** Only in this tab: a command's ack shown before (or instead of) the server's copy. */
  local?: boolean;
  /** When this tab got the message's last event (ms). */
  receivedAt?: number;
}

/** A server-side message as the page keeps it. */
export function fromServer(message: ConsoleMessage): PageMessage {
  return message as PageMessage;
}

/** An event of GET /sandbox/events. */
export interface PageChange {
  kind: ChangeKind;
  message: PageMessage;
}

/** What the bot acked a command with (POST /sandbox/commands answers it as `ack`). */
export interface Ack {
  text: string;
  blocks?: KnownBlock[];
}
