// Prometheus metrics, served at GET /metrics. One registry per bot instance so tests can run
// several bots in one process.
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();

  readonly commands = new Counter({
    name: 'lanebot_commands_total',
    help: 'Slash commands and button clicks received, by subcommand (or button) and outcome (run, rejected, failed).',
    labelNames: ['command', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly ackSeconds = new Histogram({
    name: 'lanebot_command_ack_seconds',
    help: 'Time from receiving a slash command to acknowledging it.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly jobs = new Counter({
    name: 'lanebot_jobs_total',
    help: 'Job runs by queue and outcome (done, later, failed).',
    labelNames: ['queue', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly operations = new Counter({
    name: 'lanebot_operations_total',
    help: 'Operations that ended, by kind (deploy, promote, canary, delete…) and final status (succeeded, failed, superseded…).',
    labelNames: ['kind', 'status'] as const,
    registers: [this.registry],
  });

  readonly canaryChecks = new Counter({
    name: 'lanebot_canary_checks_total',
    help: 'Checks of canary steps, by verdict (pass, fail, inconclusive).',
    labelNames: ['verdict'] as const,
    registers: [this.registry],
  });

  readonly workerPauses = new Counter({
    name: 'lanebot_worker_pauses_total',
    help: 'Times the workers of a LANEBOT_ROLE=all process stopped taking jobs during a burst of Slack requests (acks first).',
    registers: [this.registry],
  });

  readonly workerPausedSeconds = new Counter({
    name: 'lanebot_worker_paused_seconds_total',
    help: 'Time the workers of a LANEBOT_ROLE=all process spent paused during bursts of Slack requests.',
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }
}
