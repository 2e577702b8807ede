// What makes two deliveries "the same one": Slack retries a delivery with a new timestamp and so a
// new signature, but the same payload. Only consulted for retries (x-slack-retry-num).
import { createHash } from 'node:crypto';

/** How long a delivery is remembered: Slack retries after about 0 s, 1 min and 5 min. */
export const DELIVERY_MEMORY_MS = 60 * 60 * 1000;

/**
 * The Events API names each delivery (`event_id`); everything else (slash commands, interactions)
 * is identified by its exact payload, whose trigger_id or action_ts Slack makes unique per use.
 */
export function deliveryKeyOf(body: unknown, raw: Buffer | string): string {
  if (body && typeof body === 'object' && 'event_id' in body && typeof body.event_id === 'string' && body.event_id) {
    return `delivery:event:${body.event_id}`;
  }
  return `delivery:payload:${createHash('sha256').update(raw).digest('hex')}`;
}

/**
 * The ledger key of a signature (a replay of a signed request carries the same one): the signature
 * itself, which never looks like a delivery key ("v0=…").
 */
export function signatureKeyOf(signature: string): string {
  return signature;
}
