// The page's state: who is typing, which channel and thread are open, and the messages this tab knows.
import type { Channel, ConsoleUser, PageChange, PageMessage } from './types';

/** The console API, on this origin. */
export const API = '/sandbox';
/** The bot's user id in the sandbox workspace. */
export const BOT_USER = 'UBOT';
export const STORAGE = { user: 'lanebot.sandbox.user', channel: 'lanebot.sandbox.channel', sim: 'lanebot.sandbox.simOpen' } as const;

export interface PageState {
  users: ConsoleUser[];
  usersById: Map<string, ConsoleUser>;
  channels: Channel[];
  channelsById: Map<string, Channel>;
  me: string | null;
  channelId: string | null;
  threadTs: string | null;
  /** channel id → (ts → message) */
  store: Map<string, Map<string, PageMessage>>;
  /** channel id → buffers of events received while a fetch of it is in flight. */
  pendingEvents: Map<string, Set<PageChange[]>>;
  /** channel id → seq of the newest load applied. */
  appliedLoad: Map<string, number>;
  unread: Map<string, number>;
  /** `${channel}:${ts}` of ephemerals dismissed in this tab. */
  dismissed: Set<string>;
  flashTs: string | null;
  localSeq: number;
  channelLoadSeq: number;
  /** How far the simulated clock is ahead of real time (from the Simulator panel's last read). */
  simOffsetMs: number;
}

export const state: PageState = {
  users: [],
  usersById: new Map(),
  channels: [],
  channelsById: new Map(),
  me: null,
  channelId: null,
  threadTs: null,
  store: new Map(),
  pendingEvents: new Map(),
  appliedLoad: new Map(),
  unread: new Map(),
  dismissed: new Set(),
  flashTs: null,
  localSeq: 0,
  channelLoadSeq: 0,
  simOffsetMs: 0,
};
