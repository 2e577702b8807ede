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
import { COMMANDS, laneOf, routeCommand } from '../../commands/index';
import type { Principal } from '../access/policy';
import type { AuditEntry } from '../audit/audit-log';
import type { LanebotConfig } from '../config';
import type { Metrics } from '../metrics';
import type { ButtonModule } from './actions/action';
import { BUTTONS, checkButtons } from './actions/index';
import { errorReplyText } from './error-reply';
import { registerChannelMembershipEvents, type ChannelMembershipEventsDeps } from './events/channel-membership';
import { registerSubteamMembersChanged } from './events/subteam-members-changed';

export interface SlackAppOptions {
  botToken: string;
  signingSecret?: string;
  appToken?: string;
  slackApiUrl: string;
  /** HTTP port; in Socket Mode it still serves /healthz and /metrics. */
  port: number;
  config: LanebotConfig;
  commandDeps: CommandDeps;
  /**
   * The user with the configured user groups they belong to, from lanebot's Redis copy (never a
   * Slack call: this runs before the ack). Resolves with no groups when Redis does not answer fast.
   */
  principalOf(userId: string): Promise<Principal>;
  /** Appends to the audit log; failures are logged, never shown to the user. */
  audit(entry: AuditEntry): Promise<void>;
  /** Slack says a user group's members changed: queue a refresh of lanebot's copy. */
  userGroupChanged(groupId: string): Promise<void>;
  /** Where the bot's own channel joins and leaves are recorded (src/chat/channel-membership.ts). */
  channelMembership?: ChannelMembershipEventsDeps['membership'];
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

  const audit = (entry: AuditEntry) =>
    options.audit(entry).catch((error: unknown) => logger.warn({ err: error, entry }, 'could not append to the audit log'));

  app.command('/lane', async ({ command, ack, respond }) => {
    const received = process.hrtime.bigint();
    const log = logger.child({ user: command.user_id, channel: command.channel_id });
    const principal = await options.principalOf(command.user_id);
    const routed = routeCommand({ text: command.text, principal, channelId: command.channel_id }, options.config);
    const auditCommand = (name: string, outcome: string, detail?: string, scope?: { service: string; env: string; lane?: string }) =>
      audit({ at: options.commandDeps.clock.now(), actor: command.user_id, action: `command:${name}`, outcome, channel: command.channel_id, detail, ...scope });
    if (routed.kind === 'reply') {
      await ack({ response_type: 'ephemeral', text: routed.reply.text });
      observeAck(options.metrics, received);
      const name = commandName(command.text);
      options.metrics.commands.inc({ command: name, outcome: 'rejected' });
      await auditCommand(name, 'refused', `${routed.reply.text} (typed: /lane ${command.text.slice(0, 200)})`, routed.scope);
      return;
    }
    // Ack before anything touches Redis: Slack gives up on the command after 3 seconds.
    const early = routed.command.acknowledge?.(routed.ctx, routed.args);
    await ack(early ? { response_type: 'ephemeral', text: early } : undefined);
    observeAck(options.metrics, received);
    const name = routed.command.name;
    const scope = { ...routed.ctx.scope, lane: laneOf(routed.args) };
    try {
      const reply = await routed.command.run(routed.ctx, routed.args, options.commandDeps);
      options.metrics.commands.inc({ command: name, outcome: 'run' });
      await auditCommand(name, reply?.refused ? 'refused' : 'accepted', reply?.refused ? reply.text : `/lane ${command.text.slice(0, 200)}`, scope);
      if (reply) await respond({ response_type: reply.visibility, text: reply.text, blocks: reply.blocks, replace_original: false });
    } catch (error) {
      options.metrics.commands.inc({ command: name, outcome: 'failed' });
      const text = errorReplyText(error, log, { command: name });
      await auditCommand(name, 'failed', text, scope);
      await respond({ response_type: 'ephemeral', text, replace_original: false }).catch((respondError: unknown) =>
        log.error({ err: respondError }, 'could not deliver the error reply to Slack (response_url)'),
      );
    }
  });

  /**
   * Every button: decode its value (a bad one is answered, never thrown), then its module's handler,
   * which re-reads the state in Redis and asks the access policy again. The answer goes through
   * response_url: the ack of a click cannot carry a message.
   */
  function registerButton<V>(button: ButtonModule<V>): void {
    app.action<BlockAction<ButtonAction>>(button.actionId, async ({ ack, body, action, respond }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>>) => {
      await ack();
      const userId = body.user.id;
      const channelId = body.channel?.id;
      const log = logger.child({ user: userId, channel: channelId, action: button.name });
      const count = (outcome: 'run' | 'rejected' | 'failed') => options.metrics.commands.inc({ command: button.name, outcome });
      const auditClick = (outcome: string, detail?: string, scope?: object) =>
        audit({ at: options.commandDeps.clock.now(), actor: userId, action: `click:${button.name}`, outcome, channel: channelId, detail, ...scope });
      const answer = (text: string) =>
        respond({ response_type: 'ephemeral', text, replace_original: false }).catch((respondError: unknown) =>
          log.error({ err: respondError }, 'could not deliver the answer to a click to Slack (response_url)'),
        );

      const decoded = button.decode(action.value);
      if (!decoded.ok || !channelId) {
        count('rejected');
        const problem = decoded.ok ? 'it was not clicked in a channel' : decoded.problem;
        log.warn({ problem }, 'refused a click with an unusable payload');
        await auditClick('refused', `unusable button value: ${problem}`);
        await answer(`:warning: This button is broken or outdated (${problem}); type ${button.instead} instead.`);
        return;
      }
      try {
        const principal = await options.principalOf(userId);
        const outcome = await button.handle({ principal, channelId, messageTs: body.message?.ts, value: decoded.value }, options.commandDeps);
        count(outcome.outcome === 'accepted' ? 'run' : 'rejected');
        await auditClick(outcome.outcome, outcome.detail, outcome.scope);
        if (outcome.replaceOriginal) {
          await respond({ replace_original: true, text: outcome.replaceOriginal.text, blocks: outcome.replaceOriginal.blocks }).catch((respondError: unknown) =>
            log.error({ err: respondError }, 'could not replace the clicked message (response_url)'),
          );
        }
        if (outcome.reply) await answer(outcome.reply);
      } catch (error) {
        count('failed');
        const text = errorReplyText(error, log, { action: button.name });
        await auditClick('failed', text);
        await answer(text);
      }
    });
  }

  checkButtons(BUTTONS);
  for (const button of BUTTONS) registerButton(button);

  registerSubteamMembersChanged(app, { onChanged: options.userGroupChanged, logger });
  if (options.channelMembership) registerChannelMembershipEvents(app, { membership: options.channelMembership, logger });

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
