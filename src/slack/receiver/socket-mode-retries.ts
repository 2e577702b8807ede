// Socket Mode has no signatures (the websocket is the authentication), so nothing to replay from
// outside; but Slack redelivers an envelope it thinks was not acked, with a retry number. A global
// Bolt middleware drops a redelivery whose first delivery was taken, by the same delivery key as
// the HTTP edge (the payload, or the event_id), shared through the same ledger.
import type { Middleware, AnyMiddlewareArgs } from '@slack/bolt';
import type { Logger } from 'pino';
import { DELIVERY_MEMORY_MS, deliveryKeyOf } from './delivery-key';
import type { RequestLedger } from './request-ledger';

const LEDGER_TIMEOUT_MS = 500;

export function dropSocketModeRetries(ledger: RequestLedger, logger: Pick<Logger, 'warn'>): Middleware<AnyMiddlewareArgs> {
  return async function socketModeRetries(args) {
    const { body, context, next } = args;
    // The payload as Slack sent it, re-serialised: the same delivery gives the same text.
    const key = deliveryKeyOf(body, JSON.stringify(body));
    let first = true;
    try {
      const sighting = ledger.firstSighting(key, DELIVERY_MEMORY_MS);
      // Past the timeout the check may still fail; nobody waits for it any more.
      sighting.catch(() => undefined);
      first = await Promise.race([
        sighting,
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), LEDGER_TIMEOUT_MS).unref()),
      ]);
    } catch (error) {
      logger.warn({ err: error }, 'could not check a Socket Mode delivery against the ledger (Redis); taking it unchecked');
    }
    if (!first && context.retryNum !== undefined) {
      logger.warn({ retryNum: context.retryNum, retryReason: context.retryReason }, 'dropped a Socket Mode redelivery already taken');
      // Events are acked by Bolt before middleware runs; everything else still needs its ack.
      if ('ack' in args && typeof args.ack === 'function') await (args.ack as () => Promise<void>)();
      return;
    }
    await next();
  };
}
