// The console's simulator controls (`/sandbox/sim/...`), for the page and for scripts: what the
// simulated account holds (executions, stacks, lanes' health) and the levers a person pulls to see
// how the bot reacts (fail a stage or a stack operation, fail the bot's next AWS calls, answer an
// approval, make a lane unhealthy or slow, delete an image from the registry, move the clock). Bad input is answered 400 with a message that names the field.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LanebotConfig } from '../config';
import { MAX_P99_MS, MAX_UNHEALTHY_TARGETS, type SimLaneView } from '../cloud/sim/sim-lane-health';
import { CANARY_LANE } from '../cloud/sim/sim-stack-families';
import type { SimTraffic } from '../cloud/sim/sim-traffic';
import { checkedInjection } from '../cloud/sim/sim-faults';
import { validateLane } from '../domain/names';
import { isLanebotError } from '../errors';
import type { Lanebot } from '../lanebot';
import type { ExtraRoutes } from './console-server';

/** CloudFormation's stack name rule. */
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;

/** Input the caller got wrong: answered 400 with this message. */
class BadRequest extends Error {}

export function simControlRoutes(bot: Lanebot, config: LanebotConfig): ExtraRoutes {
  return async (req, res, url) => {
    if (!url.pathname.startsWith('/sandbox/sim/')) return false;
    const { sim, simStacks, simHealth, simFaults, simImages, simTraffic } = bot;
    if (!sim) return send(res, 409, { ok: false, error: 'the bot does not run with CLOUD=sim' });
    // Every pipeline of the simulated account: app pipelines and each env's infra-{env} and boot-{env}.
    const pipelines = sim.pipelines().map((p) => p.name);
    const route = `${req.method} ${url.pathname}`;
    try {
      switch (route) {
        case 'GET /sandbox/sim/state': {
          const [executions, stacks, lanes, faults, images] = await Promise.all([
            sim.recentExecutions(50),
            simStacks?.list() ?? [],
            simHealth?.lanes() ?? [],
            simFaults?.pending() ?? [],
            simImages?.list() ?? [],
          ]);
          const traffic = await laneTraffic(simTraffic, lanes);
          return send(res, 200, {
            ok: true,
            pipelines,
            executions: executions.map((e) => ({
              pipeline: e.pipelineName,
              executionId: e.executionId,
              lane: e.variables.LANE,
              branch: e.variables.BRANCH,
              status: e.status,
              statusSummary: e.statusSummary,
              startedAt: e.startedAt,
              stages: e.stages.map((s) => ({ name: s.name, status: s.status })),
              // Set while the execution waits at a manual approval: answer it with POST /sandbox/sim/approve.
              pendingApproval: e.pendingApproval ?? null,
            })),
            stacks: stacks.map((s) => ({
              name: s.stackName,
              family: s.family,
              status: s.status,
              statusReason: s.statusReason,
              lastOperation: s.lastOperation ?? null,
              parameters: s.parameters,
              outputs: s.outputs,
            })),
            lanes: lanes.map((l) => ({
              service: l.service,
              env: l.env,
              lane: l.lane,
              stack: l.stackName,
              stackStatus: l.stackStatus ?? null,
              errorRatePercent: l.errorRatePercent,
              unhealthyTargets: l.unhealthyTargets,
              p99Ms: l.p99Ms,
              // Lane `canary` (the canary stack): the lane whose settings it follows; set that lane's health.
              canaryOf: l.canaryOf ?? null,
              // Its target group's traffic over the last 5 simulated minutes (the metrics port's figures).
              traffic: (l.targetGroupArn && traffic.get(l.targetGroupArn)) || null,
              desiredTasks: l.desiredTasks,
              runningTasks: l.runningTasks,
              targetHealth: l.targetHealth
                ? {
                    healthy: l.targetHealth.healthy,
                    unhealthy: l.targetHealth.unhealthy,
                    initial: l.targetHealth.initial,
                    draining: l.targetHealth.draining,
                    unused: l.targetHealth.unused,
                    unavailable: l.targetHealth.unavailable,
                    targets: l.targetHealth.targets,
                  }
                : null,
              alarms: l.alarms,
            })),
            clock: { offsetMs: bot.simClock?.offset ?? 0, now: bot.simClock?.now() ?? Date.now() },
            // Armed with POST /sandbox/sim/fail-next-call, in the order they will fail the bot's calls.
            faults,
            // What the app pipelines' builds pushed, newest first; POST /sandbox/sim/delete-image removes one.
            images,
          });
        }
        case 'POST /sandbox/sim/fail-next': {
          const body = await readJson(req);
          const pipeline = typeof body.pipeline === 'string' ? body.pipeline : '';
          const stage = typeof body.stage === 'string' ? body.stage : '';
          if (!pipelines.includes(pipeline)) {
            return send(res, 400, { ok: false, error: `unknown pipeline "${pipeline}"; pipelines: ${pipelines.join(', ')}` });
          }
          const message = optionalText(body, 'message');
          await sim.failNextRun(pipeline, stage, message);
          return send(res, 200, { ok: true, pipeline, stage });
        }
        case 'POST /sandbox/sim/fail-next-stack': {
          if (!simStacks) return send(res, 409, { ok: false, error: 'this bot has no simulated stacks' });
          const body = await readJson(req);
          const stack = body.stack;
          if (typeof stack !== 'string' || !STACK_NAME.test(stack)) {
            throw new BadRequest('`stack` must be a stack name (a letter, then letters, digits and -, at most 128), e.g. app-user-api-dev-gray');
          }
          const reason = optionalText(body, 'reason');
          await simStacks.failNextOperation(stack, reason);
          // From the listing, not describeStack: that is the bot's port, and would consume an armed fault.
          const exists = (await simStacks.list()).some((s) => s.stackName === stack);
          return send(res, 200, { ok: true, stack, exists });
        }
        case 'POST /sandbox/sim/fail-next-call': {
          if (!simFaults) return send(res, 409, { ok: false, error: 'this bot has no simulated faults' });
          const body = await readJson(req);
          // checkedInjection names the bad field (INPUT_INVALID, answered 400 below).
          const injection = checkedInjection(body);
          const pending = await simFaults.inject(injection);
          return send(res, 200, { ok: true, ...injection, pending });
        }
        case 'POST /sandbox/sim/delete-image': {
          if (!simImages) return send(res, 409, { ok: false, error: 'this bot has no simulated registry' });
          const body = await readJson(req);
          const image = body.image;
          if (typeof image !== 'string' || image.trim() === '') {
            throw new BadRequest('`image` is required: an image URI of the simulated ECR, by tag or digest (see `images` in GET /sandbox/sim/state)');
          }
          // As ECR's lifecycle policy expiring it: a promote or rollback to it is refused from now on.
          const deleted = await simImages.deleteImage(image.trim());
          if (!deleted) return send(res, 404, { ok: false, error: `the simulated registry has no image ${image.trim()}` });
          return send(res, 200, { ok: true, image: image.trim(), digest: deleted });
        }
        case 'POST /sandbox/sim/approve': {
          const body = await readJson(req);
          const executionId = body.executionId;
          if (typeof executionId !== 'string' || executionId.trim() === '') throw new BadRequest('`executionId` is required (a pipeline execution id)');
          if (typeof body.approved !== 'boolean') throw new BadRequest('`approved` must be true (approve) or false (reject)');
          const summary = optionalText(body, 'summary');
          await sim.approve(executionId.trim(), body.approved, summary);
          return send(res, 200, { ok: true, executionId: executionId.trim(), approved: body.approved });
        }
        case 'POST /sandbox/sim/advance-clock': {
          if (!bot.simClock) return send(res, 409, { ok: false, error: 'this bot runs with a fixed clock' });
          const body = await readJson(req);
          const hours = numberField(body, 'hours');
          const days = numberField(body, 'days');
          if (hours === null || days === null) return send(res, 400, { ok: false, error: '`hours` and `days` must be non-negative numbers' });
          const offsetMs = await bot.simClock.advance(hours * 3_600_000 + days * 86_400_000);
          return send(res, 200, { ok: true, offsetMs, now: bot.simClock.now() });
        }
        case 'POST /sandbox/sim/lane-health': {
          if (!simHealth) return send(res, 409, { ok: false, error: 'this bot has no simulated lane health' });
          const body = await readJson(req);
          const service = body.service;
          const env = body.env;
          const lane = body.lane;
          if (typeof service !== 'string' || !config.services[service]) {
            throw new BadRequest(`\`service\` must be one of ${Object.keys(config.services).join(', ')}`);
          }
          if (typeof env !== 'string' || !config.environments[env]) {
            throw new BadRequest(`\`env\` must be one of ${Object.keys(config.environments).join(', ')}`);
          }
          if (typeof lane !== 'string') throw new BadRequest('`lane` is required (a lane name, e.g. gray)');
          // Said before the name check, which refuses the reserved name `canary` without saying why here.
          if (lane === CANARY_LANE) {
            throw new BadRequest("`lane`: the canary has no health of its own: it runs its source lane's release and behaves like that lane (its SourceLane); set that lane's health");
          }
          const valid = validateLane(lane, { service, env });
          if (!valid.ok) throw new BadRequest(`\`lane\`: ${valid.problem}`);
          const errorRatePercent = body.errorRatePercent;
          const unhealthyTargets = body.unhealthyTargets;
          const p99Ms = body.p99Ms;
          const failNextDeployment = body.failNextDeployment;
          if (failNextDeployment !== undefined && typeof failNextDeployment !== 'boolean') {
            throw new BadRequest('`failNextDeployment` must be true (or false, which changes nothing)');
          }
          if (errorRatePercent === undefined && unhealthyTargets === undefined && p99Ms === undefined && !failNextDeployment) {
            throw new BadRequest('give `errorRatePercent` (0 to 100), `unhealthyTargets` (a whole number), `p99Ms` (milliseconds) and/or `failNextDeployment: true`');
          }
          if (errorRatePercent !== undefined && !(typeof errorRatePercent === 'number' && errorRatePercent >= 0 && errorRatePercent <= 100)) {
            throw new BadRequest('`errorRatePercent` must be a number from 0 to 100 (percent of requests answered with a 5xx)');
          }
          if (unhealthyTargets !== undefined && !(Number.isInteger(unhealthyTargets) && (unhealthyTargets as number) >= 0 && (unhealthyTargets as number) <= MAX_UNHEALTHY_TARGETS)) {
            throw new BadRequest(`\`unhealthyTargets\` must be a whole number from 0 to ${MAX_UNHEALTHY_TARGETS}`);
          }
          if (p99Ms !== undefined && !(typeof p99Ms === 'number' && Number.isFinite(p99Ms) && p99Ms > 0 && p99Ms <= MAX_P99_MS)) {
            throw new BadRequest(`\`p99Ms\` must be a number of milliseconds above 0 and at most ${MAX_P99_MS} (the lane's TargetResponseTime p99)`);
          }
          const ref = { service, env, lane };
          // The circuit breaker for the lane's next ECS deployment (its next deploy's stack update).
          if (failNextDeployment) await simHealth.failNextDeployment(ref);
          const settings = await simHealth.setHealth(ref, {
            errorRatePercent: errorRatePercent as number | undefined,
            unhealthyTargets: unhealthyTargets as number | undefined,
            p99Ms: p99Ms as number | undefined,
          });
          return send(res, 200, {
            ok: true,
            ...ref,
            errorRatePercent: settings.errorRatePercent,
            unhealthyTargets: settings.unhealthyTargets,
            p99Ms: settings.p99Ms,
            failNextDeployment: failNextDeployment === true,
          });
        }
        default:
          return send(res, 404, { ok: false, error: `no simulator control ${route}` });
      }
    } catch (error) {
      if (error instanceof BadRequest || error instanceof RangeError || error instanceof SyntaxError) return send(res, 400, { ok: false, error: error.message });
      // The simulator's own refusals (no such stage, not waiting for an approval, …) are the caller's to fix.
      if (isLanebotError(error) && !error.retryable) return send(res, 400, { ok: false, error: error.message });
      return send(res, 500, { ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  };
}

/** How many simulated minutes of traffic the lanes' rows show. */
const TRAFFIC_MINUTES = 5;

interface LaneTraffic {
  requestsPerMinute: number;
  errorRatePercent: number | null;
  p99Ms: number | null;
}

/** Each lane's traffic by target group ARN: one read per service/env. */
async function laneTraffic(traffic: SimTraffic | undefined, lanes: readonly SimLaneView[]): Promise<Map<string, LaneTraffic>> {
  const byArn = new Map<string, LaneTraffic>();
  if (!traffic) return byArn;
  const scopes = new Map<string, { service: string; env: string; arns: string[] }>();
  for (const lane of lanes) {
    if (!lane.targetGroupArn) continue;
    const key = `${lane.service}/${lane.env}`;
    const scope = scopes.get(key) ?? { service: lane.service, env: lane.env, arns: [] };
    scope.arns.push(lane.targetGroupArn);
    scopes.set(key, scope);
  }
  for (const { service, env, arns } of scopes.values()) {
    const figures = await traffic.recentFigures({ service, env }, arns, TRAFFIC_MINUTES);
    for (const [arn, f] of Object.entries(figures)) {
      byArn.set(arn, {
        requestsPerMinute: Math.round(f.requests / TRAFFIC_MINUTES),
        errorRatePercent: f.errorRatePercent === undefined ? null : Math.round(f.errorRatePercent * 100) / 100,
        p99Ms: f.p99Ms === undefined ? null : Math.round(f.p99Ms),
      });
    }
  }
  return byArn;
}

/** A non-negative number field (0 when absent), or null when it is something else. */
function numberField(body: Record<string, unknown>, name: string): number | null {
  const value = body[name];
  if (value === undefined) return 0;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}

/** An optional free-text field, trimmed and capped; a non-string is refused by name. */
function optionalText(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new BadRequest(`\`${name}\` must be a string`);
  return value.trim() ? value.trim().slice(0, 500) : undefined;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new BadRequest('request body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch (error) {
    throw new BadRequest(`the body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BadRequest('the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
  return true;
}
