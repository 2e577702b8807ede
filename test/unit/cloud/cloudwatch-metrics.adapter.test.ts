import { CloudWatchClient, CloudWatchServiceException, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudWatchMetricsAdapter, MAX_TARGET_GROUPS } from '../../../src/cloud/aws/cloudwatch-metrics.adapter';
import { alignedWindow } from '../../../src/cloud/metrics.port';
import { LanebotError } from '../../../src/errors';

const cw = mockClient(CloudWatchClient);
const LB = 'app/user-api-dev/0123456789abcdef';
const BASELINE = 'targetgroup/boot-u-Defau-AAAAAAAAAAAA/1111111111111111';
const CANARY = 'targetgroup/app-u-Canar-BBBBBBBBBBBB/2222222222222222';
/** 10:00:00 UTC, a whole minute. */
const T = Date.UTC(2026, 0, 5, 10, 0, 0);
const MIN = 60_000;

let sleeps: number[];
function adapter(): CloudWatchMetricsAdapter {
  return new CloudWatchMetricsAdapter({
    client: new CloudWatchClient({ region: 'eu-west-1' }),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    maxThrottleRetries: 1,
  });
}

function sent(call = 0) {
  return cw.commandCalls(GetMetricDataCommand)[call]!.args[0].input;
}

function query(queries: MetricDataQuery[] | undefined, id: string): MetricDataQuery {
  const found = (queries ?? []).find((q) => q.Id === id);
  if (!found) throw new Error(`no query ${id}`);
  return found;
}

function point(id: string, value: number, at = T) {
  return { Id: id, Timestamps: [new Date(at)], Values: [value], StatusCode: 'Complete' as const };
}

beforeEach(() => {
  cw.reset();
  sleeps = [];
});

describe('alignedWindow', () => {
  it('rounds both ends down to whole minutes and keeps at least one minute', () => {
    expect(alignedWindow({ start: T + 25_000, end: T + 5 * MIN + 59_000 })).toEqual({ start: T, end: T + 5 * MIN });
    expect(alignedWindow({ start: T + 10_000, end: T + 20_000 })).toEqual({ start: T, end: T + MIN });
    // The simulator's minutes are shorter: 60 times faster, a minute is a second.
    expect(alignedWindow({ start: T + 1_500, end: T + 4_700 }, 1_000)).toEqual({ start: T + 1_000, end: T + 4_000 });
  });
});

describe('CloudWatchMetricsAdapter.trafficFigures: the request', () => {
  it('asks once for every target group: two sums, the rate expression and the p99, with both dimensions and the window as the period', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });

    await adapter().trafficFigures({ loadBalancer: LB, targetGroups: [BASELINE, CANARY], start: T - 5 * MIN + 12_000, end: T + 31_000 });

    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(1);
    const input = sent();
    // Aligned: the start down to 09:55, the end down to 10:00, so a period of 5 minutes gives one point.
    expect(input.StartTime).toEqual(new Date(T - 5 * MIN));
    expect(input.EndTime).toEqual(new Date(T));
    expect(input.MetricDataQueries!.map((q) => q.Id)).toEqual([
      'requests_0', 'errors_0', 'rate_0', 'p99_0',
      'requests_1', 'errors_1', 'rate_1', 'p99_1',
    ]);
    for (const [index, group] of [BASELINE, CANARY].entries()) {
      const dimensions = [
        { Name: 'TargetGroup', Value: group },
        { Name: 'LoadBalancer', Value: LB },
      ];
      expect(query(input.MetricDataQueries, `requests_${index}`).MetricStat).toEqual({
        Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'RequestCount', Dimensions: dimensions },
        Period: 300,
        Stat: 'Sum',
      });
      expect(query(input.MetricDataQueries, `errors_${index}`).MetricStat).toEqual({
        Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'HTTPCode_Target_5XX_Count', Dimensions: dimensions },
        Period: 300,
        Stat: 'Sum',
      });
      expect(query(input.MetricDataQueries, `p99_${index}`).MetricStat).toEqual({
        Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'TargetResponseTime', Dimensions: dimensions },
        Period: 300,
        Stat: 'p99',
      });
      const rate = query(input.MetricDataQueries, `rate_${index}`);
      expect(rate.Expression).toBe(`100 * FILL(errors_${index}, 0) / requests_${index}`);
      expect(rate.MetricStat).toBeUndefined();
    }
  });

  it('asks for at least a minute, and for each target group once', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });

    const figures = await adapter().trafficFigures({ loadBalancer: LB, targetGroups: [CANARY, CANARY], start: T + 5_000, end: T + 20_000 });

    expect(Object.keys(figures)).toEqual([CANARY]);
    const input = sent();
    expect([input.StartTime, input.EndTime]).toEqual([new Date(T), new Date(T + MIN)]);
    expect(input.MetricDataQueries).toHaveLength(4);
    expect(query(input.MetricDataQueries, 'requests_0').MetricStat?.Period).toBe(60);
  });

  it('makes no call for no target groups, and refuses more than one call can carry', async () => {
    expect(await adapter().trafficFigures({ loadBalancer: LB, targetGroups: [], start: T - MIN, end: T })).toEqual({});
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(0);

    const many = Array.from({ length: MAX_TARGET_GROUPS + 1 }, (_, i) => `targetgroup/tg-${i}/${i}`);
    const error = await adapter().trafficFigures({ loadBalancer: LB, targetGroups: many, start: T - MIN, end: T }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INPUT_INVALID' });
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(0);
  });
});

describe('CloudWatchMetricsAdapter.trafficFigures: the answer', () => {
  it('reads each group’s sums, the rate and the p99 in milliseconds', async () => {
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        point('requests_0', 28_500), point('errors_0', 57), point('rate_0', 0.2), point('p99_0', 0.118),
        point('requests_1', 1_500), point('errors_1', 75), point('rate_1', 5), point('p99_1', 0.4315),
      ],
    });

    const figures = await adapter().trafficFigures({ loadBalancer: LB, targetGroups: [BASELINE, CANARY], start: T - 5 * MIN, end: T });

    expect(figures[BASELINE]).toEqual({ requests: 28_500, errors5xx: 57, errorRatePercent: 0.2, p99Ms: 118 });
    expect(figures[CANARY]!.requests).toBe(1_500);
    expect(figures[CANARY]!.errors5xx).toBe(75);
    expect(figures[CANARY]!.errorRatePercent).toBe(5);
    expect(figures[CANARY]!.p99Ms).toBeCloseTo(431.5, 6);
  });

  it('gives a group without data zeros and neither rate nor p99; one without 5xx data a rate of 0', async () => {
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        // The baseline served requests, none of them a 5xx: ALB published no 5xx count, the FILLed rate is 0.
        point('requests_0', 6_000), { Id: 'errors_0', Timestamps: [], Values: [], StatusCode: 'Complete' }, point('rate_0', 0), point('p99_0', 0.12),
        // The canary had no requests at all: every query empty.
        { Id: 'requests_1', Timestamps: [], Values: [], StatusCode: 'Complete' },
        { Id: 'errors_1', Timestamps: [], Values: [], StatusCode: 'Complete' },
        { Id: 'rate_1', Timestamps: [], Values: [], StatusCode: 'Complete' },
        { Id: 'p99_1', Timestamps: [], Values: [], StatusCode: 'Complete' },
      ],
    });

    const figures = await adapter().trafficFigures({ loadBalancer: LB, targetGroups: [BASELINE, CANARY], start: T - MIN, end: T });

    expect(figures[BASELINE]).toEqual({ requests: 6_000, errors5xx: 0, errorRatePercent: 0, p99Ms: 120 });
    expect(figures[CANARY]).toEqual({ requests: 0, errors5xx: 0 });
  });

  it('answers zeros for a group CloudWatch said nothing about', async () => {
    cw.on(GetMetricDataCommand).resolves({});
    expect(await adapter().trafficFigures({ loadBalancer: LB, targetGroups: [CANARY], start: T - MIN, end: T })).toEqual({ [CANARY]: { requests: 0, errors5xx: 0 } });
  });

  it('works out the rate from the sums when the expression gave no single point, and takes the worst p99 of several', async () => {
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'requests_0', Timestamps: [new Date(T - 2 * MIN), new Date(T - MIN)], Values: [300, 100], StatusCode: 'Complete' },
        { Id: 'errors_0', Timestamps: [new Date(T - 2 * MIN)], Values: [8], StatusCode: 'Complete' },
        { Id: 'rate_0', Timestamps: [new Date(T - 2 * MIN), new Date(T - MIN)], Values: [2.6667, 0], StatusCode: 'Complete' },
        { Id: 'p99_0', Timestamps: [new Date(T - 2 * MIN), new Date(T - MIN)], Values: [0.2, 0.35], StatusCode: 'Complete' },
      ],
    });

    const figures = await adapter().trafficFigures({ loadBalancer: LB, targetGroups: [CANARY], start: T - 2 * MIN, end: T });

    expect(figures[CANARY]).toEqual({ requests: 400, errors5xx: 8, errorRatePercent: 2, p99Ms: 350 });
  });

  it('follows NextToken, adding up the pages of each query, with the same queries and window', async () => {
    cw.on(GetMetricDataCommand)
      .resolvesOnce({
        MetricDataResults: [point('requests_0', 1_000, T - 2 * MIN), { Id: 'errors_0', Timestamps: [], Values: [], StatusCode: 'PartialData' }],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        MetricDataResults: [point('requests_0', 500, T - MIN), point('errors_0', 30, T - MIN), point('p99_0', 0.25, T - MIN)],
      });

    const figures = await adapter().trafficFigures({ loadBalancer: LB, targetGroups: [CANARY], start: T - 2 * MIN, end: T });

    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(2);
    expect(sent(1).NextToken).toBe('page-2');
    expect(sent(1).MetricDataQueries).toEqual(sent(0).MetricDataQueries);
    expect([sent(1).StartTime, sent(1).EndTime]).toEqual([sent(0).StartTime, sent(0).EndTime]);
    expect(figures[CANARY]).toEqual({ requests: 1_500, errors5xx: 30, errorRatePercent: 2, p99Ms: 250 });
  });

  it('fails when CloudWatch could not answer a query, rather than report half the figures', async () => {
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [point('requests_0', 1_000), { Id: 'errors_0', Label: 'canary 5xx', StatusCode: 'InternalError', Messages: [{ Code: 'InternalError', Value: 'try again' }] }],
    });

    const error = await adapter().trafficFigures({ loadBalancer: LB, targetGroups: [CANARY], start: T - MIN, end: T }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(LanebotError);
    expect(error).toMatchObject({ code: 'AWS_ERROR', retryable: true });
    expect((error as Error).message).toMatch(/GetMetricData.*canary 5xx.*InternalError.*try again/);
  });
});

describe('CloudWatchMetricsAdapter.trafficFigures: errors', () => {
  function sdkError(name: string, httpStatusCode: number | undefined): CloudWatchServiceException {
    return new CloudWatchServiceException({ name, $fault: 'client', $metadata: { httpStatusCode }, message: `${name} happened` });
  }

  it('retries throttling, then reports AWS_THROTTLED', async () => {
    cw.on(GetMetricDataCommand).rejects(sdkError('Throttling', 400));
    const error = await adapter().trafficFigures({ loadBalancer: LB, targetGroups: [CANARY], start: T - MIN, end: T }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'AWS_THROTTLED', retryable: true });
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
  });

  it('maps access denied to AWS_ACCESS_DENIED naming cloudwatch:GetMetricData', async () => {
    cw.on(GetMetricDataCommand).rejects(sdkError('AccessDenied', 403));
    const error = await adapter().trafficFigures({ loadBalancer: LB, targetGroups: [CANARY], start: T - MIN, end: T }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'AWS_ACCESS_DENIED' });
    expect((error as Error).message).toContain('cloudwatch:GetMetricData');
  });
});
