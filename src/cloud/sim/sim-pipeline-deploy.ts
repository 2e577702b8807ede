// The Deploy action of a simulated pipeline: which stack it deploys, with what template and
// parameters (from the pipeline and the execution's variables, as templates/buildspec.yaml and the
// CloudFormation deploy actions do), and what the action reports for the stack service's answer.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DeployStackInput } from '../stacks.port';
import { simLaneStackName, simRepositoryUri } from './sim-account';
import type { SimPipelineInfo, SimPipelineKind } from './sim-pipeline-catalog';
import type { SimDeployResult } from './sim-stacks';

/** Template files (under templatesDir) the Deploy actions use when present; a placeholder otherwise. */
export const SIM_TEMPLATE_FILES: Record<SimPipelineKind, string> = {
  app: 'service-stack.yaml',
  infra: 'infra-stack.yaml',
  boot: 'boot-stack.yaml',
};

/** A Deploy action's course, fixed when its stack operation starts. */
export interface DeployActionRecord {
  stackName?: string;
  endsAt?: number;
  failure?: string;
  /** The stack was in ROLLBACK_COMPLETE and is being deleted until then; the create follows. */
  replacedUntil?: number;
  /** Not recorded: a stack operation is due at this time but the caller did not allow starting it. */
  pendingAt?: number;
  /** A note for the stage view (StageView.detail). */
  detail?: string;
  /** Not recorded: the stack is being replaced until then, when the create is due. */
  recheckAt?: number;
}

/** The stack templates the Deploy actions use, read once from templatesDir; a placeholder while one is not written. */
export class SimTemplates {
  private readonly bodies = new Map<SimPipelineKind, string>();

  constructor(private readonly templatesDir = 'templates') {}

  body(kind: SimPipelineKind): string {
    let body = this.bodies.get(kind);
    if (body === undefined) {
      const file = join(resolve(this.templatesDir), SIM_TEMPLATE_FILES[kind]);
      try {
        body = readFileSync(file, 'utf8');
      } catch {
        body = placeholderTemplate(kind);
      }
      this.bodies.set(kind, body);
    }
    return body;
  }

  /** Every family's template. */
  all(): string[] {
    return (Object.keys(SIM_TEMPLATE_FILES) as SimPipelineKind[]).map((kind) => this.body(kind));
  }
}

export function deployStackInput(
  info: SimPipelineInfo,
  execution: { executionId: string; variables: Record<string, string> },
  templateBody: string,
): DeployStackInput | { problem: string } {
  const vars = execution.variables;
  const clientRequestToken = `sim-${execution.executionId}`;
  switch (info.kind) {
    case 'app': {
      const lane = vars.LANE;
      const service = info.service ?? '';
      if (!lane) return { problem: `The pipeline variable LANE is not set: start ${info.name} with LANE=<lane> and BRANCH=<branch>.` };
      const commit = createHash('sha256').update(`${service}:${vars.BRANCH ?? ''}`).digest('hex').slice(0, 12);
      return {
        stackName: simLaneStackName({ service, env: info.env, lane }),
        templateBody,
        parameters: {
          Env: info.env,
          ServiceName: service,
          Lane: lane,
          // The buildspec tags images `{lane}-{first 12 of the commit}`; the simulated commit is the branch's.
          ImageUri: `${simRepositoryUri(info.name)}:${lane}-${commit}`,
          RulePriority: vars.RULE_PRIORITY || '0',
        },
        // What templates/buildspec.yaml passes to `aws cloudformation deploy --tags`.
        tags: { 'lanebot:service': service, 'lanebot:env': info.env, 'lanebot:lane': lane },
        clientRequestToken,
      };
    }
    case 'infra':
      return { stackName: `infra-environment-${info.env}`, templateBody, parameters: { Env: info.env }, clientRequestToken };
    case 'boot': {
      const service = vars.SERVICE?.trim();
      if (!service) {
        return {
          problem: `The pipeline variable SERVICE is not set: ${info.name} bootstraps one service per execution; start it with SERVICE=<service>.`,
        };
      }
      if (!/^[a-z][a-z0-9-]*$/.test(service)) {
        return { problem: `The pipeline variable SERVICE="${service}" is not a service name (a lowercase letter, then a-z, 0-9 and -).` };
      }
      return { stackName: `boot-${service}-${info.env}`, templateBody, parameters: { Env: info.env, ServiceName: service }, clientRequestToken };
    }
  }
}



/** What the CloudFormation deploy action reports for the stack call's result. */
export function deployActionOutcome(stackName: string, deployed: SimDeployResult, at: number, fail: { reason?: string } | undefined): DeployActionRecord {
  const { result, operation, stackId } = deployed;
  switch (result.kind) {
    case 'started':
      // A replayed token whose operation is no longer kept: it ended long ago; report it as done.
      if (!operation) return { stackName, endsAt: at };
      return {
        stackName,
        endsAt: operation.endsAt,
        failure: operation.succeeded ? undefined : operation.failureReasons.join('; ') || operation.statusReason || operation.finalStatus,
      };
    case 'no-changes':
      // Nothing to deploy, so nothing can fail in the stack; a planned failure still fails the action,
      // so the sandbox's "fail next Deploy" keeps working for a redeploy of the same commit.
      if (fail) return { stackName, endsAt: at, failure: fail.reason ?? 'Simulated deploy failure (sim-fail-deploy)' };
      return { stackName, endsAt: at, detail: 'no changes' };
    case 'busy':
      return { stackName, endsAt: at, failure: `Stack:${stackId ?? stackName} is in ${result.status} state and can not be updated.` };
    case 'rejected':
      return { stackName, endsAt: at, failure: result.reason };
    case 'replacing':
      return { stackName, replacedUntil: operation!.endsAt };
    case 'preparing':
      // SimStacks decides a change set at once; never seen here.
      throw new Error(`SimStacks answered "preparing" for ${stackName}`);
  }
}


function placeholderTemplate(kind: SimPipelineKind): string {
  const parameters = { app: ['Env', 'ServiceName', 'Lane', 'ImageUri', 'RulePriority'], infra: ['Env'], boot: ['Env', 'ServiceName'] }[kind];
  return [
    "AWSTemplateFormatVersion: '2010-09-09'",
    `Description: lanebot simulator placeholder (templates/${SIM_TEMPLATE_FILES[kind]} not found)`,
    'Parameters:',
    ...parameters.map((p) => `  ${p}: { Type: String }`),
    'Resources:',
    '  Placeholder: { Type: AWS::CloudFormation::WaitConditionHandle }',
    '',
  ].join('\n');
}
