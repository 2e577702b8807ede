// StacksPort on AWS CloudFormation. Deploys and parameter updates go through change sets named after
// the caller's idempotency token, so a retried call finds the change set the first call made instead of starting
// a second operation; expected outcomes (busy, no changes, refused template) come back as values and
// SDK faults are mapped onto lanebot's error codes.

import {
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  type CloudFormationClient,
  type CreateChangeSetCommandInput,
  type DescribeChangeSetOutput,
  type Stack,
  type StackEvent as SdkStackEvent,
} from '@aws-sdk/client-cloudformation';
import { AwsThrottledError, LanebotError, StackBusyError } from '../../errors';
import { mapAwsError, realSleep, retryThrottled, sdkErrorMessage, sdkErrorName } from './aws-call';
import {
  isStackOperationFinished,
  isStackOperationSucceeded,
  missingStackReason,
  notUpdatableReason,
  stackFailureReasons,
  unknownParametersReason,
  type DeleteStackResult,
  type DeployStackInput,
  type DeployStackResult,
  type StackEvent,
  type StackProgress,
  type StackView,
  type StacksPort,
  type UpdateStackParametersInput,
  type UpdateStackParametersResult,
} from '../stacks.port';

export interface CloudFormationAdapterOptions {
  client: CloudFormationClient;
  region: string;
  /** Injectable so tests do not wait: used for throttling back-off. */
  sleep?: (ms: number) => Promise<void>;
  maxThrottleRetries?: number;
  /** At most this many pages of stack events per call (CloudFormation returns up to 100 a page). */
  maxEventPages?: number;
}

const CHANGE_SET_PREFIX = 'lanebot-';
/** CloudFormation's own pattern for ClientRequestToken, and short enough to fit in a change set name. */
const TOKEN_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9-]{0,63}$/;
const EXECUTED = new Set(['EXECUTE_IN_PROGRESS', 'EXECUTE_COMPLETE', 'EXECUTE_FAILED']);
const CHANGE_SET_PENDING = new Set(['CREATE_PENDING', 'CREATE_IN_PROGRESS']);
/** CloudFormation's two wordings for "the template and parameters match the stack already". */
const NO_CHANGES = /didn't contain changes|No updates are to be performed/i;
/** "Stack:arn:… is in UPDATE_IN_PROGRESS state and can not be updated." */
const STATE_REFUSAL = /is in ([A-Z_]+) state and can ?not be updated/;

/** What running a change set can come to: every deploy value but `replacing`, which only deployStack decides. */
type ChangeSetOutcome = UpdateStackParametersResult;

/** States CloudFormation refuses any update in: only a delete (or a person) moves the stack on. */
const NOT_UPDATABLE = new Set(['ROLLBACK_COMPLETE', 'ROLLBACK_FAILED', 'DELETE_FAILED']);

interface CallContext {
  operation: string;
  stackName: string;
}

export class CloudFormationAdapter implements StacksPort {
  private readonly client: CloudFormationClient;
  private readonly region: string;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly maxThrottleRetries: number;
  private readonly maxEventPages: number;

  constructor(options: CloudFormationAdapterOptions) {
    this.client = options.client;
    this.region = options.region;
    this.sleep = options.sleep ?? realSleep;
    this.maxThrottleRetries = options.maxThrottleRetries ?? 3;
    this.maxEventPages = options.maxEventPages ?? 10;
  }

  async deployStack(input: DeployStackInput): Promise<DeployStackResult> {
    const token = checkedToken(input.clientRequestToken);
    try {
      return await this.deploy(input, token);
    } catch (error) {
      // CloudFormation can answer "busy" from any call when another operation starts between ours.
      if (error instanceof StackBusyError) return { kind: 'busy', status: error.status };
      throw error;
    }
  }

  private async deploy(input: DeployStackInput, token: string): Promise<DeployStackResult> {
    const { stackName } = input;
    const changeSetName = CHANGE_SET_PREFIX + token;
    const stack = await this.findStack(stackName);

    let ours: DescribeChangeSetOutput | undefined;
    if (stack) {
      const status = stack.StackStatus ?? '';
      // Looked up first so that a retried call reports the operation the first call started,
      // whatever the stack is doing now because of it.
      ours = await this.findChangeSet(stackName, changeSetName);
      if (ours && isExecuted(ours)) return this.alreadyStarted(stackName, token, stack);
      if (status === 'ROLLBACK_COMPLETE') {
        // A stack whose first create failed can only be deleted; the caller deploys again afterwards.
        await this.call({ operation: 'DeleteStack', stackName }, () =>
          this.client.send(new DeleteStackCommand({ StackName: stack.StackId ?? stackName, ClientRequestToken: `${token}-replace` })),
        );
        return { kind: 'replacing', status };
      }
      if (status === 'DELETE_IN_PROGRESS') return { kind: 'replacing', status };
      // REVIEW_IN_PROGRESS only means a CREATE change set was made and never executed: nothing runs.
      if (status !== 'REVIEW_IN_PROGRESS' && !isStackOperationFinished(status)) return { kind: 'busy', status };
    }
    const type = !stack || stack.StackStatus === 'REVIEW_IN_PROGRESS' ? 'CREATE' : 'UPDATE';

    if (!ours) {
      const refused = await this.createChangeSet(
        stackName,
        {
          StackName: stackName,
          ChangeSetName: changeSetName,
          ChangeSetType: type,
          TemplateBody: input.templateBody,
          Parameters: Object.entries(input.parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
          Tags: input.tags ? Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })) : undefined,
          Capabilities: input.capabilities,
          RoleARN: input.roleArn,
          ClientToken: input.clientRequestToken,
        },
        stack,
      );
      if (refused) return refused;
    }
    return this.runChangeSet(stackName, changeSetName, token, type, stack);
  }

  async updateStackParameters(input: UpdateStackParametersInput): Promise<UpdateStackParametersResult> {
    const token = checkedToken(input.clientRequestToken);
    try {
      return await this.updateParameters(input, token);
    } catch (error) {
      if (error instanceof StackBusyError) return { kind: 'busy', status: error.status };
      throw error;
    }
  }

  // deployStack's path with an UPDATE change set on the previous template: the same change set name
  // from the token, so a retried call picks up (or reports) what the first one made.
  private async updateParameters(input: UpdateStackParametersInput, token: string): Promise<UpdateStackParametersResult> {
    const { stackName } = input;
    const changeSetName = CHANGE_SET_PREFIX + token;
    const stack = await this.findStack(stackName);
    if (!stack) return { kind: 'rejected', reason: missingStackReason(stackName) };
    const status = stack.StackStatus ?? '';
    const stackId = stack.StackId ?? stackName;

    const ours = await this.findChangeSet(stackName, changeSetName);
    if (ours && isExecuted(ours)) return this.alreadyStarted(stackName, token, stack);
    // CloudFormation would refuse these too; said here in the words the simulator uses, without a call.
    if (NOT_UPDATABLE.has(status)) return { kind: 'rejected', reason: notUpdatableReason(stackId, status) };
    // An unexecuted CREATE change set made this stack; it has no template to keep yet.
    if (status === 'REVIEW_IN_PROGRESS') return { kind: 'rejected', reason: `Stack ${stackName} has never been created: there is no previous template to update it with.` };
    if (!isStackOperationFinished(status)) return { kind: 'busy', status };

    if (!ours) {
      const existing = stack.Parameters ?? [];
      const unknown = Object.keys(input.parameters).filter((name) => !existing.some((p) => p.ParameterKey === name));
      if (unknown.length > 0) return { kind: 'rejected', reason: unknownParametersReason(stackName, unknown) };
      const refused = await this.createChangeSet(
        stackName,
        {
          StackName: stackName,
          ChangeSetName: changeSetName,
          ChangeSetType: 'UPDATE',
          UsePreviousTemplate: true,
          // Every parameter is named: one left out would fall back to its template default, not keep its value.
          Parameters: existing
            .filter((p) => p.ParameterKey !== undefined)
            .map(({ ParameterKey }) =>
              Object.hasOwn(input.parameters, ParameterKey!)
                ? { ParameterKey, ParameterValue: input.parameters[ParameterKey!] }
                : { ParameterKey, UsePreviousValue: true },
            ),
          // Passed as they are, not left out: a change set is not guaranteed to keep what it is not told.
          Tags: stack.Tags,
          Capabilities: stack.Capabilities,
          RoleARN: input.roleArn ?? stack.RoleARN,
          NotificationARNs: stack.NotificationARNs && stack.NotificationARNs.length > 0 ? stack.NotificationARNs : undefined,
          ClientToken: token,
        },
        stack,
      );
      if (refused) return refused;
    }
    return this.runChangeSet(stackName, changeSetName, token, 'UPDATE', stack);
  }

  /** Runs the change set `changeSetName` (made by this token): the part deploys and parameter updates share. */
  private async runChangeSet(
    stackName: string,
    changeSetName: string,
    token: string,
    type: 'CREATE' | 'UPDATE',
    stack: Stack | undefined,
  ): Promise<ChangeSetOutcome> {
    const changeSet = await this.findChangeSet(stackName, changeSetName);
    if (!changeSet) {
      throw new LanebotError('AWS_ERROR', `Change set ${changeSetName} of stack \`${stackName}\` disappeared before it could run; try again.`, {
        retryable: true,
      });
    }
    // Not waited for here: the caller comes back with the same token, and this call finds it again.
    if (CHANGE_SET_PENDING.has(changeSet.Status ?? '')) return { kind: 'preparing' };
    const stackId = changeSet.StackId ?? stack?.StackId ?? stackName;
    if (isExecuted(changeSet)) return this.alreadyStarted(stackName, token);

    if (changeSet.Status === 'FAILED') {
      const reason = changeSet.StatusReason ?? 'CloudFormation gave no reason';
      if (!NO_CHANGES.test(reason)) return { kind: 'rejected', reason };
      // An empty change set cannot be executed; leaving it would only clutter the stack.
      await this.attempt(
        { operation: 'DeleteChangeSet', stackName },
        () => this.client.send(new DeleteChangeSetCommand({ StackName: stackName, ChangeSetName: changeSetName })),
        (error) => (isChangeSetMissing(error) ? 'gone' : undefined),
      );
      return { kind: 'no-changes', stackId };
    }
    if (changeSet.Status !== 'CREATE_COMPLETE') {
      return { kind: 'rejected', reason: `Change set ${changeSetName} is ${changeSet.Status ?? 'in an unknown state'} and cannot run.` };
    }

    // Read before executing, so progress() reports this operation's events and none before it.
    const eventCursor = await this.newestEventId(stackName, stackId);
    const executed = await this.attempt(
      { operation: 'ExecuteChangeSet', stackName },
      () =>
        this.client.send(new ExecuteChangeSetCommand({ StackName: stackName, ChangeSetName: changeSetName, ClientRequestToken: token })),
      (error) => (isNamed(error, 'InvalidChangeSetStatusException') || isNamed(error, 'TokenAlreadyExistsException') ? 'raced' : undefined),
    );
    if (executed === 'raced') {
      // A concurrent call with the same token executed it first: report that operation.
      const now = await this.findChangeSet(stackName, changeSetName);
      if (now && isExecuted(now)) return this.alreadyStarted(stackName, token);
      throw new LanebotError('AWS_ERROR', `CloudFormation refused to execute change set ${changeSetName} of stack \`${stackName}\`; try again.`, {
        retryable: true,
      });
    }
    return { kind: 'started', operation: type === 'CREATE' ? 'create' : 'update', stackId, eventCursor };
  }

  /** Undefined when the change set now exists (new or from an earlier call); otherwise the outcome. */
  private async createChangeSet(
    stackName: string,
    request: CreateChangeSetCommandInput,
    stack: Stack | undefined,
  ): Promise<ChangeSetOutcome | undefined> {
    const outcome = await this.attempt(
      { operation: 'CreateChangeSet', stackName },
      () => this.client.send(new CreateChangeSetCommand(request)),
      (error): ChangeSetOutcome | 'exists' | undefined => {
        // A retried call: the change set is there, carry on with it.
        if (isNamed(error, 'AlreadyExistsException')) return 'exists';
        const message = messageOf(error);
        if (isNamed(error, 'ValidationError') && NO_CHANGES.test(message)) {
          return { kind: 'no-changes', stackId: stack?.StackId ?? stackName };
        }
        if (isNamed(error, 'ValidationError') && /does not exist/.test(message)) {
          throw new LanebotError('AWS_ERROR', `Stack \`${stackName}\` disappeared while lanebot prepared its change set; try again.`, {
            cause: error,
            retryable: true,
          });
        }
        // Template format errors, missing parameters, missing capabilities, a stack in a state that
        // needs a person (UPDATE_ROLLBACK_FAILED…): the change set was refused, which is a value.
        if (isNamed(error, 'ValidationError') || isNamed(error, 'InsufficientCapabilitiesException')) {
          return { kind: 'rejected', reason: message };
        }
        return undefined;
      },
    );
    return typeof outcome === 'object' && 'kind' in outcome ? outcome : undefined;
  }

  /** What a retried call reports: the operation the first call started, with a cursor just before it. */
  private async alreadyStarted(stackName: string, token: string, known?: Stack): Promise<ChangeSetOutcome> {
    const stack = known ?? (await this.findStack(stackName));
    const stackId = stack?.StackId ?? stackName;
    const status = stack?.StackStatus ?? '';
    // A create that failed leaves ROLLBACK_*; everything else an executed change set leaves is an update's.
    const operation = /^(CREATE|ROLLBACK|REVIEW)_/.test(status) ? 'create' : 'update';
    const eventCursor = stack ? await this.cursorBefore(stackName, stackId, token) : undefined;
    return { kind: 'started', operation, stackId, eventCursor };
  }

  async describeStack(stackName: string): Promise<StackView | undefined> {
    const stack = await this.findStack(stackName);
    if (!stack) return undefined;
    const stackId = stack.StackId ?? '';
    return {
      stackName: stack.StackName ?? stackName,
      stackId,
      status: stack.StackStatus ?? 'UNKNOWN',
      statusReason: stack.StackStatusReason,
      parameters: toRecord(stack.Parameters, (p) => [p.ParameterKey, p.ParameterValue]),
      outputs: toRecord(stack.Outputs, (o) => [o.OutputKey, o.OutputValue]),
      tags: toRecord(stack.Tags, (t) => [t.Key, t.Value]),
      roleArn: stack.RoleARN,
      url:
        `https://${this.region}.console.aws.amazon.com/cloudformation/home?region=${this.region}` +
        `#/stacks/events?stackId=${encodeURIComponent(stackId)}`,
    };
  }

  async progress(stackName: string, since?: string): Promise<StackProgress> {
    // Status first, events second: when the status says finished, the events already hold the end.
    const stack = await this.findStack(stackName);
    if (!stack) {
      return { status: 'DELETE_COMPLETE', finished: true, succeeded: true, events: [], failureReasons: [], cursor: since };
    }
    const status = stack.StackStatus ?? 'UNKNOWN';
    // By id, so the events still answer if the stack is deleted between the two calls.
    const newestFirst = await this.eventsSince(stackName, stack.StackId ?? stackName, since);
    const events = newestFirst.map(toStackEvent).reverse();
    return {
      status,
      finished: isStackOperationFinished(status),
      succeeded: isStackOperationSucceeded(status),
      events,
      failureReasons: stackFailureReasons(events),
      cursor: newestFirst[0]?.EventId ?? since,
    };
  }

  async deleteStack(stackName: string, clientRequestToken: string): Promise<DeleteStackResult> {
    const token = checkedToken(clientRequestToken);
    try {
      const stack = await this.findStack(stackName);
      if (!stack) return { kind: 'gone' };
      const status = stack.StackStatus ?? '';
      const stackId = stack.StackId ?? stackName;
      if (status === 'DELETE_IN_PROGRESS') return { kind: 'started', eventCursor: await this.cursorBefore(stackName, stackId, token) };
      if (status !== 'REVIEW_IN_PROGRESS' && !isStackOperationFinished(status)) return { kind: 'busy', status };

      const eventCursor = await this.newestEventId(stackName, stackId);
      // By id: a stack of the same name created meanwhile is not the one the caller meant.
      await this.attempt(
        { operation: 'DeleteStack', stackName },
        () => this.client.send(new DeleteStackCommand({ StackName: stackId, ClientRequestToken: token })),
        (error) => (isNamed(error, 'TokenAlreadyExistsException') ? 'already' : undefined),
      );
      return { kind: 'started', eventCursor };
    } catch (error) {
      if (error instanceof StackBusyError) return { kind: 'busy', status: error.status };
      throw error;
    }
  }

  private async findStack(stackName: string): Promise<Stack | undefined> {
    const output = await this.attempt(
      { operation: 'DescribeStacks', stackName },
      () => this.client.send(new DescribeStacksCommand({ StackName: stackName })),
      (error) => (isStackMissing(error) ? 'missing' : undefined),
    );
    return output === 'missing' ? undefined : output.Stacks?.[0];
  }

  private async findChangeSet(stackName: string, changeSetName: string): Promise<DescribeChangeSetOutput | undefined> {
    const output = await this.attempt(
      { operation: 'DescribeChangeSet', stackName },
      () => this.client.send(new DescribeChangeSetCommand({ StackName: stackName, ChangeSetName: changeSetName })),
      (error) => (isChangeSetMissing(error) ? 'missing' : undefined),
    );
    return output === 'missing' ? undefined : output;
  }

  private async newestEventId(stackName: string, stackId: string): Promise<string | undefined> {
    const page = await this.call({ operation: 'DescribeStackEvents', stackName }, () =>
      this.client.send(new DescribeStackEventsCommand({ StackName: stackId })),
    );
    return page.StackEvents?.[0]?.EventId;
  }

  /** Newest first, stopping at `since` (exclusive) or after maxEventPages pages. */
  private async eventsSince(stackName: string, stackId: string, since: string | undefined): Promise<SdkStackEvent[]> {
    const newestFirst: SdkStackEvent[] = [];
    let nextToken: string | undefined;
    for (let pages = 0; pages < this.maxEventPages; pages++) {
      const page = await this.call({ operation: 'DescribeStackEvents', stackName }, () =>
        this.client.send(new DescribeStackEventsCommand({ StackName: stackId, NextToken: nextToken })),
      );
      for (const event of page.StackEvents ?? []) {
        if (since !== undefined && event.EventId === since) return newestFirst;
        newestFirst.push(event);
      }
      nextToken = page.NextToken;
      if (!nextToken) break;
    }
    return newestFirst;
  }

  /**
   * The cursor just before the first event CloudFormation tagged with `token` (every event of an
   * operation carries its ClientRequestToken). Undefined when no event carries it: all events then.
   */
  private async cursorBefore(stackName: string, stackId: string, token: string): Promise<string | undefined> {
    let seenOurs = false;
    for (const event of await this.eventsSince(stackName, stackId, undefined)) {
      if (event.ClientRequestToken === token) seenOurs = true;
      else if (seenOurs) return event.EventId;
    }
    return undefined;
  }

  private async call<T>(ctx: CallContext, send: () => Promise<T>): Promise<T> {
    return this.attempt<T, never>(ctx, send, () => undefined);
  }

  // The SDK's own retry runs first; this bounded extra retry rides out bursts, and after it the
  // job layer re-delays the job (AWS_THROTTLED is retryable) instead of holding a worker.
  /** Sends; `expected` turns an anticipated error into a value (undefined: not anticipated, map it). */
  private async attempt<T, R>(ctx: CallContext, send: () => Promise<T>, expected: (error: unknown) => R | undefined): Promise<T | R> {
    const what = `cloudformation:${ctx.operation} on stack ${ctx.stackName}`;
    try {
      return await retryThrottled(what, send, { sleep: this.sleep, maxThrottleRetries: this.maxThrottleRetries });
    } catch (error) {
      if (error instanceof AwsThrottledError) throw error;
      const busyStatus = refusedState(error);
      if (busyStatus?.endsWith('_IN_PROGRESS')) throw new StackBusyError(ctx.stackName, busyStatus, error);
      const value = expected(error);
      if (value !== undefined) return value;
      throw mapError(error, ctx);
    }
  }
}

/** The port's idempotency token, checked here because CloudFormation would refuse it later with a vaguer message. */
function checkedToken(token: string): string {
  if (!TOKEN_PATTERN.test(token)) {
    throw new LanebotError(
      'INPUT_INVALID',
      `Client request token "${token}" is not valid for CloudFormation: use 1–64 letters, digits and dashes, starting with a letter or digit.`,
    );
  }
  return token;
}

function isExecuted(changeSet: DescribeChangeSetOutput): boolean {
  return EXECUTED.has(changeSet.ExecutionStatus ?? '');
}

function toStackEvent(event: SdkStackEvent): StackEvent {
  const reason = event.ResourceStatusReason ?? event.HookStatusReason;
  return {
    eventId: event.EventId ?? '',
    timestamp: event.Timestamp?.getTime() ?? 0,
    logicalResourceId: event.LogicalResourceId ?? '',
    resourceType: event.ResourceType ?? '',
    // Hook events carry HookStatus (e.g. HOOK_COMPLETE_FAILED) instead of a resource status.
    status: event.ResourceStatus ?? event.HookStatus ?? 'UNKNOWN',
    ...(reason === undefined ? {} : { reason }),
  };
}

function toRecord<T>(items: T[] | undefined, pair: (item: T) => [string | undefined, string | undefined]): Record<string, string> {
  const record: Record<string, string> = {};
  for (const item of items ?? []) {
    const [key, value] = pair(item);
    if (key !== undefined) record[key] = value ?? '';
  }
  return record;
}

function isNamed(error: unknown, name: string): boolean {
  return sdkErrorName(error) === name;
}

const messageOf = sdkErrorMessage;

/** DescribeStacks/DescribeStackEvents answer a missing stack with "Stack with id X does not exist". */
function isStackMissing(error: unknown): boolean {
  return isNamed(error, 'ValidationError') && /does not exist/.test(messageOf(error));
}

function isChangeSetMissing(error: unknown): boolean {
  // moto answers a missing change set with a ValidationError instead of ChangeSetNotFound.
  return isNamed(error, 'ChangeSetNotFoundException') || isStackMissing(error);
}

/** The status named by "… is in X state and can not be updated", if that is the error. */
function refusedState(error: unknown): string | undefined {
  if (!isNamed(error, 'ValidationError')) return undefined;
  return STATE_REFUSAL.exec(messageOf(error))?.[1];
}

function mapError(error: unknown, { operation, stackName }: CallContext): LanebotError {
  return mapAwsError(error, 'cloudformation', operation, `for stack \`${stackName}\``);
}
