// Button values: small versioned JSON that only names things (an operation id, a lane). Handlers
// load the current state from Redis and re-check who clicked, because a payload is only as
// trustworthy as the message it came from — and a message can be old, edited or forged.

import { validateLane, type LaneRef } from '../../domain/names';

/** Slack refuses a button whose value is longer than this. */
export const MAX_ACTION_VALUE_LENGTH = 2000;

export type DecodeResult<V> = { ok: true; value: V } | { ok: false; problem: string };

/**
 * Reads a button value back: a JSON object of version `version`, whose fields `fields` checks.
 * Never throws: a value that is not ours (malformed, from a newer or older lanebot, edited) is a
 * problem to tell the user about. Problems never quote the value.
 */
export function decodeButtonValue<V>(
  raw: unknown,
  version: number,
  fields: (parsed: Record<string, unknown>) => DecodeResult<V>,
): DecodeResult<V> {
  if (typeof raw !== 'string' || raw === '') return { ok: false, problem: 'the button has no value' };
  if (raw.length > MAX_ACTION_VALUE_LENGTH) return { ok: false, problem: `the value is longer than ${MAX_ACTION_VALUE_LENGTH} characters` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { ok: false, problem: 'the value is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, problem: 'the value is not a JSON object' };
  const { v } = parsed as { v?: unknown };
  if (v === undefined) return { ok: false, problem: 'the value has no version' };
  if (v !== version) {
    const shown = typeof v === 'number' && Number.isSafeInteger(v) ? ` ${v}` : '';
    return { ok: false, problem: `unknown value version${shown} (this lanebot reads version ${version})` };
  }
  return fields(parsed as Record<string, unknown>);
}

/**
 * The lane a value names (`service`, `env`, `lane` fields), checked with the same rules as the
 * commands, so nothing that is not a lane name reaches a Redis key.
 */
export function laneOfValue({ service, env, lane }: Record<string, unknown>): DecodeResult<LaneRef> {
  if (typeof service !== 'string' || typeof env !== 'string' || typeof lane !== 'string') return { ok: false, problem: 'the value does not name a lane' };
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(service) || !/^[a-z][a-z0-9-]{0,15}$/.test(env) || !validateLane(lane, { service, env }).ok) {
    return { ok: false, problem: 'the value does not name a lane' };
  }
  return { ok: true, value: { service, env, lane } };
}
