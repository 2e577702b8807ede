// MetricsPort on CloudWatch: one GetMetricData call for every target group of the window. Per target
// group four queries: RequestCount Sum, HTTPCode_Target_5XX_Count Sum, their ratio as a metric math
// expression, and TargetResponseTime p99; every metric with both the TargetGroup and the LoadBalancer
// dimension (the ALB publishes the per-target-group figures under the pair). The period is the whole
// window, aligned to minutes, so each query has at most one data point.
//
// ALB publishes RequestCount and the 5xx count only for minutes that had some, so a target group that
// served requests but no 5xx has no 5xx data at all: the rate expression FILLs the errors with 0,
// which keeps it defined whenever there were requests (and absent when there were none).
import {
  GetMetricDataCommand,
  type CloudWatchClient,
  type Dimension,
  type GetMetricDataOutput,
  type MetricDataQuery,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import { LanebotError } from '../../errors';
import { alignedWindow, noTraffic, type MetricsPort, type TrafficFigures, type TrafficWindow } from '../metrics.port';
import { callAws, type AwsCallOptions } from './aws-call';

export interface CloudWatchMetricsAdapterOptions extends AwsCallOptions {
  client: CloudWatchClient;
}

const NAMESPACE = 'AWS/ApplicationELB';
/** GetMetricData takes at most 500 queries; four per target group. */
const QUERIES_PER_GROUP = 4;
export const MAX_TARGET_GROUPS = Math.floor(500 / QUERIES_PER_GROUP);
/** A caller asking for more pages than this is looping on a token; no answer for a few groups has that many. */
const MAX_PAGES = 20;

/** The query ids of the i-th target group (ids start with a lowercase letter: letters, digits, _). */
export function queryIds(index: number): { requests: string; errors: string; rate: string; p99: string } {
  return { requests: `requests_${index}`, errors: `errors_${index}`, rate: `rate_${index}`, p99: `p99_${index}` };
}

export class CloudWatchMetricsAdapter implements MetricsPort {
  constructor(private readonly options: CloudWatchMetricsAdapterOptions) {}

  async trafficFigures(window: TrafficWindow): Promise<Record<string, TrafficFigures>> {
    const groups = [...new Set(window.targetGroups)];
    if (groups.length === 0) return {};
    if (groups.length > MAX_TARGET_GROUPS) {
      throw new LanebotError('INPUT_INVALID', `GetMetricData reads at most ${MAX_TARGET_GROUPS} target groups at once; ${groups.length} were asked for.`);
    }
    const { start, end } = alignedWindow(window);
    const period = (end - start) / 1000;
    const queries = groups.flatMap((group, index) => groupQueries(group, window.loadBalancer, index, period));

    const results = new Map<string, { values: number[] }>();
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page: GetMetricDataOutput = await callAws(
        'GetMetricData',
        () =>
          this.options.client.send(
            new GetMetricDataCommand({
              MetricDataQueries: queries,
              StartTime: new Date(start),
              EndTime: new Date(end),
              ScanBy: 'TimestampAscending',
              NextToken: nextToken,
            }),
          ),
        { ...this.options, service: 'cloudwatch' },
      );
      for (const result of page.MetricDataResults ?? []) collect(results, result);
      nextToken = page.NextToken;
      pages += 1;
    } while (nextToken && pages < MAX_PAGES);

    const figures: Record<string, TrafficFigures> = {};
    groups.forEach((group, index) => {
      figures[group] = figuresOf(results, queryIds(index));
    });
    return figures;
  }
}

function groupQueries(targetGroup: string, loadBalancer: string, index: number, period: number): MetricDataQuery[] {
  const ids = queryIds(index);
  const dimensions: Dimension[] = [
    { Name: 'TargetGroup', Value: targetGroup },
    { Name: 'LoadBalancer', Value: loadBalancer },
  ];
  const metric = (Id: string, MetricName: string, Stat: string): MetricDataQuery => ({
    Id,
    Label: `${targetGroup} ${MetricName} ${Stat}`,
    MetricStat: { Metric: { Namespace: NAMESPACE, MetricName, Dimensions: dimensions }, Period: period, Stat },
    ReturnData: true,
  });
  return [
    metric(ids.requests, 'RequestCount', 'Sum'),
    metric(ids.errors, 'HTTPCode_Target_5XX_Count', 'Sum'),
    // An expression takes its period from the metrics it reads.
    { Id: ids.rate, Label: `${targetGroup} 5xx rate (%)`, Expression: `100 * FILL(${ids.errors}, 0) / ${ids.requests}`, ReturnData: true },
    metric(ids.p99, 'TargetResponseTime', 'p99'),
  ];
}

/**
 * Gathers a result's values by query id, pages appended. A query CloudWatch could not answer
 * (InternalError, Forbidden) fails the call: figures made of half the data would read as a
 * healthy canary.
 */
function collect(results: Map<string, { values: number[] }>, result: MetricDataResult): void {
  if (!result.Id) return;
  if (result.StatusCode === 'InternalError' || result.StatusCode === 'Forbidden') {
    const detail = (result.Messages ?? []).map((m) => `${m.Code ?? ''} ${m.Value ?? ''}`.trim()).join('; ');
    throw new LanebotError('AWS_ERROR', `cloudwatch:GetMetricData could not read ${result.Label ?? result.Id}: ${result.StatusCode}${detail ? ` (${detail})` : ''}`, {
      retryable: result.StatusCode === 'InternalError',
    });
  }
  const entry = results.get(result.Id) ?? { values: [] };
  entry.values.push(...(result.Values ?? []).filter((v) => Number.isFinite(v)));
  results.set(result.Id, entry);
}

function figuresOf(results: Map<string, { values: number[] }>, ids: ReturnType<typeof queryIds>): TrafficFigures {
  const values = (id: string) => results.get(id)?.values ?? [];
  const sum = (id: string) => values(id).reduce((total, v) => total + v, 0);
  const requests = sum(ids.requests);
  const errors5xx = sum(ids.errors);
  if (requests <= 0) return { ...noTraffic(), errors5xx };
  const figures: TrafficFigures = { requests, errors5xx };
  // One period per window gives one point; should CloudWatch split it anyway, the sums are the truth.
  const rate = values(ids.rate);
  figures.errorRatePercent = rate.length === 1 ? rate[0]! : (100 * errors5xx) / requests;
  // Several p99 points cannot be merged into the window's p99; the worst is the safe reading.
  const p99 = values(ids.p99);
  if (p99.length > 0) figures.p99Ms = Math.max(...p99) * 1000;
  return figures;
}
