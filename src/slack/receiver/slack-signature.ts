// Slack's request signature (v0: HMAC-SHA256 over "v0:{timestamp}:{body}" with the signing secret),
// checked here rather than by Bolt so that the body is capped first and the replay check sees the
// signature. https://api.slack.com/authentication/verifying-requests-from-slack
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack's window: a request older than this is stale (and its signature no longer needs remembering). */
export const MAX_REQUEST_AGE_SECONDS = 5 * 60;
/** Clocks drift, but a request from more than a minute in the future was made up (or held back to replay later). */
export const MAX_REQUEST_FUTURE_SECONDS = 60;

export interface SignedRequest {
  body: Buffer;
  signature: string | undefined;
  timestamp: string | undefined;
}

export type SignatureVerdict = { ok: true; timestamp: number } | { ok: false; problem: string };

/** Whether a request was signed by Slack with `signingSecret` within the accepted window (`nowMs`: wall clock). */
export function verifySlackSignature(request: SignedRequest, signingSecret: string, nowMs: number): SignatureVerdict {
  const { signature, timestamp } = request;
  if (!signature || !timestamp) return { ok: false, problem: 'x-slack-signature or x-slack-request-timestamp is missing' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, problem: 'x-slack-request-timestamp is not a number of seconds' };
  const seconds = Number(timestamp);
  const now = Math.floor(nowMs / 1000);
  if (now - seconds > MAX_REQUEST_AGE_SECONDS) return { ok: false, problem: `the timestamp is more than ${MAX_REQUEST_AGE_SECONDS} s old` };
  if (seconds - now > MAX_REQUEST_FUTURE_SECONDS) return { ok: false, problem: `the timestamp is more than ${MAX_REQUEST_FUTURE_SECONDS} s in the future` };
  const expected = Buffer.from(`v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:`).update(request.body).digest('hex')}`);
  const given = Buffer.from(signature);
  // timingSafeEqual throws on different lengths; the length of a v0 signature is no secret.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, problem: 'the signature does not match' };
  return { ok: true, timestamp: seconds };
}

/**
 * How long a seen signature must be remembered: until its timestamp falls out of the window
 * (a request from the future stays valid longer than 5 minutes from now).
 */
export function signatureMemoryMs(timestampSeconds: number, nowMs: number): number {
  const expiresAt = (timestampSeconds + MAX_REQUEST_AGE_SECONDS + 1) * 1000;
  return Math.max(1_000, expiresAt - nowMs);
}
