// EcrAdapter against moto's ECR: an image pushed to a repository (PutImage with a manifest, which
// is what `docker push` ends with) is found by digest and by tag, the tag resolving to its digest;
// a tag nobody pushed, a deleted image and a missing repository are `missing`, not faults.
//
// What moto does not cover: archived images (imageStatus) and throttling, left to the
// aws-sdk-client-mock test (test/unit/cloud/ecr.adapter.test.ts).
import { randomUUID } from 'node:crypto';
import { BatchDeleteImageCommand, CreateRepositoryCommand, DeleteRepositoryCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { EcrAdapter } from '../../src/cloud/aws/ecr.adapter';
import { describeWithMoto, MOTO_REGION, startMoto, type MotoServer } from '../support/moto';

/** A Docker image manifest (schema 2), as `docker push` uploads it; moto takes its digest from the text. */
function manifest(seed: string): string {
  const layer = (n: number) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 100 + n, digest: `sha256:${seed.padEnd(63, 'a')}${n}` });
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 7023, digest: `sha256:${seed.padEnd(64, 'c')}` },
    layers: [layer(1), layer(2)],
  });
}

describeWithMoto('EcrAdapter against moto', () => {
  let moto: MotoServer;
  let ecr: ECRClient;
  let adapter: EcrAdapter;
  let registry: string;
  const repositories: string[] = [];

  beforeAll(async () => {
    moto = await startMoto();
    ecr = new ECRClient(moto.clientConfig);
    adapter = new EcrAdapter({ client: ecr, region: MOTO_REGION });
  }, 40_000);

  afterAll(async () => {
    for (const repositoryName of repositories) await ecr?.send(new DeleteRepositoryCommand({ repositoryName, force: true }));
    ecr?.destroy();
    await moto?.stop();
  });

  /** A repository named like the app pipeline's (CloudFormation names it {stack}-repository-{suffix}). */
  async function createRepository(): Promise<string> {
    const repositoryName = `pipeline-user-api-dev-repository-${randomUUID().slice(0, 12)}`;
    const { repository } = await ecr.send(new CreateRepositoryCommand({ repositoryName }));
    repositories.push(repositoryName);
    registry = repository!.repositoryUri!.split('/')[0]!;
    return repositoryName;
  }

  async function push(repositoryName: string, tag: string, seed: string): Promise<string> {
    const { image } = await ecr.send(new PutImageCommand({ repositoryName, imageTag: tag, imageManifest: manifest(seed) }));
    return image!.imageId!.imageDigest!;
  }

  it('finds a pushed image by digest and by tag, and pins the tag to its digest', async () => {
    const repo = await createRepository();
    const digest = await push(repo, 'gray-0123456789ab', 'ab12');
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(registry).toMatch(/^\d{12}\.dkr\.ecr\.us-east-1\.amazonaws\.com$/);
    const pinned = `${registry}/${repo}@${digest}`;

    const byDigest = await adapter.imageExists(pinned);
    expect(byDigest).toMatchObject({ kind: 'exists', digest, pinnedUri: pinned, tags: ['gray-0123456789ab'] });
    expect(byDigest.kind === 'exists' && byDigest.pushedAt).toEqual(expect.any(Number));

    expect(await adapter.imageExists(`${registry}/${repo}:gray-0123456789ab`)).toMatchObject({ kind: 'exists', digest, pinnedUri: pinned });
  });

  it('says a tag nobody pushed is missing', async () => {
    const repo = await createRepository();
    await push(repo, 'gray-0123456789ab', 'cd34');

    expect(await adapter.imageExists(`${registry}/${repo}:blue-0123456789ab`)).toEqual({
      kind: 'missing',
      reason: `image \`${repo}:blue-0123456789ab\` is no longer in ECR (the repository keeps only its newest images, or it was deleted)`,
    });
  });

  it('says a deleted image is missing, by digest and by its old tag', async () => {
    const repo = await createRepository();
    const digest = await push(repo, 'gray-0123456789ab', 'ef56');
    const kept = await push(repo, 'blue-0123456789ab', '9870');
    await ecr.send(new BatchDeleteImageCommand({ repositoryName: repo, imageIds: [{ imageDigest: digest }] }));

    expect(await adapter.imageExists(`${registry}/${repo}@${digest}`)).toMatchObject({ kind: 'missing', reason: expect.stringContaining('is no longer in ECR') });
    expect(await adapter.imageExists(`${registry}/${repo}:gray-0123456789ab`)).toMatchObject({ kind: 'missing' });
    expect(await adapter.imageExists(`${registry}/${repo}@${kept}`)).toMatchObject({ kind: 'exists', digest: kept });
  });

  it('says the image is missing when its repository does not exist', async () => {
    await createRepository();
    const repo = `pipeline-gone-dev-repository-${randomUUID().slice(0, 12)}`;
    expect(await adapter.imageExists(`${registry}/${repo}:gray-0123456789ab`)).toEqual({
      kind: 'missing',
      reason: `ECR repository \`${repo}\` no longer exists in account ${registry.split('.')[0]} (us-east-1)`,
    });
  });
});
