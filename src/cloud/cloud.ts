// Everything lanebot asks of the cloud, as one set of ports. Each cloud has one factory that returns
// it (aws/create-aws-cloud.ts, sim/create-sim-cloud.ts), so the composition root picks a cloud in
// one line and the jobs never know which one they talk to.
import type { AlarmEventsPort } from './alarm-events.port';
import type { AlarmsPort } from './alarms.port';
import type { EcsPort } from './ecs.port';
import type { ImageRegistryPort } from './image-registry.port';
import type { LoadBalancerPort } from './load-balancer.port';
import type { MetricsPort } from './metrics.port';
import type { PipelineEventsPort } from './pipeline-events.port';
import type { PipelinesPort } from './pipelines.port';
import type { StacksPort } from './stacks.port';

export interface CloudPorts {
  pipelines: PipelinesPort;
  stacks: StacksPort;
  loadBalancer: LoadBalancerPort;
  alarms: AlarmsPort;
  ecs: EcsPort;
  /** The container registry (ECR): whether a lane's image still exists, before promote or rollback reuse it. */
  images: ImageRegistryPort;
  /** Per target group traffic of a window (requests, 5xx, p99): what a canary's analysis compares with the baseline. */
  metrics: MetricsPort;
  /**
   * Alarm state changes as they happen; absent on AWS unless ALARM_EVENTS_QUEUE_URL names the queue
   * (then only the safety-net poll of `alarms` sees them).
   */
  alarmEvents?: AlarmEventsPort;
  /**
   * CodePipeline state changes as they happen; absent unless PIPELINE_EVENTS_QUEUE_URL names the
   * queue (then the pipeline watch's list poll alone sees them, every poll interval).
   */
  pipelineEvents?: PipelineEventsPort;
}
