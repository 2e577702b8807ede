// The delete confirmation's value names a lane; the decoder takes nothing that is not one.
import { decodeDeleteLaneValue } from '../../../../src/slack/actions/delete-lane';

describe('decodeDeleteLaneValue', () => {
  it('reads a lane of a service/env', () => {
    const raw = JSON.stringify({ v: 1, service: 'user-api', env: 'dev', lane: 'gray' });
    expect(decodeDeleteLaneValue(raw)).toEqual({ ok: true, value: { v: 1, service: 'user-api', env: 'dev', lane: 'gray' } });
  });

  it('drops anything else the value carries', () => {
    const raw = JSON.stringify({ v: 1, service: 'user-api', env: 'dev', lane: 'gray', force: true });
    expect(decodeDeleteLaneValue(raw)).toEqual({ ok: true, value: { v: 1, service: 'user-api', env: 'dev', lane: 'gray' } });
  });

  it.each<[string, unknown, string]>([
    ['no value', undefined, 'the button has no value'],
    ['a value over 2000 characters', JSON.stringify({ v: 1, service: 'a', env: 'b', lane: 'c', pad: 'x'.repeat(2000) }), 'longer than 2000 characters'],
    ['not JSON', '{v:1', 'not JSON'],
    ['an array', '["user-api","dev","gray"]', 'not a JSON object'],
    ['a newer version', JSON.stringify({ v: 2, service: 'user-api', env: 'dev', lane: 'gray' }), 'unknown value version 2'],
    ['no lane', JSON.stringify({ v: 1, service: 'user-api', env: 'dev' }), 'does not name a lane'],
    ['a lane reaching into other Redis keys', JSON.stringify({ v: 1, service: 'user-api', env: 'dev', lane: 'gray:x' }), 'does not name a lane'],
    ['a wildcard service', JSON.stringify({ v: 1, service: '*', env: 'dev', lane: 'gray' }), 'does not name a lane'],
    ['an admin slot', JSON.stringify({ v: 1, service: 'user-api', env: 'dev', lane: '@setup' }), 'does not name a lane'],
    ['a numeric env', JSON.stringify({ v: 1, service: 'user-api', env: 7, lane: 'gray' }), 'does not name a lane'],
    ['an oversized lane', JSON.stringify({ v: 1, service: 'user-api', env: 'dev', lane: 'a'.repeat(64) }), 'does not name a lane'],
  ])('refuses %s with a clear problem, without throwing', (_label, raw, problem) => {
    const result = decodeDeleteLaneValue(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problem).toContain(problem);
      expect(result.problem).not.toContain('gray:x');
    }
  });
});
