// The buttons' action ids and the "Deploy again" button's value: small versioned JSON, decoded without ever throwing.
import { BUTTONS, checkButtons } from '../../../../src/slack/actions/index';
import { MAX_ACTION_VALUE_LENGTH } from '../../../../src/slack/actions/button-value';
import {
  DEPLOY_AGAIN_ACTION_ID,
  decodeDeployAgainValue as decodeActionValue,
  encodeDeployAgainValue as encodeActionValue,
} from '../../../../src/slack/actions/deploy-again';

describe('the button registry', () => {
  it('holds distinct action ids within Slack action_id limits', () => {
    const ids = BUTTONS.map((b) => b.actionId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z_]{1,255}$/);
    expect(() => checkButtons()).not.toThrow();
  });

  it('refuses two buttons with one action id at start-up', () => {
    expect(() => checkButtons([BUTTONS[0]!, BUTTONS[0]!])).toThrow('two buttons share the action id "lane_deploy_again"');
  });

  it('keeps the deploy-again id stable (buttons already posted carry it)', () => {
    expect(DEPLOY_AGAIN_ACTION_ID).toBe('lane_deploy_again');
  });
});

describe('encodeActionValue / decodeActionValue', () => {
  it('round-trips a deploy id as small versioned JSON', () => {
    const encoded = encodeActionValue({ v: 1, deployId: 'mhx3k2a0-0123456789ab' });
    expect(JSON.parse(encoded)).toEqual({ v: 1, deployId: 'mhx3k2a0-0123456789ab' });
    expect(decodeActionValue(encoded)).toEqual({ ok: true, value: { v: 1, deployId: 'mhx3k2a0-0123456789ab' } });
  });

  it('stays within the button value limit for the longest deploy id', () => {
    const encoded = encodeActionValue({ v: 1, deployId: 'a'.repeat(128) });
    expect(encoded.length).toBeLessThanOrEqual(MAX_ACTION_VALUE_LENGTH);
    expect(decodeActionValue(encoded).ok).toBe(true);
  });

  it('drops anything but the version and the deploy id', () => {
    const extra = { v: 1 as const, deployId: 'd1', lane: 'gray' } as { v: 1; deployId: string };
    expect(JSON.parse(encodeActionValue(extra))).toEqual({ v: 1, deployId: 'd1' });
  });

  it('throws when asked to encode something that is not a deploy id (a bug, not input)', () => {
    expect(() => encodeActionValue({ v: 1, deployId: 'x:y' })).toThrow('not a deploy id');
    expect(() => encodeActionValue({ v: 1, deployId: '' })).toThrow('not a deploy id');
  });

  it.each<[string, unknown, string]>([
    ['no value', undefined, 'the button has no value'],
    ['an empty value', '', 'the button has no value'],
    ['a non-string value', 42, 'the button has no value'],
    ['a value over 2000 characters', JSON.stringify({ v: 1, deployId: 'd1', pad: 'x'.repeat(2000) }), 'longer than 2000 characters'],
    ['not JSON', '{v:1', 'not JSON'],
    ['a JSON string', '"d1"', 'not a JSON object'],
    ['a JSON array', '[1,"d1"]', 'not a JSON object'],
    ['null', 'null', 'not a JSON object'],
    ['no version', '{"deployId":"d1"}', 'has no version'],
    ['a newer version', '{"v":2,"deployId":"d1"}', 'unknown value version 2 (this lanebot reads version 1)'],
    ['a version as a string', '{"v":"1","deployId":"d1"}', 'unknown value version (this lanebot reads version 1)'],
    ['no deploy id', '{"v":1}', 'does not name a deploy'],
    ['a numeric deploy id', '{"v":1,"deployId":7}', 'does not name a deploy'],
    ['a deploy id reaching into other Redis keys', '{"v":1,"deployId":"x:lane:user-api"}', 'does not name a deploy'],
    ['a deploy id with a wildcard', '{"v":1,"deployId":"*"}', 'does not name a deploy'],
    ['a deploy id over 128 characters', JSON.stringify({ v: 1, deployId: 'a'.repeat(129) }), 'does not name a deploy'],
  ])('refuses %s with a clear problem, without throwing', (_label, raw, problem) => {
    const result = decodeActionValue(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problem).toContain(problem);
      // Problems never echo the (untrusted) value back.
      expect(result.problem).not.toContain('x:lane');
      expect(result.problem.length).toBeLessThan(100);
    }
  });
});
