// Ending a deploy: record the outcome, say it in the thread, and hand the lane to the deploy
// waiting for it. Every step is safe to repeat, so a job killed half-way is simply run again.
import { FINISHED_STATUSES, type DeployStatus } from '../domain/deploy';
import type { DeployPatch } from '../state/deploy-store';
import type { JobDeps } from './job-deps';

const UNFINISHED: DeployStatus[] = ['queued', 'waiting', 'starting', 'running'];

export async function finishDeploy(
  deps: JobDeps,
  deployId: string,
  status: DeployStatus,
  patch: DeployPatch = {},
): Promise<void> {
  if (!FINISHED_STATUSES.has(status)) throw new Error(`finishDeploy needs a finished status, got ${status}`);
  const now = deps.clock.now();
  const moved = await deps.deploys.transition(deployId, UNFINISHED, status, { finishedAt: now, ...patch });
  const deploy = await deps.deploys.get(deployId);
  if (!deploy) return;
  if (moved) deps.logger.info({ deployId, lane: deploy.lane, status }, 'deploy finished');

  await deps.narrator.say(deployId, 'finished', { kind: 'finished' });
  await deps.narrator.refreshRoot(deployId);

  const next = await deps.lanes.release(deploy, deployId, now);
  if (next && next !== deployId) {
    await deps.queues.deploy.add('start', { kind: 'start', deployId: next }, { jobId: `start-${next}` });
    await deps.narrator.refreshRoot(next);
  }
}
