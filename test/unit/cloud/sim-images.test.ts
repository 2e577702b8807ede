import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simRepositoryUri } from '../../../src/cloud/sim/sim-account';
import { SimFaults } from '../../../src/cloud/sim/sim-faults';
import { SimImages } from '../../../src/cloud/sim/sim-images';
import type { SimPipelineInfo } from '../../../src/cloud/sim/sim-pipeline-catalog';
import { SimPipelines } from '../../../src/cloud/sim/sim-pipelines';
import { SimStacks } from '../../../src/cloud/sim/sim-stacks';
import { redisPerTest, T0 } from '../../support/fixtures';

const db = redisPerTest();
let t: number;
const clock = { now: () => t };

const REPO = simRepositoryUri('api-staging');
const GRAY = `${REPO}:gray-0123456789ab`;
const BLUE = `${REPO}:blue-ba9876543210`;

function images(faults?: SimFaults): SimImages {
  return new SimImages({ redis: db.redis, prefix: `${db.prefix}:sim`, faults });
}

beforeEach(() => {
  t = T0;
});

describe('SimImages', () => {
  it('answers a pushed image by tag and by digest, pinned, with its tags and push time', async () => {
    const registry = images();
    const pushed = await registry.push(GRAY, T0);
    expect(pushed.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(pushed.pinnedUri).toBe(`${REPO}@${pushed.digest}`);

    const expected = { kind: 'exists', digest: pushed.digest, pinnedUri: pushed.pinnedUri, tags: ['gray-0123456789ab'], pushedAt: T0 };
    expect(await registry.imageExists(GRAY)).toEqual(expected);
    expect(await registry.imageExists(pushed.pinnedUri)).toEqual(expected);
    // Another process sees the same registry.
    expect(await images().imageExists(GRAY)).toEqual(expected);
  });

  it('gives the same build of a tag the same digest, and another tag another digest', async () => {
    const registry = images();
    const first = await registry.push(GRAY, T0);
    const again = await registry.push(GRAY, T0 + 60_000);
    const other = await registry.push(BLUE, T0 + 60_000);
    expect(again.digest).toBe(first.digest);
    expect(other.digest).not.toBe(first.digest);
    // The image keeps its first push time.
    expect(await registry.imageExists(GRAY)).toMatchObject({ pushedAt: T0 });
  });

  it('says an image that was never pushed, or a repository nobody pushed to, is missing', async () => {
    const registry = images();
    await registry.push(GRAY, T0);
    expect(await registry.imageExists(`${REPO}:gray-ffffffffffff`)).toEqual({ kind: 'missing', reason: expect.stringContaining('is no longer in ECR') });
    expect(await registry.imageExists(`${REPO}@sha256:${'0'.repeat(64)}`)).toMatchObject({ kind: 'missing' });
    expect(await registry.imageExists(simRepositoryUri('orders-dev') + ':gray-1')).toEqual({
      kind: 'missing',
      reason: expect.stringMatching(/^ECR repository `pipeline-orders-dev-repository-[0-9a-f]{12}` no longer exists/),
    });
  });

  it('deletes an image, by tag or digest, with all its tags; the repository and other images stay', async () => {
    const registry = images();
    const gray = await registry.push(GRAY, T0);
    await registry.push(BLUE, T0);

    expect(await registry.deleteImage(GRAY)).toBe(gray.digest);
    expect(await registry.imageExists(GRAY)).toMatchObject({ kind: 'missing', reason: expect.stringContaining('gray-0123456789ab') });
    expect(await registry.imageExists(gray.pinnedUri)).toMatchObject({ kind: 'missing', reason: expect.stringContaining('is no longer in ECR') });
    expect(await registry.imageExists(BLUE)).toMatchObject({ kind: 'exists' });
    expect(await registry.deleteImage(GRAY)).toBeUndefined();

    const blue = await registry.imageExists(BLUE);
    if (blue.kind !== 'exists') throw new Error('blue should exist');
    expect(await registry.deleteImage(blue.pinnedUri)).toBe(blue.digest);
    // The last image is gone, the repository is not.
    expect(await registry.imageExists(BLUE)).toMatchObject({ kind: 'missing', reason: expect.stringContaining('is no longer in ECR') });
    expect(await registry.list()).toEqual([]);
  });

  it('pushes a deleted image again when it is built again', async () => {
    const registry = images();
    await registry.push(GRAY, T0);
    await registry.deleteImage(GRAY);
    await registry.push(GRAY, T0 + 3_600_000);
    expect(await registry.imageExists(GRAY)).toMatchObject({ kind: 'exists', pushedAt: T0 + 3_600_000 });
  });

  it('lists the images, newest first', async () => {
    const registry = images();
    const gray = await registry.push(GRAY, T0);
    const blue = await registry.push(BLUE, T0 + 1_000);
    expect(await registry.list()).toEqual([
      { repositoryUri: REPO, digest: blue.digest, pinnedUri: blue.pinnedUri, tags: ['blue-ba9876543210'], pushedAt: T0 + 1_000 },
      { repositoryUri: REPO, digest: gray.digest, pinnedUri: gray.pinnedUri, tags: ['gray-0123456789ab'], pushedAt: T0 },
    ]);
  });

  it('cannot check an image outside ECR, and refuses to push or delete one', async () => {
    const registry = images();
    expect(await registry.imageExists('nginx:1.27')).toMatchObject({ kind: 'uncheckable' });
    await expect(registry.deleteImage('nginx:1.27')).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await expect(registry.push(`${REPO}@sha256:${'0'.repeat(64)}`, T0)).rejects.toMatchObject({ code: 'INPUT_INVALID' });
  });

  it('fails a check with an armed ecr fault, as the ECR adapter would', async () => {
    const faults = new SimFaults({ redis: db.redis, prefix: `${db.prefix}:sim` });
    const registry = images(faults);
    await registry.push(GRAY, T0);
    await faults.inject({ service: 'ecr', fault: 'access-denied' });
    await expect(registry.imageExists(GRAY)).rejects.toMatchObject({ code: 'AWS_ACCESS_DENIED', message: expect.stringContaining('ecr:DescribeImages') });
    expect(await registry.imageExists(GRAY)).toMatchObject({ kind: 'exists' });
  });
});

describe('the simulated app pipeline pushes the image it deploys', () => {
  const PIPELINES: SimPipelineInfo[] = [{ name: 'api-staging', kind: 'app', service: 'api', env: 'staging' }];
  const NO_TEMPLATES = join(tmpdir(), `no-templates-${randomUUID()}`);

  function pipelines(registry: SimImages, stacks: SimStacks): SimPipelines {
    return new SimPipelines({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale: 1, pipelines: () => PIPELINES, stacks, templatesDir: NO_TEMPLATES, images: registry });
  }

  it('the lane stack ImageUri exists in the registry once the Deploy action has begun', async () => {
    const registry = images();
    const stacks = new SimStacks({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale: 1 });
    const sim = pipelines(registry, stacks);
    const { executionId } = await sim.startExecution({ pipelineName: 'api-staging', variables: { LANE: 'gray', BRANCH: 'main' }, clientRequestToken: randomUUID() });
    expect(await registry.list()).toEqual([]);

    t += 20_000 + 150_000 + 1_000; // Source and Build done: the Deploy action has begun
    await sim.getExecution('api-staging', executionId);
    t += 120_000;
    expect(await sim.getExecution('api-staging', executionId)).toMatchObject({ status: 'Succeeded' });

    const imageUri = (await stacks.describeStack('app-api-staging-gray'))?.parameters.ImageUri;
    expect(imageUri).toMatch(new RegExp(`^${REPO.replace(/\./g, '\\.')}:gray-[0-9a-f]{12}$`));
    expect(await registry.imageExists(imageUri!)).toMatchObject({ kind: 'exists', tags: [imageUri!.split(':').pop()] });
  });

  it('pushes nothing when the build fails', async () => {
    const registry = images();
    const stacks = new SimStacks({ redis: db.redis, prefix: `${db.prefix}:sim`, clock, timeScale: 1 });
    const sim = pipelines(registry, stacks);
    const { executionId } = await sim.startExecution({ pipelineName: 'api-staging', variables: { LANE: 'gray', BRANCH: 'feature/sim-fail-build' }, clientRequestToken: randomUUID() });
    t += 400_000;
    expect(await sim.getExecution('api-staging', executionId)).toMatchObject({ status: 'Failed' });
    expect(await registry.list()).toEqual([]);
  });
});
