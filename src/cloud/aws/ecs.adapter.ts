// EcsPort on ECS: DescribeServices of one lane service, with SDK errors mapped onto lanebot's error
// codes. A missing service (a `MISSING` failure) or cluster (ClusterNotFoundException) is an answer
// (undefined), not a fault.
import { DescribeServicesCommand, type Deployment, type ECSClient, type Service } from '@aws-sdk/client-ecs';
import { withRollout, type EcsDeploymentView, type EcsPort, type EcsRolloutState, type EcsServiceView } from '../ecs.port';
import { callAws, sdkErrorName, type AwsCallOptions } from './aws-call';

export interface EcsAdapterOptions extends AwsCallOptions {
  client: ECSClient;
  /** For console links. */
  region: string;
}

const ROLLOUT_STATES: ReadonlySet<string> = new Set<EcsRolloutState>(['IN_PROGRESS', 'COMPLETED', 'FAILED']);

export class EcsAdapter implements EcsPort {
  constructor(private readonly options: EcsAdapterOptions) {}

  async describeService(cluster: string, service: string): Promise<EcsServiceView | undefined> {
    const output = await callAws(
      'DescribeServices',
      () =>
        this.options.client.send(new DescribeServicesCommand({ cluster, services: [service] })).catch((error: unknown) => {
          if (sdkErrorName(error) === 'ClusterNotFoundException') return undefined;
          throw error;
        }),
      { ...this.options, service: 'ecs' },
    );
    // An unknown service is not an error: ECS lists it under `failures` with reason MISSING.
    const found = output?.services?.find((s) => s.serviceName === service || s.serviceArn?.endsWith(`/${service}`));
    if (!found) return undefined;
    return toView(found, service, this.consoleUrl(cluster, service));
  }

  private consoleUrl(cluster: string, service: string): string {
    const { region } = this.options;
    // The cluster may be given as an ARN; the console wants its name.
    const clusterName = cluster.includes('/') ? cluster.slice(cluster.lastIndexOf('/') + 1) : cluster;
    return `https://${region}.console.aws.amazon.com/ecs/v2/clusters/${encodeURIComponent(clusterName)}/services/${encodeURIComponent(service)}/health?region=${region}`;
  }
}

function toView(service: Service, name: string, url: string): EcsServiceView {
  return withRollout({
    serviceName: service.serviceName ?? name,
    status: service.status ?? 'ACTIVE',
    desiredCount: service.desiredCount ?? 0,
    runningCount: service.runningCount ?? 0,
    pendingCount: service.pendingCount ?? 0,
    deployments: (service.deployments ?? []).map(toDeployment),
    url,
  });
}

function toDeployment(deployment: Deployment): EcsDeploymentView {
  const view: EcsDeploymentView = {
    id: deployment.id ?? '(unknown deployment)',
    status: deployment.status ?? 'PRIMARY',
    desiredCount: deployment.desiredCount ?? 0,
    runningCount: deployment.runningCount ?? 0,
    pendingCount: deployment.pendingCount ?? 0,
    failedTasks: deployment.failedTasks ?? 0,
  };
  // A rollout state added to ECS after this was written is left out rather than misread.
  if (deployment.rolloutState && ROLLOUT_STATES.has(deployment.rolloutState)) view.rolloutState = deployment.rolloutState as EcsRolloutState;
  if (deployment.rolloutStateReason) view.rolloutStateReason = deployment.rolloutStateReason;
  if (deployment.taskDefinition) view.taskDefinition = deployment.taskDefinition;
  return view;
}
