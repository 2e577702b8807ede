// What lanebot needs from the container registry: whether an image a lane ran is still there, so a
// promote or rollback is refused before it points a lane at an image ECR has expired (the app
// pipeline's repository keeps its newest N images) or someone deleted (issue 13, Must 2).
// Implemented by the ECR adapter (aws/ecr.adapter.ts) and the simulator (sim/sim-images.ts).
//
// Every answer the registry can give about the image is a value: it exists (with its digest, so the
// caller can pin a tag URI), it is gone (with the reason, in words for Slack), or lanebot cannot
// check it (not an ECR URI, another region). Faults (throttling, access denied, 5xx) throw
// LanebotErrors, as for every port.
import { shortImageText, type EcrImageRef } from './image-uri';

export type ImageCheck =
  | {
      kind: 'exists';
      /** `sha256:<64 hex>`: what the URI resolves to now (for a tag URI, the image the tag points at). */
      digest: string;
      /** The image pinned by digest: `<registry>/<repository>@sha256:…`. */
      pinnedUri: string;
      /** The image's tags, when the registry says. */
      tags?: string[];
      /** When it was pushed (ms since epoch), when the registry says. */
      pushedAt?: number;
    }
  | { kind: 'missing'; reason: string }
  | { kind: 'uncheckable'; reason: string };

export interface ImageRegistryPort {
  /** Whether `imageUri` (`<registry>/<repo>@sha256:…` or `<registry>/<repo>:<tag>`) still exists. */
  imageExists(imageUri: string): Promise<ImageCheck>;
}

/** Why an image is `missing`, in words for the Slack thread that refuses the promote or rollback. */
export function imageMissingReason(ref: EcrImageRef, gone: 'image' | 'repository'): string {
  if (gone === 'repository') return `ECR repository \`${ref.repository}\` no longer exists in account ${ref.account} (${ref.region})`;
  return `image \`${shortImageText(ref)}\` is no longer in ECR (the repository keeps only its newest images, or it was deleted)`;
}
