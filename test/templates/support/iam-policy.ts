// A small model of how IAM evaluates identity policies, for the tests that ask "may this role do
// that": an explicit Deny wins, else any Allow whose action, resource and conditions all match.
// Only the condition operators lanebot's policies use are known; any other throws, so a test never
// passes because a condition was skipped.

export interface PolicyStatement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface IamRequest {
  /** e.g. `iam:PassRole`. */
  action: string;
  /** The ARN the action is on (`*` for actions without resource-level permissions). */
  resource: string;
  /** Condition keys of the request, e.g. `{ 'iam:PassedToService': 'ecs-tasks.amazonaws.com' }`. */
  context?: Record<string, string>;
}

/** IAM wildcards: `*` any run of characters, `?` one, over the whole value. */
export function iamPatternMatches(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

/** IAM's resource matching (case-sensitive). */
export function iamResourceMatches(pattern: string, arn: string): boolean {
  return iamPatternMatches(pattern, arn);
}

const OPERATORS: Record<string, (expected: string, actual: string) => boolean> = {
  StringEquals: (expected, actual) => expected === actual,
  StringLike: (expected, actual) => iamPatternMatches(expected, actual),
  ArnEquals: (expected, actual) => iamPatternMatches(expected, actual),
  ArnLike: (expected, actual) => iamPatternMatches(expected, actual),
};

function conditionsHold(condition: PolicyStatement['Condition'], context: Record<string, string>): boolean {
  return Object.entries(condition ?? {}).every(([operatorName, tests]) => {
    const ifExists = operatorName.endsWith('IfExists');
    const operator = OPERATORS[ifExists ? operatorName.slice(0, -'IfExists'.length) : operatorName];
    if (!operator) throw new Error(`iam-policy.ts does not model the condition operator ${operatorName}`);
    return Object.entries(tests).every(([key, expected]) => {
      const actual = context[key];
      // A missing key fails the test, unless the operator says …IfExists.
      if (actual === undefined) return ifExists;
      return [expected].flat().some((value) => operator(value, actual));
    });
  });
}

function statementMatches(statement: PolicyStatement, request: IamRequest): boolean {
  return (
    [statement.Action].flat().some((pattern) => iamPatternMatches(pattern, request.action, true)) &&
    [statement.Resource].flat().some((pattern) => iamResourceMatches(pattern, request.resource)) &&
    conditionsHold(statement.Condition, request.context ?? {})
  );
}

/** True when the statements allow the request and none denies it. */
export function isAllowed(statements: PolicyStatement[], request: IamRequest): boolean {
  const matching = statements.filter((s) => statementMatches(s, request));
  return matching.some((s) => s.Effect === 'Allow') && !matching.some((s) => s.Effect === 'Deny');
}
