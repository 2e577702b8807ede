// Follows a stack operation to its end through StacksPort.progress, handing each new event to the
// caller as it arrives. For CLI-style callers and tests: the bot's jobs poll from BullMQ instead,
// so that no worker is held for the minutes a stack takes.

import { LanebotError } from '../errors';
import type { StackEvent, StacksPort } from './stacks.port';

export interface WaitForStackOptions {
  /** A cursor from deployStack/deleteStack or an earlier progress call: only later events count. */
  since?: string;
  pollMs: number;
  /**
   * Give up after this much waiting between polls (the time spent in `sleep`, so a test's fake
   * sleep drives it; the calls themselves add a little real time on top). No limit by default.
   */
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Called for each new event, oldest first, as soon as a poll sees it. */
  onEvent?: (event: StackEvent) => void | Promise<void>;
}

export interface StackWaitResult {
  status: string;
  succeeded: boolean;
  /** Every failure reason progress reported along the way, oldest first, without repeats. */
  failureReasons: string[];
  /** Every event after `since`, oldest first. */
  events: StackEvent[];
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until the stack's operation finishes; throws STACK_WAIT_TIMEOUT (retryable) past timeoutMs. */
export async function waitForStack(port: StacksPort, stackName: string, options: WaitForStackOptions): Promise<StackWaitResult> {
  const sleep = options.sleep ?? realSleep;
  const events: StackEvent[] = [];
  const failureReasons = new Set<string>();
  let cursor = options.since;
  for (let waited = 0; ; waited += options.pollMs) {
    const progress = await port.progress(stackName, cursor);
    for (const event of progress.events) {
      events.push(event);
      await options.onEvent?.(event);
    }
    for (const reason of progress.failureReasons) failureReasons.add(reason);
    cursor = progress.cursor ?? cursor;

    if (progress.finished) {
      return { status: progress.status, succeeded: progress.succeeded, failureReasons: [...failureReasons], events };
    }
    if (options.timeoutMs !== undefined && waited >= options.timeoutMs) {
      throw new LanebotError(
        'STACK_WAIT_TIMEOUT',
        `Stack \`${stackName}\` is still ${progress.status} after ${Math.round(waited / 1000)} s of waiting. ` +
          'It may just be slow (ECS services can take a while to stabilise): check its events in the CloudFormation console.',
        { retryable: true },
      );
    }
    await sleep(options.pollMs);
  }
}
