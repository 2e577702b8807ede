// Shared builders for test data, and a per-test Redis key prefix for unit tests on the real Redis.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { OperationRecord, OperationRequest } from '../../src/domain/operation';
import { deletePrefix, REDIS_URL } from './harness';

export const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);

/** What a deploy's params may be overridden with in the builders below. */
export type DeployOverrides = { branch?: string; pipeline?: string };

/** A deploy record of user-api/dev lane gray; override what the test is about (branch and pipeline too). */
export function deployRecord(overrides: Partial<OperationRecord> & DeployOverrides = {}): OperationRecord {
  const { branch = 'release/1.2.3', pipeline = 'user-api-dev', ...rest } = overrides;
  return {
    id: 'mhx3k2a0-0123456789ab',
    kind: 'deploy',
    service: 'user-api',
    env: 'dev',
    lane: 'gray',
    params: { branch, pipeline },
    requester: 'U1',
    channel: 'C0USERAPIDEV',
    requestedAt: T0,
    status: 'queued',
    stages: [],
    ...rest,
  };
}

let requestSeq = 0;

/** A fresh deploy request, each one requested a second after the previous one. */
export function deployRequest(overrides: Partial<OperationRequest> & DeployOverrides = {}): OperationRequest {
  requestSeq += 1;
  const { branch = `feature/change-${requestSeq}`, pipeline = 'api-staging', ...rest } = overrides;
  return {
    id: `d${requestSeq}-${randomUUID().slice(0, 8)}`,
    kind: 'deploy',
    service: 'api',
    env: 'staging',
    lane: 'alpha',
    params: { branch, pipeline },
    requester: 'U123',
    channel: 'C456',
    requestedAt: T0 + requestSeq * 1000,
    ...rest,
  };
}

/**
 * Registers jest hooks that give every test of the file its own Redis key prefix (deleted after the
 * test) on one shared connection. Read `.redis` and `.prefix` inside tests and beforeEach hooks.
 */
export function redisPerTest(): { redis: Redis; prefix: string } {
  const filePrefix = `test-${randomUUID()}`;
  let count = 0;
  const state = { redis: undefined as unknown as Redis, prefix: '' };
  beforeAll(() => {
    state.redis = new Redis(REDIS_URL);
  });
  beforeEach(() => {
    count += 1;
    state.prefix = `${filePrefix}:${count}`;
  });
  afterEach(async () => {
    await deletePrefix(state.prefix);
  });
  afterAll(async () => {
    await deletePrefix(filePrefix);
    state.redis.disconnect();
  });
  return state;
}
