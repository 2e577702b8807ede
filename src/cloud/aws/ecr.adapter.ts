// ImageRegistryPort on ECR: DescribeImages of the one image a URI names (by digest or tag) in the
// registry of the URI's account. A missing image or repository is an answer (`missing`), not a
// fault; so is an image ECR has archived (it cannot be pulled until restored). Other errors go
// through the common mapping (aws-call.ts).
import { DescribeImagesCommand, type DescribeImagesCommandOutput, type ECRClient, type ImageIdentifier } from '@aws-sdk/client-ecr';
import { parseImageUri, pinnedImageUri, shortImageText, type EcrImageRef } from '../image-uri';
import { imageMissingReason, type ImageCheck, type ImageRegistryPort } from '../image-registry.port';
import { callAws, mapAwsError, sdkErrorName, type AwsCallOptions } from './aws-call';

export interface EcrAdapterOptions extends AwsCallOptions {
  /** The client of the bot's region. */
  client: ECRClient;
  region: string;
  /**
   * A client for another region, for images pulled cross-region; without it, images outside
   * `region` are `uncheckable`. create-aws-cloud.ts makes them on first use.
   */
  clientFor?: (region: string) => ECRClient;
}

const NOT_FOUND = new Set(['ImageNotFoundException', 'RepositoryNotFoundException']);

export class EcrAdapter implements ImageRegistryPort {
  constructor(private readonly options: EcrAdapterOptions) {}

  async imageExists(imageUri: string): Promise<ImageCheck> {
    const parsed = parseImageUri(imageUri);
    if (parsed.kind === 'uncheckable') return parsed;
    const { ref } = parsed;
    const client = ref.region === this.options.region ? this.options.client : this.options.clientFor?.(ref.region);
    if (!client) {
      return { kind: 'uncheckable', reason: `\`${imageUri}\` is in region ${ref.region}; lanebot checks images in ${this.options.region} only` };
    }
    const imageId: ImageIdentifier = ref.digest ? { imageDigest: ref.digest } : { imageTag: ref.tag };
    const answer = await callAws(
      'DescribeImages',
      () =>
        client
          .send(new DescribeImagesCommand({ registryId: ref.account, repositoryName: ref.repository, imageIds: [imageId] }))
          .catch((error: unknown): { notFound: string } => {
            const name = sdkErrorName(error);
            if (name && NOT_FOUND.has(name)) return { notFound: name };
            throw error;
          }),
      { ...this.options, service: 'ecr', mapOwn: (error) => mapAwsError(error, 'ecr', 'DescribeImages', `for image \`${imageUri}\``) },
    );
    if ('notFound' in answer) return { kind: 'missing', reason: imageMissingReason(ref, answer.notFound === 'RepositoryNotFoundException' ? 'repository' : 'image') };
    return toCheck(ref, answer);
  }
}

function toCheck(ref: EcrImageRef, output: DescribeImagesCommandOutput): ImageCheck {
  const detail = output.imageDetails?.find((d) => (ref.digest ? d.imageDigest === ref.digest : d.imageTags?.includes(ref.tag!))) ?? output.imageDetails?.[0];
  if (!detail?.imageDigest) return { kind: 'missing', reason: imageMissingReason(ref, 'image') };
  // ECR archive: still listed, but no task can pull it until someone restores it.
  if (detail.imageStatus && detail.imageStatus !== 'ACTIVE') {
    return {
      kind: 'missing',
      reason: `image \`${shortImageText(ref)}\` is ${detail.imageStatus.toLowerCase()} in ECR, so ECS cannot pull it; restore it in the repository first`,
    };
  }
  const check: ImageCheck = { kind: 'exists', digest: detail.imageDigest, pinnedUri: pinnedImageUri(ref, detail.imageDigest) };
  if (detail.imageTags?.length) check.tags = detail.imageTags;
  if (detail.imagePushedAt) check.pushedAt = detail.imagePushedAt.getTime();
  return check;
}
