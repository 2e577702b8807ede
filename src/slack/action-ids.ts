// Every Block Kit button lanebot posts: its action_id, and the value it carries. Values are small
// versioned JSON that only name things (a deploy id); listeners load the current state from Redis
// and re-check who clicked, because a payload is only as trustworthy as the message it came from.
import type { DeployStatus } from '../domain/deploy';

export const ACTION_IDS = { deployAgain: 'lane_deploy_again' } as const;

export type ActionId = (typeof ACTION_IDS)[keyof typeof ACTION_IDS];

/** Slack refuses a button whose value is longer than this. */
export const MAX_ACTION_VALUE_LENGTH = 2000;

/** The deploys whose final thread reply offers "Deploy again": the ones that changed nothing. */
export const DEPLOY_AGAIN_STATUSES: ReadonlySet<DeployStatus> = new Set<DeployStatus>(['failed', 'stopped', 'cancelled']);

/** What a "Deploy again" button carries: which deploy to repeat, nothing else. */
export interface ActionValue {
  v: 1;
  deployId: string;
}

export type DecodeResult = { ok: true; value: ActionValue } | { ok: false; problem: string };

/** Deploy ids double as CodePipeline's clientRequestToken (src/domain/deploy.ts): `[a-zA-Z0-9-]{1,128}`. */
const DEPLOY_ID = /^[A-Za-z0-9-]{1,128}$/;

export function encodeActionValue(value: ActionValue): string {
  // Our own ids always pass; failing here is a bug, not input, so it throws.
  if (!DEPLOY_ID.test(value.deployId)) throw new Error(`not a deploy id: ${JSON.stringify(value.deployId.slice(0, 140))}`);
  return JSON.stringify({ v: value.v, deployId: value.deployId });
}

/**
 * Reads a button value back. Never throws: a value that is not ours (malformed, from a newer or
 * older lanebot, edited) is a problem to tell the user about. Problems do not quote the value.
 */
export function decodeActionValue(raw: unknown): DecodeResult {
  if (typeof raw !== 'string' || raw === '') return { ok: false, problem: 'the button has no value' };
  if (raw.length > MAX_ACTION_VALUE_LENGTH) return { ok: false, problem: `the value is longer than ${MAX_ACTION_VALUE_LENGTH} characters` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { ok: false, problem: 'the value is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, problem: 'the value is not a JSON object' };
  const { v, deployId } = parsed as { v?: unknown; deployId?: unknown };
  if (v === undefined) return { ok: false, problem: 'the value has no version' };
  if (v !== 1) {
    const shown = typeof v === 'number' && Number.isSafeInteger(v) ? ` ${v}` : '';
    return { ok: false, problem: `unknown value version${shown} (this lanebot reads version 1)` };
  }
  if (typeof deployId !== 'string' || !DEPLOY_ID.test(deployId)) return { ok: false, problem: 'the value does not name a deploy' };
  return { ok: true, value: { v, deployId } };
}
