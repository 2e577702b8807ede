// A click whose action_id no button module handles (a button from an older lanebot, a copied
// message, a forged payload): acked at once and logged. Without this listener Bolt answers such a
// click with a 404 after waiting 3 seconds for a listener to ack it.
import type { App, BlockAction } from '@slack/bolt';
import type { Logger } from 'pino';

/** Matches every action id except `known` (exactly). */
export function unknownActionIdPattern(known: readonly string[]): RegExp {
  const escaped = known.map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return escaped.length === 0 ? /^/ : new RegExp(`^(?!(?:${escaped.join('|')})$)`);
}

export function registerUnknownActions(app: App, knownActionIds: readonly string[], logger: Pick<Logger, 'warn'>): void {
  app.action<BlockAction>({ type: 'block_actions', action_id: unknownActionIdPattern(knownActionIds) }, async function unknownAction({ ack, action, body }) {
    await ack();
    logger.warn(
      { actionId: 'action_id' in action ? action.action_id : undefined, user: body.user.id, channel: body.channel?.id },
      'acked a click on a button lanebot does not handle (unknown action id); nothing was done',
    );
  });
}
