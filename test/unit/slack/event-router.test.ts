// The event router (src/slack/events/event-router.ts) in a real Bolt app with a fake receiver:
// every module's listener behind one Bolt listener, reached by its event type, and nothing else.
import { App, type ReceiverEvent } from '@slack/bolt';
import { EventRouter } from '../../../src/slack/events/event-router';
import { FakeReceiver } from '../../support/fake-receiver';

function eventEnvelope(event: Record<string, unknown>): ReceiverEvent {
  return {
    body: { type: 'event_callback', team_id: 'T1', api_app_id: 'A1', event_id: `Ev-${String(event.type)}`, event_time: 1, event },
    ack: async () => undefined,
  };
}

describe('EventRouter', () => {
  it('hands each event to the listeners of its type, in order, through one Bolt listener', async () => {
    const receiver = new FakeReceiver();
    const app = new App({ receiver, authorize: async () => ({ botToken: 'xoxb-test' }) });
    const seen: string[] = [];
    const router = new EventRouter();
    router.event('member_joined_channel', async ({ event }) => void seen.push(`joined ${event.channel}`));
    router.event('channel_left', async ({ event }) => void seen.push(`left ${event.channel}`));
    router.event('channel_left', async () => void seen.push('left, second listener'));
    router.attach(app);
    expect(router.types).toEqual(['channel_left', 'member_joined_channel']);

    await receiver.app.processEvent(eventEnvelope({ type: 'member_joined_channel', user: 'U1', channel: 'C1', channel_type: 'C', team: 'T1', event_ts: '1.0' }));
    await receiver.app.processEvent(eventEnvelope({ type: 'channel_left', channel: 'C2', actor_id: 'U2', event_ts: '2.0' }));
    // A type no module listens to (nor one whose name only starts like a listened one) reaches nobody.
    await receiver.app.processEvent(eventEnvelope({ type: 'member_left_channel', user: 'U1', channel: 'C3', event_ts: '3.0' }));
    await receiver.app.processEvent(eventEnvelope({ type: 'channel_left_extra', channel: 'C4', event_ts: '4.0' }));
    expect(seen).toEqual(['joined C1', 'left C2', 'left, second listener']);
  });

  it('registers no Bolt listener when no module listens to anything', () => {
    const app = { event: jest.fn() } as unknown as App;
    new EventRouter().attach(app);
    expect((app.event as jest.Mock).mock.calls).toHaveLength(0);
  });
});
