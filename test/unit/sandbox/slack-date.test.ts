// The console page's reading of Slack's `<!date^…>` tokens (src/sandbox/page/slack-date.ts): the
// format's tokens in the reader's time zone, the text around them, the link, and the fallback when
// the page cannot format the date. Time zones are fixed here, as the reader's would be in a browser.
import { slackDate } from '../../../src/domain/expiry';
import { formatSlackDate, ordinal, parseSlackDate, slackDateText } from '../../../src/sandbox/page/slack-date';

/** 2014-02-18T14:39:42Z, Slack's own example. */
const FEB_18 = 1392734382_000;
const H = 3_600_000;
const DAY = 24 * H;

const utc = (now = FEB_18, hour12 = false) => ({ now, timeZone: 'UTC', hour12 });

describe('parseSlackDate', () => {
  it('reads the timestamp, the format and the fallback', () => {
    expect(parseSlackDate('!date^1392734382^Posted {date_num} {time_secs}|Posted 2014-02-18 6:39:42 AM PST')).toEqual({
      epochMs: FEB_18,
      format: 'Posted {date_num} {time_secs}',
      fallback: 'Posted 2014-02-18 6:39:42 AM PST',
    });
  });

  it('reads the optional link after the format', () => {
    expect(parseSlackDate('!date^1392734382^{date_short}^https://example.com/a?b=c|Feb 18, 2014')).toEqual({
      epochMs: FEB_18,
      format: '{date_short}',
      link: 'https://example.com/a?b=c',
      fallback: 'Feb 18, 2014',
    });
  });

  it('is null for anything but a date token, and leaves a bad timestamp to the fallback', () => {
    expect(parseSlackDate('!here')).toBeNull();
    expect(parseSlackDate('@U0ALICE')).toBeNull();
    const bad = parseSlackDate('!date^soon^{date_num}|some day')!;
    expect(Number.isNaN(bad.epochMs)).toBe(true);
    expect(slackDateText(bad, utc())).toEqual({ text: 'some day', formatted: false });
  });

  it('reads what lanebot writes (domain/expiry.ts slackDate) back to the same moment', () => {
    const at = Date.UTC(2026, 11, 8, 14, 0, 0);
    const token = parseSlackDate(slackDate(at).slice(1, -1))!;
    expect(token).toEqual({ epochMs: at, format: '{date_long} at {time}', fallback: 'Tue, 08 Dec 2026 14:00 UTC' });
    expect(slackDateText(token, utc(at - 3 * DAY)).formatted).toBe(true);
    expect(slackDateText(token, utc(at - 3 * DAY)).text).toMatch(/^Tuesday, December 8th, 2026 at 14:00$/);
    expect(slackDateText(token, { now: at - 3 * DAY, timeZone: 'Asia/Tokyo', hour12: false }).text).toMatch(/December 8th, 2026 at 23:00$/);
  });
});

describe('formatSlackDate', () => {
  it.each([
    ['{date_num}', '2014-02-18'],
    ['{date_long}', 'Tuesday, February 18th, 2014'],
    ['{date_long_full}', 'February 18, 2014'],
    ['{date}', 'February 18'],
    ['{date_short}', 'Feb 18, 2014'],
    ['{time}', '14:39'],
    ['{time_secs}', '14:39:42'],
    ['Posted {date_num} at {time}.', 'Posted 2014-02-18 at 14:39.'],
  ])('%s in UTC reads %s', (format, expected) => {
    expect(formatSlackDate(FEB_18, format, utc(FEB_18 + 400 * DAY))).toBe(expected);
  });

  it('shows the time in the reader\'s time zone, on the reader\'s calendar day', () => {
    const format = '{date_short} {time}';
    expect(formatSlackDate(FEB_18, format, { now: FEB_18, timeZone: 'Asia/Tokyo', hour12: false })).toBe('Feb 18, 2014 23:39');
    expect(formatSlackDate(FEB_18, format, { now: FEB_18, timeZone: 'Asia/Kolkata', hour12: false })).toBe('Feb 18, 2014 20:09');
    expect(formatSlackDate(FEB_18, format, { now: FEB_18, timeZone: 'America/Los_Angeles', hour12: true })).toBe('Feb 18, 2014 6:39 AM');
    // 23:30 UTC is already the next day in Tokyo.
    const lateEvening = Date.UTC(2026, 11, 8, 23, 30);
    expect(formatSlackDate(lateEvening, '{date_long}', { now: 0, timeZone: 'Asia/Tokyo' })).toBe('Wednesday, December 9th, 2026');
    expect(formatSlackDate(lateEvening, '{date_long}', { now: 0, timeZone: 'America/New_York' })).toBe('Tuesday, December 8th, 2026');
  });

  it('follows daylight saving time', () => {
    const opts = { now: 0, timeZone: 'America/New_York', hour12: false };
    expect(formatSlackDate(Date.UTC(2026, 6, 1, 12), '{time}', opts)).toBe('08:00');
    expect(formatSlackDate(Date.UTC(2026, 11, 1, 12), '{time}', opts)).toBe('07:00');
  });

  it('writes 12-hour times with AM/PM, noon and midnight as 12', () => {
    expect(formatSlackDate(Date.UTC(2026, 0, 1, 0, 5), '{time}', utc(0, true))).toBe('12:05 AM');
    expect(formatSlackDate(Date.UTC(2026, 0, 1, 12, 0, 9), '{time_secs}', utc(0, true))).toBe('12:00:09 PM');
    expect(formatSlackDate(Date.UTC(2026, 0, 1, 0, 5), '{time}', utc(0, false))).toBe('00:05');
  });

  it('says today, yesterday or tomorrow in the reader\'s calendar, capitalized at the start', () => {
    const at = Date.UTC(2026, 11, 8, 14, 0);
    expect(formatSlackDate(at, '{date_short_pretty} {time}', utc(at - 2 * H))).toBe('Today 14:00');
    expect(formatSlackDate(at, 'deleted {date_short_pretty} at {time}', utc(at - DAY))).toBe('deleted tomorrow at 14:00');
    expect(formatSlackDate(at, '{date_pretty}', utc(at + DAY))).toBe('Yesterday');
    expect(formatSlackDate(at, '{date_long_pretty}', utc(at + 2 * DAY))).toBe('Tuesday, December 8th, 2026');
    expect(formatSlackDate(at, '{date_pretty}', utc(at - 3 * DAY))).toBe('December 8');
    // 22:00 UTC on the 8th is "tomorrow" for a reader in Tokyo whose now is 09:00 on the 8th (their time).
    expect(formatSlackDate(Date.UTC(2026, 11, 8, 22), '{date_short_pretty}', { now: Date.UTC(2026, 11, 8, 0), timeZone: 'Asia/Tokyo' })).toBe('Tomorrow');
  });

  it('writes the day divider with the year only for another year', () => {
    const at = Date.UTC(2026, 11, 23, 12);
    expect(formatSlackDate(at, '{day_divider_pretty}', utc(Date.UTC(2026, 0, 5)))).toBe('Wednesday, December 23rd');
    expect(formatSlackDate(at, '{day_divider_pretty}', utc(Date.UTC(2027, 0, 5)))).toBe('Wednesday, December 23rd, 2026');
    expect(formatSlackDate(at, '{day_divider_pretty}', utc(at + DAY))).toBe('Yesterday');
  });

  it('writes how long ago (or how far ahead) in words', () => {
    expect(formatSlackDate(FEB_18, '{ago}', utc(FEB_18 + 10_000))).toBe('a few seconds ago');
    expect(formatSlackDate(FEB_18, '{ago}', utc(FEB_18 + 3 * 60_000))).toBe('3 minutes ago');
    expect(formatSlackDate(FEB_18, '{ago}', utc(FEB_18 + H))).toBe('1 hour ago');
    expect(formatSlackDate(FEB_18, '{ago}', utc(FEB_18 - 2 * DAY))).toBe('in 2 days');
  });

  it('writes date_slash in the order of the reader\'s locale', () => {
    expect(formatSlackDate(FEB_18, '{date_slash}', utc())).toMatch(/^(02\/18|18\/02)\/2014$/);
  });

  it('gives up on a token it does not know, and the page shows the fallback', () => {
    expect(formatSlackDate(FEB_18, '{date_num} {calendar_header}', utc())).toBeNull();
    expect(slackDateText({ epochMs: FEB_18, format: '{member_local_time}', fallback: '18 Feb 2014' }, utc())).toEqual({ text: '18 Feb 2014', formatted: false });
    expect(formatSlackDate(FEB_18, '', utc())).toBeNull();
  });
});

describe('ordinal', () => {
  it.each([
    [1, '1st'], [2, '2nd'], [3, '3rd'], [4, '4th'], [11, '11th'], [12, '12th'], [13, '13th'],
    [21, '21st'], [22, '22nd'], [23, '23rd'], [30, '30th'], [101, '101st'], [111, '111th'],
  ])('%i → %s', (n, expected) => {
    expect(ordinal(n)).toBe(expected);
  });
});
