// The pipelines of the simulated account and their stages, as the real templates
// (templates/pipelines/) make them. Three families:
//  - app `{service}-{env}`: Source (AppSource, InfraSource) → Approval (ManualApproval, protected
//    environments only) → Build (BuildAndPush) → Deploy (DeployLaneStack);
//  - infra `infra-{env}`: Source (InfraSource) → Deploy (DeployInfraStack);
//  - boot `boot-{env}`: Source (InfraSource) → Deploy (DeployBootStack), variable SERVICE.
// Which pipelines exist follows lanebot's config (the ones its setup would make); the composition
// root describes them as a SimAccountSpec, so the simulator needs nothing from the config module.

export type SimPipelineKind = 'app' | 'infra' | 'boot';

/** A pipeline of the simulated account. */
export interface SimPipelineInfo {
  name: string;
  kind: SimPipelineKind;
  env: string;
  /** The service of an app pipeline. */
  service?: string;
  /** Protected environments' app pipelines have a manual approval stage. */
  protected?: boolean;
  /**
   * The approval action's TimeoutInMinutes (the app pipeline template's ApprovalTimeoutInMinutes);
   * default CodePipeline's 7 days.
   */
  approvalTimeoutMinutes?: number;
}

export interface SimAction {
  name: string;
  /** `timed` takes `seconds`; `approval` waits for `approve()`; `deploy` deploys a stack through SimStacks. */
  kind: 'timed' | 'approval' | 'deploy';
  /** Simulated seconds a timed action takes (before SIM_TIME_SCALE). */
  seconds: number;
  /** What a timed action reports when made to fail (a deploy action reports its stack's failure). */
  failure: string;
  /** An approval action's CustomData, as the template writes it (`#{variables.X}` resolved per execution). */
  customData?: string;
}

export interface SimStage {
  name: string;
  /** Actions of a stage run one after another. */
  actions: SimAction[];
}

const INFRA_SOURCE: SimAction = {
  name: 'InfraSource',
  kind: 'timed',
  seconds: 8,
  failure: 'Could not fetch the infra repository: the CodeStar connection is not available',
};

/** Every stage an app pipeline can have; the Approval stage only in protected environments. */
export const SIM_APP_STAGES: readonly SimStage[] = [
  {
    name: 'Source',
    actions: [
      { name: 'AppSource', kind: 'timed', seconds: 12, failure: 'Could not find branch in the app repository (CodeStar connection returned 404)' },
      INFRA_SOURCE,
    ],
  },
  {
    name: 'Approval',
    actions: [
      {
        name: 'ManualApproval',
        kind: 'approval',
        seconds: 0,
        failure: 'Rejected by approver',
        customData: 'Deploy #{variables.BRANCH} to lane #{variables.LANE}',
      },
    ],
  },
  {
    name: 'Build',
    actions: [
      {
        name: 'BuildAndPush',
        kind: 'timed',
        seconds: 150,
        failure: 'Error while executing command: npm test. Reason: exit status 1 (3 tests failed in src/orders.test.ts)',
      },
    ],
  },
  { name: 'Deploy', actions: [{ name: 'DeployLaneStack', kind: 'deploy', seconds: 0, failure: 'ECS Deployment Circuit Breaker was triggered' }] },
];

export const SIM_INFRA_STAGES: readonly SimStage[] = [
  { name: 'Source', actions: [INFRA_SOURCE] },
  { name: 'Deploy', actions: [{ name: 'DeployInfraStack', kind: 'deploy', seconds: 0, failure: 'The maximum number of addresses has been reached' }] },
];

export const SIM_BOOT_STAGES: readonly SimStage[] = [
  { name: 'Source', actions: [INFRA_SOURCE] },
  { name: 'Deploy', actions: [{ name: 'DeployBootStack', kind: 'deploy', seconds: 0, failure: 'The load balancer limit has been reached' }] },
];

export function simStagesFor(info: SimPipelineInfo): readonly SimStage[] {
  switch (info.kind) {
    case 'app':
      return info.protected ? SIM_APP_STAGES : SIM_APP_STAGES.filter((s) => s.name !== 'Approval');
    case 'infra':
      return SIM_INFRA_STAGES;
    case 'boot':
      return SIM_BOOT_STAGES;
  }
}

/** What the simulated account holds: its environments, and the app pipeline of each service in each. */
export interface SimAccountSpec {
  environments: { env: string; protected: boolean }[];
  apps: { service: string; env: string; pipeline: string }[];
}

/** The pipelines of the simulated account: app pipelines, plus infra and boot per env. */
export function simPipelineCatalog(spec: SimAccountSpec): SimPipelineInfo[] {
  const isProtected = new Map(spec.environments.map((e) => [e.env, e.protected]));
  const app = spec.apps.map(({ service, env, pipeline }) => ({ name: pipeline, kind: 'app' as const, env, service, protected: isProtected.get(env) ?? false }));
  const shared = spec.environments.flatMap(({ env, protected: prot }) => [
    { name: `infra-${env}`, kind: 'infra' as const, env, protected: prot },
    { name: `boot-${env}`, kind: 'boot' as const, env, protected: prot },
  ]);
  return [...app, ...shared];
}
