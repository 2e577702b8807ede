// The pipeline stacks `/lane setup` deploys for a service/env, and the parameters each template in
// templates/pipelines/ takes. Pure: the setup kind's stack-changes step reads the template files and calls the stack port.
import { pipelineNameFor, type LanebotConfig } from '../config';
import { bootPipelineName, infraPipelineName, pipelineStackName, type Scope } from '../domain/names';
import type { StackCapability } from '../cloud/stacks.port';

export interface PipelineStackPlan {
  stackName: string;
  /** Relative to the templates directory. */
  templateFile: string;
  parameters: Record<string, string>;
  tags: Record<string, string>;
  /** The service role the stack is created with, when the config names one. */
  roleArn?: string;
}

/** The pipeline templates create their own roles. */
export const PIPELINE_STACK_CAPABILITIES: StackCapability[] = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'];

/**
 * The environment's infra and boot pipelines (shared by every service of the environment) and the
 * service's app pipeline. Throws when the config lacks what the templates need; `/lane setup`
 * checks that before it queues anything (commands/setup.ts).
 */
export function pipelineStackPlans(scope: Scope, config: LanebotConfig): PipelineStackPlan[] {
  const setup = config.setup;
  const appRepo = config.services[scope.service]?.repo;
  if (!setup || !appRepo) throw new Error(`lanebot.yml lacks setup: or services.${scope.service}.repo`);
  const source = { Env: scope.env, ConnectionArn: setup.connectionArn, InfraRepo: setup.infraRepo, InfraBranch: setup.infraBranch };
  const tags = (extra: Record<string, string>) => ({ 'lanebot:managed-by': 'lanebot', 'lanebot:env': scope.env, ...extra });
  const appPipeline = pipelineNameFor(config, scope);
  const plans: PipelineStackPlan[] = [
    {
      stackName: pipelineStackName(infraPipelineName(scope.env)),
      templateFile: 'pipelines/infra-pipeline.yaml',
      parameters: { ...source },
      tags: tags({}),
    },
    {
      stackName: pipelineStackName(bootPipelineName(scope.env)),
      templateFile: 'pipelines/boot-pipeline.yaml',
      parameters: { ...source },
      tags: tags({}),
    },
    {
      stackName: pipelineStackName(appPipeline),
      templateFile: 'pipelines/app-pipeline.yaml',
      parameters: {
        ...source,
        PipelineName: appPipeline,
        ServiceName: scope.service,
        AppRepo: appRepo,
        // Protected environments get the pipeline's manual approval stage.
        RequireApproval: config.environments[scope.env]?.protected ? 'true' : 'false',
      },
      tags: tags({ 'lanebot:service': scope.service }),
    },
  ];
  return setup.stackRoleArn ? plans.map((plan) => ({ ...plan, roleArn: setup.stackRoleArn })) : plans;
}
