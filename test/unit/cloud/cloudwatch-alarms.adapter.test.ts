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
