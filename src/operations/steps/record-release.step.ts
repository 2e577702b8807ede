// Step: record the release a successful change left on its lane (lane-registry.ts keeps the last 20),
// the history `/lane releases` lists and promote and rollback choose from.
import { laneStackName } from '../../domain/names';
import { describeCause, isLanebotError } from '../../errors';
import { next, wait, type OperationStep } from '../step';

/**
 * After the change (a deploy's pipeline, a promote's or rollback's stack update) and its health check:
 * take the image the lane now runs (the one the check read from the lane stack's outputs, or read
 * them when it did not), pinned by its digest, and add the release to the lane's history, with its
 * health verdict and the image it replaced. Throttling is waited out; any other fault records the
 * release without the image rather than fail a deploy that succeeded.
 */
export const recordReleaseStep: OperationStep = {
  name: 'record-release',
  async run(op, deps) {
    // ECS rolled the change back (circuit breaker): the lane still runs its previous release.
    if (op.health?.rolloutFailed) return next();
    // The check ran after the change, while this operation held the lane: what it read is current.
    let image = op.health?.image;
    if (image === undefined) {
      try {
        image = (await deps.cloud.stacks.describeStack(laneStackName(op)))?.outputs.ImageUri;
      } catch (error) {
        if (isLanebotError(error) && error.code === 'AWS_THROTTLED') return wait(deps.pollIntervalMs);
        deps.logger.warn({ operationId: op.id, err: describeCause(error) }, 'could not read the lane stack outputs; recording the release without its image');
      }
    }
    // Pinned by digest: a tag can be moved or overwritten later, the digest is the image that was
    // verified (what promote and rollback put back). A registry that cannot say keeps the URI as is.
    if (image && !image.includes('@sha256:')) {
      try {
        const check = await deps.cloud.images.imageExists(image);
        if (check.kind === 'exists') image = check.pinnedUri;
      } catch (error) {
        if (isLanebotError(error) && error.code === 'AWS_THROTTLED') return wait(deps.pollIntervalMs);
        deps.logger.warn({ operationId: op.id, image, err: describeCause(error) }, 'could not pin the image by its digest; recording it as the stack names it');
      }
    }
    // Read before recording: the slot is this operation's, so nothing else moves the lane meanwhile.
    const replaced = await deps.lanes.currentImage(op);
    await deps.lanes.recordRelease(op, {
      operationId: op.id,
      kind: op.kind,
      branch: op.params.branch ?? '',
      image,
      by: op.requester,
      at: deps.clock.now(),
      ...(op.health ? { health: op.health.verdict } : {}),
      ...(replaced && replaced !== image ? { replaced } : {}),
    });
    return next();
  },
};
