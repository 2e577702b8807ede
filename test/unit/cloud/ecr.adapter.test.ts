import { DescribeImagesCommand, ECRClient, ECRServiceException } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { EcrAdapter } from '../../../src/cloud/aws/ecr.adapter';

const ecr = mockClient(ECRClient);
const ACCOUNT = '123456789012';
const REGISTRY = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`;
const REPO = 'pipeline-user-api-dev-repository-0a1b2c3d4e5f';
const DIGEST = `sha256:${'ab12'.repeat(16)}`;
const BY_DIGEST = `${REGISTRY}/${REPO}@${DIGEST}`;
const BY_TAG = `${REGISTRY}/${REPO}:gray-0123456789ab`;

let sleeps: number[];
function adapter(extra: Partial<ConstructorParameters<typeof EcrAdapter>[0]> = {}): EcrAdapter {
  return new EcrAdapter({
    client: new ECRClient({ region: 'eu-west-1' }),
    region: 'eu-west-1',
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    maxThrottleRetries: 2,
    ...extra,
  });
}

function sdkError(name: string, httpStatusCode: number | undefined): ECRServiceException {
  return new ECRServiceException({ name, $fault: 'client', $metadata: { httpStatusCode }, message: `${name} happened` });
}

beforeEach(() => {
  ecr.reset();
  sleeps = [];
});

describe('EcrAdapter.imageExists', () => {
  it('asks for a digest-pinned image by digest in the account of the URI', async () => {
    const pushed = new Date('2026-03-01T10:00:00Z');
    ecr.on(DescribeImagesCommand, { registryId: ACCOUNT, repositoryName: REPO, imageIds: [{ imageDigest: DIGEST }] }).resolves({
      imageDetails: [{ registryId: ACCOUNT, repositoryName: REPO, imageDigest: DIGEST, imageTags: ['gray-0123456789ab'], imagePushedAt: pushed, imageStatus: 'ACTIVE' }],
    });

    expect(await adapter().imageExists(BY_DIGEST)).toEqual({
      kind: 'exists',
      digest: DIGEST,
      pinnedUri: BY_DIGEST,
      tags: ['gray-0123456789ab'],
      pushedAt: pushed.getTime(),
    });
    expect(ecr.commandCalls(DescribeImagesCommand)).toHaveLength(1);
  });

  it('asks for a tag URI by tag and answers the digest the tag points at, pinned', async () => {
    ecr.on(DescribeImagesCommand, { registryId: ACCOUNT, repositoryName: REPO, imageIds: [{ imageTag: 'gray-0123456789ab' }] }).resolves({
      imageDetails: [{ imageDigest: DIGEST, imageTags: ['gray-0123456789ab'] }],
    });

    expect(await adapter().imageExists(BY_TAG)).toEqual({ kind: 'exists', digest: DIGEST, pinnedUri: BY_DIGEST, tags: ['gray-0123456789ab'] });
  });

  it('says an image ECR no longer has is missing, with the reason', async () => {
    ecr.on(DescribeImagesCommand).rejects(sdkError('ImageNotFoundException', 400));

    const check = await adapter().imageExists(BY_DIGEST);

    expect(check).toEqual({ kind: 'missing', reason: expect.stringContaining('is no longer in ECR') });
    expect(check.kind === 'missing' && check.reason).toContain(`${REPO}@sha256:ab12ab12ab12`);
  });

  it('says the image is missing when its repository is gone', async () => {
    ecr.on(DescribeImagesCommand).rejects(sdkError('RepositoryNotFoundException', 400));

    expect(await adapter().imageExists(BY_TAG)).toEqual({
      kind: 'missing',
      reason: `ECR repository \`${REPO}\` no longer exists in account ${ACCOUNT} (eu-west-1)`,
    });
  });

  it('says an archived image is missing: ECS cannot pull it until it is restored', async () => {
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST, imageStatus: 'ARCHIVED' }] });

    expect(await adapter().imageExists(BY_DIGEST)).toEqual({ kind: 'missing', reason: expect.stringContaining('is archived in ECR') });
  });

  it('says an empty answer is missing rather than inventing a digest', async () => {
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [] });

    expect(await adapter().imageExists(BY_TAG)).toMatchObject({ kind: 'missing' });
  });

  it('retries throttling, then gives up with AWS_THROTTLED (retryable)', async () => {
    ecr.on(DescribeImagesCommand).rejects(sdkError('ThrottlingException', 400));

    await expect(adapter().imageExists(BY_DIGEST)).rejects.toMatchObject({ code: 'AWS_THROTTLED', retryable: true });
    expect(ecr.commandCalls(DescribeImagesCommand)).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });

  it('answers after a throttled call that passes on retry', async () => {
    ecr
      .on(DescribeImagesCommand)
      .rejectsOnce(sdkError('ThrottlingException', 400))
      .resolves({ imageDetails: [{ imageDigest: DIGEST }] });

    expect(await adapter().imageExists(BY_DIGEST)).toMatchObject({ kind: 'exists', digest: DIGEST });
    expect(sleeps).toHaveLength(1);
  });

  it('turns access denied into AWS_ACCESS_DENIED naming ecr:DescribeImages and the policy to attach', async () => {
    ecr.on(DescribeImagesCommand).rejects(sdkError('AccessDeniedException', 403));

    await expect(adapter().imageExists(BY_DIGEST)).rejects.toMatchObject({
      code: 'AWS_ACCESS_DENIED',
      message: expect.stringMatching(/ecr:DescribeImages for image `.*` .*bot-policy\.json/),
    });
  });

  it('turns a 5xx into a retryable AWS_ERROR', async () => {
    ecr.on(DescribeImagesCommand).rejects(sdkError('ServerException', 500));

    await expect(adapter().imageExists(BY_TAG)).rejects.toMatchObject({ code: 'AWS_ERROR', retryable: true });
  });

  it('cannot check an image outside ECR, and says so without calling AWS', async () => {
    expect(await adapter().imageExists('ghcr.io/acme/user-api:1.2.3')).toEqual({ kind: 'uncheckable', reason: expect.stringContaining('not in an Amazon ECR registry') });
    expect(await adapter().imageExists('nginx')).toMatchObject({ kind: 'uncheckable' });
    expect(ecr.commandCalls(DescribeImagesCommand)).toHaveLength(0);
  });

  it('asks the image region\'s endpoint for an image in another region, or says it cannot', async () => {
    const other = `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/${REPO}@${DIGEST}`;
    expect(await adapter().imageExists(other)).toEqual({ kind: 'uncheckable', reason: expect.stringContaining('is in region us-east-1') });

    const regions: string[] = [];
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST }] });
    const crossRegion = adapter({ clientFor: (region) => (regions.push(region), new ECRClient({ region })) });
    expect(await crossRegion.imageExists(other)).toEqual({ kind: 'exists', digest: DIGEST, pinnedUri: other });
    expect(regions).toEqual(['us-east-1']);
  });
});
