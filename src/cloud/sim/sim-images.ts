// The simulated account's ECR: the images the app pipelines' Build actions push, kept in Redis so
// every bot process (and the sandbox) sees the same registry, and the ImageRegistryPort that answers
// whether an image still exists. The sandbox and tests delete images (`deleteImage`) to stand for
// ECR's lifecycle policy expiring an old one, so a promote or rollback to it is refused.
//
// One hash per repository (`<registry>/<repository>`): field `repository` (when it was first pushed
// to: the repository exists from then on, even once its images are gone), `tag:<tag>` → digest and
// `digest:<digest>` → when it was pushed. A simulated build of the same tag yields the same digest,
// as if builds were reproducible: a rebuild of a lane's commit is the image it already had.
import type { RedisClient } from '../../redis/redis-connection';
import { parseImageUri, pinnedImageUri, type EcrImageRef } from '../image-uri';
import { LanebotError } from '../../errors';
import { imageMissingReason, type ImageCheck, type ImageRegistryPort } from '../image-registry.port';
import { sha256 } from './sim-account';
import type { SimFaultCheck } from './sim-faults';
import { LuaScript } from '../../redis/lua-script';

export interface SimImagesOptions {
  redis: RedisClient;
  /** Key prefix of the simulated account, e.g. `lanebot:sim`. */
  prefix: string;
  /** Transport faults armed in the simulated account (sim-faults.ts); imageExists consumes `ecr` ones. */
  faults?: SimFaultCheck;
}

/** An image in the simulated registry (the sandbox's list). */
export interface SimImage {
  /** `<registry>/<repository>`. */
  repositoryUri: string;
  digest: string;
  pinnedUri: string;
  tags: string[];
  pushedAt: number;
}

// Deletes one image (by digest, or the image a tag points at) and every tag on it, atomically so
// that a push racing the delete never leaves a tag pointing at a deleted digest. Answers the digest
// deleted, or false when there was no such image.
const DELETE_IMAGE_SCRIPT = new LuaScript(`
local digest = ARGV[1]
if digest == '' then
  digest = redis.call('HGET', KEYS[1], 'tag:' .. ARGV[2])
  if not digest then return false end
end
if redis.call('HDEL', KEYS[1], 'digest:' .. digest) == 0 then return false end
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 4) == 'tag:' and all[i + 1] == digest then redis.call('HDEL', KEYS[1], all[i]) end
end
return digest
`);

export class SimImages implements ImageRegistryPort {
  constructor(private readonly options: SimImagesOptions) {}

  private repositoryKey(ref: Pick<EcrImageRef, 'registry' | 'repository'>): string {
    return [this.options.prefix, 'ecr', `${ref.registry}/${ref.repository}`].join(':');
  }

  private get repositoriesKey(): string {
    return [this.options.prefix, 'ecr-repositories'].join(':');
  }

  /**
   * What a Build action does: pushes `<registry>/<repository>:<tag>` at `at`, and answers its digest.
   * Pushing a tag again moves it to the new build, which here is the same image.
   */
  async push(imageUri: string, at: number): Promise<{ digest: string; pinnedUri: string }> {
    const ref = ecrRef(imageUri);
    if (!ref.tag) throw new LanebotError('INPUT_INVALID', `a build pushes a tag, not a digest: \`${imageUri}\``);
    const digest = `sha256:${sha256(`sim-image|${ref.registry}/${ref.repository}:${ref.tag}`)}`;
    const key = this.repositoryKey(ref);
    await this.options.redis
      .multi()
      .hsetnx(key, 'repository', String(at))
      .hset(key, `tag:${ref.tag}`, digest)
      .hsetnx(key, `digest:${digest}`, String(at))
      .sadd(this.repositoriesKey, `${ref.registry}/${ref.repository}`)
      .exec();
    return { digest, pinnedUri: pinnedImageUri(ref, digest) };
  }

  async imageExists(imageUri: string): Promise<ImageCheck> {
    const parsed = parseImageUri(imageUri);
    if (parsed.kind === 'uncheckable') return parsed;
    const { ref } = parsed;
    await this.options.faults?.check('ecr', 'DescribeImages', imageUri);
    const fields = await this.options.redis.hgetall(this.repositoryKey(ref));
    if (fields.repository === undefined) return { kind: 'missing', reason: imageMissingReason(ref, 'repository') };
    const digest = ref.digest ?? fields[`tag:${ref.tag}`];
    const pushedAt = digest ? fields[`digest:${digest}`] : undefined;
    if (!digest || pushedAt === undefined) return { kind: 'missing', reason: imageMissingReason(ref, 'image') };
    const check: ImageCheck = { kind: 'exists', digest, pinnedUri: pinnedImageUri(ref, digest), pushedAt: Number(pushedAt) };
    const tags = tagsOf(fields, digest);
    if (tags.length) check.tags = tags;
    return check;
  }

  /**
   * Deletes the image `imageUri` names (by digest, or the image its tag points at) with all its tags,
   * as ECR's lifecycle policy expires an old image. Answers the digest deleted, or undefined when the
   * registry had no such image.
   */
  async deleteImage(imageUri: string): Promise<string | undefined> {
    const ref = ecrRef(imageUri);
    const deleted = (await DELETE_IMAGE_SCRIPT.run(this.options.redis, 1, this.repositoryKey(ref), ref.digest ?? '', ref.tag ?? '')) as string | null;
    return deleted ?? undefined;
  }

  /** Every image in the simulated registry, newest first (the sandbox's list). */
  async list(): Promise<SimImage[]> {
    const repositories = await this.options.redis.smembers(this.repositoriesKey);
    const images: SimImage[] = [];
    for (const repositoryUri of repositories) {
      const fields = await this.options.redis.hgetall([this.options.prefix, 'ecr', repositoryUri].join(':'));
      for (const [field, at] of Object.entries(fields)) {
        if (!field.startsWith('digest:')) continue;
        const digest = field.slice('digest:'.length);
        images.push({ repositoryUri, digest, pinnedUri: `${repositoryUri}@${digest}`, tags: tagsOf(fields, digest), pushedAt: Number(at) });
      }
    }
    return images.sort((a, b) => b.pushedAt - a.pushedAt || a.pinnedUri.localeCompare(b.pinnedUri));
  }
}

/** The ECR image a control names; anything else is refused (INPUT_INVALID: the sandbox answers 400). */
function ecrRef(imageUri: string): EcrImageRef {
  const parsed = parseImageUri(imageUri);
  if (parsed.kind === 'uncheckable') throw new LanebotError('INPUT_INVALID', parsed.reason);
  return parsed.ref;
}

function tagsOf(fields: Record<string, string>, digest: string): string[] {
  return Object.entries(fields)
    .filter(([field, value]) => field.startsWith('tag:') && value === digest)
    .map(([field]) => field.slice('tag:'.length))
    .sort();
}
