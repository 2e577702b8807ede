// The Renew buttons of a lane's expiry prompt (expiry/lane-expiry.ts posts it): renew the lane for
// the environment's deleteAfter, or for the longest renewal allowed. Anyone who may deploy to the
// lane may renew it (the same check as the command, `/lane renew`). The prompt's Delete now button
// is the delete confirmation's own (delete-lane.ts), behind a confirm dialog.
import type { KnownBlock } from '@slack/types';
import { renewLane } from '../../../commands/renew';
import { DELETE_LANE_ACTION_ID } from '../../../commands/delete';
import { simple } from '../../chat/messages';
import type { ExpiryWindow } from '../../domain/expiry';
import type { LaneRef } from '../../domain/names';
import type { ButtonModule, ClickOutcome } from './action';
import { decodeButtonValue, laneOfValue, type DecodeResult } from './button-value';

export const RENEW_LANE_ACTION_ID = 'lane_renew';
/** A second Renew button with another duration needs another action id (Slack wants them unique per block). */
export const RENEW_LANE_LONG_ACTION_ID = 'lane_renew_long';

export interface RenewLaneValue extends LaneRef {
  v: 1;
  /** How long to renew for (ms); checked against the config again on click. */
  d: number;
}

export function decodeRenewLaneValue(raw: unknown): DecodeResult<RenewLaneValue> {
  return decodeButtonValue(raw, 1, (fields) => {
    const { d } = fields;
    const lane = laneOfValue(fields);
    if (!lane.ok || typeof d !== 'number' || !Number.isInteger(d) || d <= 0) return { ok: false, problem: 'the value does not name a lane and a duration' };
    return { ok: true, value: { v: 1, ...lane.value, d } };
  });
}

function renewButton(actionId: string): ButtonModule<RenewLaneValue> {
  return {
    actionId,
    name: actionId === RENEW_LANE_ACTION_ID ? 'renew_lane' : 'renew_lane_long',
    instead: '`/lane renew <lane> [<duration>]`',
    decode: decodeRenewLaneValue,
    async handle(click, deps): Promise<ClickOutcome> {
      const { service, env, lane, d } = click.value;
      const ref: LaneRef = { service, env, lane };
      const result = await renewLane(click.principal, ref, d, deps);
      if (!result.ok) return { outcome: 'refused', reply: result.problem, detail: result.problem, scope: ref };
      return { outcome: 'accepted', replaceOriginal: simple(result.text), detail: `until ${new Date(result.until).toISOString()}`, scope: ref };
    },
  };
}

export const renewLaneButton = renewButton(RENEW_LANE_ACTION_ID);
export const renewLaneLongButton = renewButton(RENEW_LANE_LONG_ACTION_ID);

/** "7 days", "30 days". */
function days(ms: number): string {
  const n = ms / 86_400_000;
  return Number.isInteger(n) ? `${n} day${n === 1 ? '' : 's'}` : `${Math.round(ms / 3_600_000)} hours`;
}

/** The prompt's buttons: Renew for deleteAfter, Renew for the longest renewal (when longer), Delete now. */
export function expiryPromptBlocks(ref: LaneRef, window: ExpiryWindow): KnownBlock[] {
  const value = (d: number) => JSON.stringify({ v: 1, service: ref.service, env: ref.env, lane: ref.lane, d });
  const elements: Extract<KnownBlock, { type: 'actions' }>['elements'] = [
    { type: 'button', action_id: RENEW_LANE_ACTION_ID, style: 'primary', text: { type: 'plain_text', text: `Renew for ${days(window.deleteAfter)}` }, value: value(window.deleteAfter) },
  ];
  if (window.maxRenewal > window.deleteAfter) {
    elements.push({ type: 'button', action_id: RENEW_LANE_LONG_ACTION_ID, text: { type: 'plain_text', text: `Renew for ${days(window.maxRenewal)}` }, value: value(window.maxRenewal) });
  }
  elements.push({
    type: 'button',
    action_id: DELETE_LANE_ACTION_ID,
    style: 'danger',
    text: { type: 'plain_text', text: 'Delete now' },
    value: JSON.stringify({ v: 1, service: ref.service, env: ref.env, lane: ref.lane }),
    confirm: {
      title: { type: 'plain_text', text: 'Delete the lane?' },
      text: { type: 'mrkdwn', text: `Delete lane *${ref.lane}* of ${ref.service}/${ref.env} and everything in its stack now? This cannot be undone.`.slice(0, 300) },
      confirm: { type: 'plain_text', text: 'Delete' },
      deny: { type: 'plain_text', text: 'Cancel' },
      style: 'danger',
    },
  });
  return [{ type: 'actions', block_id: 'lane_expiry', elements }];
}
