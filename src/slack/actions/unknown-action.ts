// A click whose action_id no button module handles (a button from an older lanebot, a copied
// message, a forged payload): acked at once and logged. Unanswered, Bolt would answer such a click
// with a 404 after waiting 3 seconds for a listener to ack it.
import type { AckFn, BlockAction } from '@slack/bolt';
import type { Logger } from 'pino';

export type UnknownActionHandler = (click: { ack: AckFn<void>; body: BlockAction; action: BlockAction['actions'][number] }) => Promise<void>;

export function unknownActionHandler(logger: Pick<Logger, 'warn'>): UnknownActionHandler {
  return async function unknownAction({ ack, action, body }) {
    await ack();
    logger.warn(
      { actionId: 'action_id' in action ? action.action_id : undefined, user: body.user.id, channel: body.channel?.id },
      'acked a click on a button lanebot does not handle (unknown action id); nothing was done',
    );
  };
}
