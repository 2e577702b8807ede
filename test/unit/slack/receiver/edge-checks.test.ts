// The pure checks of the Slack edge: signature and timestamp window, how long a signature is
// remembered, what identifies a delivery, which action ids count as unknown, and the Socket Mode
// retry filter driven through a real Bolt app with a fake receiver.
import { createHmac } from 'node:crypto';
import { App, type ReceiverEvent } from '@slack/bolt';
import pino from 'pino';
import { deliveryKeyOf, signatureKeyOf } from '../../../../src/slack/receiver/delivery-key';
import { MemoryRequestLedger } from '../../../../src/slack/receiver/request-ledger';
import { signatureMemoryMs, verifySlackSignature } from '../../../../src/slack/receiver/slack-signature';
import { dropSocketModeRetries } from '../../../../src/slack/receiver/socket-mode-retries';
import { FakeReceiver } from '../../../support/fake-receiver';

const SECRET = 'secret';
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const sign = (body: string, ts: number) => `v0=${createHmac('sha256', SECRET).update(`v0:${ts}:${body}`).digest('hex')}`;

describe('verifySlackSignature', () => {
  const body = 'token=x&text=deploy';
  const at = (offsetSeconds: number, signature?: string) => {
    const ts = Math.floor(NOW / 1000) + offsetSeconds;
    return verifySlackSignature({ body: Buffer.from(body), timestamp: String(ts), signature: signature ?? sign(body, ts) }, SECRET, NOW);
  };

  it.each([
    ['now', 0, true],
    ['300 s old', -300, true],
    ['301 s old', -301, false],
    ['60 s ahead', 60, true],
    ['61 s ahead', 61, false],
    ['1 year ahead', 365 * 86400, false],
  ])('a timestamp %s (%d s from now): ok=%s', (_what, offset, ok) => {
    expect(at(offset).ok).toBe(ok);
  });

  it('refuses a wrong, short or missing signature and a timestamp that is not a number', () => {
    expect(at(0, sign('other body', Math.floor(NOW / 1000)))).toEqual({ ok: false, problem: 'the signature does not match' });
    expect(at(0, 'v0=abc').ok).toBe(false);
    expect(verifySlackSignature({ body: Buffer.from(body), timestamp: undefined, signature: 'v0=x' }, SECRET, NOW).ok).toBe(false);
    expect(verifySlackSignature({ body: Buffer.from(body), timestamp: '1e9', signature: sign(body, 1e9) }, SECRET, NOW).ok).toBe(false);
  });
});

describe('signatureMemoryMs', () => {
  it('remembers a signature until its timestamp leaves the window, longer for one from the future', () => {
    const now = Math.floor(NOW / 1000);
    expect(signatureMemoryMs(now, NOW)).toBe(301_000);
    expect(signatureMemoryMs(now + 60, NOW)).toBe(361_000);
    expect(signatureMemoryMs(now - 400, NOW)).toBe(1_000);
  });
});

describe('deliveryKeyOf', () => {
  it('uses the event_id of an Events API delivery, else the exact payload', () => {
    expect(deliveryKeyOf({ event_id: 'Ev1', event: {} }, 'a')).toBe(deliveryKeyOf({ event_id: 'Ev1' }, 'b'));
    expect(deliveryKeyOf({ command: '/lane' }, 'text=a')).toBe(deliveryKeyOf({ command: '/lane' }, 'text=a'));
    expect(deliveryKeyOf({ command: '/lane' }, 'text=a')).not.toBe(deliveryKeyOf({ command: '/lane' }, 'text=b'));
    expect(signatureKeyOf('v0=abc')).not.toBe(deliveryKeyOf({}, 'v0=abc'));
  });
});

describe('dropSocketModeRetries', () => {
  it('drops a redelivery of a delivery already taken (acking it), and takes a first delivery even when marked as a retry', async () => {
    const receiver = new FakeReceiver();
    const app = new App({ receiver, authorize: async () => ({ botToken: 'xoxb-test' }) });
    app.use(dropSocketModeRetries(new MemoryRequestLedger(), pino({ level: 'silent' })));
    const handled: string[] = [];
    app.command('/lane', async ({ ack, command }) => {
      handled.push(command.text);
      await ack();
    });
    const send = async (text: string, retryNum?: number) => {
      const acks: unknown[] = [];
      const event: ReceiverEvent = {
        body: { command: '/lane', text, user_id: 'U1', channel_id: 'C1', team_id: 'T1', trigger_id: `t-${text}` },
        ack: async (response) => void acks.push(response ?? null),
        retryNum,
      };
      await receiver.app.processEvent(event);
      return acks;
    };
    expect(await send('deploy a b')).toHaveLength(1);
    expect(await send('deploy a b', 1)).toHaveLength(1);
    expect(await send('status', 2)).toHaveLength(1);
    expect(handled).toEqual(['deploy a b', 'status']);
  });
});
