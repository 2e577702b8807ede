// Who may open the operator pages: whoever presents ADMIN_TOKEN, either as a bearer token
// (`Authorization: Bearer <token>`, for curl and scripts) or as the password of HTTP basic auth with
// any user name (what a browser can send: it asks once and repeats it for every asset of the page).
import { createHash, timingSafeEqual } from 'node:crypto';

/** Why a request was let in or not; both refusals get the same 401, the reason is for the log. */
export type AdminAuthorization = 'accepted' | 'missing' | 'wrong';

/** The realm a browser shows in its password prompt. */
export const ADMIN_REALM = 'lanebot admin';

export function checkAdminAuthorization(header: string | undefined, token: string): AdminAuthorization {
  if (header === undefined || header.trim() === '') return 'missing';
  const presented = presentedToken(header.trim());
  if (presented === undefined) return 'wrong';
  return sameSecret(presented, token) ? 'accepted' : 'wrong';
}

/** The token in a Bearer or Basic (password part) authorization, or undefined when malformed. */
function presentedToken(header: string): string | undefined {
  const space = header.indexOf(' ');
  if (space < 0) return undefined;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return value === '' ? undefined : value;
  if (scheme === 'basic') {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // RFC 7617: user-id ":" password; the user id is whatever the person typed, and is ignored.
    return colon < 0 ? undefined : decoded.slice(colon + 1);
  }
  return undefined;
}

/**
 * Compares in constant time. Both sides are hashed first: timingSafeEqual needs equal lengths, and
 * comparing lengths directly would tell an attacker the token's length.
 */
function sameSecret(presented: string, token: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(token));
}
