// The ports on AWS: one SDK v3 client per service, whose credentials and endpoints come from the
// SDK's default chain (AWS_ENDPOINT_URL_* included). retryMode 'adaptive' lets the SDK slow down
// on throttling before the adapters' own bounded retry (aws-call.ts) has to.
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { CloudPorts } from '../cloud';
import { CloudFormationAdapter } from './cloudformation.adapter';
import { CloudWatchAlarmsAdapter } from './cloudwatch-alarms.adapter';
import { CloudWatchMetricsAdapter } from './cloudwatch-metrics.adapter';
import { CodePipelineAdapter } from './codepipeline.adapter';
import { EcrAdapter } from './ecr.adapter';
import { EcsAdapter } from './ecs.adapter';
import { Elbv2Adapter } from './elbv2.adapter';
import { SqsAlarmEventsAdapter } from './sqs-alarm-events.adapter';
import { SqsPipelineEventsAdapter } from './sqs-pipeline-events.adapter';

export interface AwsCloudOptions {
  region: string;
  /** ALARM_EVENTS_QUEUE_URL: the SQS queue of alarm state changes; without it there is no alarmEvents port. */
  alarmEventsQueueUrl?: string;
  /** PIPELINE_EVENTS_QUEUE_URL: the SQS queue of CodePipeline state changes; without it there is no pipelineEvents port. */
  pipelineEventsQueueUrl?: string;
}

export function createAwsCloud({ region, alarmEventsQueueUrl, pipelineEventsQueueUrl }: AwsCloudOptions): CloudPorts {
  const clientOptions = { region, retryMode: 'adaptive' } as const;
  // Alarms and metrics are one service: one client, one adaptive rate limiter.
  const cloudWatch = new CloudWatchClient(clientOptions);
  const cloud: CloudPorts = {
    pipelines: new CodePipelineAdapter({ client: new CodePipelineClient(clientOptions), region }),
    stacks: new CloudFormationAdapter({ client: new CloudFormationClient(clientOptions), region }),
    loadBalancer: new Elbv2Adapter({ client: new ElasticLoadBalancingV2Client(clientOptions) }),
    alarms: new CloudWatchAlarmsAdapter({ client: cloudWatch }),
    metrics: new CloudWatchMetricsAdapter({ client: cloudWatch }),
    ecs: new EcsAdapter({ client: new ECSClient(clientOptions), region }),
    images: new EcrAdapter({ client: new ECRClient(clientOptions), region, clientFor: ecrClientsByRegion(clientOptions) }),
  };
  const sqs = alarmEventsQueueUrl || pipelineEventsQueueUrl ? new SQSClient(clientOptions) : undefined;
  if (sqs && alarmEventsQueueUrl) cloud.alarmEvents = new SqsAlarmEventsAdapter({ client: sqs, queueUrl: alarmEventsQueueUrl });
  if (sqs && pipelineEventsQueueUrl) cloud.pipelineEvents = new SqsPipelineEventsAdapter({ client: sqs, queueUrl: pipelineEventsQueueUrl });
  return cloud;
}

/**
 * ECR clients for other regions, made on first use: a lane may run an image replicated from (or
 * pulled cross-region out of) another region's registry, which only that region's endpoint answers.
 */
function ecrClientsByRegion(clientOptions: { retryMode: 'adaptive' }): (region: string) => ECRClient {
  const clients = new Map<string, ECRClient>();
  return (region) => {
    let client = clients.get(region);
    if (!client) clients.set(region, (client = new ECRClient({ ...clientOptions, region })));
    return client;
  };
}
