// Every error lanebot raises on purpose lives here, each with a stable string `code` and a message
// written for the person who will read it in Slack. Errors that cross a process boundary (BullMQ
// stores a failed job's error as text) are recognised by `code`, not by `instanceof` alone.

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'INPUT_INVALID'
  | 'QUEUE_UNAVAILABLE'
  | 'PIPELINE_NOT_FOUND'
  | 'PIPELINE_EXECUTION_NOT_FOUND'
  | 'AWS_THROTTLED'
  | 'AWS_ACCESS_DENIED'
  | 'AWS_ERROR'
  | 'STACK_BUSY'
  | 'STACK_WAIT_TIMEOUT'
  | 'RULE_PRIORITIES_EXHAUSTED';

export class LanebotError extends Error {
  readonly code: ErrorCode;
  /** True when trying the same thing again later may succeed (throttling, a network blip). */
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.name = 'LanebotError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

export class ConfigError extends LanebotError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
    this.name = 'ConfigError';
  }
}

export class QueueUnavailableError extends LanebotError {
  constructor(cause: unknown, options: { unconfirmed?: boolean } = {}) {
    super(
      'QUEUE_UNAVAILABLE',
      options.unconfirmed
        ? `lanebot's Redis did not confirm the request in time (${describeCause(cause)}), so it may or may not be queued. ` +
            'Check with `/lane status <lane>` in a minute before trying again.'
        : `Nothing was queued: lanebot could not reach its Redis (${describeCause(cause)}). ` +
            "Try again in a minute; if it keeps failing, tell your platform team that lanebot's Redis is down.",
      { cause, retryable: true },
    );
    this.name = 'QueueUnavailableError';
  }
}

export class PipelineNotFoundError extends LanebotError {
  constructor(pipelineName: string, cause?: unknown) {
    super(
      'PIPELINE_NOT_FOUND',
      `Pipeline \`${pipelineName}\` does not exist in this AWS account and region. ` +
        'Ask your platform team to create it, or set `services.<service>.pipeline` in lanebot.yml if it has another name.',
      { cause },
    );
    this.name = 'PipelineNotFoundError';
  }
}

export class AwsThrottledError extends LanebotError {
  constructor(operation: string, cause?: unknown) {
    super('AWS_THROTTLED', `AWS throttled ${operation}; lanebot will retry.`, { cause, retryable: true });
    this.name = 'AwsThrottledError';
  }
}

export class AwsAccessDeniedError extends LanebotError {
  constructor(operation: string, cause?: unknown) {
    super(
      'AWS_ACCESS_DENIED',
      `lanebot's AWS role may not call ${operation} (${describeCause(cause)}). ` +
        'Ask your platform team to attach templates/iam/bot-policy.json to the bot role.',
      { cause },
    );
    this.name = 'AwsAccessDeniedError';
  }
}

/**
 * Another CloudFormation operation holds the stack (one at a time per stack). The stacks adapter
 * turns it into a `busy` value where the port expects one; elsewhere it is a retryable fault.
 */
export class StackBusyError extends LanebotError {
  readonly stackName: string;
  /** The stack status that holds it, e.g. UPDATE_IN_PROGRESS. */
  readonly status: string;

  constructor(stackName: string, status: string, cause?: unknown) {
    super('STACK_BUSY', `Stack \`${stackName}\` is busy (${status}); try again once that operation has finished.`, {
      cause,
      retryable: true,
    });
    this.name = 'StackBusyError';
    this.stackName = stackName;
    this.status = status;
  }
}

export function isLanebotError(error: unknown): error is LanebotError {
  return error instanceof LanebotError;
}

/** A short, single-line description of any thrown value, safe to show to a user. */
export function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    const prefix = typeof code === 'string' && !cause.message.includes(code) ? `${code}: ` : '';
    return `${prefix}${cause.message}`.split('\n')[0]!.slice(0, 300);
  }
  return String(cause).slice(0, 300);
}
