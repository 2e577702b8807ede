// alarmNoticeText: what a lane's thread is told when one of its alarms changes.
import { alarmNoticeText } from '../../../src/chat/health-messages';
import { alarmLink } from '../../../src/health/lane-health';
import type { LaneResources } from '../../../src/domain/lane-resources';
import type { AlarmNotice } from '../../../src/state/alarm-states';
import { T0 } from '../../support/fixtures';

const MIN = 60_000;
const NAME = 'user-api-dev-gray-5xx-rate';
const LINK = 'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/user-api-dev-gray-5xx-rate';
const REASON = 'Threshold Crossed: 1 datapoint [4.2 (05/01/26 10:00:00)] was greater than the threshold (1.0).';

function notice(overrides: Partial<AlarmNotice> = {}): AlarmNotice {
  return { alarmName: NAME, state: 'ALARM', at: T0, reason: REASON, alarmingSince: T0, changes: 1, seq: 1, ...overrides };
}

describe('alarmNoticeText for ALARM', () => {
  it('says the 5xx rate against its threshold, with the console link on the label', () => {
    expect(alarmNoticeText(notice({ value: 4.2, threshold: 1 }), { lane: 'gray', role: 'errorRate', link: LINK })).toBe(
      `:rotating_light: <${LINK}|5xx rate>: 4.2 % &gt; 1 % on lane *gray*.`,
    );
    expect(alarmNoticeText(notice({ value: 4.2 }), { lane: 'gray', role: 'errorRate' })).toBe(':rotating_light: 5xx rate: 4.2 % on lane *gray*.');
  });

  it('says how many hosts are unhealthy and how many tasks are missing', () => {
    const about = (role: 'unhealthyHosts' | 'runningTasks') => ({ lane: 'gray', role });
    expect(alarmNoticeText(notice({ value: 1, threshold: 0 }), about('unhealthyHosts'))).toBe(':rotating_light: unhealthy hosts: 1 unhealthy host on lane *gray*.');
    expect(alarmNoticeText(notice({ value: 3, threshold: 0 }), about('unhealthyHosts'))).toBe(':rotating_light: unhealthy hosts: 3 unhealthy hosts on lane *gray*.');
    expect(alarmNoticeText(notice({ value: 1, threshold: 0 }), about('runningTasks'))).toBe(':rotating_light: tasks below desired: 1 task below desired on lane *gray*.');
    expect(alarmNoticeText(notice({ value: 2, threshold: 0 }), about('runningTasks'))).toBe(':rotating_light: tasks below desired: 2 tasks below desired on lane *gray*.');
  });

  it('names an alarm of no known role by its name, with value and threshold as they are', () => {
    expect(alarmNoticeText(notice({ alarmName: 'gray-latency-p99', value: 812, threshold: 500 }), { lane: 'gray' })).toBe(
      ':rotating_light: alarm gray-latency-p99: 812 &gt; 500 on lane *gray*.',
    );
  });

  it('rounds figures without losing small ones', () => {
    const text = (value: number, threshold?: number) => alarmNoticeText(notice({ value, threshold }), { lane: 'gray', role: 'errorRate' });
    expect(text(12.345, 1)).toContain('12 % &gt; 1 %');
    expect(text(4.25, 1)).toMatch(/: 4\.[23] % &gt; 1 %/);
    // A low threshold must not read as "0.0 % > 0.0 %".
    expect(text(0.04, 0.01)).toContain('0.04 % &gt; 0.01 %');
  });

  it('falls back to the reason without figures, without doubling its full stop', () => {
    expect(alarmNoticeText(notice(), { lane: 'gray', role: 'errorRate', link: LINK })).toBe(
      `:rotating_light: <${LINK}|5xx rate> alarm on lane *gray*: Threshold Crossed: 1 datapoint [4.2 (05/01/26 10:00:00)] was greater than the threshold (1.0).`,
    );
    expect(alarmNoticeText(notice({ reason: '' }), { lane: 'gray', role: 'errorRate' })).toBe(':rotating_light: 5xx rate alarm on lane *gray*.');
    const long = alarmNoticeText(notice({ reason: 'x'.repeat(1000) }), { lane: 'gray', role: 'errorRate' });
    expect(long.length).toBeLessThan(400);
    expect(long).toContain('…');
  });
});

describe('alarmNoticeText after ALARM', () => {
  it('says OK with how long the alarm lasted', () => {
    const cleared = (ms: number) => alarmNoticeText(notice({ state: 'OK', at: T0 + ms }), { lane: 'gray', role: 'errorRate', link: LINK });
    expect(cleared(12 * MIN)).toBe(`:white_check_mark: <${LINK}|5xx rate> on lane *gray* cleared after 12 min.`);
    expect(cleared(65 * MIN)).toContain('cleared after 1 h 05 min.');
    expect(cleared(40_000)).toContain('cleared after 40s.');
    expect(cleared(26 * 60 * MIN)).toContain('cleared after 26 h 00 min.');
  });

  it('says OK without a duration when it does not know when the alarm began', () => {
    expect(alarmNoticeText(notice({ state: 'OK', at: T0 + MIN, alarmingSince: undefined }), { lane: 'gray', role: 'unhealthyHosts' })).toBe(
      ':white_check_mark: unhealthy hosts on lane *gray* cleared.',
    );
    // A timestamp before the ALARM began (clock skew between sources) is no duration either.
    expect(alarmNoticeText(notice({ state: 'OK', at: T0 - MIN }), { lane: 'gray', role: 'unhealthyHosts' })).toBe(':white_check_mark: unhealthy hosts on lane *gray* cleared.');
  });

  it('says INSUFFICIENT_DATA after ALARM as no longer alarming, but without data', () => {
    const text = alarmNoticeText(notice({ state: 'INSUFFICIENT_DATA', at: T0 + 3 * MIN, reason: 'Insufficient Data' }), { lane: 'gray', role: 'runningTasks' });
    expect(text).toMatch(/^:white_circle: tasks below desired on lane \*gray\* is no longer in ALARM/);
    expect(text).toContain('3 min');
    expect(text).toContain('has no data now');
  });
});

describe('alarmNoticeText details', () => {
  it('says how many changes a flapping alarm\'s message sums up, and nothing for a single change', () => {
    const folded = alarmNoticeText(notice({ state: 'OK', at: T0 + 4 * MIN, alarmingSince: T0 + 3 * MIN, changes: 3 }), { lane: 'gray', role: 'errorRate' });
    expect(folded).toContain('3 changes in and out of ALARM');
    expect(folded).toContain('flapping');
    expect(alarmNoticeText(notice({ value: 3, threshold: 1 }), { lane: 'gray', role: 'errorRate' })).not.toContain('flapping');
    expect(alarmNoticeText(notice({ value: 3, threshold: 1, changes: 2 }), { lane: 'gray', role: 'errorRate' })).toMatch(/^:rotating_light: 5xx rate: 3 % &gt; 1 % on lane \*gray\*\. _\(2 changes/);
  });

  it('escapes what Slack would read as markup: names, lanes and reasons', () => {
    const weird = 'a<b>&c|d';
    const text = alarmNoticeText(notice({ alarmName: weird, reason: 'went <!channel> & stayed' }), { lane: 'x<y', link: alarmLink({ stackName: 's', region: 'eu-west-1', alarms: {} } as LaneResources, weird) });
    expect(text).toContain('|alarm a&lt;b&gt;&amp;c|d>');
    expect(text).toContain('lane *x&lt;y*');
    expect(text).toContain('went &lt;!channel&gt; &amp; stayed');
    expect(text).not.toContain('<!channel>');
    // The link itself carries the name URL-encoded, so it cannot end the link early.
    expect(text).toContain('#alarmsV2:alarm/a%3Cb%3E%26c%7Cd|');
  });

  it('shows the label alone when there is no link (region unknown)', () => {
    expect(alarmLink({ stackName: 's', alarms: {} }, NAME)).toBeUndefined();
    expect(alarmNoticeText(notice({ value: 2, threshold: 1 }), { lane: 'gray', role: 'errorRate', link: undefined })).not.toContain('<');
  });
});
