// AlarmsPort on CloudWatch: DescribeAlarms by name, at most 100 names a call (the API's limit),
// with SDK errors mapped onto lanebot's error codes. Names CloudWatch does not know come back as
// `missing`, so a lane stack without its alarms is noticed.
import { DescribeAlarmsCommand, type CloudWatchClient, type CompositeAlarm, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import type { AlarmState, AlarmStates, AlarmView, AlarmsPort } from '../alarms.port';
import { readReasonData } from '../alarm-events.port';
import { callAws, type AwsCallOptions } from './aws-call';

export interface CloudWatchAlarmsAdapterOptions extends AwsCallOptions {
  client: CloudWatchClient;
}

/** DescribeAlarms takes at most 100 AlarmNames (and MaxRecords 100) per call. */
export const DESCRIBE_ALARMS_BATCH = 100;

const STATES: ReadonlySet<string> = new Set<AlarmState>(['OK', 'ALARM', 'INSUFFICIENT_DATA']);

export class CloudWatchAlarmsAdapter implements AlarmsPort {
  constructor(private readonly options: CloudWatchAlarmsAdapterOptions) {}

  async alarmStates(alarmNames: string[]): Promise<AlarmStates> {
    const names = [...new Set(alarmNames)];
    const found = new Map<string, AlarmView>();
    for (let start = 0; start < names.length; start += DESCRIBE_ALARMS_BATCH) {
      for (const view of await this.describe({ AlarmNames: names.slice(start, start + DESCRIBE_ALARMS_BATCH) })) found.set(view.name, view);
    }
    return {
      alarms: names.flatMap((name) => found.get(name) ?? []),
      missing: names.filter((name) => !found.has(name)),
    };
  }

  async alarmsInState(state: AlarmState): Promise<AlarmView[]> {
    return this.describe({ StateValue: state });
  }

  private async describe(filter: { AlarmNames: string[] } | { StateValue: AlarmState }): Promise<AlarmView[]> {
    const views: AlarmView[] = [];
    let nextToken: string | undefined;
    do {
      const page = await callAws(
        'DescribeAlarms',
        () =>
          this.options.client.send(
            new DescribeAlarmsCommand({ ...filter, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], MaxRecords: DESCRIBE_ALARMS_BATCH, NextToken: nextToken }),
          ),
        { ...this.options, service: 'cloudwatch' },
      );
      for (const alarm of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
        const view = toView(alarm);
        if (view) views.push(view);
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return views;
  }
}

function toView(alarm: MetricAlarm | CompositeAlarm): AlarmView | undefined {
  if (!alarm.AlarmName) return undefined;
  const raw = alarm.StateValue ?? 'INSUFFICIENT_DATA';
  // StateUpdatedTimestamp also moves when only the reason changes; the transition time is when the
  // state last changed, where CloudWatch reports it (composite alarms and newer metric alarms).
  const transitioned = (alarm as { StateTransitionedTimestamp?: Date }).StateTransitionedTimestamp;
  const view: AlarmView = {
    name: alarm.AlarmName,
    state: (STATES.has(raw) ? raw : 'INSUFFICIENT_DATA') as AlarmState,
    reason: alarm.StateReason ?? '',
    updatedAt: (transitioned ?? alarm.StateUpdatedTimestamp)?.getTime() ?? 0,
  };
  const { value, threshold } = readReasonData(alarm.StateReasonData);
  const ownThreshold = (alarm as MetricAlarm).Threshold;
  if (value !== undefined) view.value = value;
  if (threshold !== undefined) view.threshold = threshold;
  else if (typeof ownThreshold === 'number') view.threshold = ownThreshold;
  return view;
}
