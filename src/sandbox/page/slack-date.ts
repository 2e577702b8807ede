// Slack's date tokens, `<!date^1392734382^{date_short_pretty} {time}|Tue, 18 Feb 2014 14:39 UTC>`,
// as a Slack client shows them: the format's {tokens} filled in with the timestamp in the reader's
// time zone, the text around them kept, the optional link (`^https://…` after the format) around it
// all, and the fallback (after `|`) when the token cannot be read. lanebot writes every time it
// shows this way (domain/expiry.ts slackDate), so each reader sees their own time zone.
//
// No DOM here (mrkdwn.ts builds the element): the unit tests call these functions in Node with a
// fixed time zone and `now`. Names are English, as Slack's own examples are; the 12- or 24-hour
// clock follows the reader's locale, as Slack's follows the user's preference.

export interface SlackDateToken {
  /** The timestamp, in epoch ms (the token carries seconds). */
  epochMs: number;
  /** The format with its {tokens}, e.g. `{date_short_pretty} {time}`. */
  format: string;
  /** The URL the whole date links to, if any. */
  link?: string;
  /** What the author wants shown when the date cannot be: '' when there is none. */
  fallback: string;
}

export interface DateRenderOptions {
  /** What "today", "tomorrow" and "ago" count from (the sandbox: the simulated clock). */
  now: number;
  /** IANA time zone; the reader's (the browser's) when absent. */
  timeZone?: string;
  /** 12-hour clock with AM/PM; the reader's locale decides when absent. */
  hour12?: boolean;
}

/**
 * The parts of `<!date^…>` without the angle brackets (`!date^<seconds>^<format>[^<link>]|<fallback>`).
 * null when it is not a date token; a token whose timestamp is not a number comes back with a NaN
 * epochMs, so the caller shows its fallback.
 */
export function parseSlackDate(inner: string): SlackDateToken | null {
  if (!inner.startsWith('!date^')) return null;
  const bar = inner.indexOf('|');
  const target = bar >= 0 ? inner.slice(0, bar) : inner;
  const fallback = bar >= 0 ? inner.slice(bar + 1) : '';
  const [, seconds = '', format = '', ...linkParts] = target.split('^');
  const link = linkParts.join('^');
  const epochMs = /^-?\d+(\.\d+)?$/.test(seconds) ? Number(seconds) * 1000 : Number.NaN;
  return link ? { epochMs, format, link, fallback } : { epochMs, format, fallback };
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const DAY_MS = 86_400_000;

interface CalendarParts {
  year: number;
  /** 1–12 */
  month: number;
  day: number;
  /** 0 = Sunday */
  weekday: number;
  hour: number;
  minute: number;
  second: number;
  /** Days since the epoch of this calendar date (for today / yesterday / tomorrow). */
  dayNumber: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar date and time of `epochMs` in the time zone (Intl does the zone rules). */
function partsIn(epochMs: number, timeZone: string | undefined): CalendarParts {
  const key = timeZone ?? '';
  let formatter = formatters.get(key);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      weekday: 'short',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
    });
    formatters.set(key, formatter);
  }
  const parts: Record<string, string> = {};
  for (const part of formatter.formatToParts(new Date(epochMs))) parts[part.type] = part.value;
  const year = Number(parts.year);
  const month = Number(parts.month);
  const day = Number(parts.day);
  return {
    year,
    month,
    day,
    weekday: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday ?? ''),
    // Some engines still write midnight as 24 with h23.
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    second: Number(parts.second),
    dayNumber: Math.round(Date.UTC(year, month - 1, day) / DAY_MS),
  };
}

/** 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st … */
export function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Whether the reader's locale writes times with AM/PM. */
function localeHour12(): boolean {
  return new Intl.DateTimeFormat(undefined, { hour: 'numeric' }).resolvedOptions().hour12 === true;
}

function clockTime(p: CalendarParts, hour12: boolean, seconds: boolean): string {
  const secs = seconds ? `:${pad2(p.second)}` : '';
  if (!hour12) return `${pad2(p.hour)}:${pad2(p.minute)}${secs}`;
  return `${p.hour % 12 === 0 ? 12 : p.hour % 12}:${pad2(p.minute)}${secs} ${p.hour < 12 ? 'AM' : 'PM'}`;
}

/** "3 minutes ago", "in 2 days". */
function ago(epochMs: number, now: number): string {
  const diff = now - epochMs;
  const s = Math.abs(diff) / 1000;
  if (s < 45) return diff >= 0 ? 'a few seconds ago' : 'in a few seconds';
  const [n, unit] =
    s < 3_600 ? [Math.max(1, Math.round(s / 60)), 'minute']
    : s < 86_400 ? [Math.max(1, Math.round(s / 3_600)), 'hour']
    : s < 30 * 86_400 ? [Math.round(s / 86_400), 'day']
    : s < 365 * 86_400 ? [Math.round(s / (30 * 86_400)), 'month']
    : [Math.round(s / (365 * 86_400)), 'year'];
  const amount = `${n} ${unit}${n === 1 ? '' : 's'}`;
  return diff >= 0 ? `${amount} ago` : `in ${amount}`;
}

/**
 * The format with its {tokens} filled in for `epochMs` in the reader's time zone, as Slack's
 * clients write them; null when the timestamp is not a date or the format has a token this page
 * does not know (the caller then shows the fallback, as a Slack client that cannot format does).
 */
export function formatSlackDate(epochMs: number, format: string, options: DateRenderOptions): string | null {
  if (!Number.isFinite(epochMs) || !format) return null;
  const p = partsIn(epochMs, options.timeZone);
  const today = partsIn(options.now, options.timeZone);
  const hour12 = options.hour12 ?? localeHour12();
  const monthName = MONTHS[p.month - 1] ?? '';
  const weekdayName = WEEKDAYS[p.weekday] ?? '';
  const dateLong = `${weekdayName}, ${monthName} ${ordinal(p.day)}, ${p.year}`;
  const dateLongFull = `${monthName} ${p.day}, ${p.year}`;
  const dateShort = `${monthName.slice(0, 3)} ${p.day}, ${p.year}`;
  const date = `${monthName} ${p.day}`;
  const relativeDay = (atStart: boolean): string | undefined => {
    const days = p.dayNumber - today.dayNumber;
    const word = days === 0 ? 'today' : days === 1 ? 'tomorrow' : days === -1 ? 'yesterday' : undefined;
    return word && atStart ? word[0]!.toUpperCase() + word.slice(1) : word;
  };
  let unknown = false;
  const text = format.replace(/\{([a-z_]+)\}/g, (whole: string, token: string, offset: number) => {
    const atStart = offset === 0;
    switch (token) {
      case 'date_num':
        return `${p.year}-${pad2(p.month)}-${pad2(p.day)}`;
      case 'date_slash':
        // "subject to locale preferences": month first where the reader's locale puts it first.
        return monthFirst() ? `${pad2(p.month)}/${pad2(p.day)}/${p.year}` : `${pad2(p.day)}/${pad2(p.month)}/${p.year}`;
      case 'date_long':
        return dateLong;
      case 'date_long_full':
        return dateLongFull;
      case 'date_long_pretty':
        return relativeDay(atStart) ?? dateLong;
      case 'date':
        return date;
      case 'date_pretty':
        return relativeDay(atStart) ?? date;
      case 'date_short':
        return dateShort;
      case 'date_short_pretty':
        return relativeDay(atStart) ?? dateShort;
      case 'day_divider_pretty':
        return relativeDay(atStart) ?? (p.year === today.year ? `${weekdayName}, ${monthName} ${ordinal(p.day)}` : dateLong);
      case 'time':
        return clockTime(p, hour12, false);
      case 'time_secs':
        return clockTime(p, hour12, true);
      case 'ago':
        return ago(epochMs, options.now);
      default:
        unknown = true;
        return whole;
    }
  });
  return unknown ? null : text;
}

/** Whether the reader's locale writes the month before the day (en-US: 12/31/2026). */
function monthFirst(): boolean {
  const order = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date(Date.UTC(2026, 11, 31, 12))).map((part) => part.type);
  return order.indexOf('month') < order.indexOf('day');
}

/** What the page shows for a date token: the formatted date, or the fallback when it cannot format it. */
export function slackDateText(token: SlackDateToken, options: DateRenderOptions): { text: string; formatted: boolean } {
  const text = formatSlackDate(token.epochMs, token.format, options);
  if (text !== null) return { text, formatted: true };
  return { text: token.fallback || token.format || 'a date', formatted: false };
}
