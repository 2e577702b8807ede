// The Bolt app: HTTP mode (POST /slack/events) or Socket Mode when SLACK_APP_TOKEN is set, plus
// GET /healthz and GET /metrics on the same port. Listeners are registered here by kind.
import {
  App,
  HTTPReceiver,
  LogLevel,
  SocketModeReceiver,
  type BlockAction,
  type ButtonAction,
  type CustomRoute,
  type Logger as BoltLogger,
  type Receiver,
  type SlackActionMiddlewareArgs,
} from '@slack/bolt';
import type { Logger } from 'pino';
import type { CommandDeps } from '../../commands/command';
import { deployAgain } from '../../commands/deploy';
import { COMMANDS, routeCommand } from '../../commands/index';
import type { LanebotConfig } from '../config';
import type { Metrics } from '../metrics';
import { ACTION_IDS, decodeActionValue } from './action-ids';
import { errorReplyText } from './error-reply';

export interface SlackAppOptions {
  botToken: string;
  signingSecret?: string;
  appToken?: string;
  slackApiUrl: string;
  /** HTTP port; in Socket Mode it still serves /healthz and /metrics. */
  port: number;
  config: LanebotConfig;
  commandDeps: CommandDeps;
  logger: Logger;
  metrics: Metrics;
  /** Answers GET /healthz: ok plus details. */
  health(): Promise<{ ok: boolean; details: Record<string, unknown> }>;
}

export interface SlackApp {
  app: App;
  receiver: Receiver;
  /** Starts listening; resolves with the HTTP port actually bound. */
  start(port: number): Promise<number>;
  stop(): Promise<void>;
}

export function createSlackApp(options: SlackAppOptions): SlackApp {
  const logger = options.logger.child({ component: 'slack' });
  const boltLogger = toBoltLogger(logger);
  const customRoutes: CustomRoute[] = [
    {
      path: '/healthz',
      method: ['GET'],
      handler: (_req, res) => {
        options
          .health()
          .catch((error: unknown) => ({ ok: false, details: { error: String(error) } }))
          .then(({ ok, details }) => {
            res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', ...details }));
          });
      },
    },
    {
      path: '/metrics',
      method: ['GET'],
      handler: (_req, res) => {
        options.metrics.registry.metrics().then((text) => {
          res.writeHead(200, { 'content-type': options.metrics.registry.contentType });
          res.end(text);
        });
      },
    },
  ];

  let receiver: HTTPReceiver | SocketModeReceiver;
  if (options.appToken) {
    receiver = new SocketModeReceiver({
      appToken: options.appToken,
      logger: boltLogger,
      customRoutes,
      installerOptions: { port: options.port },
    });
  } else {
    if (!options.signingSecret) throw new Error('HTTP mode needs SLACK_SIGNING_SECRET');
    receiver = new HTTPReceiver({
      signingSecret: options.signingSecret,
      endpoints: '/slack/events',
      customRoutes,
      logger: boltLogger,
      // Ack returns the HTTP response at once; the listener carries on after it.
      processBeforeResponse: false,
    });
  }

  const app = new App({
    receiver,
    logger: boltLogger,
    clientOptions: { slackApiUrl: options.slackApiUrl },
    // A fixed authorization instead of auth.test at start: starting must not depend on reaching
    // Slack, and the listeners never need the bot's own user id.
    authorize: async () => ({ botToken: options.botToken }),
  });

  app.command('/lane', async ({ command, ack, respond }) => {
    const received = process.hrtime.bigint();
    const routed = routeCommand({ text: command.text, userId: command.user_id, channelId: command.channel_id }, options.config);
    const log = logger.child({ user: command.user_id, channel: command.channel_id });
    if (routed.kind === 'reply') {
      await ack({ response_type: 'ephemeral', text: routed.reply.text });
      observeAck(options.metrics, received);
      options.metrics.commands.inc({ command: commandName(command.text), outcome: 'rejected' });
      return;
    }
    // Ack before anything touches Redis: Slack gives up on the command after 3 seconds.
    const early = routed.command.acknowledge?.(routed.ctx, routed.args);
    await ack(early ? { response_type: 'ephemeral', text: early } : undefined);
    observeAck(options.metrics, received);
    const name = routed.command.name;
    try {
      const reply = await routed.command.run(routed.ctx, routed.args, options.commandDeps);
      options.metrics.commands.inc({ command: name, outcome: 'run' });
      if (reply) await respond({ response_type: reply.visibility, text: reply.text, blocks: reply.blocks, replace_original: false });
    } catch (error) {
      options.metrics.commands.inc({ command: name, outcome: 'failed' });
      const text = errorReplyText(error, log, { command: name });
      await respond({ response_type: 'ephemeral', text, replace_original: false }).catch((respondError: unknown) =>
        log.error({ err: respondError }, 'could not deliver the error reply to Slack (response_url)'),
      );
    }
  });

  /**
   * "Deploy again" on a failed, stopped or cancelled deploy. The value only names the deploy;
   * deployAgain (commands/deploy.ts) reloads it and checks channel, lane, branch and clicker again.
   */
  async function deployAgainClicked({ ack, body, action, respond }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>>): Promise<void> {
    // The ack of a click cannot carry a message; the answer goes through response_url instead.
    await ack();
    const log = logger.child({ user: body.user.id, channel: body.channel?.id, action: ACTION_IDS.deployAgain });
    const count = (outcome: 'run' | 'rejected' | 'failed') => options.metrics.commands.inc({ command: 'deploy_again', outcome });
    const answer = (text: string) =>
      respond({ response_type: 'ephemeral', text, replace_original: false }).catch((respondError: unknown) =>
        log.error({ err: respondError }, 'could not deliver the answer to a click to Slack (response_url)'),
      );

    const decoded = decodeActionValue(action.value);
    const channelId = body.channel?.id;
    if (!decoded.ok || !channelId) {
      count('rejected');
      const problem = decoded.ok ? 'it was not clicked in a channel' : decoded.problem;
      log.warn({ problem }, 'refused a Deploy again click with an unusable payload');
      await answer(`:warning: This button is broken or outdated (${problem}); type \`/lane deploy <lane> <branch>\` instead.`);
      return;
    }
    try {
      const outcome = await deployAgain({ userId: body.user.id, channelId, deployId: decoded.value.deployId }, options.commandDeps);
      count(outcome.kind === 'queued' ? 'run' : 'rejected');
      await answer(outcome.reply.text);
    } catch (error) {
      count('failed');
      await answer(errorReplyText(error, log, { command: 'deploy_again', deployId: decoded.value.deployId }));
    }
  }

  app.action<BlockAction<ButtonAction>>(ACTION_IDS.deployAgain, deployAgainClicked);

  app.error(async (error) => {
    logger.error({ err: error }, 'unhandled error in a Slack listener');
  });

  let started = false;
  return {
    app,
    receiver,
    async start(requestedPort: number) {
      started = true;
      if (receiver instanceof HTTPReceiver) {
        const server = await receiver.start(requestedPort);
        const address = server.address();
        return typeof address === 'object' && address ? address.port : requestedPort;
      }
      await startSocketMode(receiver, logger);
      return options.port;
    },
    async stop() {
      if (started) await receiver.stop?.();
    },
  };
}

/**
 * Socket Mode connects to Slack at start. When Slack cannot be reached, keep retrying in the
 * background instead of failing: the workers and the health endpoint must keep running.
 */
async function startSocketMode(receiver: SocketModeReceiver, logger: Logger, attempt = 1): Promise<void> {
  try {
    await receiver.start();
    logger.info('connected to Slack in Socket Mode');
  } catch (error) {
    const delay = Math.min(60_000, 1000 * 2 ** attempt);
    logger.warn({ err: error, retryInMs: delay }, 'cannot reach Slack for Socket Mode yet; retrying');
    setTimeout(() => void startSocketMode(receiver, logger, attempt + 1), delay).unref();
  }
}

function observeAck(metrics: Metrics, since: bigint): void {
  metrics.ackSeconds.observe(Number(process.hrtime.bigint() - since) / 1e9);
}

/** A bounded metric label: known subcommands by name, anything else as "other". */
function commandName(text: string): string {
  const first = text.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  return COMMANDS.has(first) ? first : 'other';
}

function toBoltLogger(logger: Logger): BoltLogger {
  let level = LogLevel.INFO;
  return {
    debug: (...msgs) => logger.debug(msgs.map(String).join(' ')),
    info: (...msgs) => logger.info(msgs.map(String).join(' ')),
    warn: (...msgs) => logger.warn(msgs.map(String).join(' ')),
    error: (...msgs) => logger.error(msgs.map(String).join(' ')),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
