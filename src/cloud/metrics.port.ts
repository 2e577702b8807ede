// What lanebot reads of a load balancer's traffic: each target group's requests, 5xx and p99 over a
// window, for the canary's analysis (domain/canary.ts). Implemented by CloudWatch GetMetricData
// (aws/cloudwatch-metrics.adapter.ts) and the simulator's traffic.

export interface TrafficFigures {
  /** RequestCount, Sum over the window. */
  requests: number;
  /** HTTPCode_Target_5XX_Count, Sum. */
  errors5xx: number;
  /** Metric math 100 * errors / requests; undefined with no requests. */
  errorRatePercent?: number;
  /** TargetResponseTime p99, in ms; undefined with no requests. */
  p99Ms?: number;
}

export interface TrafficWindow {
  /** LoadBalancer dimension, app/{name}/{id}. */
  loadBalancer: string;
  /** TargetGroup dimensions, targetgroup/{name}/{id}. */
  targetGroups: readonly string[];
  /** Epoch ms; adapters align to whole minutes. */
  start: number;
  end: number;
}

export interface MetricsPort {
  /** Each target group's figures over the window, from ONE GetMetricData call; a group with no data gets zeros. */
  trafficFigures(window: TrafficWindow): Promise<Record<string, TrafficFigures>>;
}
