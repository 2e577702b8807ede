// What lanebot needs from an alarm event feed: CloudWatch "Alarm State Change" events, as an
// EventBridge rule puts them on an SQS queue (templates/lanebot-alarm-events.yaml), so an alarm
// that fires reaches the lane's thread within seconds instead of at the next safety-net poll.
// Implemented by the SQS adapter (aws/sqs-alarm-events.adapter.ts) and the simulator
// (sim/sim-alarm-events.ts, fed by sim-lane-health.ts). Delivery is at least once: a consumer
// de-duplicates by alarm and state timestamp, and acknowledges what it handled.
import type { AlarmState } from './alarms.port';

export interface AlarmStateChange {
  alarmName: string;
  state: AlarmState;
  /** Absent when the event did not say (e.g. an alarm's first evaluation). */
  previousState?: AlarmState;
  /** CloudWatch's state reason, e.g. "Threshold Crossed: 1 datapoint [4.2] was greater than the threshold (1.0)." */
  reason: string;
  /** The newest evaluated datapoint, when the event's reasonData carries one. */
  value?: number;
  threshold?: number;
  /** When the alarm entered `state` (epoch ms): with alarmName, the key to de-duplicate by. */
  at: number;
  /** Hands the message back to acknowledge(); opaque. */
  receipt: string;
}

export interface AlarmEventsPort {
  /**
   * Up to `maxMessages` state changes, waiting up to `waitSeconds` for the first (long poll).
   * Messages that are not alarm state changes are acknowledged on the way and never returned.
   */
  receive(maxMessages: number, waitSeconds: number, signal?: AbortSignal): Promise<AlarmStateChange[]>;
  /** Removes handled messages; a message not acknowledged comes back after its visibility timeout. */
  acknowledge(receipts: string[]): Promise<void>;
}

export const ALARM_STATE_CHANGE_DETAIL_TYPE = 'CloudWatch Alarm State Change';

const STATES: ReadonlySet<string> = new Set<AlarmState>(['OK', 'ALARM', 'INSUFFICIENT_DATA']);

/** The parts of an EventBridge "CloudWatch Alarm State Change" event this reads. */
interface AlarmEventShape {
  source?: unknown;
  'detail-type'?: unknown;
  time?: unknown;
  detail?: {
    alarmName?: unknown;
    state?: { value?: unknown; reason?: unknown; reasonData?: unknown; timestamp?: unknown };
    previousState?: { value?: unknown };
  };
}

/**
 * Reads an SQS message body holding an EventBridge alarm state change event; undefined for
 * anything else (another event, a test message, broken JSON), which the caller drops.
 */
export function parseAlarmStateChange(body: string, receipt: string): AlarmStateChange | undefined {
  let event: AlarmEventShape;
  try {
    event = JSON.parse(body) as AlarmEventShape;
  } catch {
    return undefined;
  }
  if (!event || typeof event !== 'object' || event['detail-type'] !== ALARM_STATE_CHANGE_DETAIL_TYPE) return undefined;
  const detail = event.detail;
  const state = detail?.state?.value;
  if (typeof detail?.alarmName !== 'string' || typeof state !== 'string' || !STATES.has(state)) return undefined;
  const at = parseTime(detail.state?.timestamp) ?? parseTime(event.time);
  if (at === undefined) return undefined;
  const change: AlarmStateChange = {
    alarmName: detail.alarmName,
    state: state as AlarmState,
    reason: typeof detail.state?.reason === 'string' ? detail.state.reason : '',
    at,
    receipt,
  };
  const previous = detail.previousState?.value;
  if (typeof previous === 'string' && STATES.has(previous)) change.previousState = previous as AlarmState;
  const { value, threshold } = readReasonData(detail.state?.reasonData);
  if (value !== undefined) change.value = value;
  if (threshold !== undefined) change.threshold = threshold;
  return change;
}

/** CloudWatch writes "2019-10-02T17:04:40.985+0000"; the offset gets its colon so every runtime parses it. */
function parseTime(raw: unknown): number | undefined {
  if (typeof raw !== 'string') return undefined;
  const ms = Date.parse(raw.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isFinite(ms) ? ms : undefined;
}

/** reasonData is itself a JSON string: {threshold, recentDatapoints: [..], evaluatedDatapoints: [{timestamp, value}, ..]}. */
export function readReasonData(raw: unknown): { value?: number; threshold?: number } {
  if (typeof raw !== 'string' || raw === '') return {};
  let data: { threshold?: unknown; recentDatapoints?: unknown; evaluatedDatapoints?: unknown };
  try {
    data = JSON.parse(raw) as typeof data;
  } catch {
    return {};
  }
  const result: { value?: number; threshold?: number } = {};
  if (typeof data.threshold === 'number') result.threshold = data.threshold;
  // evaluatedDatapoints are newest first; recentDatapoints oldest first.
  const evaluated = Array.isArray(data.evaluatedDatapoints) ? (data.evaluatedDatapoints as { value?: unknown }[]) : [];
  const firstEvaluated = evaluated.find((point) => typeof point?.value === 'number')?.value as number | undefined;
  const recent = Array.isArray(data.recentDatapoints) ? (data.recentDatapoints as unknown[]).filter((v): v is number => typeof v === 'number') : [];
  const value = firstEvaluated ?? recent.at(-1);
  if (value !== undefined) result.value = value;
  return result;
}
