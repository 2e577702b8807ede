// What each stack family of the simulated account is made of, as the templates in templates/
// declare it: its resources (in creation order, each with its share of the operation's time and the
// parameters whose change updates it), the outputs it publishes, and how it fails when made to.
import { randomUUID } from 'node:crypto';
import { clusterNameFor, hex, listenerRuleArn, loadBalancerNames, SIM_ACCOUNT, SIM_REGION, simRepositoryUri, targetGroupOf } from './sim-account';
import { CANARY_RULE_RESOURCE, CANARY_TARGET_GROUP_RESOURCE, LANE_RULE_RESOURCE, laneRuleOf } from './sim-lane-rules';
import { CANARY_LANE, canaryWeights, stackFamily, type OperationKind, type PlannedFailure, type StackConfig, type StackFamily } from './sim-stack-families';

export interface ResourceSpec {
  logicalId: string;
  type: string;
  /** Share of the operation's time this resource takes. */
  weight: number;
  /** Parameters whose change updates the resource. */
  params: string[];
  /** An update replaces it: a new physical resource, the old one deleted at cleanup. */
  replaces?: boolean;
}

/**
 * How a stack's operation fails when made to (the sandbox's fail-next-stack, a failing Deploy
 * stage): on the resource that usually fails in that family and that kind of operation, with the
 * family's usual reason unless `reason` says otherwise.
 */
export function plannedFailureOf(family: StackFamily, kind: OperationKind, reason?: string): PlannedFailure {
  const usual = kind === 'delete' ? DELETE_FAILURES[family] : DEPLOY_FAILURES[family];
  return { logicalId: usual.logicalId, reason: reason ?? usual.reason() };
}

const handlerToken = () => `(RequestToken: ${randomUUID()}, HandlerErrorCode: GeneralServiceException)`;

/** A create or update. */
const LANE_DEPLOY_FAILURE = {
  logicalId: 'Service',
  reason: () => `Resource handler returned message: "Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'." ${handlerToken()}`,
};

const DEPLOY_FAILURES: Record<StackFamily, { logicalId: string; reason: () => string }> = {
  lane: LANE_DEPLOY_FAILURE,
  // The canary is an ECS service like a lane's, and fails the same way.
  canary: LANE_DEPLOY_FAILURE,
  boot: {
    logicalId: 'LoadBalancer',
    reason: () =>
      `Resource handler returned message: "You've reached the limit on the number of load balancers you can create (Service: ElasticLoadBalancingV2, Status Code: 400, Request ID: ${randomUUID()})" ${handlerToken()}`,
  },
  infra: {
    logicalId: 'NatGateway1',
    reason: () =>
      `Resource handler returned message: "The maximum number of addresses has been reached. (Service: Ec2, Status Code: 400, Request ID: ${randomUUID()})" ${handlerToken()}`,
  },
  pipeline: {
    logicalId: 'Pipeline',
    reason: () =>
      `Resource handler returned message: "CodePipeline is not authorized to perform AssumeRole on role arn:aws:iam::${SIM_ACCOUNT}:role/pipeline-role (Service: CodePipeline, Status Code: 400, Request ID: ${randomUUID()})" ${handlerToken()}`,
  },
  other: { logicalId: 'Resource', reason: () => 'Simulated failure (sim failNextOperation)' },
};

/** A delete: each on a resource every stack of the family has, so an armed failure always fires. */
const LANE_DELETE_FAILURE = {
  logicalId: 'Service',
  reason: () =>
    `Resource handler returned message: "The service's tasks did not stop before the deletion timed out (Service: Ecs, Status Code: 400, Request ID: ${randomUUID()})" ${handlerToken()}`,
};

const DELETE_FAILURES: Record<StackFamily, { logicalId: string; reason: () => string }> = {
  lane: LANE_DELETE_FAILURE,
  canary: LANE_DELETE_FAILURE,
  boot: {
    logicalId: 'LoadBalancer',
    reason: () =>
      `Resource handler returned message: "Load balancer cannot be deleted because deletion protection is enabled (Service: ElasticLoadBalancingV2, Status Code: 400, Request ID: ${randomUUID()})" ${handlerToken()}`,
  },
  infra: {
    logicalId: 'Vpc',
    reason: () => `Resource handler returned message: "The vpc has dependencies and cannot be deleted. (Service: Ec2, Status Code: 400, Request ID: ${randomUUID()})" ${handlerToken()}`,
  },
  pipeline: {
    logicalId: 'ArtifactBucket',
    reason: () => `Resource handler returned message: "The bucket you tried to delete is not empty (Service: S3, Status Code: 409, Request ID: ${randomUUID()})" ${handlerToken()}`,
  },
  other: { logicalId: 'Resource', reason: () => 'Simulated failure (sim failNextOperation)' },
};

const LANE_TASK_PARAMS = ['ImageUri', 'Env', 'ServiceName', 'Lane'];
/** What the canary's task definition and service are made of; its weights are its listener rule's alone. */
const CANARY_TASK_PARAMS = ['ImageUri', 'Env', 'ServiceName', 'SourceLane'];

/** The resources of each family, as the templates in templates/ declare them (a representative subset for infra). */
export function resourcesOf(stackName: string, config: StackConfig): ResourceSpec[] {
  const r = (logicalId: string, type: string, weight = 1, params: string[] = [], replaces = false): ResourceSpec => ({ logicalId, type, weight, params, replaces });
  switch (stackFamily(stackName, config.parameters)) {
    case 'lane': {
      // Lane default uses the boot stack's default target group and has no listener rule.
      const isDefault = config.parameters.Lane === 'default';
      return [
        r('TaskExecutionRole', 'AWS::IAM::Role', 1.5),
        r('TaskDefinition', 'AWS::ECS::TaskDefinition', 1, LANE_TASK_PARAMS, true),
        ...(isDefault ? [] : [r('LaneTargetGroup', 'AWS::ElasticLoadBalancingV2::TargetGroup')]),
        ...(laneRuleOf(stackName, config.parameters) ? [r(LANE_RULE_RESOURCE, 'AWS::ElasticLoadBalancingV2::ListenerRule', 1, ['RulePriority', 'Lane'])] : []),
        r('Service', 'AWS::ECS::Service', 6, LANE_TASK_PARAMS),
        r('TargetErrorRateAlarm', 'AWS::CloudWatch::Alarm', 0.5),
        r('UnhealthyHostsAlarm', 'AWS::CloudWatch::Alarm', 0.5),
        r('RunningTasksAlarm', 'AWS::CloudWatch::Alarm', 0.5),
      ];
    }
    case 'canary':
      // templates/canary-stack.yaml: a weights-only update (each traffic step) updates the rule alone.
      return [
        r('TaskExecutionRole', 'AWS::IAM::Role', 1.5),
        r('TaskDefinition', 'AWS::ECS::TaskDefinition', 1, CANARY_TASK_PARAMS, true),
        r(CANARY_TARGET_GROUP_RESOURCE, 'AWS::ElasticLoadBalancingV2::TargetGroup'),
        r(CANARY_RULE_RESOURCE, 'AWS::ElasticLoadBalancingV2::ListenerRule', 1, ['RulePriority', 'CanaryWeight', 'BaselineWeight']),
        r('Service', 'AWS::ECS::Service', 6, [...CANARY_TASK_PARAMS, 'DesiredCount']),
      ];
    case 'boot':
      return [
        r('LoadBalancerSecurityGroup', 'AWS::EC2::SecurityGroup'),
        r('TaskSecurityGroup', 'AWS::EC2::SecurityGroup'),
        r('LoadBalancer', 'AWS::ElasticLoadBalancingV2::LoadBalancer', 6),
        r('DefaultTargetGroup', 'AWS::ElasticLoadBalancingV2::TargetGroup'),
        r('HttpListener', 'AWS::ElasticLoadBalancingV2::Listener'),
        r('LogGroup', 'AWS::Logs::LogGroup', 0.5),
        r('CloudMapService', 'AWS::ServiceDiscovery::Service'),
      ];
    case 'infra':
      return [
        r('Vpc', 'AWS::EC2::VPC'),
        r('InternetGateway', 'AWS::EC2::InternetGateway'),
        r('InternetGatewayAttachment', 'AWS::EC2::VPCGatewayAttachment', 0.5),
        r('PublicSubnet1', 'AWS::EC2::Subnet', 0.5),
        r('PublicSubnet2', 'AWS::EC2::Subnet', 0.5),
        r('PrivateSubnet1', 'AWS::EC2::Subnet', 0.5),
        r('PrivateSubnet2', 'AWS::EC2::Subnet', 0.5),
        r('PublicRouteTable', 'AWS::EC2::RouteTable', 0.5),
        r('NatGateway1Eip', 'AWS::EC2::EIP', 0.5),
        r('NatGateway1', 'AWS::EC2::NatGateway', 4),
        r('NatGateway2Eip', 'AWS::EC2::EIP', 0.5),
        r('NatGateway2', 'AWS::EC2::NatGateway', 4),
        r('PrivateRouteTable1', 'AWS::EC2::RouteTable', 0.5),
        r('PrivateRouteTable2', 'AWS::EC2::RouteTable', 0.5),
        r('Cluster', 'AWS::ECS::Cluster'),
        r('Namespace', 'AWS::ServiceDiscovery::PrivateDnsNamespace', 3),
      ];
    case 'pipeline': {
      // templates/pipelines/: the app pipeline (ServiceName parameter) builds too; infra and boot only deploy.
      const kind = stackName.startsWith('pipeline-infra-') ? 'Infra' : stackName.startsWith('pipeline-boot-') ? 'Boot' : undefined;
      const build = config.parameters.ServiceName !== undefined || !kind;
      return [
        r('ArtifactBucket', 'AWS::S3::Bucket'),
        ...(build
          ? [
              r('Repository', 'AWS::ECR::Repository'),
              r('LaneStackRole', 'AWS::IAM::Role', 2),
              r('BuildLogGroup', 'AWS::Logs::LogGroup', 0.5),
              r('BuildRole', 'AWS::IAM::Role', 2),
              r('BuildProject', 'AWS::CodeBuild::Project'),
            ]
          : [r(`${kind}StackRole`, 'AWS::IAM::Role', 2)]),
        r('PipelineRole', 'AWS::IAM::Role', 2),
        r('Pipeline', 'AWS::CodePipeline::Pipeline', 1, ['PipelineName', 'RequireApproval', 'InfraBranch', 'AppRepo']),
      ];
    }
    case 'other':
      return [r('Resource', 'AWS::CloudFormation::WaitConditionHandle')];
  }
}

/** `{prefix}{service}-{env}` from a stack name when the parameters do not say. */
function scopeOf(stackName: string, parameters: Record<string, string>, prefix: string): { service: string; env: string } {
  const rest = stackName.slice(prefix.length);
  const cut = rest.lastIndexOf('-');
  return { service: parameters.ServiceName ?? rest.slice(0, Math.max(cut, 0)), env: parameters.Env ?? rest.slice(cut + 1) };
}

/** The outputs each template in templates/ declares. */
export function outputsOf(stackName: string, stackId: string, config: StackConfig): Record<string, string> {
  const p = config.parameters;
  switch (stackFamily(stackName, p)) {
    case 'lane': {
      const service = p.ServiceName ?? '';
      const env = p.Env ?? '';
      const lane = p.Lane ?? stackName.split('-').at(-1)!;
      const base = `${service}-${env}-${lane}`;
      const lb = loadBalancerNames(service, env);
      const tg = lane === 'default' ? lb.defaultTargetGroup : targetGroupOf(stackName, stackId);
      const rule = laneRuleOf(stackName, config.parameters);
      return {
        TargetGroupArn: tg.arn,
        TargetGroupFullName: tg.fullName,
        ...(rule ? { ListenerRuleArn: listenerRuleArn(service, env, stackId) } : {}),
        RulePriority: p.RulePriority ?? '0',
        ServiceName: base,
        ClusterName: clusterNameFor(env),
        ErrorRateAlarmName: `${base}-5xx-rate`,
        UnhealthyHostsAlarmName: `${base}-unhealthy-hosts`,
        RunningTasksAlarmName: `${base}-tasks-below-desired`,
        ...(p.ImageUri ? { ImageUri: p.ImageUri } : {}),
        // A new revision whenever what the task runs changes (a new image, most often).
        TaskDefinitionArn: `arn:aws:ecs:${SIM_REGION}:${SIM_ACCOUNT}:task-definition/${base}:${(parseInt(hex(6, stackId, ...LANE_TASK_PARAMS.map((k) => p[k] ?? '')), 16) % 9000) + 1}`,
      };
    }
    case 'canary': {
      const service = p.ServiceName ?? '';
      const env = p.Env ?? '';
      const base = `${service}-${env}-${CANARY_LANE}`;
      const lb = loadBalancerNames(service, env);
      const tg = targetGroupOf(stackName, stackId, CANARY_TARGET_GROUP_RESOURCE);
      const weights = canaryWeights(p);
      return {
        TargetGroupArn: tg.arn,
        TargetGroupFullName: tg.fullName,
        BaselineTargetGroupArn: lb.defaultTargetGroup.arn,
        BaselineTargetGroupFullName: lb.defaultTargetGroup.fullName,
        LoadBalancerFullName: lb.fullName,
        ListenerRuleArn: listenerRuleArn(service, env, stackId),
        ServiceName: base,
        ClusterName: clusterNameFor(env),
        ...(p.ImageUri ? { ImageUri: p.ImageUri } : {}),
        TaskDefinitionArn: `arn:aws:ecs:${SIM_REGION}:${SIM_ACCOUNT}:task-definition/${base}:${(parseInt(hex(6, stackId, ...CANARY_TASK_PARAMS.map((k) => p[k] ?? '')), 16) % 9000) + 1}`,
        CanaryWeight: String(weights.canary),
        BaselineWeight: String(weights.baseline),
        SourceLane: p.SourceLane ?? '',
      };
    }
    case 'boot': {
      const { service, env } = scopeOf(stackName, p, 'boot-');
      const lb = loadBalancerNames(service, env);
      return {
        LoadBalancerArn: lb.arn,
        DnsName: lb.dnsName,
        HttpListenerArn: lb.listenerArn,
        CloudMapServiceArn: `arn:aws:servicediscovery:${SIM_REGION}:${SIM_ACCOUNT}:service/srv-${hex(16, stackId, 'srv')}`,
        LogGroupName: `/ecs/${env}/${service}`,
        DefaultTargetGroupArn: lb.defaultTargetGroup.arn,
        TaskSecurityGroupId: `sg-${hex(17, stackId, 'task-sg')}`,
      };
    }
    case 'infra': {
      const env = p.Env ?? stackName.slice('infra-environment-'.length);
      const subnet = (n: string) => `subnet-${hex(17, stackId, n)}`;
      return {
        VpcId: `vpc-${hex(17, stackId, 'vpc')}`,
        PrivateSubnets: [subnet('private1'), subnet('private2')].join(','),
        PublicSubnets: [subnet('public1'), subnet('public2')].join(','),
        ClusterName: clusterNameFor(env),
        NamespaceId: `ns-${hex(16, stackId, 'ns')}`,
      };
    }
    case 'pipeline': {
      const pipelineName = p.PipelineName || stackName.slice('pipeline-'.length);
      const bucket = `${stackName}-artifactbucket-${hex(12, stackId, 'bucket')}`.toLowerCase().slice(0, 63);
      const roleOf = (logicalId: string) => `arn:aws:iam::${SIM_ACCOUNT}:role/${`${stackName}-${logicalId}`.slice(0, 50)}-${hex(12, stackId, logicalId).toUpperCase()}`;
      const resources = resourcesOf(stackName, config).map((r) => r.logicalId);
      return {
        PipelineName: pipelineName,
        ArtifactBucketName: bucket,
        ...(resources.includes('Repository')
          ? {
              RepositoryUri: simRepositoryUri(pipelineName),
              BuildProjectName: `${pipelineName}-build`,
              LaneStackRoleArn: roleOf('LaneStackRole'),
            }
          : {}),
        ...(resources.includes('InfraStackRole') ? { InfraStackRoleArn: roleOf('InfraStackRole') } : {}),
        ...(resources.includes('BootStackRole') ? { BootStackRoleArn: roleOf('BootStackRole') } : {}),
      };
    }
    case 'other':
      return {};
  }
}
