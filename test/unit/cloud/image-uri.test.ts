import { parseImageUri, pinnedImageUri, shortImageText } from '../../../src/cloud/image-uri';

const DIGEST = `sha256:${'0f'.repeat(32)}`;

describe('parseImageUri', () => {
  it.each([
    [
      `123456789012.dkr.ecr.eu-west-1.amazonaws.com/pipeline-user-api-dev-repository-abc@${DIGEST}`,
      { account: '123456789012', region: 'eu-west-1', registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', repository: 'pipeline-user-api-dev-repository-abc', digest: DIGEST },
    ],
    [
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/user-api:gray-0123456789ab',
      { account: '123456789012', region: 'eu-west-1', registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', repository: 'team/user-api', tag: 'gray-0123456789ab' },
    ],
    // Docker reads no tag as `latest`.
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com/user-api', { repository: 'user-api', tag: 'latest' }],
    ['123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/user-api:v1', { region: 'cn-north-1', tag: 'v1' }],
    ['123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/user-api:v1', { region: 'us-gov-west-1' }],
    ['123456789012.dkr-ecr.eu-west-1.on.aws/user-api:v1', { region: 'eu-west-1', registry: '123456789012.dkr-ecr.eu-west-1.on.aws' }],
  ])('reads %s', (uri, expected) => {
    const parsed = parseImageUri(uri);
    expect(parsed.kind).toBe('ecr');
    expect(parsed.kind === 'ecr' && parsed.ref).toMatchObject(expected);
  });

  it('takes the digest when the URI has a tag too: the digest is what gets pulled', () => {
    const parsed = parseImageUri(`123456789012.dkr.ecr.us-east-1.amazonaws.com/user-api:v1@${DIGEST}`);
    expect(parsed).toEqual({
      kind: 'ecr',
      ref: { account: '123456789012', region: 'us-east-1', registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com', repository: 'user-api', digest: DIGEST },
    });
  });

  it.each([
    ['', 'empty'],
    ['nginx:1.27', 'not in an Amazon ECR registry'],
    ['ghcr.io/acme/user-api:1.2.3', 'not in an Amazon ECR registry'],
    ['public.ecr.aws/nginx/nginx:latest', 'not in an Amazon ECR registry'],
    ['12345.dkr.ecr.eu-west-1.amazonaws.com/user-api:v1', 'not in an Amazon ECR registry'],
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com/user-api@sha256:abc', 'digest'],
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com/user-api:-bad', 'tag'],
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com/User-API:v1', 'repository'],
  ])('cannot check %j (%s) and says why, without throwing', (uri, why) => {
    const parsed = parseImageUri(uri);
    expect(parsed).toEqual({ kind: 'uncheckable', reason: expect.stringContaining(why) });
  });
});

describe('pinnedImageUri and shortImageText', () => {
  it('pins by digest and shortens for Slack', () => {
    const parsed = parseImageUri('123456789012.dkr.ecr.eu-west-1.amazonaws.com/user-api:gray-1');
    if (parsed.kind !== 'ecr') throw new Error('expected an ECR URI');
    expect(pinnedImageUri(parsed.ref, DIGEST)).toBe(`123456789012.dkr.ecr.eu-west-1.amazonaws.com/user-api@${DIGEST}`);
    expect(shortImageText(parsed.ref)).toBe('user-api:gray-1');
    expect(shortImageText({ ...parsed.ref, digest: DIGEST })).toBe('user-api@sha256:0f0f0f0f0f0f');
  });
});
