// The follow-up of `/lane status`: a worker reads the health of the lanes the first answer showed
// (ECS service, targets, alarms) through the ports and posts it to the command's response_url. It
// runs here, never in the listener: Slack wants the ack within 3 seconds and AWS calls do not
// promise that.
//
// Where a lane's names come from: the resources the verify step recorded on the lane after a deploy,
// else the lane stack's outputs (a lane deployed before lanebot recorded them). Every lane's alarms
// are read in one alarmStates call. A port that fails leaves its part saying so, not the whole
// report failing; only Redis faults fail the job (and BullMQ tries it again).
//
// Posted once: the job claims the post in Redis before it calls Slack, gives the claim back when
// the call surely did nothing (and throws, to be tried again), and keeps it after an ambiguous
// outcome, so that a retry cannot post the report a second time.
import type { RedisClient } from '../redis/redis-connection';
import type { Logger } from 'pino';
import { laneHealthReportText, type LaneHealthEntry } from './health-messages';
import { ChatRateLimitedError, ChatRejectedError, surelyNotPosted, type ChatPort } from './chat.port';
import type { CloudPorts } from '../cloud/cloud';
import { laneResourcesOf, type LaneResources } from '../domain/lane-resources';
import { laneStackName, type LaneRef } from '../domain/names';
import { describeCause } from '../errors';
import { followUpJobId, type LaneHealthReportJobData } from '../queue/queues';
import type { RedisKeys } from '../state/keys';
import type { LaneRegistry } from '../state/lane-registry';
import { readLanesHealth, type HealthPorts } from '../health/lane-health';

/** Slack takes answers to a response_url for 30 minutes; the claim need not outlive that. */
const CLAIM_TTL_SECONDS = 30 * 60;

export interface LaneHealthReportDeps {
  cloud: HealthPorts & Pick<CloudPorts, 'stacks'>;
  lanes: Pick<LaneRegistry, 'resources'>;
  chat: Pick<ChatPort, 'respond'>;
  redis: Pick<RedisClient, 'set' | 'del'>;
  keys: RedisKeys;
  logger: Logger;
}

export async function reportLaneHealth(data: LaneHealthReportJobData, deps: LaneHealthReportDeps): Promise<void> {
  const jobId = followUpJobId(data);
  const log = deps.logger.child({ jobId, user: data.userId, service: data.service, env: data.env, lanes: data.lanes });
  if (data.lanes.length === 0) return;

  const found = await Promise.all(data.lanes.map((lane) => resourcesOf({ service: data.service, env: data.env, lane }, deps)));
  const readable = found.filter((f): f is { lane: string; resources: LaneResources } => 'resources' in f);
  const readings = await readLanesHealth(deps.cloud, readable.map((f) => f.resources));
  const byLane = new Map(readable.map((f, index) => [f.lane, readings[index]!]));
  const entries: LaneHealthEntry[] = found.map((f) =>
    'resources' in f ? { lane: f.lane, resources: f.resources, reading: byLane.get(f.lane)! } : f,
  );
  const text = laneHealthReportText({ service: data.service, env: data.env }, entries);

  const claim = deps.keys.followUpPosted(jobId);
  if ((await deps.redis.set(claim, String(Date.now()), 'EX', CLAIM_TTL_SECONDS, 'NX')) !== 'OK') {
    log.info('the health follow-up was already posted (or is being posted); not posting it again');
    return;
  }
  try {
    await deps.chat.respond(data.responseUrl, { text });
    log.info('posted the health follow-up');
  } catch (error) {
    if (surelyNotPosted(error)) {
      await deps.redis.del(claim);
      // A refusal (the command is over 30 minutes old, or had its 5 answers) is not fixed by retrying.
      if (error instanceof ChatRejectedError) return void log.warn({ slackError: error.slackError }, `Slack refused the health follow-up: ${error.message}`);
      if (!(error instanceof ChatRateLimitedError)) log.warn({ err: error }, 'the health follow-up did not reach Slack; trying again');
      throw error;
    }
    log.warn({ err: error }, 'the health follow-up may not have arrived; not posting it twice');
  }
}

/** The lane's resources, recorded or from its stack; or, when there are none to read, why. */
async function resourcesOf(ref: LaneRef, deps: LaneHealthReportDeps): Promise<{ lane: string; resources: LaneResources } | { lane: string; problem: string }> {
  const recorded = await deps.lanes.resources(ref);
  if (recorded) return { lane: ref.lane, resources: recorded };
  const stackName = laneStackName(ref);
  try {
    const stack = await deps.cloud.stacks.describeStack(stackName);
    if (!stack) return { lane: ref.lane, problem: `the lane stack \`${stackName}\` does not exist (the deploy did not get that far, or the lane was deleted)` };
    return { lane: ref.lane, resources: laneResourcesOf(stack) };
  } catch (error) {
    return { lane: ref.lane, problem: `the lane stack \`${stackName}\` could not be read: ${describeCause(error)}` };
  }
}
