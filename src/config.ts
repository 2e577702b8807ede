// The YAML config file (LANEBOT_CONFIG) and the environment variables, both validated at start.
// Errors name the key and the problem; nothing else in the process reads process.env.
import { readFileSync } from 'node:fs';
import { parseDocument, visit } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors';
import { parseRedisTarget } from './redis/redis-target';
import { DEFAULT_CANARY_STEPS, stepsProblem, type CanarySettings } from './domain/canary';
import type { ExpiryWindow } from './domain/expiry';
import { DEFAULT_LANE, defaultPipelineName, validateScopeName, type LaneRef, type Scope } from './domain/names';

// ---------------------------------------------------------------------------------------------
// Durations: "90s", "15m", "12h", "6d".

const DURATION_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,6})(s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * DURATION_UNITS[match[2]!]!;
}

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms === 0) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration; write a whole number and a unit: 90s, 15m, 12h or 6d` });
    return z.NEVER;
  }
  return ms;
});

/** A duration that may be zero ("0s"): a soak that is skipped. */
const durationOrZero = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration; write a whole number and a unit: 0s, 90s, 15m or 1h` });
    return z.NEVER;
  }
  return ms;
});

/**
 * `expiry: never` in YAML, as the flag the schema keeps (`{ never: true }`). Any other word is named
 * with what is allowed (zod alone would say "expected object, received string").
 */
function neverAsFlag(value: unknown, ctx: z.core.$RefinementCtx): unknown {
  if (value === 'never') return { never: true };
  if (typeof value === 'string') {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not an expiry; write \`never\`, or windows such as { warnAfter: 6d, deleteAfter: 7d }` });
    return z.NEVER;
  }
  return value;
}

/** A rate: "20/1m" is 20 per minute. */
const rate = z.string().transform((text, ctx) => {
  const match = /^(\d{1,6})\/(.+)$/.exec(text.trim());
  const windowMs = match ? parseDuration(match[2]!) : undefined;
  const count = match ? Number(match[1]) : 0;
  if (!match || windowMs === undefined || windowMs === 0 || count === 0) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a rate; write a count, a slash and a duration: 20/1m, 100/1h` });
    return z.NEVER;
  }
  return { count, windowMs };
});

/** A percentage: 1, 0.5, "1%", "0.5 %". */
const percentage = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const match = typeof value === 'number' ? [String(value), String(value)] : /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
  const n = match ? Number(match[1]) : NaN;
  if (!Number.isFinite(n) || n < 0 || n > 100) {
    ctx.addIssue({ code: 'custom', message: `"${String(value)}" is not a percentage; write a number from 0 to 100, e.g. 1 or "0.5%"` });
    return z.NEVER;
  }
  return n;
});

/** A canary's p99 limit: a time ("500ms", "1s") or a share of the baseline's p99 ("150%"). */
const p99Limit = z.union([z.string(), z.number()]).transform((value, ctx): CanarySettings['maxP99'] => {
  const text = String(value).trim();
  const time = /^(\d{1,6})(ms|s)$/.exec(text);
  if (time) return { kind: 'absolute', ms: Number(time[1]) * (time[2] === 's' ? 1000 : 1) };
  const share = /^(\d{1,4})\s*%$/.exec(text);
  if (share && Number(share[1]) >= 100) return { kind: 'relative', percent: Number(share[1]) };
  ctx.addIssue({ code: 'custom', message: `"${text}" is not a p99 limit; write a time such as 500ms or 1s, or a share of the baseline's p99 of at least 100%, such as 150%` });
  return z.NEVER;
});

/**
 * `canary:` of an environment (domain/canary.ts): `true` makes a canary the default way to promote to
 * lane default there, with the default settings; an object sets them (and `byDefault`).
 */
const canarySchema = z.preprocess(
  (value) => (typeof value === 'boolean' ? { byDefault: value } : value),
  z.strictObject({
    byDefault: z.boolean().default(false),
    steps: z
      .array(z.number())
      .default([...DEFAULT_CANARY_STEPS])
      .superRefine((steps, ctx) => {
        const problem = stepsProblem(steps);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    interval: duration.prefault('5m').refine((ms) => ms >= 60_000 && ms <= 6 * 3_600_000, 'must be from 1m (ALB metrics come per minute) to 6h'),
    maxErrorRate: percentage.prefault(1),
    maxP99: p99Limit.prefault('500ms'),
    failureLimit: z.number().int().min(1).max(10).default(2),
    minRequests: z.number().int().min(0).max(10_000_000).default(100),
    abandonAfter: duration.prefault('30m').refine((ms) => ms >= 5 * 60_000, 'must be at least 5m'),
  }),
);

// ---------------------------------------------------------------------------------------------
// The config file.

const SLACK_CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;
const SLACK_PRINCIPAL_ID = /^[UWS][A-Z0-9]{2,}$/;
// CodePipeline pipeline names: [A-Za-z0-9.@_-]{1,100}.
const PIPELINE_NAME = /^[A-Za-z0-9.@_-]{1,100}$/;

const scopeName = (kind: 'service' | 'environment') =>
  z.string().superRefine((name, ctx) => {
    const result = validateScopeName(kind, name);
    if (!result.ok) ctx.addIssue({ code: 'custom', message: result.problem });
  });

// GitHub/Bitbucket/GitLab repository ids as CodeStar connections take them: owner/name.
const REPOSITORY_ID = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/;
const repository = z.string().regex(REPOSITORY_ID, 'must be a repository id such as acme/user-api (owner/name)');

const serviceSchema = z.strictObject({
  /** Pipeline name template; `{service}` and `{env}` are replaced. Default `{service}-{env}`. */
  pipeline: z
    .string()
    .refine((t) => /^[A-Za-z0-9.@_{}-]+$/.test(t) && t.replace(/\{(service|env)\}/g, '').match(/[{}]/) === null, {
      message: 'must be a pipeline name that may use the placeholders {service} and {env}, e.g. "{service}-{env}"',
    })
    .optional(),
  /** The service's app repository (owner/name), the app pipeline's AppSource; needed by `/lane setup`. */
  repo: repository.optional(),
});

/** What `/lane setup` passes to the pipeline stacks it deploys (templates/pipelines/*.yaml). */
const setupSchema = z.strictObject({
  connectionArn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:connection\/[A-Za-z0-9-]+$/,
      'must be a CodeStar connection ARN such as arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-…',
    ),
  infraRepo: repository,
  infraBranch: z
    .string()
    .regex(/^[A-Za-z0-9._\/+-]{1,255}$/, 'must be a branch name (letters, digits, . _ / + -)')
    .default('main'),
  /** The service role CloudFormation creates the pipeline stacks with (templates/iam/pipeline-stack-role.yaml). */
  stackRoleArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]+$/, 'must be an IAM role ARN such as arn:aws:iam::123456789012:role/lanebot-pipeline-stacks')
    .optional(),
});

const slackPrincipal = z.string().regex(SLACK_PRINCIPAL_ID, 'must be a Slack user id (U…/W…) or user group id (S…)');

const environmentSchema = z.strictObject({
  protected: z.boolean().default(false),
  approvers: z.array(slackPrincipal).default([]),
  /**
   * Who may deploy (user ids or user group ids); absent means everyone. Left undefined rather than
   * defaulted, because "absent" (everyone) and "[]" (approvers and admins only) mean different things.
   */
  deployers: z.array(slackPrincipal).optional(),
  /**
   * The approval gate's settings. A protected environment has the gate with these defaults; any
   * environment that sets `approval:` has it too.
   */
  approval: z
    .strictObject({
      requiredApprovals: z.number().int().min(1).max(10).default(1),
      allowSelfApproval: z.boolean().default(false),
      approvalTimeout: duration.prefault('2h'),
    })
    .optional(),
  /**
   * The health verification after every deploy (operations/steps/verify-health.step.ts): how long the
   * lane's alarms must stay quiet once its targets are healthy (`soak`, 0s to skip the soak), and how
   * long each check (ECS rollout, healthy targets) may take before it is called failed (`deadline`).
   */
  /**
   * When this environment's idle lanes are warned and deleted (domain/expiry.ts): its own windows
   * (either may be left out: the global one applies), or `never` (e.g. prod). Absent: the global
   * `expiry:`.
   */
  expiry: z
    .preprocess(neverAsFlag, z.strictObject({ never: z.literal(true).optional(), warnAfter: duration.optional(), deleteAfter: duration.optional() }))
    .optional(),
  /** How `/lane promote … --canary` runs here (domain/canary.ts); `canary: true` makes it the default way. */
  canary: canarySchema.optional(),
  verify: z
    .strictObject({
      soak: durationOrZero.prefault('5m').refine((ms) => ms <= 3_600_000, 'must be at most 1h'),
      deadline: duration.prefault('10m').refine((ms) => ms <= 6 * 3_600_000, 'must be at most 6h'),
    })
    .prefault({}),
});

/** The approval gate of an environment, or undefined when deploys there need no approval. */
export function approvalGateOf(config: LanebotConfig, env: string): ApprovalSettings | undefined {
  const settings = Object.hasOwn(config.environments, env) ? config.environments[env] : undefined;
  if (!settings || (!settings.protected && !settings.approval)) return undefined;
  return settings.approval ?? { requiredApprovals: 1, allowSelfApproval: false, approvalTimeout: 2 * 3_600_000 };
}

/**
 * The expiry window of a lane, or undefined when it never expires: the baseline lane `default`,
 * an environment (or the whole config) with `expiry: never`, and anything not in the config.
 */
export function expiryWindowOf(config: LanebotConfig, ref: LaneRef): ExpiryWindow | undefined {
  if (ref.lane === DEFAULT_LANE || !Object.hasOwn(config.services, ref.service)) return undefined;
  return environmentWindow(config, ref.env);
}

/** An environment's expiry window (undefined: its lanes never expire). */
function environmentWindow(config: LanebotConfig, envName: string): ExpiryWindow | undefined {
  const env = Object.hasOwn(config.environments, envName) ? config.environments[envName] : undefined;
  if (!env) return undefined;
  const global = config.expiry;
  if (env.expiry?.never) return undefined;
  if (global.never && !env.expiry) return undefined;
  return {
    warnAfter: env.expiry?.warnAfter ?? global.warnAfter,
    deleteAfter: env.expiry?.deleteAfter ?? global.deleteAfter,
    maxRenewal: global.maxRenewal,
  };
}

/** The shortest warnAfter of any environment: lanes idle for less can be skipped by the sweep. */
export function shortestWarnAfter(config: LanebotConfig): number | undefined {
  const windows = Object.keys(config.environments)
    .map((env) => environmentWindow(config, env))
    .filter((w): w is ExpiryWindow => w !== undefined);
  return windows.length > 0 ? Math.min(...windows.map((w) => w.warnAfter)) : undefined;
}

/** The health verification settings of an environment (its own, or the defaults: 5 min soak, 10 min deadline). */
export function verifySettingsOf(config: LanebotConfig, env: string): VerifySettings {
  const settings = Object.hasOwn(config.environments, env) ? config.environments[env] : undefined;
  return settings?.verify ?? environmentSchema.parse({}).verify;
}

/** The canary settings of an environment (its own, or the defaults; not by default). */
export function canarySettingsOf(config: LanebotConfig, env: string): CanarySettings {
  const settings = Object.hasOwn(config.environments, env) ? config.environments[env]?.canary : undefined;
  const c = settings ?? canarySchema.parse({});
  return {
    steps: c.steps,
    intervalMs: c.interval,
    maxErrorRatePercent: c.maxErrorRate,
    maxP99: c.maxP99,
    failureLimit: c.failureLimit,
    minRequests: c.minRequests,
    abandonAfterMs: c.abandonAfter,
    byDefault: c.byDefault,
  };
}

const configSchema = z
  .strictObject({
    services: z.record(scopeName('service'), serviceSchema.nullish().transform((s) => s ?? {})),
    environments: z.record(scopeName('environment'), environmentSchema.nullish().transform((e) => e ?? environmentSchema.parse({}))),
    channels: z
      .record(
        z.string().regex(SLACK_CHANNEL_ID, 'must be a Slack channel id such as C0123ABCD'),
        z.strictObject({ service: z.string(), env: z.string() }),
      )
      .default({}),
    /** Optional: without it `/lane setup` explains what to add. */
    setup: setupSchema.optional(),
    admins: z.array(slackPrincipal).default([]),
    /**
     * Idle lanes: a lane idle for `warnAfter` is warned in its thread (with Renew buttons) and deleted
     * at `deleteAfter` unless renewed; `maxRenewal` caps `/lane renew <lane> <duration>`. `never`: no
     * lane expires (environments may still set their own).
     */
    expiry: z
      .preprocess(
        neverAsFlag,
        z.strictObject({ never: z.literal(true).optional(), warnAfter: duration.prefault('6d'), deleteAfter: duration.prefault('7d'), maxRenewal: duration.prefault('30d') }),
      )
      .prefault({}),
    /** How many deploys and other changes (commands and button clicks that queue work) per user and per channel. */
    limits: z.strictObject({ perUser: rate.prefault('20/1m'), perChannel: rate.prefault('60/1m') }).prefault({}),
  })
  .superRefine((config, ctx) => {
    if (Object.keys(config.services).length === 0) {
      ctx.addIssue({ code: 'custom', path: ['services'], message: 'declare at least one service' });
    }
    if (Object.keys(config.environments).length === 0) {
      ctx.addIssue({ code: 'custom', path: ['environments'], message: 'declare at least one environment' });
    }
    for (const [channel, binding] of Object.entries(config.channels)) {
      if (!Object.hasOwn(config.services, binding.service)) {
        ctx.addIssue({ code: 'custom', path: ['channels', channel, 'service'], message: `"${binding.service}" is not declared under services` });
      }
      if (!Object.hasOwn(config.environments, binding.env)) {
        ctx.addIssue({ code: 'custom', path: ['channels', channel, 'env'], message: `"${binding.env}" is not declared under environments` });
      }
    }
    for (const [name, env] of Object.entries(config.environments)) {
      if ((env.protected || env.approval) && env.approvers.length === 0) {
        ctx.addIssue({ code: 'custom', path: ['environments', name, 'approvers'], message: 'a protected environment needs at least one approver' });
      }
    }
    for (const [service, settings] of Object.entries(config.services)) {
      for (const env of Object.keys(config.environments)) {
        const name = renderPipelineName(settings.pipeline, { service, env });
        if (!PIPELINE_NAME.test(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['services', service, 'pipeline'],
            message: `gives "${name}" for env ${env}, which is not a valid CodePipeline name (A-Z a-z 0-9 . @ _ -, at most 100)`,
          });
        }
      }
    }
    if (config.expiry.deleteAfter <= config.expiry.warnAfter) {
      ctx.addIssue({ code: 'custom', path: ['expiry', 'deleteAfter'], message: 'must be longer than expiry.warnAfter' });
    }
    for (const [name, env] of Object.entries(config.environments)) {
      if (env.expiry === undefined || env.expiry.never) continue;
      const warnAfter = env.expiry.warnAfter ?? config.expiry.warnAfter;
      const deleteAfter = env.expiry.deleteAfter ?? config.expiry.deleteAfter;
      if (deleteAfter <= warnAfter) {
        ctx.addIssue({ code: 'custom', path: ['environments', name, 'expiry', 'deleteAfter'], message: `must be longer than warnAfter` });
      }
    }
  });

export type LanebotConfig = z.output<typeof configSchema>;
export type VerifySettings = z.output<typeof environmentSchema>['verify'];
export type ApprovalSettings = NonNullable<z.output<typeof environmentSchema>['approval']>;
export type SetupConfig = z.output<typeof setupSchema>;

function renderPipelineName(template: string | undefined, scope: Scope): string {
  if (template === undefined) return defaultPipelineName(scope);
  return template.replaceAll('{service}', scope.service).replaceAll('{env}', scope.env);
}

export function pipelineNameFor(config: LanebotConfig, scope: Scope): string {
  return renderPipelineName(config.services[scope.service]?.pipeline, scope);
}

/** Every environment (and whether it is protected) and every service's app pipeline in it. */
export function deliveryPlan(config: LanebotConfig): { environments: { env: string; protected: boolean }[]; apps: { service: string; env: string; pipeline: string }[] } {
  const environments = Object.entries(config.environments).map(([env, options]) => ({ env, protected: options.protected }));
  const apps = Object.keys(config.services).flatMap((service) =>
    environments.map(({ env }) => ({ service, env, pipeline: pipelineNameFor(config, { service, env }) })),
  );
  return { environments, apps };
}

/** Parses and validates config text; `source` names the file in error messages. */
export function parseConfig(text: string, source = 'lanebot.yml'): LanebotConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(`${source} is not valid YAML: ${doc.errors[0]!.message}`);
  }
  // Aliases (`*name`) can expand without bound (an "alias bomb"), and a config this size never needs them.
  let alias: string | undefined;
  visit(doc, {
    Alias(_key, node) {
      alias = `*${node.source}`;
      return visit.BREAK;
    },
  });
  if (alias !== undefined) {
    throw new ConfigError(`${source} uses the YAML alias ${alias.slice(0, 60)}: lanebot does not accept aliases (they can expand without bound). Write the values out.`);
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 0 }) ?? {};
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  - ${formatIssue(issue)}`);
    throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}`);
  }
  return result.data;
}

export function loadConfig(path: string): LanebotConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `cannot read the config file ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}). ` +
        'Set LANEBOT_CONFIG to its path; lanebot.example.yml shows the format.',
    );
  }
  return parseConfig(text, path);
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const where = issue.path.length > 0 ? `${key}: ` : '';
    return `${where}unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  if (issue.code === 'invalid_key') {
    // A bad record key (a service, environment or channel name): zod keeps the reason one level down.
    const badKey = issue.path.length > 0 ? String(issue.path[issue.path.length - 1]) : key;
    return `${key}: "${badKey}" is not a valid key: ${issue.issues.map((inner) => inner.message).join('; ')}`;
  }
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) {
    return `${key}: required (${issue.expected})`;
  }
  return `${key}: ${issue.message}`;
}

// ---------------------------------------------------------------------------------------------
// Environment variables (DESIGN.md's contract, plus a few lanebot-specific extras).

const envSchema = z
  .object({
    SLACK_BOT_TOKEN: z.string({ error: 'required: the bot token (xoxb-…)' }).min(1, 'required: the bot token (xoxb-…)'),
    SLACK_SIGNING_SECRET: z.string().min(1).optional(),
    SLACK_APP_TOKEN: z.string().min(1).optional(),
    SLACK_API_URL: z.url({ error: 'must be a URL such as https://slack.com/api/' }).default('https://slack.com/api/'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    /** One Redis (`redis://`, `rediss://`), or a cluster: `redis+cluster://host:port,host:port` (`rediss+cluster://` for TLS). */
    REDIS_URL: z
      .string()
      .regex(/^rediss?(\+cluster)?:\/\//, 'must be a redis://, rediss://, redis+cluster:// or rediss+cluster:// URL')
      .default('redis://127.0.0.1:6379'),
    /** A Redis Cluster's nodes (`host:port,host:port`; one reachable node is enough). Set, it wins over REDIS_URL. */
    REDIS_CLUSTER_NODES: z.string().optional(),
    LANEBOT_CONFIG: z.string().min(1).default('./lanebot.yml'),
    CLOUD: z.enum(['aws', 'sim'], { error: 'must be "aws" or "sim"' }).default('aws'),
    SIM_TIME_SCALE: z.coerce.number().positive('must be a positive number').default(1),
    AWS_REGION: z.string().optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Namespaces every Redis key (queues and state), so several bots or tests can share one Redis. */
    LANEBOT_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]+$/, 'must be letters, digits, :, _ or -').default('lanebot'),
    /** Where `/lane setup` reads the pipeline templates; default: the templates/ lanebot ships with. */
    LANEBOT_TEMPLATES_DIR: z.string().min(1).optional(),
    /**
     * The SQS queue of CloudWatch alarm state changes (templates/lanebot-alarm-events.yaml, output
     * QueueUrl). Without it, alarm changes still reach the lanes' threads through the once-a-minute
     * DescribeAlarms pass, only later.
     */
    ALARM_EVENTS_QUEUE_URL: z.url({ error: 'must be the queue URL, such as https://sqs.us-east-1.amazonaws.com/123456789012/lanebot-alarm-events' }).optional(),
    /**
     * The SQS queue of CodePipeline state changes (templates/lanebot-pipeline-events.yaml, output
     * QueueUrl). With it, an execution that moved wakes its operation at once and the pipeline
     * watch lists the pipelines less often; without it, the list poll alone sees every change.
     */
    PIPELINE_EVENTS_QUEUE_URL: z.url({ error: 'must be the queue URL, such as https://sqs.us-east-1.amazonaws.com/123456789012/lanebot-pipeline-events' }).optional(),
    /** Which parts this process runs: the Slack receiver, the workers, or both. */
    LANEBOT_ROLE: z.enum(['all', 'web', 'worker']).default('all'),
    /**
     * Turns on the queue dashboard at /admin/queues (src/admin/queue-dashboard.ts), reachable only
     * with this token (bearer, or basic-auth password). Unset: the dashboard does not exist (404).
     */
    ADMIN_TOKEN: z
      .string()
      .min(24, 'must be at least 24 characters (e.g. `openssl rand -hex 32`); it guards the queue dashboard')
      .optional(),
  })
  .superRefine((env, ctx) => {
    const redisTarget = parseRedisTarget(env.REDIS_URL, env.REDIS_CLUSTER_NODES);
    if ('error' in redisTarget) {
      const [key, message] = redisTarget.error.split(/: (.*)/s);
      ctx.addIssue({ code: 'custom', path: [key ?? 'REDIS_URL'], message: message ?? redisTarget.error });
    }
    if (!env.SLACK_APP_TOKEN && !env.SLACK_SIGNING_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['SLACK_SIGNING_SECRET'],
        message: 'required in HTTP mode (set SLACK_APP_TOKEN instead to use Socket Mode)',
      });
    }
  });

export type EnvOptions = z.output<typeof envSchema>;

export function readEnvOptions(env: NodeJS.ProcessEnv = process.env): EnvOptions {
  // Treat empty strings (`FOO=` in a .env file) as unset so defaults apply.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = envSchema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  - ${issue.path.join('.') || '(env)'}: ${issue.message}`);
    throw new ConfigError(`environment is invalid:\n${lines.join('\n')}`);
  }
  return result.data;
}
