// The "Roll back" button of a promote's or rollback's last reply (and of a deploy that ended
// unhealthy): queues `/lane rollback <lane>` — the lane back to its previous release — for whoever
// clicks, with the same checks as the command (commands/rollback.ts), made again at the click.
import type { ActionsBlock } from '@slack/types';
import { requestRollback } from '../../../commands/rollback';
import type { LaneRef } from '../../domain/names';
import type { OperationRecord } from '../../domain/operation';
import type { ButtonModule, ClickOutcome } from './action';
import { decodeButtonValue, laneOfValue, type DecodeResult } from './button-value';

export const ROLL_BACK_ACTION_ID = 'lane_roll_back';

export interface RollBackValue extends LaneRef {
  v: 1;
}

export function decodeRollBackValue(raw: unknown): DecodeResult<RollBackValue> {
  return decodeButtonValue(raw, 1, (fields) => {
    const lane = laneOfValue(fields);
    return lane.ok ? { ok: true, value: { v: 1, ...lane.value } } : lane;
  });
}

/** The button, for the lane the operation changed. */
export function rollbackBlock(op: Pick<OperationRecord, 'service' | 'env' | 'lane'>): ActionsBlock {
  return {
    type: 'actions',
    block_id: 'lane_roll_back',
    elements: [
      {
        type: 'button',
        action_id: ROLL_BACK_ACTION_ID,
        text: { type: 'plain_text', text: 'Roll back' },
        value: JSON.stringify({ v: 1, service: op.service, env: op.env, lane: op.lane }),
        confirm: {
          title: { type: 'plain_text', text: 'Roll back the lane?' },
          text: { type: 'mrkdwn', text: `Put lane *${op.lane}* of ${op.service}/${op.env} back on its previous release?`.slice(0, 300) },
          confirm: { type: 'plain_text', text: 'Roll back' },
          deny: { type: 'plain_text', text: 'Cancel' },
        },
      },
    ],
  };
}

export const rollBackButton: ButtonModule<RollBackValue> = {
  actionId: ROLL_BACK_ACTION_ID,
  name: 'roll_back',
  instead: '`/lane rollback <lane>`',
  decode: decodeRollBackValue,
  async handle(click, deps): Promise<ClickOutcome> {
    const { service, env, lane } = click.value;
    const ref: LaneRef = { service, env, lane };
    const result = await requestRollback(click.principal, click.channelId, ref, undefined, deps);
    if (!result.ok) return { outcome: 'refused', reply: result.problem, detail: result.problem, scope: ref };
    return { outcome: 'accepted', reply: result.text, detail: `queued ${result.request.id}`, scope: { ...ref, operationId: result.request.id } };
  },
};
