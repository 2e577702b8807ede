// The Slack stand-in's rate limits: token buckets per channel for posts and per workspace for
// chat.update, refusing beyond them with a Retry-After in whole seconds.
import { SLACK_LIMITS, scaleSlackLimits, SlackRateLimits } from '../../../src/sandbox/workspace/slack-rate-limits';

describe('SlackRateLimits', () => {
  it('takes a burst of posts per channel, then refuses until a token is back, channel by channel', () => {
    let now = 0;
    const limits = new SlackRateLimits({ postsPerChannel: { intervalMs: 1000, burst: 2 }, updates: { intervalMs: 1200, burst: 5 } }, () => now);
    expect(limits.take('chat.postMessage', { channel: 'C1' })).toBeUndefined();
    expect(limits.take('chat.postMessage', { channel: 'C1' })).toBeUndefined();
    expect(limits.take('chat.postMessage', { channel: 'C1' })).toEqual({ retryAfterSeconds: 1 });
    // Another channel has its own bucket.
    expect(limits.take('chat.postMessage', { channel: 'C2' })).toBeUndefined();
    now = 999;
    expect(limits.take('chat.postMessage', { channel: 'C1' })).toEqual({ retryAfterSeconds: 1 });
    now = 1000;
    expect(limits.take('chat.postMessage', { channel: 'C1' })).toBeUndefined();
    expect(limits.refused.get('chat.postMessage')).toBe(2);
  });

  it('counts chat.update for the whole workspace and leaves other methods alone', () => {
    let now = 0;
    const limits = new SlackRateLimits({ postsPerChannel: { intervalMs: 1000, burst: 1 }, updates: { intervalMs: 1200, burst: 1 } }, () => now);
    expect(limits.take('chat.update', { channel: 'C1' })).toBeUndefined();
    expect(limits.take('chat.update', { channel: 'C2' })).toEqual({ retryAfterSeconds: 2 });
    expect(limits.take('conversations.history', { channel: 'C1' })).toBeUndefined();
    expect(limits.take('conversations.history', { channel: 'C1' })).toBeUndefined();
    now = 1200;
    expect(limits.take('chat.update', { channel: 'C2' })).toBeUndefined();
  });

  it('scales Slack’s limits for compressed time, keeping the bursts', () => {
    expect(scaleSlackLimits(SLACK_LIMITS, 10)).toEqual({
      postsPerChannel: { intervalMs: 100, burst: SLACK_LIMITS.postsPerChannel.burst },
      updates: { intervalMs: 120, burst: SLACK_LIMITS.updates.burst },
    });
  });
});
