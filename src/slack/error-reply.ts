// The one place any error becomes what the user reads in Slack. Known errors carry their own
// message; unknown ones get a correlation id that matches a log line.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { isLanebotError } from '../errors';

export function errorReplyText(error: unknown, logger: Logger, context: Record<string, unknown> = {}): string {
  if (isLanebotError(error)) {
    logger.warn({ ...context, code: error.code, err: error }, error.message);
    return `:warning: ${error.message}`;
  }
  const correlationId = randomBytes(4).toString('hex');
  logger.error({ ...context, correlationId, err: error }, 'unexpected error while handling a command');
  return (
    `:boom: Something went wrong inside lanebot (reference \`${correlationId}\`). Nothing more was done. ` +
    'Try again; if it happens again, give this reference to your platform team.'
  );
}
