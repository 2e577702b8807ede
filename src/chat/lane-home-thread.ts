// Where something about a lane is said (its alarms, its expiry prompt): the lane's home thread — the
// thread of its latest operation — else the thread of its latest operation that has one, else a new
// root message in the lane's channel from a `lane-thread` record (operations/kinds/lane-thread.kind.ts),
// which then is the lane's home.
import { createHash } from 'node:crypto';
import type { Clock } from '../clock';
import type { LanebotConfig } from '../config';
import type { LaneRef } from '../domain/names';
import { isFinished, type OperationRecord } from '../domain/operation';
import type { LaneRegistry } from '../state/lane-registry';
import type { OperationStore } from '../state/operation-store';
import { ROOT_SKIPPED } from './thread-narrator';

export interface LaneHomeThreadDeps {
  lanes: LaneRegistry;
  operations: OperationStore;
  config: LanebotConfig;
  clock: Clock;
}

/**
 * The id of the operation whose thread speaks for the lane; undefined when no channel is bound to
 * its service/env. `seed` names what is being said: a new lane thread gets its id from it, so a
 * process that dies after making one and another that tries again make the same one.
 */
export async function laneHomeThread(deps: LaneHomeThreadDeps, ref: LaneRef, seed: string): Promise<string | undefined> {
  const { lanes, operations, config, clock } = deps;
  const view = await lanes.get(ref);
  // A thread that was posted (and not skipped), or one that is still coming: its operation runs, or
  // it is a lane thread whose root the narrator has not posted yet (without that, a second notice in
  // the same moment, before the root is out, would open a second thread).
  const usable = (op: OperationRecord | undefined): boolean =>
    !!op && (op.rootTs ? op.rootTs !== ROOT_SKIPPED : op.kind === 'lane-thread' || !isFinished(op.status));
  if (view?.home && usable(view.home)) return view.home.id;
  if (view?.last && usable(view.last)) return view.last.id;
  const channel =
    view?.home?.channel ??
    view?.last?.channel ??
    Object.entries(config.channels).find(([, binding]) => binding.service === ref.service && binding.env === ref.env)?.[0];
  if (!channel) return undefined;
  const id = `lt-${createHash('sha256').update(seed).digest('hex').slice(0, 20)}`;
  const now = clock.now();
  await operations.create({ id, kind: 'lane-thread', ...ref, params: {}, requester: view?.lastDeployer ?? '', channel, requestedAt: now });
  await operations.transition(id, ['queued'], 'succeeded', { finishedAt: now });
  await lanes.setHome(ref, id);
  return id;
}
