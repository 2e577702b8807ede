import { CloudWatchClient, CloudWatchServiceException, DescribeAlarmsCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudWatchAlarmsAdapter } from '../../../src/cloud/aws/cloudwatch-alarms.adapter';
import { LanebotError } from '../../../src/errors';

const cw = mockClient(CloudWatchClient);
const T1 = new Date(Date.UTC(2026, 0, 5, 10, 0, 0));
const T2 = new Date(Date.UTC(2026, 0, 5, 10, 7, 0));

let sleeps: number[];
function adapter(): CloudWatchAlarmsAdapter {
  return new CloudWatchAlarmsAdapter({
    client: new CloudWatchClient({ region: 'eu-west-1' }),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    maxThrottleRetries: 1,
  });
}

function alarm(name: string, state: MetricAlarm['StateValue'], extra: Partial<MetricAlarm> = {}): MetricAlarm {
  return { AlarmName: name, StateValue: state, StateReason: `${name} is ${state}`, StateUpdatedTimestamp: T1, ...extra };
}

function sdkError(name: string, httpStatusCode: number | undefined): CloudWatchServiceException {
  return new CloudWatchServiceException({ name, $fault: 'client', $metadata: { httpStatusCode }, message: `${name} happened` });
}

beforeEach(() => {
  cw.reset();
  sleeps = [];
});

describe('CloudWatchAlarmsAdapter.alarmStates', () => {
  it('answers each alarm in the order asked, and names the missing ones', async () => {
    cw.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [alarm('b-unhealthy', 'OK'), alarm('a-5xx', 'ALARM', { StateReason: 'Threshold Crossed: 1 datapoint [4.2] was greater than the threshold (1.0).' })],
    });

    const states = await adapter().alarmStates(['a-5xx', 'gone', 'b-unhealthy', 'a-5xx']);

    expect(states).toEqual({
      alarms: [
        { name: 'a-5xx', state: 'ALARM', reason: 'Threshold Crossed: 1 datapoint [4.2] was greater than the threshold (1.0).', updatedAt: T1.getTime() },
        { name: 'b-unhealthy', state: 'OK', reason: 'b-unhealthy is OK', updatedAt: T1.getTime() },
      ],
      missing: ['gone'],
    });
    expect(cw.commandCalls(DescribeAlarmsCommand)[0]!.args[0].input).toMatchObject({ AlarmNames: ['a-5xx', 'gone', 'b-unhealthy'] });
  });

  it('prefers the state transition time to the last update time', async () => {
    cw.on(DescribeAlarmsCommand).resolves({
      CompositeAlarms: [{ AlarmName: 'lane-health', StateValue: 'ALARM', StateReason: 'child alarm', StateUpdatedTimestamp: T2, StateTransitionedTimestamp: T1 }],
    });
    expect((await adapter().alarmStates(['lane-health'])).alarms).toEqual([{ name: 'lane-health', state: 'ALARM', reason: 'child alarm', updatedAt: T1.getTime() }]);
  });

  it('asks in batches of at most 100 names and follows NextToken', async () => {
    const names = Array.from({ length: 230 }, (_, i) => `alarm-${i}`);
    cw.on(DescribeAlarmsCommand).callsFake((input: { AlarmNames: string[]; NextToken?: string }) => {
      // The first batch comes in two pages, to show that pages are followed.
      if (input.AlarmNames[0] === 'alarm-0' && !input.NextToken) {
        return { MetricAlarms: input.AlarmNames.slice(0, 50).map((n) => alarm(n, 'OK')), NextToken: 'page-2' };
      }
      if (input.NextToken === 'page-2') return { MetricAlarms: input.AlarmNames.slice(50).map((n) => alarm(n, 'OK')) };
      return { MetricAlarms: input.AlarmNames.filter((n) => n !== 'alarm-229').map((n) => alarm(n, 'INSUFFICIENT_DATA')) };
    });

    const states = await adapter().alarmStates(names);

    const batches = cw.commandCalls(DescribeAlarmsCommand).map((call) => call.args[0].input.AlarmNames ?? []);
    expect(batches.map((b) => b.length)).toEqual([100, 100, 100, 30]);
    expect(batches.every((b) => b.length <= 100)).toBe(true);
    expect(states.alarms).toHaveLength(229);
    expect(states.missing).toEqual(['alarm-229']);
    expect(states.alarms.map((a) => a.name)).toEqual(names.slice(0, 229));
  });

  it('makes no call for no names', async () => {
    expect(await adapter().alarmStates([])).toEqual({ alarms: [], missing: [] });
    expect(cw.commandCalls(DescribeAlarmsCommand)).toHaveLength(0);
  });

  it('maps throttling, access denied and other failures onto lanebot error codes', async () => {
    cw.on(DescribeAlarmsCommand).rejects(sdkError('Throttling', 400));
    const throttled = await adapter().alarmStates(['a']).catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(LanebotError);
    expect(throttled).toMatchObject({ code: 'AWS_THROTTLED', retryable: true });
    expect(sleeps).toHaveLength(1);

    cw.on(DescribeAlarmsCommand).rejects(sdkError('AccessDenied', 403));
    await expect(adapter().alarmStates(['a'])).rejects.toMatchObject({ code: 'AWS_ACCESS_DENIED', message: expect.stringContaining('cloudwatch:DescribeAlarms') });

    cw.on(DescribeAlarmsCommand).rejects(sdkError('InvalidNextToken', 400));
    await expect(adapter().alarmStates(['a'])).rejects.toMatchObject({ code: 'AWS_ERROR', retryable: false });

    const network = Object.assign(new Error('socket hang up'), { name: 'Error' });
    cw.on(DescribeAlarmsCommand).rejects(network);
    await expect(adapter().alarmStates(['a'])).rejects.toMatchObject({ code: 'AWS_ERROR', retryable: true });
  });
});

describe('CloudWatchAlarmsAdapter.alarmsInState', () => {
  it('asks for the state (metric and composite alarms, 100 a page) and follows NextToken', async () => {
    cw.on(DescribeAlarmsCommand).callsFake((input: { NextToken?: string }) => {
      if (!input.NextToken) return { MetricAlarms: [alarm('a-5xx', 'ALARM')], NextToken: 'page-2' };
      if (input.NextToken === 'page-2') {
        return { MetricAlarms: [alarm('b-unhealthy', 'ALARM')], CompositeAlarms: [{ AlarmName: 'lane-health', StateValue: 'ALARM', StateReason: 'child', StateUpdatedTimestamp: T2 }], NextToken: 'page-3' };
      }
      return { MetricAlarms: [] };
    });

    const views = await adapter().alarmsInState('ALARM');

    expect(views.map((v) => [v.name, v.state])).toEqual([
      ['a-5xx', 'ALARM'],
      ['b-unhealthy', 'ALARM'],
      ['lane-health', 'ALARM'],
    ]);
    const inputs = cw.commandCalls(DescribeAlarmsCommand).map((call) => call.args[0].input);
    expect(inputs).toEqual([
      { StateValue: 'ALARM', AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], MaxRecords: 100, NextToken: undefined },
      { StateValue: 'ALARM', AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], MaxRecords: 100, NextToken: 'page-2' },
      { StateValue: 'ALARM', AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], MaxRecords: 100, NextToken: 'page-3' },
    ]);
    // Never by name: one question however many alarms exist.
    expect(inputs.every((input) => input.AlarmNames === undefined)).toBe(true);
  });

  it('answers no alarms in a state with one call and an empty list', async () => {
    cw.on(DescribeAlarmsCommand).resolves({});
    expect(await adapter().alarmsInState('OK')).toEqual([]);
    expect(cw.commandCalls(DescribeAlarmsCommand).map((call) => call.args[0].input.StateValue)).toEqual(['OK']);
  });

  it('maps failures as alarmStates does', async () => {
    cw.on(DescribeAlarmsCommand).rejects(sdkError('AccessDenied', 403));
    await expect(adapter().alarmsInState('ALARM')).rejects.toMatchObject({ code: 'AWS_ACCESS_DENIED', message: expect.stringContaining('cloudwatch:DescribeAlarms') });
  });
});

describe('CloudWatchAlarmsAdapter figures', () => {
  const reasonData = (data: Record<string, unknown>) => JSON.stringify({ version: '1.0', statistic: 'Average', period: 300, ...data });

  async function viewOf(extra: Partial<MetricAlarm>) {
    cw.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [alarm('a-5xx', 'ALARM', extra)] });
    const [view] = await adapter().alarmsInState('ALARM');
    return view!;
  }

  it('reads the value from the newest evaluated datapoint and the threshold from StateReasonData', async () => {
    const view = await viewOf({
      Threshold: 5,
      StateReasonData: reasonData({
        threshold: 1,
        recentDatapoints: [0.5, 3.1],
        evaluatedDatapoints: [
          { timestamp: '2026-01-05T10:05:00.000+0000', sampleCount: 60, value: 4.2 },
          { timestamp: '2026-01-05T10:00:00.000+0000', sampleCount: 60, value: 3.1 },
        ],
      }),
    });
    expect(view).toMatchObject({ value: 4.2, threshold: 1 });
  });

  it('skips evaluated datapoints without a value (missing data), then falls back to the newest recent datapoint', async () => {
    expect(
      await viewOf({ StateReasonData: reasonData({ threshold: 1, evaluatedDatapoints: [{ timestamp: '2026-01-05T10:05:00.000+0000' }, { timestamp: '2026-01-05T10:00:00.000+0000', value: 2.5 }] }) }),
    ).toMatchObject({ value: 2.5 });
    cw.reset();
    expect(await viewOf({ StateReasonData: reasonData({ threshold: 1, recentDatapoints: [0.5, 1.7], evaluatedDatapoints: [{ timestamp: '2026-01-05T10:05:00.000+0000' }] }) })).toMatchObject({
      value: 1.7,
    });
    cw.reset();
    expect(await viewOf({ StateReasonData: reasonData({ threshold: 1, recentDatapoints: [0.5, 1.9] }) })).toMatchObject({ value: 1.9, threshold: 1 });
  });

  it('takes the alarm\'s own Threshold when StateReasonData has none, and no figures from broken or absent data', async () => {
    expect(await viewOf({ Threshold: 1, StateReasonData: reasonData({ recentDatapoints: [6] }) })).toMatchObject({ value: 6, threshold: 1 });
    cw.reset();
    const broken = await viewOf({ Threshold: 1, StateReasonData: '{not json' });
    expect(broken.threshold).toBe(1);
    expect(broken).not.toHaveProperty('value');
    cw.reset();
    const none = await viewOf({});
    expect(none).not.toHaveProperty('value');
    expect(none).not.toHaveProperty('threshold');
  });
});
