// The console's simulator controls (`/sandbox/sim/...`), for the page and for scripts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipelineNameFor, type LanebotConfig } from '../config';
import { isLanebotError } from '../errors';
import type { Lanebot } from '../lanebot';
import type { ExtraRoutes } from './console-server';

export function simControlRoutes(bot: Lanebot, config: LanebotConfig): ExtraRoutes {
  const sim = bot.sim;
  const pipelines = Object.keys(config.services).flatMap((service) =>
    Object.keys(config.environments).map((env) => pipelineNameFor(config, { service, env })),
  );

  return async (req, res, url) => {
    if (!url.pathname.startsWith('/sandbox/sim/')) return false;
    if (!sim) return send(res, 409, { ok: false, error: 'the bot does not run with CLOUD=sim' });
    const route = `${req.method} ${url.pathname}`;
    try {
      switch (route) {
        case 'GET /sandbox/sim/state': {
          const executions = await sim.recentExecutions(50);
          return send(res, 200, {
            ok: true,
            pipelines,
            executions: executions.map((e) => ({
              pipeline: e.pipelineName,
              executionId: e.executionId,
              lane: e.variables.LANE,
              branch: e.variables.BRANCH,
              status: e.status,
              startedAt: e.startedAt,
              stages: e.stages.map((s) => ({ name: s.name, status: s.status })),
            })),
            // Stacks, target health and alarms come with the simulator's next parts.
            stacks: [],
            lanes: [],
            clock: { offsetMs: bot.simClock?.offset ?? 0, now: bot.simClock?.now() ?? Date.now() },
          });
        }
        case 'POST /sandbox/sim/fail-next': {
          const body = await readJson(req);
          const pipeline = typeof body.pipeline === 'string' ? body.pipeline : '';
          const stage = typeof body.stage === 'string' ? body.stage : '';
          if (!pipelines.includes(pipeline)) {
            return send(res, 400, { ok: false, error: `unknown pipeline "${pipeline}"; pipelines: ${pipelines.join(', ')}` });
          }
          const message = typeof body.message === 'string' && body.message.trim() ? body.message.trim().slice(0, 500) : undefined;
          await sim.failNextRun(pipeline, stage, message);
          return send(res, 200, { ok: true, pipeline, stage });
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
        case 'POST /sandbox/sim/lane-health':
          return send(res, 501, { ok: false, error: 'not in the simulator yet: lane health (5xx rate, unhealthy targets) comes with its next version' });
        default:
          return send(res, 404, { ok: false, error: `no simulator control ${route}` });
      }
    } catch (error) {
      if (isLanebotError(error) || error instanceof RangeError) return send(res, 400, { ok: false, error: error.message });
      return send(res, 400, { ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  };
}

/** A non-negative number field (0 when absent), or null when it is something else. */
function numberField(body: Record<string, unknown>, name: string): number | null {
  const value = body[name];
  if (value === undefined) return 0;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const parsed: unknown = text ? JSON.parse(text) : {};
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
  return true;
}
