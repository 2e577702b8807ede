// What every AWS adapter shares: a bounded retry on throttling on top of the SDK's own, and the
// mapping of SDK errors onto lanebot's error codes. Adapters handle their service's own answers
// (a missing pipeline, a busy stack) first and hand the rest to mapAwsError.
import { AwsAccessDeniedError, AwsThrottledError, LanebotError, describeCause } from '../../errors';

const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 5_000;
/** Query-protocol services (ELBv2, CloudWatch) say `Throttling`; JSON ones say `ThrottlingException`. */
const THROTTLING_NAMES = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded']);
const ACCESS_DENIED_NAMES = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation']);

/** What lanebot reads off a thrown SDK error; SDK errors are recognised by name, not class. */
export interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number };
}

export interface AwsCallOptions {
  sleep?: (ms: number) => Promise<void>;
  maxThrottleRetries?: number;
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function sdkErrorName(error: unknown): string | undefined {
  const { name } = (error ?? {}) as SdkErrorShape;
  return typeof name === 'string' ? name : undefined;
}

export function sdkErrorMessage(error: unknown): string {
  const { message } = (error ?? {}) as SdkErrorShape;
  return typeof message === 'string' ? message : String(error);
}

export function isThrottling(error: unknown): boolean {
  const { name, message, $metadata } = (error ?? {}) as SdkErrorShape;
  if (typeof name === 'string' && THROTTLING_NAMES.has(name)) return true;
  // CodePipeline also says LimitExceededException for quotas (e.g. too many pipelines), which no
  // retry fixes; only its rate wording is throttling.
  if (name === 'LimitExceededException' && typeof message === 'string' && /rate|throttl|too many requests/i.test(message)) return true;
  return $metadata?.httpStatusCode === 429;
}

/**
 * Runs `send`, retrying throttled calls a few times with jittered backoff. After that it throws
 * AwsThrottledError (retryable): the job layer re-delays the job instead of holding a worker.
 * Any other error is rethrown as the SDK threw it, for the adapter to read.
 * `what` names the call in the throttling message, e.g. "codepipeline:StartPipelineExecution".
 */
export async function retryThrottled<T>(what: string, send: () => Promise<T>, options: AwsCallOptions = {}): Promise<T> {
  const sleep = options.sleep ?? realSleep;
  const maxRetries = options.maxThrottleRetries ?? 3;
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (!isThrottling(error)) throw error;
      if (attempt >= maxRetries) throw new AwsThrottledError(what, error);
      await sleep(backoffMs(attempt));
    }
  }
}

/**
 * retryThrottled, with every other error going through `mapOwn` first (the service's own answers),
 * then the common mapping.
 */
export async function callAws<T>(
  operation: string,
  send: () => Promise<T>,
  options: AwsCallOptions & { service: string; mapOwn?: (error: unknown) => LanebotError | undefined },
): Promise<T> {
  try {
    return await retryThrottled(`${options.service}:${operation}`, send, options);
  } catch (error) {
    if (error instanceof AwsThrottledError) throw error;
    throw options.mapOwn?.(error) ?? mapAwsError(error, options.service, operation);
  }
}

/**
 * The common mapping: access denied, or AWS_ERROR (retryable when the request got no answer or a
 * 5xx). `service` is the IAM prefix (codepipeline, cloudformation, …); `subject` names what the
 * call was about in the message (e.g. "for stack `app-…`").
 */
export function mapAwsError(error: unknown, service: string, operation: string, subject = ''): LanebotError {
  const { name, $metadata } = (error ?? {}) as SdkErrorShape;
  const call = `${service}:${operation}${subject ? ` ${subject}` : ''}`;
  if (typeof name === 'string' && ACCESS_DENIED_NAMES.has(name)) return new AwsAccessDeniedError(call, error);
  // No $metadata means the request never got an answer (network); those and 5xx may pass on retry.
  const retryable = $metadata === undefined || ($metadata.httpStatusCode ?? 0) >= 500;
  return new LanebotError('AWS_ERROR', `${call} failed: ${describeCause(error)}`, { cause: error, retryable });
}

/** Exponential with up to +50% jitter, so callers throttled together do not retry together. */
function backoffMs(attempt: number): number {
  return Math.round(Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt * (1 + Math.random() / 2)));
}
