import { checkAdminAuthorization } from '../../../src/admin/admin-auth';

const TOKEN = 'b3f1c0a9d8e7f6a5b4c3d2e1f0a9b8c7';
const basic = (userAndPassword: string) => `Basic ${Buffer.from(userAndPassword, 'utf8').toString('base64')}`;

describe('checkAdminAuthorization', () => {
  it.each<[string, string | undefined, ReturnType<typeof checkAdminAuthorization>]>([
    ['no header', undefined, 'missing'],
    ['an empty header', '', 'missing'],
    ['a blank header', '   ', 'missing'],
    ['the bearer token', `Bearer ${TOKEN}`, 'accepted'],
    ['the bearer token, scheme in any case and spaces around', `  bEARER   ${TOKEN}  `, 'accepted'],
    ['basic auth with the token as password', basic(`admin:${TOKEN}`), 'accepted'],
    ['basic auth with any user name', basic(`ops@example.com:${TOKEN}`), 'accepted'],
    ['basic auth with an empty user name', basic(`:${TOKEN}`), 'accepted'],
    ['basic auth with a colon inside the password part (the password is all after the first colon)', basic(`a:${TOKEN}:x`), 'wrong'],
    ['a wrong bearer token', `Bearer ${TOKEN}0`, 'wrong'],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, 10)}`, 'wrong'],
    ['an empty bearer token', 'Bearer ', 'wrong'],
    ['the token with no scheme', TOKEN, 'wrong'],
    ['the token as the basic user name', basic(`${TOKEN}:`), 'wrong'],
    ['basic auth without a colon', basic(TOKEN), 'wrong'],
    ['basic auth that is not base64', `Basic ${TOKEN}!`, 'wrong'],
    ['another scheme', `Digest ${TOKEN}`, 'wrong'],
    ['the token in lower/upper case swapped', `Bearer ${TOKEN.toUpperCase()}`, 'wrong'],
  ])('%s: %s', (_label, header, verdict) => {
    expect(checkAdminAuthorization(header, TOKEN)).toBe(verdict);
  });

  it('takes a token with non-ASCII characters as it is (compared as UTF-8)', () => {
    const token = 'jeton-élevé-ünïcödé-0123456789';
    expect(checkAdminAuthorization(`Bearer ${token}`, token)).toBe('accepted');
    expect(checkAdminAuthorization(basic(`u:${token}`), token)).toBe('accepted');
    expect(checkAdminAuthorization(`Bearer ${token.normalize('NFD')}`, token)).toBe('wrong');
  });
});
