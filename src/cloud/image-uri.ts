// Container image URIs as lane stacks carry them (the ImageUri parameter and output): which ECR
// registry, repository and image (by digest or tag) they name. Promote and rollback check that the
// image still exists before they point a lane at it (issue 13); only ECR images can be checked, so
// anything else parses to a value saying why not, never a throw: an image from Docker Hub is a
// legitimate lane image the bot simply cannot vouch for.

/** What an ECR image URI names. `digest` wins over `tag` when the URI has both (`repo:tag@sha256:…`), as for docker. */
export interface EcrImageRef {
  /** The registry's account id (12 digits): DescribeImages' registryId. */
  account: string;
  region: string;
  /** `<account>.dkr.ecr.<region>.amazonaws.com` (as written in the URI). */
  registry: string;
  repository: string;
  /** `sha256:<64 hex>`, when the URI is digest-pinned. */
  digest?: string;
  /** The tag, when the URI is not digest-pinned (`latest` when it names neither, as docker reads it). */
  tag?: string;
}

export type ImageUriParse = { kind: 'ecr'; ref: EcrImageRef } | { kind: 'uncheckable'; reason: string };

// Registry hosts: <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn], and the dual-stack
// <account>.dkr-ecr.<region>.on.aws.
const ECR_HOST = /^(\d{12})\.(?:dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?|dkr-ecr\.([a-z0-9-]+)\.on\.aws)$/;
// ECR's own patterns (CreateRepository, PutImage): path components of lowercase alphanumerics
// joined by single separators; tags up to 128 characters.
const REPOSITORY = /^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Reads an image URI; anything that is not an ECR image is `uncheckable` with the reason, in words for Slack. */
export function parseImageUri(uri: string): ImageUriParse {
  const text = uri.trim();
  if (!text) return { kind: 'uncheckable', reason: 'the image URI is empty' };
  const slash = text.indexOf('/');
  const host = slash < 0 ? '' : text.slice(0, slash);
  const hostMatch = ECR_HOST.exec(host);
  if (!hostMatch) {
    return { kind: 'uncheckable', reason: `\`${text}\` is not in an Amazon ECR registry (<account>.dkr.ecr.<region>.amazonaws.com), so lanebot cannot check it` };
  }
  const [, account, region1, region2] = hostMatch;
  let rest = text.slice(slash + 1);
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return { kind: 'uncheckable', reason: `\`${text}\` has a digest that is not sha256:<64 hex digits>` };
  }
  // A colon after the last slash starts the tag (a registry port would be before the first slash).
  const colon = rest.lastIndexOf(':');
  let tag: string | undefined;
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return { kind: 'uncheckable', reason: `\`${text}\` has a tag ECR does not allow (letters, digits, _ . -; at most 128)` };
  }
  if (!REPOSITORY.test(rest)) return { kind: 'uncheckable', reason: `\`${text}\` does not name an ECR repository (\`${rest}\`)` };
  const ref: EcrImageRef = { account: account!, region: (region1 ?? region2)!, registry: host, repository: rest };
  if (digest) ref.digest = digest;
  else ref.tag = tag ?? 'latest';
  return { kind: 'ecr', ref };
}

/** The digest-pinned URI of an image: `<registry>/<repository>@sha256:…`. */
export function pinnedImageUri(ref: Pick<EcrImageRef, 'registry' | 'repository'>, digest: string): string {
  return `${ref.registry}/${ref.repository}@${digest}`;
}

/** How a person reads the image in Slack: `repo@sha256:ab12cd34ef56` or `repo:tag`. */
export function shortImageText(ref: EcrImageRef): string {
  return ref.digest ? `${ref.repository}@${ref.digest.slice(0, 19)}` : `${ref.repository}:${ref.tag}`;
}

/** How Slack names an image: `repo@sha256:ab12…` or `repo:tag`, or the URI as it is when it is not ECR's. */
export function imageText(uri: string | undefined): string {
  if (!uri) return 'an unknown image';
  const parsed = parseImageUri(uri);
  return parsed.kind === 'ecr' ? shortImageText(parsed.ref) : uri;
}
