// Slack's rules for Web API parameters, as the sandbox workspace applies them: form bodies carry
// everything as strings, structured values arrive as JSON text or values, limits and cursors, and
// the error codes Slack answers with when a parameter is wrong. Pure functions, no state.
import { randomUUID } from 'node:crypto';
import { SlackApiError, type MessageMetadata, type Params, type WorkspaceMessage } from './types';

/** Slack's limits that lanebot's messages could run into. */
const MAX_TEXT_LENGTH = 40_000;
const MAX_BLOCKS = 50;

export function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function requiredString(p: Params, name: string): string {
  const value = optionalString(p[name]);
  if (!value) throw new SlackApiError('invalid_arguments', `missing required field: ${name}`);
  return value;
}

/** Form bodies carry booleans as strings. */
export function booleanParam(value: unknown): boolean {
  return value === true || value === 'true' || value === '1' || value === 1;
}

export function checkText(text: string): string {
  if (text.length > MAX_TEXT_LENGTH) throw new SlackApiError('msg_too_long');
  return text;
}

/** `text` and `blocks` of a new message; one of them is required. */
export function messageContent(p: Params): { text: string; blocks?: unknown[] } {
  const text = checkText(typeof p.text === 'string' ? p.text : '');
  const blocks = parseBlocks(p.blocks);
  if (!text && !blocks?.length) throw new SlackApiError('no_text');
  return { text, blocks: blocks?.length ? blocks : undefined };
}

/** Blocks arrive as a JSON string (form bodies) or an array (JSON bodies). */
export function parseBlocks(value: unknown): unknown[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const parsed = parseJsonParam(value, 'invalid_blocks_format');
  if (!Array.isArray(parsed)) throw new SlackApiError('invalid_blocks_format');
  if (parsed.length > MAX_BLOCKS) throw new SlackApiError('invalid_blocks', `no more than ${MAX_BLOCKS} items allowed`);
  if (!parsed.every(isBlock)) throw new SlackApiError('invalid_blocks', 'every block needs a type');
  return parsed.map(withBlockId);
}

/** Structured parameters arrive as JSON strings (form bodies) or as values (JSON bodies). */
export function parseJsonParam(value: unknown, errorCode: string): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw new SlackApiError(errorCode);
  }
}

/** Slack gives every block without a block_id one of its own when the message is stored. */
export function withBlockId(block: unknown, index: number): unknown {
  const record = block as Record<string, unknown>;
  if (typeof record.block_id === 'string') return block;
  return { ...record, block_id: `b${index}${randomUUID().slice(0, 4)}` };
}

export function isBlock(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

export function parseMetadata(value: unknown): MessageMetadata | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const parsed = parseJsonParam(value, 'invalid_metadata_format');
  const candidate = parsed as { event_type?: unknown; event_payload?: unknown };
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.event_type !== 'string') {
    throw new SlackApiError('invalid_metadata_format');
  }
  const payload = candidate.event_payload;
  if (payload !== undefined && (typeof payload !== 'object' || payload === null || Array.isArray(payload))) {
    throw new SlackApiError('invalid_metadata_format');
  }
  return { event_type: candidate.event_type, event_payload: (payload ?? {}) as Record<string, unknown> };
}

/** A Slack ts ("seconds.micros") as an integer of microseconds, exact where Number(ts) is not. */
export function tsMicros(ts: string): number | undefined {
  const match = /^(\d+)(?:\.(\d{0,6})\d*)?$/.exec(ts);
  if (!match) return undefined;
  return Number(match[1]) * 1_000_000 + Number((match[2] ?? '').padEnd(6, '0'));
}

export interface TimeWindow {
  includes(ts: string): boolean;
}

/** `oldest` / `latest` / `inclusive` of history and replies: exclusive bounds unless inclusive. */
export function timeWindow(p: Params): TimeWindow {
  const bound = (name: 'oldest' | 'latest'): number | undefined => {
    const raw = p[name];
    if (raw === undefined || raw === '') return undefined;
    const micros = tsMicros(String(raw));
    if (micros === undefined) throw new SlackApiError(`invalid_ts_${name}`);
    return micros;
  };
  const oldest = bound('oldest');
  const latest = bound('latest');
  const inclusive = booleanParam(p.inclusive);
  return {
    includes(ts) {
      const t = tsMicros(ts) ?? 0;
      if (oldest !== undefined && (inclusive ? t < oldest : t <= oldest)) return false;
      if (latest !== undefined && (inclusive ? t > latest : t >= latest)) return false;
      return true;
    },
  };
}

export function limitParam(p: Params, limits: { default: number; max: number }): number {
  if (p.limit === undefined || p.limit === '') return limits.default;
  const limit = Number(p.limit);
  if (!Number.isInteger(limit) || limit < 0) throw new SlackApiError('invalid_limit');
  // Slack treats 0 as "the default" and caps the rest.
  return limit === 0 ? limits.default : Math.min(limit, limits.max);
}

/** One page of `items` after an opaque cursor (the ts the previous page ended at). */
export function pageAfterCursor(items: WorkspaceMessage[], cursor: unknown, limit: number): { items: WorkspaceMessage[]; hasMore: boolean; nextCursor: string } {
  let start = 0;
  if (typeof cursor === 'string' && cursor !== '') {
    const afterTs = Buffer.from(cursor, 'base64').toString('utf8').replace(/^next_ts:/, '');
    const index = items.findIndex((m) => m.ts === afterTs);
    if (index < 0) throw new SlackApiError('invalid_cursor');
    start = index + 1;
  }
  const page = items.slice(start, start + limit);
  const hasMore = start + limit < items.length;
  const last = page[page.length - 1];
  return { items: page, hasMore, nextCursor: hasMore && last ? Buffer.from(`next_ts:${last.ts}`).toString('base64') : '' };
}

/** Drops undefined fields so that JSON answers and events carry only what is set. */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
