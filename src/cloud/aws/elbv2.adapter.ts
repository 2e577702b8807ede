// LoadBalancerPort on ELBv2: DescribeTargetHealth of a lane's target group, with SDK errors mapped
// onto lanebot's error codes. A target group that does not exist is an answer (undefined), not a fault.
import { DescribeTargetHealthCommand, type ElasticLoadBalancingV2Client, type TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { LanebotError } from '../../errors';
import { summarizeTargets, type LoadBalancerPort, type TargetGroupHealth, type TargetHealthView, type TargetState } from '../load-balancer.port';
import { callAws, sdkErrorName, type AwsCallOptions } from './aws-call';

export interface Elbv2AdapterOptions extends AwsCallOptions {
  client: ElasticLoadBalancingV2Client;
}

const KNOWN_STATES: ReadonlySet<string> = new Set<TargetState>(['initial', 'healthy', 'unhealthy', 'unhealthy.draining', 'unused', 'draining', 'unavailable']);

export class Elbv2Adapter implements LoadBalancerPort {
  constructor(private readonly options: Elbv2AdapterOptions) {}

  async targetHealth(targetGroupArn: string): Promise<TargetGroupHealth | undefined> {
    const output = await callAws(
      'DescribeTargetHealth',
      () => this.options.client.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn })).catch((error: unknown) => {
        if (sdkErrorName(error) === 'TargetGroupNotFoundException') return undefined;
        throw error;
      }),
      {
        ...this.options,
        service: 'elasticloadbalancing',
        mapOwn: (error) =>
          sdkErrorName(error) === 'HealthUnavailableException'
            ? new LanebotError('AWS_ERROR', `ELBv2 could not read the health of target group ${targetGroupArn} right now; lanebot will try again.`, {
                cause: error,
                retryable: true,
              })
            : undefined,
      },
    );
    if (!output) return undefined;
    // DescribeTargetHealth is not paginated: it answers every registered target at once.
    return summarizeTargets(targetGroupArn, (output.TargetHealthDescriptions ?? []).map(toView));
  }
}

function toView(description: TargetHealthDescription): TargetHealthView {
  const raw = description.TargetHealth?.State ?? 'unavailable';
  // A state added to ELBv2 after this was written counts as unavailable rather than breaking the sums.
  const state = (KNOWN_STATES.has(raw) ? raw : 'unavailable') as TargetState;
  const view: TargetHealthView = { id: description.Target?.Id ?? '(unknown target)', state };
  if (description.Target?.Port !== undefined) view.port = description.Target.Port;
  if (description.TargetHealth?.Reason) view.reason = description.TargetHealth.Reason;
  if (description.TargetHealth?.Description) view.description = description.TargetHealth.Description;
  return view;
}
