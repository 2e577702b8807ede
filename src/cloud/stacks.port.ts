// What lanebot needs from a stack service (CloudFormation): create or update a stack from a
// template, change some parameters of a stack with its previous template, follow the operation,
// delete a stack. Implemented by the CloudFormation adapter
// (aws/cloudformation.adapter.ts) and the simulator (sim/sim-stacks.ts).
//
// Expected outcomes are values (no changes, another operation holds the stack, the template was
// refused); only faults (throttling, access denied, network) throw, as LanebotErrors.

export type StackCapability = 'CAPABILITY_IAM' | 'CAPABILITY_NAMED_IAM' | 'CAPABILITY_AUTO_EXPAND';

export interface StackEvent {
  eventId: string;
  /** Epoch milliseconds. */
  timestamp: number;
  logicalResourceId: string;
  resourceType: string;
  /** CloudFormation's ResourceStatus, e.g. CREATE_FAILED. */
  status: string;
  reason?: string;
}

export interface StackView {
  stackName: string;
  stackId: string;
  /** CloudFormation's StackStatus, e.g. UPDATE_COMPLETE, ROLLBACK_COMPLETE. */
  status: string;
  statusReason?: string;
  parameters: Record<string, string>;
  outputs: Record<string, string>;
  tags: Record<string, string>;
  /**
   * The stack's service role (CloudFormation's RoleARN): what its resources are created, updated and
   * deleted with. Absent when the stack has none (CloudFormation then uses the caller's permissions).
   * A stack made from another one's resources (the canary of lane default) is created with this role.
   */
  roleArn?: string;
  /** Where a person can follow the stack (the AWS console's events page); absent where there is none. */
  url?: string;
}

export interface DeployStackInput {
  stackName: string;
  templateBody: string;
  parameters: Record<string, string>;
  tags?: Record<string, string>;
  capabilities?: StackCapability[];
  /**
   * The CloudFormation service role the stack's resources are created with (RoleARN), so the caller
   * needs only iam:PassRole on it, not the permissions to create what the template holds.
   */
  roleArn?: string;
  /**
   * Idempotency token (`[a-zA-Z0-9][a-zA-Z0-9-]*`, at most 64 characters — CloudFormation's own
   * pattern for request tokens, so it may not start with a dash): calling again with the same token
   * never starts a second operation; it reports the one the first call started. Names the change set.
   */
  clientRequestToken: string;
}

export type DeployStackResult =
  /** An operation runs (or ran) on the stack: follow it with `progress(stackName, eventCursor)`. */
  | { kind: 'started'; operation: 'create' | 'update'; stackId: string; eventCursor?: string }
  /** The stack already matches the template and parameters: success, nothing to wait for. */
  | { kind: 'no-changes'; stackId: string }
  /**
   * CloudFormation is still computing the change set this token made (seconds, usually). Nothing
   * runs yet; call again with the same token, which picks the change set up instead of waiting here.
   */
  | { kind: 'preparing' }
  /** Another operation holds the stack (one at a time per stack); try again when it ends. */
  | { kind: 'busy'; status: string }
  /**
   * The stack is in ROLLBACK_COMPLETE (its first create failed), which can only be deleted. Its
   * delete has been started; call `deployStack` again once `progress` reports it finished.
   */
  | { kind: 'replacing'; status: string }
  /** CloudFormation refused the template or parameters (the change set failed): the reason says why. */
  | { kind: 'rejected'; reason: string };

export interface UpdateStackParametersInput {
  stackName: string;
  /**
   * Only the parameters to change, with their new values. Every other parameter the stack has keeps
   * its value, and the stack keeps its template, tags, capabilities and service role: promote and
   * rollback change a lane's `ImageUri` and nothing else. A name the stack has no parameter of is
   * `rejected` (CloudFormation would refuse it as not in the template).
   */
  parameters: Record<string, string>;
  /** Same rules and meaning as DeployStackInput's: the same token never starts a second operation. */
  clientRequestToken: string;
  /** The service role to run the update with; by default the one the stack already has. */
  roleArn?: string;
}

/**
 * deployStack's values, but never `replacing`: there is no template here to create the stack again
 * from, so a stack that cannot be updated (ROLLBACK_COMPLETE, DELETE_FAILED…) is `rejected` with
 * CloudFormation's reason. A stack that does not exist is `rejected` too, with a reason that says so:
 * callers check the lane exists before they ask, so meeting it here is a race with a delete, and the
 * operation should end failed with that reason rather than wait.
 */
export type UpdateStackParametersResult = Exclude<DeployStackResult, { kind: 'replacing' }>;

/** The `rejected` reason for a parameter update of a stack that does not exist (same on AWS and in the simulator). */
export function missingStackReason(stackName: string): string {
  return `Stack ${stackName} does not exist: there is nothing to update (it may have been deleted meanwhile).`;
}

/** The `rejected` reason for parameter names the stack does not have. */
export function unknownParametersReason(stackName: string, names: string[]): string {
  return `Parameters: [${names.join(', ')}] do not exist in the template of stack ${stackName}.`;
}

/** CloudFormation's refusal of a stack in a state only a delete (or a person) can leave. */
export function notUpdatableReason(stackId: string, status: string): string {
  return `Stack:${stackId} is in ${status} state and can not be updated.`;
}

export interface StackProgress {
  /** The stack's status now; DELETE_COMPLETE when the stack no longer exists. */
  status: string;
  /** True when no operation is in progress (the status does not end in _IN_PROGRESS). */
  finished: boolean;
  /** True when finished in CREATE_COMPLETE, UPDATE_COMPLETE, IMPORT_COMPLETE or DELETE_COMPLETE. */
  succeeded: boolean;
  /** Events after `since`, oldest first. */
  events: StackEvent[];
  /**
   * Reasons of the failed resources among those events (…_FAILED), oldest first, each as
   * `LogicalId: reason`; the "Resource creation cancelled" echoes of other resources are left out
   * when a real cause is there.
   */
  failureReasons: string[];
  /** Pass back as `since` on the next call. */
  cursor?: string;
}

export type DeleteStackResult = { kind: 'started'; eventCursor?: string } | { kind: 'gone' } | { kind: 'busy'; status: string };

export interface StacksPort {
  deployStack(input: DeployStackInput): Promise<DeployStackResult>;
  /**
   * Updates an existing stack with its previous template: the given parameters set, every other
   * one, the tags, capabilities and role unchanged. Idempotent by token like deployStack.
   */
  updateStackParameters(input: UpdateStackParametersInput): Promise<UpdateStackParametersResult>;
  /** The stack, or undefined when it does not exist. */
  describeStack(stackName: string): Promise<StackView | undefined>;
  /** Where the stack's current (or last) operation is, with the events since `since`. */
  progress(stackName: string, since?: string): Promise<StackProgress>;
  /** Deletes the stack; a stack that does not exist is `gone`, not an error. */
  deleteStack(stackName: string, clientRequestToken: string): Promise<DeleteStackResult>;
}

const SUCCEEDED_STATUSES = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'IMPORT_COMPLETE', 'DELETE_COMPLETE']);

export function isStackOperationFinished(status: string): boolean {
  return !status.endsWith('_IN_PROGRESS');
}

export function isStackOperationSucceeded(status: string): boolean {
  return SUCCEEDED_STATUSES.has(status);
}

/** What the other resources of a failed operation report: true, but it hides the real cause. */
const CANCELLED_ECHO = /^Resource (creation|update|deletion) cancelled\.?$/i;

/**
 * `StackProgress.failureReasons` from events: `LogicalId: reason` of each …_FAILED event, oldest
 * first, without repeats. When one resource fails CloudFormation cancels the others ("Resource
 * creation cancelled"); those echoes are left out unless they are all there is.
 */
export function stackFailureReasons(events: StackEvent[]): string[] {
  const failed = events.filter((e) => e.status.endsWith('_FAILED') && e.reason);
  const causes = failed.filter((e) => !CANCELLED_ECHO.test(e.reason ?? ''));
  return [...new Set((causes.length > 0 ? causes : failed).map((e) => `${e.logicalResourceId}: ${e.reason}`))];
}
