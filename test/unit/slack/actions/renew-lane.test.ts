// The expiry prompt's Renew buttons: their values name a lane and a duration; the decoder takes
// nothing else, and the prompt's buttons carry values it reads back.
import { DELETE_LANE_ACTION_ID } from '../../../../commands/delete';
import { decodeDeleteLaneValue } from '../../../../src/slack/actions/delete-lane';
import { decodeRenewLaneValue, expiryPromptBlocks, RENEW_LANE_ACTION_ID, RENEW_LANE_LONG_ACTION_ID } from '../../../../src/slack/actions/renew-lane';

const DAY = 86_400_000;
const GRAY = { service: 'user-api', env: 'dev', lane: 'gray' };

describe('decodeRenewLaneValue', () => {
  it('reads a lane and a duration in ms, dropping anything else', () => {
    expect(decodeRenewLaneValue(JSON.stringify({ v: 1, ...GRAY, d: 7 * DAY, until: 'forever' }))).toEqual({ ok: true, value: { v: 1, ...GRAY, d: 7 * DAY } });
  });

  it.each<[string, unknown, string]>([
    ['no value', undefined, 'the button has no value'],
    ['not JSON', '{v:1', 'not JSON'],
    ['a newer version', JSON.stringify({ v: 2, ...GRAY, d: DAY }), 'unknown value version 2'],
    ['no duration', JSON.stringify({ v: 1, ...GRAY }), 'does not name a lane and a duration'],
    ['a duration as text', JSON.stringify({ v: 1, ...GRAY, d: '7d' }), 'does not name a lane and a duration'],
    ['a zero duration', JSON.stringify({ v: 1, ...GRAY, d: 0 }), 'does not name a lane and a duration'],
    ['a negative duration', JSON.stringify({ v: 1, ...GRAY, d: -DAY }), 'does not name a lane and a duration'],
    ['a fractional duration', JSON.stringify({ v: 1, ...GRAY, d: 1.5 }), 'does not name a lane and a duration'],
    ['no lane', JSON.stringify({ v: 1, service: 'user-api', env: 'dev', d: DAY }), 'does not name a lane and a duration'],
    ['a lane reaching into other Redis keys', JSON.stringify({ v: 1, ...GRAY, lane: 'gray:x', d: DAY }), 'does not name a lane'],
    ['an admin slot', JSON.stringify({ v: 1, ...GRAY, lane: '@infra', d: DAY }), 'does not name a lane'],
    ['a wildcard service', JSON.stringify({ v: 1, ...GRAY, service: '*', d: DAY }), 'does not name a lane'],
  ])('refuses %s with a clear problem, without throwing', (_label, raw, problem) => {
    const result = decodeRenewLaneValue(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problem).toContain(problem);
      expect(result.problem).not.toContain('gray:x');
    }
  });
});

describe('expiryPromptBlocks', () => {
  type Button = { action_id: string; value: string; text: { text: string }; confirm?: unknown };
  const buttonsOf = (blocks: ReturnType<typeof expiryPromptBlocks>): Button[] => (blocks[0] as unknown as { elements: Button[] }).elements;

  it('offers Renew for deleteAfter, Renew for the longest renewal, and Delete now behind a confirm dialog; the values decode', () => {
    const buttons = buttonsOf(expiryPromptBlocks(GRAY, { warnAfter: 6 * DAY, deleteAfter: 7 * DAY, maxRenewal: 30 * DAY }));
    expect(buttons.map((b) => [b.action_id, b.text.text])).toEqual([
      [RENEW_LANE_ACTION_ID, 'Renew for 7 days'],
      [RENEW_LANE_LONG_ACTION_ID, 'Renew for 30 days'],
      [DELETE_LANE_ACTION_ID, 'Delete now'],
    ]);
    expect(decodeRenewLaneValue(buttons[0]!.value)).toEqual({ ok: true, value: { v: 1, ...GRAY, d: 7 * DAY } });
    expect(decodeRenewLaneValue(buttons[1]!.value)).toEqual({ ok: true, value: { v: 1, ...GRAY, d: 30 * DAY } });
    expect(decodeDeleteLaneValue(buttons[2]!.value)).toEqual({ ok: true, value: { v: 1, ...GRAY } });
    expect(buttons[2]!.confirm).toBeDefined();
  });

  it('leaves out the long renewal when it is no longer than deleteAfter', () => {
    const buttons = buttonsOf(expiryPromptBlocks(GRAY, { warnAfter: 2 * DAY, deleteAfter: 3 * DAY, maxRenewal: 3 * DAY }));
    expect(buttons.map((b) => b.action_id)).toEqual([RENEW_LANE_ACTION_ID, DELETE_LANE_ACTION_ID]);
    expect(buttons[0]!.text.text).toBe('Renew for 3 days');
  });
});
