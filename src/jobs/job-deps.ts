import type { Logger } from 'pino';
import type { Clock } from '../clock';
import type { PipelinesPort } from '../cloud/pipelines.port';
import type { StacksPort } from '../cloud/stacks.port';
import type { LanebotConfig } from '../config';
import type { Queues } from '../queue/queues';
import type { ThreadNarrator } from '../slack/thread-narrator';
import type { DeployStore } from '../state/deploy-store';
import type { LaneRegistry } from '../state/lane-registry';
import type { RulePriorities } from '../state/rule-priorities';

/** What the deploy and watch jobs need; built once by the composition root. */
export interface JobDeps {
  deploys: DeployStore;
  lanes: LaneRegistry;
  pipelines: PipelinesPort;
  stacks: StacksPort;
  rulePriorities: RulePriorities;
  config: LanebotConfig;
  /** Where the CloudFormation templates are (the repository's templates/). */
  templatesDir: string;
  narrator: ThreadNarrator;
  queues: Pick<Queues, 'deploy' | 'watch' | 'stacks'>;
  clock: Clock;
  logger: Logger;
  /** How often a running execution is polled. */
  pollIntervalMs: number;
}

/** Consecutive failed AWS calls after which a deploy gives up (throttling never counts). */
export const MAX_AWS_FAILURES = 12;
