// What lanebot reads of the load balancer's traffic: per target group, how many requests it served
// over a window, how many of them its targets answered with a 5xx, and how slow the slowest 1 % were.
// A canary's analysis compares its target group with the baseline's (the default target group) this
// way at every traffic step. Implemented by the CloudWatch adapter (aws/cloudwatch-metrics.adapter.ts)
// and the simulator (sim/sim-traffic.ts).
//
// The figures are ALB metrics (namespace AWS/ApplicationELB) with both the TargetGroup and the
// LoadBalancer dimension: RequestCount, HTTPCode_Target_5XX_Count and TargetResponseTime. A target
// group without data in the window (no requests, or a name CloudWatch does not know) is an expected
// answer: zeros, and neither a rate nor a p99.

export interface TrafficFigures {
  /** RequestCount, Sum over the window. */
  requests: number;
  /** HTTPCode_Target_5XX_Count, Sum over the window. */
  errors5xx: number;
  /** 100 × errors5xx / requests; undefined with no requests. */
  errorRatePercent?: number;
  /** TargetResponseTime p99, in ms; undefined with no requests. */
  p99Ms?: number;
}

export interface TrafficWindow {
  /** LoadBalancer dimension, `app/{name}/{id}`. */
  loadBalancer: string;
  /** TargetGroup dimensions, `targetgroup/{name}/{id}`. */
  targetGroups: readonly string[];
  /** Epoch ms; adapters align both to whole minutes (start down, end down, at least one minute apart). */
  start: number;
  end: number;
}

export interface MetricsPort {
  /** Each target group's figures over the window, from ONE GetMetricData call; a group with no data gets zeros. */
  trafficFigures(window: TrafficWindow): Promise<Record<string, TrafficFigures>>;
}

/** The figures of a target group that had no requests in the window. */
export function noTraffic(): TrafficFigures {
  return { requests: 0, errors5xx: 0 };
}

/**
 * The window as the adapters ask for it: start and end rounded down to whole minutes of `minuteMs`
 * (60 000 on AWS; the simulator's minute is shorter by SIM_TIME_SCALE), at least one minute long.
 * The end is rounded down so that a minute still in progress (whose data is not complete) is left out.
 */
export function alignedWindow(window: Pick<TrafficWindow, 'start' | 'end'>, minuteMs = 60_000): { start: number; end: number } {
  const start = Math.floor(window.start / minuteMs) * minuteMs;
  const end = Math.max(start + minuteMs, Math.floor(window.end / minuteMs) * minuteMs);
  return { start, end };
}
