// The `/lane status` follow-up job on the real Redis: where it finds a lane's names (recorded, else
// the lane stack's outputs), and that it posts its report once per command whatever happens to the
// Slack call (a sure failure is tried again, an ambiguous one is not, a retried job does not repeat).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { ChatRateLimitedError, ChatRejectedError, type ChatMessage } from '../../src/chat/chat.port';
import type { StackView } from '../../src/cloud/stacks.port';
import { summarizeTargets } from '../../src/cloud/load-balancer.port';
import type { LaneResources } from '../../src/domain/lane-resources';
import type { LaneRef } from '../../src/domain/names';
import { reportLaneHealth, type LaneHealthReportDeps } from '../../src/chat/lane-health-report.job';
import type { LaneHealthReportJobData } from '../../src/queue/queues';
import { deleteKeysWithPrefix, RedisKeys } from '../../src/state/keys';
import { REDIS_URL } from '../support/harness';

const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/gray/abc';

const RECORDED: LaneResources = { stackName: 'app-user-api-dev-gray', region: 'us-east-1', clusterName: 'dev', serviceName: 'user-api-dev-gray', targetGroupArn: TG, alarms: {} };

const BLUE_STACK: StackView = {
  stackName: 'app-user-api-dev-blue',
  stackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/app-user-api-dev-blue/1',
  status: 'UPDATE_COMPLETE',
  parameters: {},
  outputs: { ClusterName: 'dev', ServiceName: 'user-api-dev-blue', TargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/def' },
  tags: {},
};

describe('reportLaneHealth', () => {
  let redis: Redis;
  let keys: RedisKeys;
  let posted: Array<{ url: string; message: ChatMessage }>;
  /** What the next respond calls do, in order; a post when empty. */
  let outcomes: Array<'post' | Error>;

  beforeAll(() => {
    redis = new Redis(REDIS_URL);
  });

  beforeEach(() => {
    keys = new RedisKeys(`test-${randomUUID()}`);
    posted = [];
    outcomes = [];
  });

  afterEach(async () => {
    await deleteKeysWithPrefix(redis, keys.prefix);
  });

  afterAll(async () => {
    await redis.quit();
  });

  function deps(): LaneHealthReportDeps {
    return {
      cloud: {
        stacks: {
          describeStack: async (name: string) => {
            if (name === 'app-user-api-dev-blue') return BLUE_STACK;
            if (name === 'app-user-api-dev-red') throw new Error('AWS throttled cloudformation:DescribeStacks');
            return undefined;
          },
        } as unknown as LaneHealthReportDeps['cloud']['stacks'],
        ecs: { describeService: async (_cluster, name) => ({ serviceName: name, status: 'ACTIVE', desiredCount: 1, runningCount: 1, pendingCount: 0, rolloutState: 'COMPLETED', deployments: [] }) },
        loadBalancer: { targetHealth: async (arn) => summarizeTargets(arn, [{ id: '10.0.0.1', state: 'healthy' }]) },
        alarms: { alarmStates: async () => ({ alarms: [], missing: [] }) },
      },
      lanes: { resources: async (ref: LaneRef) => (ref.lane === 'gray' ? RECORDED : undefined) },
      chat: {
        respond: async (url, message) => {
          const next = outcomes.shift() ?? 'post';
          if (next instanceof Error) throw next;
          posted.push({ url, message });
        },
      },
      redis,
      keys,
      logger: pino({ level: 'silent' }),
    };
  }

  function job(lanes: string[]): LaneHealthReportJobData {
    return { kind: 'lane-health', responseUrl: `http://127.0.0.1:9/response/${randomUUID()}`, userId: 'U0ALICE', service: 'user-api', env: 'dev', lanes };
  }

  it('reads recorded names, else the lane stack\'s outputs, and says why a lane has none', async () => {
    const data = job(['gray', 'blue', 'green', 'red']);
    await reportLaneHealth(data, deps());
    expect(posted).toHaveLength(1);
    expect(posted[0]!.url).toBe(data.responseUrl);
    const text = posted[0]!.message.text;
    expect(text).toContain('*gray*\n• ECS deployment complete, 1/1 running\n• 1/1 targets healthy');
    expect(text).toContain('*blue*\n• ECS deployment complete, 1/1 running\n• 1/1 targets healthy');
    expect(text).toContain('*green*\n• the lane stack `app-user-api-dev-green` does not exist');
    expect(text).toContain('*red*\n• the lane stack `app-user-api-dev-red` could not be read: AWS throttled cloudformation:DescribeStacks');
  });

  it('posts once for one command, however often its job runs', async () => {
    const data = job(['gray']);
    await reportLaneHealth(data, deps());
    await reportLaneHealth(data, deps());
    expect(posted).toHaveLength(1);
    // Another command is another report.
    await reportLaneHealth(job(['gray']), deps());
    expect(posted).toHaveLength(2);
  });

  it('gives the claim back when the post surely did nothing, so that the retry posts', async () => {
    const data = job(['gray']);
    outcomes = [new ChatRateLimitedError(1000)];
    await expect(reportLaneHealth(data, deps())).rejects.toBeInstanceOf(ChatRateLimitedError);
    expect(posted).toHaveLength(0);
    await reportLaneHealth(data, deps());
    expect(posted).toHaveLength(1);
  });

  it('does not post again after an ambiguous outcome, nor retry a refusal', async () => {
    const ambiguous = job(['gray']);
    outcomes = [new Error('socket hang up')];
    await expect(reportLaneHealth(ambiguous, deps())).resolves.toBeUndefined();
    await reportLaneHealth(ambiguous, deps());
    expect(posted).toHaveLength(0);

    outcomes = [new ChatRejectedError('expired_url', 'The command is more than 30 minutes old')];
    await expect(reportLaneHealth(job(['gray']), deps())).resolves.toBeUndefined();
    expect(posted).toHaveLength(0);
  });
});
