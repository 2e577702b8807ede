// The ports on the simulated account (CLOUD=sim), all sharing one Redis prefix, one clock and one set
// of armed faults, so the pipelines' Deploy actions deploy the very stacks that lane health reads.
// Besides the ports it hands out the simulator's own controls (`sim`), which the sandbox and tests
// drive: fail a run or a stack, answer an approval, set a lane's health, arm a fault. The traffic
// figures (the metrics port) follow the same stacks and the lanes' health settings.
import type { RedisClient } from '../../redis/redis-connection';
import type { Clock } from '../../clock';
import type { CloudPorts } from '../cloud';
import { SimAlarmEvents } from './sim-alarm-events';
import { SimFaults } from './sim-faults';
import { SimImages } from './sim-images';
import { SimLaneHealth } from './sim-lane-health';
import { simPipelineCatalog, type SimAccountSpec } from './sim-pipeline-catalog';
import { SimPipelines } from './sim-pipelines';
import { SimStacks } from './sim-stacks';
import { SimTraffic } from './sim-traffic';

export interface SimCloudOptions {
  redis: RedisClient;
  /** Key prefix of the simulated account, e.g. `lanebot:sim`. */
  prefix: string;
  clock: Clock;
  /** SIM_TIME_SCALE: how many times faster than real time pipelines and stacks run. */
  timeScale: number;
  /** The environments and app pipelines of the simulated account: the ones lanebot's setup makes. */
  account: SimAccountSpec;
  /** Where the stack templates are (default: ./templates). */
  templatesDir?: string;
  /** Base URL of a console that shows simulated executions (the sandbox), for links in Slack. */
  consoleUrl?: string;
}

/** The simulator's controls beyond the ports. */
export interface SimHandles {
  pipelines: SimPipelines;
  stacks: SimStacks;
  laneHealth: SimLaneHealth;
  /** The simulated queue of alarm state changes (also the `alarmEvents` port). */
  alarmEvents: SimAlarmEvents;
  faults: SimFaults;
  /** The simulated ECR (also the `images` port): what the builds pushed; deleteImage stands for ECR expiring one. */
  images: SimImages;
  /** The simulated ALB traffic (also the `metrics` port): requests split by the canary's weights, 5xx and p99 from the lanes' settings. */
  traffic: SimTraffic;
}

export function createSimCloud(options: SimCloudOptions): CloudPorts & { sim: SimHandles } {
  const { redis, prefix, clock, timeScale } = options;
  const faults = new SimFaults({ redis, prefix });
  const stacks = new SimStacks({ redis, prefix, clock, timeScale, faults });
  const images = new SimImages({ redis, prefix, faults });
  const laneHealth = new SimLaneHealth({ redis, prefix, clock, timeScale, stacks, faults });
  const traffic = new SimTraffic({
    stacks,
    health: laneHealth,
    clock,
    timeScale,
    scopes: () => options.account.apps.map(({ service, env }) => ({ service, env })),
    faults,
  });
  const alarmEvents = new SimAlarmEvents({ redis, prefix, clock, evaluate: () => laneHealth.evaluateAll() });
  // The config does not change while the process runs, and neither do its pipelines.
  const catalog = simPipelineCatalog(options.account);
  const pipelines = new SimPipelines({
    redis,
    prefix,
    clock,
    timeScale,
    pipelines: () => catalog,
    stacks,
    templatesDir: options.templatesDir,
    consoleUrl: options.consoleUrl,
    faults,
    images,
  });
  return {
    pipelines,
    stacks,
    loadBalancer: laneHealth,
    alarms: laneHealth,
    ecs: laneHealth,
    images,
    metrics: traffic,
    alarmEvents,
    sim: { pipelines, stacks, laneHealth, alarmEvents, faults, images, traffic },
  };
}
