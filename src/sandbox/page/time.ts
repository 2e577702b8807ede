// Slack timestamps and the times the page shows.

/** Compares Slack timestamps ("1712345678.000100") exactly, without float rounding. */
export function cmpTs(a: string, b: string): number {
  const [ai = '', af = ''] = String(a).split('.');
  const [bi = '', bf = ''] = String(b).split('.');
  if (ai.length !== bi.length) return ai.length - bi.length;
  if (ai !== bi) return ai < bi ? -1 : 1;
  const fa = af.padEnd(6, '0');
  const fb = bf.padEnd(6, '0');
  return fa < fb ? -1 : fa > fb ? 1 : 0;
}

export function tsDate(ts: string): Date {
  return new Date(Number.parseFloat(ts) * 1000);
}

/** A date from epoch ms or an ISO string; null when there is none or it is not a date. */
export function toDate(value: string | number | Date | null | undefined): Date | null {
  if (value === undefined || value === null || value === '') return null;
  const date = typeof value === 'number' ? new Date(value) : value instanceof Date ? new Date(value.getTime()) : new Date(Date.parse(value));
  return Number.isNaN(date.getTime()) ? null : date;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');
export const hhmm = (date: Date): string => `${pad2(date.getHours())}:${pad2(date.getMinutes())}`;
export const hhmmss = (date: Date): string => `${hhmm(date)}:${pad2(date.getSeconds())}`;

export function dayKey(date: Date): string {
  return `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}`;
}

export function dayLabel(date: Date): string {
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (dayKey(date) === dayKey(today)) return 'Today';
  if (dayKey(date) === dayKey(yesterday)) return 'Yesterday';
  return date.toLocaleDateString(undefined, { weekday: 'long', month: 'long', day: 'numeric' });
}

export function fullTime(date: Date): string {
  return date.toLocaleString(undefined, { weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function ago(date: Date, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - date.getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
  return `${Math.floor(s / 86400)}d ago`;
}
