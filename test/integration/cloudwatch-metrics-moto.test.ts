// The CloudWatch metrics adapter against moto: ALB-shaped datapoints are put with PutMetricData for
// two target groups of one load balancer, then read back through the adapter's one GetMetricData call.
//
// What moto covers: GetMetricData with MetricStat queries (Sum over the period, datapoints matched by
// namespace, name and the exact set of dimensions, StartTime inclusive, EndTime exclusive). What it
// does not evaluate: metric math (an expression comes back empty unless it is a bare query id, so
// FILL and the division are not run here) and percentiles (moto 5.2 answers a p99 over datapoints
// with a 500, so no TargetResponseTime is put here; with none, the p99 query is empty), and it never
// pages (no NextToken). So this test asserts the sums, the window and the dimensions; the rate is the
// adapter's own fallback from the sums, and the expression, the p99 and paging are covered by the
// aws-sdk-client-mock tests (test/unit/cloud/cloudwatch-metrics.adapter.test.ts).
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { CloudWatchMetricsAdapter } from '../../src/cloud/aws/cloudwatch-metrics.adapter';
import { describeWithMoto, startMoto, type MotoServer } from '../support/moto';

const LB = 'app/user-api-dev/0123456789abcdef';
const OTHER_LB = 'app/orders-dev/fedcba9876543210';
const BASELINE = 'targetgroup/boot-u-Defau-AAAAAAAAAAAA/1111111111111111';
const CANARY = 'targetgroup/app-u-Canar-BBBBBBBBBBBB/2222222222222222';
const QUIET = 'targetgroup/app-u-LaneT-CCCCCCCCCCCC/3333333333333333';
const MIN = 60_000;

describeWithMoto('CloudWatch metrics adapter against moto', () => {
  let moto: MotoServer;
  let cw: CloudWatchClient;
  /** A whole minute a little in the past, where the datapoints go. */
  let minute: number;

  beforeAll(async () => {
    moto = await startMoto();
    cw = new CloudWatchClient(moto.clientConfig);
    minute = Math.floor(Date.now() / MIN) * MIN - 10 * MIN;
  }, 40_000);

  afterAll(async () => {
    cw?.destroy();
    await moto?.stop();
  });

  function datum(targetGroup: string, name: string, value: number, at: number, loadBalancer = LB): MetricDatum {
    return {
      MetricName: name,
      Dimensions: [
        { Name: 'TargetGroup', Value: targetGroup },
        { Name: 'LoadBalancer', Value: loadBalancer },
      ],
      Timestamp: new Date(at),
      Value: value,
      Unit: 'Count',
    };
  }

  async function put(data: MetricDatum[]): Promise<void> {
    await cw.send(new PutMetricDataCommand({ Namespace: 'AWS/ApplicationELB', MetricData: data }));
  }

  it('reads each target group’s requests and 5xx over the window, from datapoints with both dimensions', async () => {
    await put([
      // The baseline: three minutes of requests, a few 5xx.
      datum(BASELINE, 'RequestCount', 5_700, minute),
      datum(BASELINE, 'RequestCount', 5_400, minute + MIN),
      datum(BASELINE, 'RequestCount', 2_850, minute + 2 * MIN),
      datum(BASELINE, 'HTTPCode_Target_5XX_Count', 6, minute + MIN),
      // The canary: 5 % of the traffic, 5 % of it failing.
      datum(CANARY, 'RequestCount', 300, minute),
      datum(CANARY, 'RequestCount', 600, minute + MIN),
      datum(CANARY, 'HTTPCode_Target_5XX_Count', 45, minute + MIN),
      // Outside the window (EndTime is exclusive) and under another load balancer: not counted.
      datum(CANARY, 'RequestCount', 10_000, minute + 3 * MIN),
      datum(CANARY, 'RequestCount', 777, minute + MIN, OTHER_LB),
    ]);

    const adapter = new CloudWatchMetricsAdapter({ client: cw });
    // Not aligned on purpose: the adapter rounds to [minute, minute + 3 min).
    const figures = await adapter.trafficFigures({ loadBalancer: LB, targetGroups: [BASELINE, CANARY, QUIET], start: minute + 20_000, end: minute + 3 * MIN + 40_000 });

    expect(figures[BASELINE]).toMatchObject({ requests: 13_950, errors5xx: 6 });
    expect(figures[BASELINE]!.errorRatePercent).toBeCloseTo((100 * 6) / 13_950, 9);
    expect(figures[CANARY]).toMatchObject({ requests: 900, errors5xx: 45, errorRatePercent: 5 });
    // A target group with no datapoints at all: zeros, no rate, no p99.
    expect(figures[QUIET]).toEqual({ requests: 0, errors5xx: 0 });
  });

  it('sees nothing of a target group under another load balancer', async () => {
    const adapter = new CloudWatchMetricsAdapter({ client: cw });
    const figures = await adapter.trafficFigures({ loadBalancer: OTHER_LB, targetGroups: [BASELINE], start: minute, end: minute + 3 * MIN });
    expect(figures[BASELINE]).toEqual({ requests: 0, errors5xx: 0 });
  });
});
