// Transport-level failures of the simulated account: throttling, access denied and 503s, armed from
// the sandbox (or a test) and consumed by the simulator's port methods, so every failure the AWS
// adapters handle can be reproduced with CLOUD=sim. Stack and pipeline outcomes (a failed stage, a
// rolled-back stack) are the simulated services' own business; these are the calls themselves failing.
//
// Pending faults are a Redis list per service, one entry per failing call, in the order they fire.
// LPOP takes exactly one entry atomically, so any number of bot processes sharing the account
// consume exactly as many faults as were armed, never more.
//
// Most calls find nothing armed, and a sim under load makes thousands a second: a process that
// `watch()`es keeps a local set of the services that may have a fault pending, told by a pub/sub
// message from whichever process arms one, so a call of an unarmed service costs no Redis round trip.
//
// What a fault throws is what the AWS adapter throws after its own handling: an SDK-shaped error
// goes through the adapters' common mapping (aws-call.ts), so code, retryable flag and message match.
import type { RedisClient } from '../../redis/redis-connection';
import { AwsThrottledError, LanebotError } from '../../errors';
import { mapAwsError } from '../aws/aws-call';
import { SIM_ACCOUNT } from './sim-account';

export const SIM_FAULT_SERVICES = ['codepipeline', 'cloudformation', 'ecs', 'elbv2', 'cloudwatch', 'ecr'] as const;
export type SimFaultService = (typeof SIM_FAULT_SERVICES)[number];

export const SIM_FAULT_KINDS = ['throttled', 'access-denied', 'unavailable'] as const;
export type SimFaultKind = (typeof SIM_FAULT_KINDS)[number];

/** How many calls one injection may fail at most. */
export const MAX_FAULT_COUNT = 100;

export interface FaultInjection {
  service: SimFaultService;
  fault: SimFaultKind;
  /** How many of the service's next calls fail (1–100; default 1). */
  count?: number;
}

/** A run of identical pending faults of one service, in firing order. */
export interface PendingFault {
  service: SimFaultService;
  fault: SimFaultKind;
  count: number;
}

/** What a simulated port needs: fail this call if a fault of its service is pending. */
export interface SimFaultCheck {
  /**
   * Consumes one pending fault of `service`, if any, and throws what the AWS adapter would throw for
   * `operation` (the AWS API name, e.g. StartPipelineExecution). `resource` is the pipeline or stack
   * the call is about, which the CodePipeline and CloudFormation adapters name in their messages.
   */
  check(service: SimFaultService, operation: string, resource?: string): Promise<void>;
}

/**
 * How each adapter names a call: the IAM prefix (AWS's own messages and mapAwsError use it), what
 * its throttling message says, and the subject it hands mapAwsError. Kept as the adapters write
 * them, so a simulated fault reads exactly like the real one.
 */
const NAMING: Record<SimFaultService, { iam: string; throttled: (op: string, resource: string) => string; subject: (resource: string) => string }> = {
  codepipeline: { iam: 'codepipeline', throttled: (op) => op, subject: (name) => `on pipeline \`${name}\`` },
  cloudformation: {
    iam: 'cloudformation',
    throttled: (op, name) => `cloudformation:${op} on stack ${name}`,
    subject: (name) => `for stack \`${name}\``,
  },
  ecs: { iam: 'ecs', throttled: (op) => `ecs:${op}`, subject: () => '' },
  elbv2: { iam: 'elasticloadbalancing', throttled: (op) => `elasticloadbalancing:${op}`, subject: () => '' },
  cloudwatch: { iam: 'cloudwatch', throttled: (op) => `cloudwatch:${op}`, subject: () => '' },
  ecr: { iam: 'ecr', throttled: (op) => `ecr:${op}`, subject: (uri) => `for image \`${uri}\`` },
};

/** CodePipeline, ECS and ECR speak the JSON protocol; the others the query protocol, whose error names differ. */
const JSON_PROTOCOL: ReadonlySet<SimFaultService> = new Set(['codepipeline', 'ecs', 'ecr']);

/** Armed faults nobody consumed do not linger into next week's sandbox session. */
const FAULT_TTL_SECONDS = 24 * 3600;

export class SimFaults implements SimFaultCheck {
  /** The connection that hears faults being armed, while watching. */
  private subscriber?: RedisClient;
  /** Whether the subscription is live: only then is `mayBeArmed` to be trusted. */
  private watching = false;
  /** Services whose list may hold a fault: all of them until an LPOP found one empty. */
  private readonly mayBeArmed = new Set<SimFaultService>(SIM_FAULT_SERVICES);
  /** Bumped by every arming heard, so an LPOP that raced with one does not clear the service. */
  private armings = 0;

  constructor(private readonly options: { redis: RedisClient; /** Key prefix of the simulated account, e.g. `lanebot:sim`. */ prefix: string }) {}

  private key(service: SimFaultService): string {
    return [this.options.prefix, 'faults', service].join(':');
  }

  private get channel(): string {
    return [this.options.prefix, 'faults', 'armed'].join(':');
  }

  /**
   * Listens for faults armed by any process, so calls of services with nothing armed skip Redis.
   * Until the subscription is live (and again after it drops), every call asks Redis, as without it.
   */
  async watch(): Promise<void> {
    if (this.subscriber) return;
    // A Cluster duplicates into a Cluster, a Redis into a Redis: both subscribe alike.
    const subscriber = (this.options.redis as { duplicate(): RedisClient }).duplicate();
    this.subscriber = subscriber;
    subscriber.on('error', () => undefined);
    subscriber.on('message', (_channel: string, service: string) => this.heard(service as SimFaultService));
    // Messages missed while the connection was down: nothing known any more; ioredis resubscribes.
    subscriber.on('close', () => this.forget());
    let subscribed = false;
    // After a reconnect ioredis subscribes again as the connection gets ready; a fault armed in that
    // gap is still in its list, and every service is looked up once more after a drop.
    subscriber.on('ready', () => {
      if (subscribed) this.watching = true;
    });
    await subscriber.subscribe(this.channel);
    subscribed = true;
    this.watching = true;
  }

  async close(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.forget();
    // A subscriber has nothing to flush, and QUIT would wait for a Redis that may be gone.
    subscriber?.disconnect();
  }

  private heard(service: SimFaultService): void {
    this.armings++;
    this.mayBeArmed.add(service);
  }

  private forget(): void {
    this.watching = false;
    for (const service of SIM_FAULT_SERVICES) this.mayBeArmed.add(service);
  }

  /** Makes the service's next `count` calls fail with `fault`, after any faults already pending. */
  async inject(injection: FaultInjection): Promise<PendingFault[]> {
    const { service, fault, count } = checkedInjection(injection);
    await this.options.redis
      .multi()
      .rpush(this.key(service), ...Array.from({ length: count }, () => fault))
      .expire(this.key(service), FAULT_TTL_SECONDS)
      .publish(this.channel, service)
      .exec();
    this.heard(service);
    return this.pending();
  }

  async check(service: SimFaultService, operation: string, resource = ''): Promise<void> {
    if (this.watching && !this.mayBeArmed.has(service)) return;
    const armingsBefore = this.armings;
    const wasWatching = this.watching;
    const fault = await this.options.redis.lpop(this.key(service));
    if (fault === null && wasWatching && this.watching && this.armings === armingsBefore) this.mayBeArmed.delete(service);
    // Only this module writes the list; anything else found there is not a fault to throw.
    if (fault === null || !(SIM_FAULT_KINDS as readonly string[]).includes(fault)) return;
    throw faultError(service, fault as SimFaultKind, operation, resource);
  }

  /** Every pending fault, per service in firing order, identical neighbours merged. */
  async pending(): Promise<PendingFault[]> {
    const lists = await Promise.all(SIM_FAULT_SERVICES.map((service) => this.options.redis.lrange(this.key(service), 0, -1)));
    const runs: PendingFault[] = [];
    SIM_FAULT_SERVICES.forEach((service, i) => {
      for (const fault of lists[i]!) {
        const last = runs.at(-1);
        if (last && last.service === service && last.fault === fault) last.count += 1;
        else runs.push({ service, fault: fault as SimFaultKind, count: 1 });
      }
    });
    return runs;
  }
}

/**
 * Checks an injection from outside (a sandbox request body): the error names the bad field.
 * Throws INPUT_INVALID, which the sandbox answers with 400.
 */
export function checkedInjection(input: { service?: unknown; fault?: unknown; count?: unknown }): Required<FaultInjection> {
  const { service, fault } = input;
  if (typeof service !== 'string' || !(SIM_FAULT_SERVICES as readonly string[]).includes(service)) {
    throw new LanebotError('INPUT_INVALID', `\`service\` must be one of ${SIM_FAULT_SERVICES.join(', ')}`);
  }
  if (typeof fault !== 'string' || !(SIM_FAULT_KINDS as readonly string[]).includes(fault)) {
    throw new LanebotError('INPUT_INVALID', `\`fault\` must be one of ${SIM_FAULT_KINDS.join(', ')}`);
  }
  const count = input.count ?? 1;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_FAULT_COUNT) {
    throw new LanebotError('INPUT_INVALID', `\`count\` must be a whole number from 1 to ${MAX_FAULT_COUNT}`);
  }
  return { service: service as SimFaultService, fault: fault as SimFaultKind, count };
}

/** What the service's AWS adapter throws when the call fails this way (after its own retries). */
function faultError(service: SimFaultService, fault: SimFaultKind, operation: string, resource: string): LanebotError {
  const naming = NAMING[service];
  const { iam } = naming;
  const subject = resource ? naming.subject(resource) : '';
  const json = JSON_PROTOCOL.has(service);
  const call = `${iam}:${operation}`;
  switch (fault) {
    case 'throttled':
      // The adapters retry throttling a few times, then give up with AwsThrottledError.
      return new AwsThrottledError(
        naming.throttled(operation, resource),
        sdkError(json ? 'ThrottlingException' : 'Throttling', 400, 'Rate exceeded — a fault armed in the simulated account'),
      );
    case 'access-denied':
      return mapAwsError(
        sdkError(
          json ? 'AccessDeniedException' : 'AccessDenied',
          403,
          `User: arn:aws:sts::${SIM_ACCOUNT}:assumed-role/lanebot/sim is not authorized to perform: ${call} — a fault armed in the simulated account`,
        ),
        iam,
        operation,
        subject,
      );
    case 'unavailable':
      return mapAwsError(
        sdkError(json ? 'ServiceUnavailableException' : 'ServiceUnavailable', 503, '503 Service Unavailable — a fault armed in the simulated account'),
        iam,
        operation,
        subject,
      );
  }
}

/** Shaped like an AWS SDK v3 service exception, which lanebot recognises by name and status. */
export function sdkError(name: string, httpStatusCode: number, message: string): Error {
  const error = new Error(message) as Error & { $metadata: { httpStatusCode: number }; $fault: 'client' | 'server' };
  error.name = name;
  error.$metadata = { httpStatusCode };
  error.$fault = httpStatusCode >= 500 ? 'server' : 'client';
  return error;
}
