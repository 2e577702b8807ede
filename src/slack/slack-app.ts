// The Bolt app: HTTP mode (POST /slack/events) or Socket Mode when SLACK_APP_TOKEN is set, plus
// GET /healthz, GET /metrics and any mounted handlers (the queue dashboard) on the same port.
// Listeners are registered here by kind.
import {
  App,
  LogLevel,
  SocketModeReceiver,
  type BlockAction,
  type ButtonAction,
  type CustomRoute,
  type Logger as BoltLogger,
  type Receiver,
  type SlackActionMiddlewareArgs,
  type SlackViewMiddlewareArgs,
  type ViewSubmitAction,
} from '@slack/bolt';
import type { Logger } from 'pino';
import type { CommandDeps, Reply } from '../../commands/command';
import { COMMANDS, laneOf, routeCommand } from '../../commands/index';
import type { Principal } from '../access/policy';
import type { AuditEntry } from '../audit/audit-log';
import { formatDuration } from '../chat/messages';
import { slowDownText, type RateDecision } from '../state/rate-limits';
import type { LanebotConfig } from '../config';
import type { Metrics } from '../metrics';
import type { ButtonModule } from './actions/action';
import { BUTTONS, checkButtons, REASON_MODALS } from './actions/index';
import { unknownActionHandler } from './actions/unknown-action';
import { MAX_REASON_LENGTH, REASON_BLOCK, type ReasonModalModule } from './actions/reason-modal';
import { withTimeout } from '../timeout';
import { errorReplyText } from './error-reply';
import { registerChannelMembershipEvents, type ChannelMembershipEventsDeps } from './events/channel-membership';
import { EventRouter } from './events/event-router';
import { registerSubteamMembersChanged } from './events/subteam-members-changed';
import { dropSocketModeRetries } from './receiver/socket-mode-retries';
import type { RequestLedger } from './receiver/request-ledger';
import { SlackHttpReceiver, type GetRoute, type MountedHandler } from './receiver/slack-http-receiver';

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
  /**
   * Counts a request that queues work against its user's and channel's rate limits (a Redis call,
   * before the ack). Fails open: with Redis unreachable nothing can be queued anyway.
   */
  rateLimit(userId: string, channelId: string): Promise<RateDecision>;
  /** Appends to the audit log; failures are logged, never shown to the user. */
  audit(entry: AuditEntry): Promise<void>;
  /** Slack says a user group's members changed: queue a refresh of lanebot's copy. */
  userGroupChanged(groupId: string): Promise<void>;
  /**
   * Called as each Slack request reaches the listeners, in both modes, before anything else runs
   * (the all-in-one process counts bursts with it: src/queue/ack-priority.ts). Must not do I/O.
   */
  onRequest?: () => void;
  /** Where the bot's own channel joins and leaves are recorded (src/chat/channel-membership.ts). */
  channelMembership?: ChannelMembershipEventsDeps['membership'];
  logger: Logger;
  metrics: Metrics;
  /**
   * The requests already taken, shared by every bot process (Redis): replays and Slack's retries
   * of a delivery already taken are answered without acting.
   */
  requestLedger: RequestLedger;
  /** Largest accepted POST /slack/events body; default SLACK_BODY_LIMIT_BYTES (64 KB). */
  bodyLimit?: number;
  /** Answers GET /healthz: ok plus details. */
  health(): Promise<{ ok: boolean; details: Record<string, unknown> }>;
  /**
   * Handlers by path prefix, served on the same port in both modes (the queue dashboard under
   * /admin/queues when ADMIN_TOKEN is set). Each answers every method itself, refusals included.
   */
  mounts?: Record<string, MountedHandler>;
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
  const routes: Record<string, GetRoute> = {
    '/healthz': (_req, res) => {
      options
        .health()
        .catch((error: unknown) => ({ ok: false, details: { error: String(error) } }))
        .then(({ ok, details }) => {
          res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', ...details }));
        });
    },
    '/metrics': (_req, res) => {
      options.metrics.registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': options.metrics.registry.contentType });
        res.end(text);
      });
    },
  };

  let receiver: SlackHttpReceiver | SocketModeReceiver;
  if (options.appToken) {
    const customRoutes: CustomRoute[] = [
      ...Object.entries(routes).map(([path, handler]) => ({ path, method: ['GET'], handler })),
      ...socketModeMountRoutes(options.mounts ?? {}),
    ];
    receiver = new SocketModeReceiver({
      appToken: options.appToken,
      logger: boltLogger,
      customRoutes,
      // clientOptions is where Bolt takes the Web API settings of its Socket Mode client: without
      // slackApiUrl, apps.connections.open (the call that gets the WebSocket URL) would go to
      // slack.com whatever SLACK_API_URL says (GovSlack, the tests).
      installerOptions: { port: options.port, clientOptions: { slackApiUrl: options.slackApiUrl } },
    });
  } else {
    if (!options.signingSecret) throw new Error('HTTP mode needs SLACK_SIGNING_SECRET');
    // lanebot's own edge instead of Bolt's HTTPReceiver: it caps the body before reading it and
    // refuses replays (src/slack/receiver/slack-http-receiver.ts). Acks return the HTTP response at
    // once; the listener carries on after it.
    receiver = new SlackHttpReceiver({
      signingSecret: options.signingSecret,
      ledger: options.requestLedger,
      logger,
      boltLogger,
      routes,
      mounts: options.mounts,
      bodyLimit: options.bodyLimit,
    });
  }

  const app = new App({
    receiver,
    logger: boltLogger,
    clientOptions: { slackApiUrl: options.slackApiUrl },
    // A fixed authorization instead of auth.test at start: starting must not depend on reaching
    // Slack, and the listeners never need the bot's own user id.
    authorize: async () => ({ botToken: options.botToken }),
    // No conversation store: nothing here uses it, and its in-memory default builds an Error for
    // every request whose channel it has not seen (all of them).
    convoStore: false,
  });

  if (options.onRequest) {
    const onRequest = options.onRequest;
    app.use(async ({ next }) => {
      onRequest();
      await next();
    });
  }
  // Socket Mode has no signatures to replay; Slack's redeliveries are dropped by payload instead.
  if (receiver instanceof SocketModeReceiver) app.use(dropSocketModeRetries(options.requestLedger, logger));

  const audit = (entry: AuditEntry) =>
    options.audit(entry).catch((error: unknown) => logger.warn({ err: error, entry }, 'could not append to the audit log'));

  app.command('/lane', async ({ command, ack, respond }) => {
    const received = process.hrtime.bigint();
    const log = logger.child({ user: command.user_id, channel: command.channel_id });
    const principal = await options.principalOf(command.user_id);
    const routed = routeCommand({ text: command.text, principal, channelId: command.channel_id, responseUrl: command.response_url }, options.config);
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
    const name = routed.command.name;
    const scope = { ...routed.ctx.scope, lane: laneOf(routed.args) };
    // Counted before anything runs: a refused request queues nothing.
    if (routed.command.acknowledge) {
      const limited = await options.rateLimit(command.user_id, command.channel_id);
      if (!limited.allowed) {
        const text = slowDownText(limited, formatDuration);
        await ack({ response_type: 'ephemeral', text });
        observeAck(options.metrics, received);
        options.metrics.commands.inc({ command: name, outcome: 'rejected' });
        await auditCommand(name, 'refused', text, scope);
        return;
      }
    }
    // The command's answer, whatever happens (a reply, or the error's text); audited once. The audit
    // entry is sent as the answer is known, and waited for after the ack: the ack need not wait for
    // its round trip (audit() never rejects).
    let audited: Promise<unknown> = Promise.resolve();
    const answer = (async (): Promise<Answer> => {
      try {
        const reply = await routed.command.run(routed.ctx, routed.args, options.commandDeps);
        options.metrics.commands.inc({ command: name, outcome: 'run' });
        audited = auditCommand(name, reply?.refused ? 'refused' : 'accepted', reply?.refused ? reply.text : `/lane ${command.text.slice(0, 200)}`, scope);
        if (reply) return reply;
        return { text: routed.command.acknowledge?.(routed.ctx, routed.args), visibility: 'ephemeral' };
      } catch (error) {
        options.metrics.commands.inc({ command: name, outcome: 'failed' });
        const text = errorReplyText(error, log, { command: name });
        audited = auditCommand(name, 'failed', text, scope);
        return { text, visibility: 'ephemeral' };
      }
    })();
    const deliver = async (reply: Answer) => {
      if (reply.text) {
        await respond({ response_type: reply.visibility, text: reply.text, blocks: reply.blocks, replace_original: false }).catch((respondError: unknown) =>
          log.error({ err: respondError }, 'could not deliver the answer to Slack (response_url)'),
        );
      }
      await delivered(reply);
    };
    // What the command queued to follow its answer may go now (whether or not the answer arrived).
    const delivered = (reply: Answer) =>
      reply.afterDelivery?.().catch((error: unknown) => log.warn({ err: error }, 'could not let the follow-up of a command go; it goes by itself shortly'));

    if (!routed.command.acknowledge) {
      // Reads (list, status, history…) and confirmations: ack at once, answer through response_url.
      await ack();
      observeAck(options.metrics, received);
      await deliver(await answer);
      await audited;
      return;
    }
    // A command that queues work: the ack confirms it only once Redis has taken it. Redis answers in
    // milliseconds; if it does not within ACK_CONFIRM_MS, the ack says so honestly (well inside
    // Slack's 3 s) and the outcome follows through response_url.
    // (`answer` never rejects: a rejection here is the timeout. Its timer goes once the answer is in.)
    const settled = await withTimeout(answer, ACK_CONFIRM_MS, 'not confirmed yet').catch(() => undefined);
    if (settled) {
      await ack(settled.text ? { response_type: 'ephemeral', text: settled.text, blocks: settled.blocks } : undefined);
      observeAck(options.metrics, received);
      await delivered(settled);
      await audited;
      return;
    }
    await ack({ response_type: 'ephemeral', text: NOT_YET_CONFIRMED });
    observeAck(options.metrics, received);
    await deliver(await answer);
    await audited;
  });

  /**
   * Every button, through one listener that finds its module by action id (one Bolt listener per
   * button would run each one's middleware for every request Slack sends, commands included). A
   * button's value is decoded (a bad one is answered, never thrown), then its module's handler
   * re-reads the state in Redis and asks the access policy again. The answer goes through
   * response_url: the ack of a click cannot carry a message.
   */
  checkButtons(BUTTONS);
  const buttons = new Map(BUTTONS.map((button) => [button.actionId, button]));
  const unknownAction = unknownActionHandler(logger);
  app.action<BlockAction>({ type: 'block_actions' }, async ({ ack, body, action, respond }) => {
    const button = 'action_id' in action ? buttons.get(action.action_id) : undefined;
    if (!button) return void (await unknownAction({ ack, body, action }));
    await ack();
    await clickButton(button, body, action as ButtonAction, respond);
  });

  async function clickButton<V>(button: ButtonModule<V>, body: BlockAction, action: ButtonAction, respond: SlackActionMiddlewareArgs['respond']): Promise<void> {
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
      const limited = await options.rateLimit(userId, channelId);
      if (!limited.allowed) {
        count('rejected');
        const text = slowDownText(limited, formatDuration);
        await auditClick('refused', text);
        await answer(text);
        return;
      }
      const principal = await options.principalOf(userId);
      const outcome = await button.handle({ principal, channelId, messageTs: body.message?.ts, triggerId: body.trigger_id, value: decoded.value }, options.commandDeps);
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
  }

  /**
   * Every reason modal (src/slack/actions/reason-modal.ts): the reason is required and bounded, the
   * metadata decoded like a button value, and the module re-checks who submitted before it acts.
   * Its answer is the ack itself: errors keep the modal open under the reason field.
   */
  async function submitReasonModal<V>(modal: ReasonModalModule<V>, { ack, body, view }: SlackViewMiddlewareArgs<ViewSubmitAction>): Promise<void> {
    const userId = body.user.id;
    const log = logger.child({ user: userId, view: modal.callbackId });
    const fail = (text: string) => ack({ response_action: 'errors', errors: { [REASON_BLOCK]: text.replace(/^:[a-z_]+: /, '').slice(0, 150) } });
    const decoded = modal.decode(view.private_metadata);
    const reason = (view.state.values[REASON_BLOCK]?.[REASON_BLOCK]?.value ?? '').trim();
    if (!decoded.ok) return void (await fail('This dialog is broken or outdated; click Reject again.'));
    if (reason === '') return void (await fail('Say why: the reason goes into the thread and the audit log.'));
    if (reason.length > MAX_REASON_LENGTH) return void (await fail(`At most ${MAX_REASON_LENGTH} characters, please.`));
    try {
      const principal = await options.principalOf(userId);
      const outcome = await modal.submit(decoded.value, reason, principal, options.commandDeps);
      if (outcome.outcome === 'accepted') await ack();
      else await fail(outcome.reply ?? 'You cannot do this.');
      await audit({ at: options.commandDeps.clock.now(), actor: userId, action: `click:${modal.name}`, outcome: outcome.outcome === 'accepted' ? 'rejected' : 'refused', detail: outcome.outcome === 'accepted' ? reason : outcome.detail, ...outcome.scope });
    } catch (error) {
      await fail(errorReplyText(error, log, { view: modal.callbackId }));
    }
  }

  // Every modal submission through one listener, by callback id (as the buttons: one Bolt listener
  // per modal would run its middleware for every request). A submission of a modal lanebot does not
  // know is left alone, as before there was one listener: another listener may take it, else the
  // edge answers 404 after 3 s and Slack shows the person an error in the modal.
  const modals = new Map(REASON_MODALS.map((modal) => [modal.callbackId, modal]));
  if (modals.size !== REASON_MODALS.length) throw new Error('two reason modals share a callback id (src/slack/actions/index.ts)');
  app.view<ViewSubmitAction>({ type: 'view_submission' }, async (args) => {
    const modal = modals.get(args.view.callback_id);
    if (modal) await submitReasonModal(modal, args);
  });

  const events = new EventRouter();
  registerSubteamMembersChanged(events, { onChanged: options.userGroupChanged, logger });
  if (options.channelMembership) registerChannelMembershipEvents(events, { membership: options.channelMembership, logger });
  events.attach(app);

  app.error(async (error) => {
    logger.error({ err: error }, 'unhandled error in a Slack listener');
  });

  let started = false;
  return {
    app,
    receiver,
    async start(requestedPort: number) {
      started = true;
      if (receiver instanceof SlackHttpReceiver) {
        const server = await receiver.start(requestedPort);
        const address = server.address();
        return typeof address === 'object' && address ? address.port : requestedPort;
      }
      await startSocketMode(receiver, logger);
      return options.port;
    },
    async stop() {
      if (!started) return;
      if (receiver instanceof SocketModeReceiver) {
        // Bolt's stop() asks the Socket Mode client to disconnect without waiting for it. Wait for
        // the close handshake (bounded): Slack then sends no more envelopes to this process, and no
        // close-handshake timer of the client outlives the stop.
        await Promise.race([receiver.client.disconnect(), delay(SOCKET_MODE_CLOSE_MS)]);
      }
      await receiver.stop?.();
    },
  };
}

/** Every method a mounted handler answers (it refuses the ones it does not take, after its own checks). */
const MOUNT_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * Mounted handlers as Bolt custom routes for Socket Mode's HTTP server. Bolt matches a route with
 * path-to-regexp (v8): `{/*rest}` is an optional wildcard, so the prefix itself and every path
 * below it reach the handler, as they do in HTTP mode.
 */
export function socketModeMountRoutes(mounts: Record<string, MountedHandler>): CustomRoute[] {
  return Object.entries(mounts).map(([prefix, handler]) => ({ path: `${prefix}{/*rest}`, method: MOUNT_METHODS, handler }));
}

/** A command's answer as the listener delivers it: a reply, or the text of what went wrong. */
type Answer = Pick<Reply, 'blocks' | 'visibility' | 'afterDelivery'> & { text?: string };

/**
 * Socket Mode connects to Slack at start. When Slack cannot be reached, keep retrying in the
 * background instead of failing: the workers and the health endpoint must keep running.
 */
async function startSocketMode(receiver: SocketModeReceiver, logger: Logger, attempt = 1): Promise<void> {
  try {
    // The first try starts the receiver: its HTTP server (health, metrics) listens at once, then the
    // client connects. A retry reconnects the client only: listening again would throw
    // ERR_SERVER_ALREADY_LISTEN on every later try, and the bot would never reach Slack.
    await (attempt === 1 ? receiver.start() : receiver.client.start());
    logger.info('connected to Slack in Socket Mode');
  } catch (error) {
    const delay = Math.min(60_000, 1000 * 2 ** attempt);
    logger.warn({ err: error, retryInMs: delay }, 'cannot reach Slack for Socket Mode yet; retrying');
    setTimeout(() => void startSocketMode(receiver, logger, attempt + 1), delay).unref();
  }
}

/** How long stop() waits for Slack to confirm that the Socket Mode connection is closed. */
const SOCKET_MODE_CLOSE_MS = 3_000;

/**
 * How long the ack of a command that queues work waits for Redis to take it. Redis answers in a few
 * milliseconds; this bound keeps the ack well inside Slack's 3 seconds when it does not.
 */
export const ACK_CONFIRM_MS = 1_500;

export const NOT_YET_CONFIRMED =
  ':hourglass_flowing_sand: lanebot has not yet been able to confirm that this is queued (its Redis is slow to answer). ' +
  'It tells you here as soon as it knows, either way; do not run the command again meanwhile.';

/** Resolves with undefined after `ms`; the timer does not hold the process open. */
function delay(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms).unref());
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
    // Bolt logs at debug several times per request; the text is built only when someone reads it.
    debug: (...msgs) => {
      if (logger.isLevelEnabled('debug')) logger.debug(msgs.map(String).join(' '));
    },
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
