// Names a lane produces in AWS, and the validation that keeps every one of them legal.
// Pure: no SDK imports. The limits below are AWS's, and each derived name says which one binds it.
import { CANARY_LANE } from './canary';

/** Service, environment and lane names share one shape: a lowercase letter, then [a-z0-9-]. */
const NAME_PATTERN = /^[a-z][a-z0-9-]*$/;

export const DEFAULT_LANE = 'default';

export interface Scope {
  service: string;
  env: string;
}

export interface LaneRef extends Scope {
  lane: string;
}

interface DerivedName {
  what: string;
  limit: number;
  /** Which AWS rule sets the limit, shown to the user when a lane is too long. */
  rule: string;
  build(ref: LaneRef): string;
}

/**
 * Every AWS name built from (service, env, lane). If one of them overflows, the deploy would fail
 * minutes later inside the pipeline; checking here turns that into an immediate, clear reply.
 */
export const DERIVED_NAMES: readonly DerivedName[] = [
  {
    what: 'lane stack name',
    limit: 128,
    rule: 'CloudFormation stack names are at most 128 characters',
    build: ({ service, env, lane }) => laneStackName({ service, env, lane }),
  },
  {
    what: 'ECS service name',
    limit: 255,
    rule: 'ECS service names and task definition families are at most 255 characters',
    build: ({ service, env, lane }) => ecsServiceName({ service, env, lane }),
  },
  {
    // The widest value of the lane's listener rule (templates/service-stack.yaml, tested against it).
    // ALB header condition values are at most 128 characters.
    what: 'listener rule header value',
    limit: 128,
    rule: 'ALB http-header condition values are at most 128 characters',
    build: ({ lane }) => laneRuleHeaderValues(lane).reduce((widest, value) => (value.length > widest.length ? value : widest)),
  },
  {
    // The buildspec tags images `{lane}-{first 12 of the commit}`; ECR tags are at most 128 characters.
    what: 'image tag',
    limit: 128,
    rule: 'ECR image tags are at most 128 characters',
    build: ({ lane }) => `${lane}-${'0'.repeat(12)}`,
  },
];

/**
 * A lane is also a DNS label in Cloud Map and a log stream prefix; 63 characters (one DNS label)
 * is the hard cap whatever the service and env names are.
 */
export const MAX_LANE_LENGTH = 63;
/**
 * Services and envs appear in every derived name. With these caps the 63-character lane cap binds
 * before any AWS limit does; the per-name check in validateLane stays as the guard if they change.
 */
export const MAX_SERVICE_LENGTH = 40;
export const MAX_ENV_LENGTH = 16;

export function laneStackName({ service, env, lane }: LaneRef): string {
  return `app-${service}-${env}-${lane}`;
}

/** The stack of lane default's canary (templates/canary-stack.yaml); `canary` is no lane's name. */
export function canaryStackName(scope: Scope): string {
  return laneStackName({ ...scope, lane: CANARY_LANE });
}

export function ecsServiceName({ service, env, lane }: LaneRef): string {
  return `${service}-${env}-${lane}`;
}

/**
 * The `tracestate` values of a lane's listener rule, as templates/service-stack.yaml writes them.
 * ALB matches each against the whole header (`*` any run, `?` one character, case-insensitive).
 * Together they match the list member `ctx=lane:{lane}` alone, first, in the middle or last, with or
 * without spaces after the commas, and never `ctx=lane:{lane}2`: nothing but a comma may follow the
 * lane. What precedes `ctx` is free, so a member whose key merely ends in `ctx` (`myctx=lane:{lane}`)
 * matches too: a rule holds at most 5 values and 5 wildcards, and pinning both ends of the member
 * exactly would take 6 values (start, `,` or `, ` before it; end or `,` after it).
 */
export function laneRuleHeaderValues(lane: string): string[] {
  return [`*ctx=lane:${lane}`, `*ctx=lane:${lane},*`];
}

export function defaultPipelineName({ service, env }: Scope): string {
  return `${service}-${env}`;
}

/** The environment's infrastructure pipeline (templates/pipelines/infra-pipeline.yaml). */
export function infraPipelineName(env: string): string {
  return `infra-${env}`;
}

/** The environment's service bootstrap pipeline, run once per service with SERVICE set. */
export function bootPipelineName(env: string): string {
  return `boot-${env}`;
}

/** The CloudFormation stack `/lane setup` deploys a pipeline with. */
export function pipelineStackName(pipelineName: string): string {
  return `pipeline-${pipelineName}`;
}

/**
 * Where an admin operation is serialized in the lane registry: a slot whose name starts with `@`,
 * which no lane can have. `/lane infra` changes the whole environment, so its slot is the
 * environment's (service `*`); boot and setup are per service and environment.
 */
export function operationRef(kind: 'infra' | 'boot' | 'setup', { service, env }: Scope): LaneRef {
  return kind === 'infra' ? { service: '*', env, lane: '@infra' } : { service, env, lane: `@${kind}` };
}

/** True for the registry slots of admin operations, which are not lanes. */
export function isOperationSlot(lane: string): boolean {
  return lane.startsWith('@');
}

export type Validation = { ok: true } | { ok: false; problem: string };

/** Validates a service or env name from the config file. */
export function validateScopeName(kind: 'service' | 'environment', name: string): Validation {
  const max = kind === 'service' ? MAX_SERVICE_LENGTH : MAX_ENV_LENGTH;
  if (!NAME_PATTERN.test(name)) {
    return { ok: false, problem: `${kind} name "${name}" must start with a lowercase letter and contain only a-z, 0-9 and -` };
  }
  if (name.length > max) return { ok: false, problem: `${kind} name "${name}" is longer than ${max} characters` };
  if (name.endsWith('-') || name.includes('--')) {
    return { ok: false, problem: `${kind} name "${name}" must not end with - or contain --` };
  }
  return { ok: true };
}

export function validateLane(lane: string, scope: Scope): Validation {
  if (lane.length === 0) return { ok: false, problem: 'the lane name is empty' };
  const shown = printable(lane);
  if (!NAME_PATTERN.test(lane)) {
    return {
      ok: false,
      problem: `lane \`${shown}\` is not a valid lane name: it must start with a lowercase letter and contain only a-z, 0-9 and -`,
    };
  }
  if (lane.endsWith('-') || lane.includes('--')) {
    return { ok: false, problem: `lane \`${shown}\` must not end with \`-\` or contain \`--\`` };
  }
  if (lane === CANARY_LANE) {
    return { ok: false, problem: 'lane `canary` is reserved: lanebot runs the canary of lane default under that name (`/lane promote <lane> --canary`)' };
  }
  if (lane.length > MAX_LANE_LENGTH) {
    return { ok: false, problem: `lane \`${shown.slice(0, 20)}…\` is ${lane.length} characters; lanes are at most ${MAX_LANE_LENGTH} (one DNS label)` };
  }
  for (const derived of DERIVED_NAMES) {
    const name = derived.build({ ...scope, lane });
    if (name.length > derived.limit) {
      return {
        ok: false,
        problem: `lane \`${shown}\` is too long for ${scope.service}/${scope.env}: its ${derived.what} would be ${name.length} characters (${derived.rule})`,
      };
    }
  }
  return { ok: true };
}

/** Longest lane accepted for a scope: the tightest derived-name limit wins. */
export function maxLaneLength(scope: Scope): number {
  let max = MAX_LANE_LENGTH;
  for (const derived of DERIVED_NAMES) {
    const overhead = derived.build({ ...scope, lane: '' }).length;
    max = Math.min(max, derived.limit - overhead);
  }
  return max;
}

/** Longest branch accepted; CodePipeline variable values allow 1000, but nobody needs more than this. */
export const MAX_BRANCH_LENGTH = 255;
// A restricted character set on top of git's rules: the branch travels through pipeline variables
// into shell steps of the buildspec, so nothing a shell would interpret is let through.
const BRANCH_CHARS = /^[A-Za-z0-9._\/+-]+$/;

/** `git check-ref-format --branch` rules, plus the restricted character set above. */
export function validateBranch(branch: string): Validation {
  if (branch.length === 0) return { ok: false, problem: 'the branch name is empty' };
  const shown = printable(branch.length > 60 ? `${branch.slice(0, 60)}…` : branch);
  const bad = (why: string): Validation => ({ ok: false, problem: `branch \`${shown}\` ${why}` });
  if (branch.length > MAX_BRANCH_LENGTH) return bad(`is ${branch.length} characters; branches are at most ${MAX_BRANCH_LENGTH}`);
  if (!BRANCH_CHARS.test(branch)) {
    return bad('contains characters lanebot does not accept in branch names (allowed: letters, digits, `.`, `_`, `/`, `+`, `-`)');
  }
  if (branch.startsWith('-')) return bad('must not start with `-`');
  if (branch === '@') return bad('must not be `@`');
  if (branch === 'HEAD') return bad('must not be `HEAD` (git refuses it as a branch name)');
  if (branch.startsWith('/') || branch.endsWith('/')) return bad('must not start or end with `/`');
  if (branch.includes('//')) return bad('must not contain `//`');
  if (branch.includes('..')) return bad('must not contain `..`');
  if (branch.endsWith('.')) return bad('must not end with `.`');
  for (const component of branch.split('/')) {
    if (component.startsWith('.')) return bad('has a path component starting with `.`');
    if (component.endsWith('.lock')) return bad('has a path component ending with `.lock`');
  }
  return { ok: true };
}

/** Makes control and invisible characters visible so an error message cannot be spoofed by them. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff`]/gu, (c) =>
    c === '`' ? "'" : `\\u{${c.codePointAt(0)!.toString(16)}}`,
  );
}
