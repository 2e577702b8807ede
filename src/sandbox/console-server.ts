// The sandbox console: one HTTP server that is Slack for the bot (the Web API under /api/ and the
// response_urls under /response/), the console API the web page drives (people post messages,
// run slash commands, click buttons and submit modals, which reach the bot signed exactly as Slack
// sends them), a Server-Sent Events stream of message and modal changes, and the page's static files.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import { readBoundedBody, refuseTooLarge } from '../slack/receiver/bounded-body';
import { PAGE_SCRIPT, pageBundle, PageBundleError } from './page-bundle';
import { blockActionsBody, interactionBody, postSignedRequest, slashCommandBody, type ClickedButton, type SignedPostResult } from './slack-signing';
import {
  WorkspaceError,
  type MessageChange,
  type ModalChange,
  type ModalValues,
  type ResponseContext,
  type ResponseUrlBody,
  type SlackWorkspace,
  type WebApiResponse,
  type WorkspaceMessage,
} from './slack-workspace';
import { botMembershipBody, postSignedEvent, subteamMembersChangedBody } from './workspace/events-api';

/** A hook for routes the launcher adds (e.g. /sandbox/sim/...); resolves true when it answered. */
export type ExtraRoutes = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

export interface ConsoleServerOptions {
  workspace: SlackWorkspace;
  /** Where the bot listens (its /slack/events is below it); can be set later with setBotUrl. */
  botUrl?: string;
  /** The bot's SLACK_SIGNING_SECRET: commands and clicks are signed with it. */
  signingSecret: string;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** The web page's files; src/sandbox/public of the repository by default. */
  publicDir?: string;
  extraRoutes?: ExtraRoutes;
  logger?: Logger;
  /** How long the bot has to answer a command or click: Slack gives up after 3 seconds. */
  ackTimeoutMs?: number;
  /** How often an idle event stream gets a comment, so that proxies and browsers keep it open. */
  heartbeatMs?: number;
}

export interface ConsoleServer {
  /** The console's base URL (the page is at `${url}/`). */
  url: string;
  /** SLACK_API_URL for the bot. */
  apiUrl: string;
  setBotUrl(url: string): void;
  close(): Promise<void>;
}

const DEFAULT_ACK_TIMEOUT_MS = 3000;
const DEFAULT_HEARTBEAT_MS = 15_000;
/**
 * Body limits, checked by content-length and by counting (a larger body is answered 413 unread).
 * The Slack side (Web API calls, response_url posts) takes what the bot posts, up to Slack's own
 * size (a 40,000-character message with 50 blocks stays under 1 MB). The console API takes what a
 * person types or clicks: its largest legit body is a 40,000-character message, well under 256 KB.
 */
const MAX_BODY_BYTES = 1024 * 1024;
export const CONSOLE_BODY_LIMIT_BYTES = 256 * 1024;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** An answer to a bad request: `status` with `{ok: false, error: message}`. */
class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

/**
 * The repository's src/sandbox/public, found from this file whether it runs from src/sandbox
 * (tsx, jest) or from dist/src/sandbox (the build).
 */
export function defaultPublicDir(): string {
  const candidates = [join(__dirname, 'public'), resolve(__dirname, '..', '..', '..', 'src', 'sandbox', 'public')];
  return candidates.find((dir) => existsSync(dir)) ?? candidates[0]!;
}

export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const host = options.host ?? '127.0.0.1';
  const consoleServer = new SandboxConsole(options);
  const server = createServer((req, res) => void consoleServer.handle(req, res));
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${reachableHost(host)}:${port}`;
  if (!options.workspace.consoleUrl) options.workspace.consoleUrl = url;
  return {
    url,
    apiUrl: `${url}/api/`,
    setBotUrl: (botUrl) => consoleServer.setBotUrl(botUrl),
    close: () => consoleServer.close(server),
  };
}

/** A wildcard bind address is reached through loopback. */
function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

class SandboxConsole {
  private readonly workspace: SlackWorkspace;
  private readonly publicDir: string;
  private readonly logger?: Logger;
  private readonly streams = new Set<ServerResponse>();
  private botUrl?: string;

  constructor(private readonly options: ConsoleServerOptions) {
    this.workspace = options.workspace;
    this.publicDir = resolve(options.publicDir ?? defaultPublicDir());
    this.logger = options.logger?.child({ component: 'sandbox-console' });
    if (options.botUrl) this.setBotUrl(options.botUrl);
  }

  setBotUrl(url: string): void {
    this.botUrl = url.replace(/\/+$/, '');
  }

  async close(server: Server): Promise<void> {
    for (const stream of this.streams) stream.end();
    this.streams.clear();
    await new Promise<void>((done) => {
      server.close(() => done());
      // Keep-alive sockets (the bot's HTTP agent) would hold close() open.
      server.closeAllConnections();
    });
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      // URL parsing would quietly resolve `..` away; a request that uses it is refused instead.
      if (hasDotDotSegment(req.url ?? '/')) throw new HttpError(400, 'paths with .. are not served');
      const url = new URL(req.url ?? '/', 'http://console.invalid');
      await this.route(req, res, url);
    } catch (error) {
      this.answerError(res, error);
    }
  }

  private answerError(res: ServerResponse, error: unknown): void {
    if (error instanceof BodyTooLargeError) {
      if (!res.headersSent) refuseTooLarge(error.req, res, error.limit, 'json');
      return;
    }
    if (error instanceof HttpError || error instanceof WorkspaceError) {
      if (!res.headersSent) sendJson(res, error.status, { ok: false, error: error.message });
      return;
    }
    this.logger?.error({ err: error }, 'console request failed');
    if (!res.headersSent) sendJson(res, 500, { ok: false, error: `internal error: ${String(error)}` });
    else res.end();
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    if (path.startsWith('/api/')) return this.webApi(req, res, url);
    if (path.startsWith('/response/')) return this.responseUrlPost(req, res, path.slice('/response/'.length));
    const consoleRoute = this.consoleRoutes[`${req.method ?? 'GET'} ${path}`];
    if (consoleRoute) return consoleRoute(req, res, url);
    if (isConsolePath(path) && Object.keys(this.consoleRoutes).some((key) => key.endsWith(` ${path}`))) {
      throw new HttpError(405, `${req.method ?? ''} is not allowed on ${path}`);
    }
    if (this.options.extraRoutes && (await this.options.extraRoutes(req, res, url))) return;
    if (req.method === 'GET' || req.method === 'HEAD') return this.staticFile(req, res, path);
    throw new HttpError(404, `nothing at ${req.method ?? ''} ${path}`);
  }

  private readonly consoleRoutes: Record<string, (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>> = {
    'GET /sandbox/users': async (_req, res) => sendJson(res, 200, this.users()),
    'GET /sandbox/channels': async (_req, res) => sendJson(res, 200, this.workspace.listChannels()),
    'GET /sandbox/messages': async (_req, res, url) => sendJson(res, 200, this.messages(url)),
    'POST /sandbox/messages': async (req, res) => sendJson(res, 200, this.postMessage(await readJsonObject(req, CONSOLE_BODY_LIMIT_BYTES))),
    'POST /sandbox/commands': async (req, res) => this.command(res, await readJsonObject(req, CONSOLE_BODY_LIMIT_BYTES)),
    'POST /sandbox/actions': async (req, res) => this.action(res, await readJsonObject(req, CONSOLE_BODY_LIMIT_BYTES)),
    'GET /sandbox/events': async (req, res, url) => this.events(req, res, url),
    'GET /sandbox/usergroups': async (_req, res) => sendJson(res, 200, this.workspace.listUserGroups()),
    'POST /sandbox/usergroups': async (req, res) => sendJson(res, 200, await this.setUserGroupMembers(await readJsonObject(req, CONSOLE_BODY_LIMIT_BYTES))),
    'GET /sandbox/modals': async (_req, res, url) => sendJson(res, 200, this.workspace.listModals(url.searchParams.get('user') ?? undefined)),
    'POST /sandbox/modals/submit': async (req, res) => this.submitModal(res, await readJsonObject(req, CONSOLE_BODY_LIMIT_BYTES)),
    'POST /sandbox/modals/close': async (req, res) => sendJson(res, 200, this.closeModal(await readJsonObject(req, CONSOLE_BODY_LIMIT_BYTES))),
    'POST /sandbox/channels/bot': async (req, res) => sendJson(res, 200, await this.setBotMembership(await readJsonObject(req, CONSOLE_BODY_LIMIT_BYTES))),
  };

  /**
   * Someone adds the bot to a channel or removes it: `{channel, member, by?}`. Slack then sends the
   * bot member_joined_channel or channel_left; the answer says whether the bot took it.
   */
  private async setBotMembership(body: Record<string, unknown>): Promise<unknown> {
    if (typeof body.member !== 'boolean') throw new HttpError(400, 'member is required (true: add the bot, false: remove it)');
    const by = typeof body.by === 'string' ? body.by : undefined;
    const change = this.workspace.setBotMembership(requiredField(body, 'channel'), body.member, by);
    if (!change) return { ok: true, changed: false };
    return { ok: true, changed: true, event: await this.deliverEvent(botMembershipBody(change, this.workspace.bot, this.workspace.team)) };
  }

  /** POSTs a signed Events API body to the bot; says whether it took it (the change stands either way, as in Slack). */
  private async deliverEvent(body: string): Promise<{ delivered: boolean; status?: number; error?: string }> {
    if (!this.botUrl) return { delivered: false, error: 'the bot is not running yet (no bot URL is set)' };
    const endpoint = `${this.botUrl}/slack/events`;
    try {
      const answer = await postSignedEvent(endpoint, body, this.options.signingSecret, { timeoutMs: this.options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS });
      const delivered = answer.status >= 200 && answer.status < 300;
      return delivered ? { delivered, status: answer.status } : { delivered, status: answer.status, error: answer.body.slice(0, 200) };
    } catch (error) {
      this.logger?.warn({ endpoint, err: error }, 'the bot did not take an event');
      return { delivered: false, error: `the bot at ${endpoint} is unreachable or slow (${describeFetchError(error)})` };
    }
  }

  /**
   * An admin sets a user group's members: `{id, users}`. Slack then sends the bot a signed
   * subteam_members_changed event; the answer says whether the bot took it (the change stands
   * either way, as in Slack, which does not undo an edit because an app was down).
   */
  private async setUserGroupMembers(body: Record<string, unknown>): Promise<unknown> {
    const users = body.users;
    if (!Array.isArray(users) || !users.every((u) => typeof u === 'string')) {
      throw new HttpError(400, 'users is required (an array of user ids, possibly empty)');
    }
    const change = this.workspace.setUserGroupMembers(requiredField(body, 'id'), users as string[]);
    const result = { ok: true, usergroup: change.group, added: change.added, removed: change.removed };
    if (!this.botUrl) return { ...result, event: { delivered: false, error: 'the bot is not running yet (no bot URL is set)' } };
    const endpoint = `${this.botUrl}/slack/events`;
    const timeoutMs = this.options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
    try {
      const answer = await postSignedEvent(endpoint, subteamMembersChangedBody(change, this.workspace.bot, this.workspace.team), this.options.signingSecret, {
        timeoutMs,
      });
      const delivered = answer.status >= 200 && answer.status < 300;
      return { ...result, event: delivered ? { delivered, status: answer.status } : { delivered, status: answer.status, error: answer.body.slice(0, 200) } };
    } catch (error) {
      this.logger?.warn({ endpoint, err: error }, 'the bot did not take a subteam_members_changed event');
      return { ...result, event: { delivered: false, error: `the bot at ${endpoint} is unreachable or slow (${describeFetchError(error)})` } };
    }
  }

  // ---- Slack, for the bot -------------------------------------------------------------------------

  private async webApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = decodeURIComponent(url.pathname.slice('/api/'.length));
    const params = await readWebApiParams(req, url);
    if (params === undefined) return sendJson(res, 200, { ok: false, error: 'invalid_form_data' });
    sendWebApi(res, this.workspace.handleWebApi(method, params));
  }

  private async responseUrlPost(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    if (req.method !== 'POST') throw new HttpError(405, 'response_urls take POST');
    let body: Record<string, unknown>;
    try {
      body = await readJsonObject(req);
    } catch (error) {
      if (error instanceof HttpError && error.status === 400) return sendJson(res, 400, { ok: false, error: 'invalid_payload' });
      throw error;
    }
    sendWebApi(res, this.workspace.handleResponseUrl(decodeURIComponent(id), body as ResponseUrlBody));
  }

  // ---- the console API --------------------------------------------------------------------------

  private users(): Array<{ id: string; name: string; realName: string; title: string }> {
    return this.workspace.humans().map(({ id, name, realName, title }) => ({ id, name, realName, title }));
  }

  private messages(url: URL): unknown {
    const channel = url.searchParams.get('channel');
    if (!channel) throw new HttpError(400, 'the channel query parameter is required (?channel=C…)');
    return this.workspace.consoleMessages(channel, url.searchParams.get('user') ?? undefined);
  }

  private postMessage(body: Record<string, unknown>): unknown {
    const message = this.workspace.postAsUser({
      user: requiredField(body, 'user'),
      channel: requiredField(body, 'channel'),
      text: requiredField(body, 'text'),
      threadTs: optionalField(body, 'thread_ts'),
    });
    return { ok: true, ts: message.ts, message };
  }

  /** A person runs a slash command: Slack signs it to the bot and shows the ack to that person. */
  private async command(res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const text = typeof body.text === 'string' ? body.text : undefined;
    if (text === undefined) throw new HttpError(400, 'text is required (the command text after /lane; may be empty)');
    const command = optionalField(body, 'command') ?? '/lane';
    if (!/^\/[\w-]+$/.test(command)) throw new HttpError(400, `command must look like /name, not ${JSON.stringify(command)}`);
    const { user, channel } = this.workspace.requireMember(requiredField(body, 'user'), requiredField(body, 'channel'));
    const threadTs = this.threadOf(channel.id, optionalField(body, 'thread_ts'));
    const botUrl = this.requireBotUrl();
    const context: ResponseContext = { user: user.id, channel: channel.id, threadTs };
    const responseUrl = this.workspace.responseUrl(this.workspace.registerResponseUrl(context));
    const request = slashCommandBody({
      text,
      command,
      userId: user.id,
      userName: user.name,
      channelId: channel.id,
      channelName: channel.name,
      responseUrl,
      team: this.workspace.team,
      apiAppId: this.workspace.bot.appId,
      triggerId: this.workspace.issueTrigger(user.id),
    });
    const answer = await this.sendToBot(botUrl, request, (slackError) =>
      // What Slack shows the user when the app does not answer in time or answers with an error.
      this.workspace.slackbotSays(user.id, channel.id, `${command} failed with the error "${slackError}"`, threadTs),
    );
    if (!answer.ok) return sendJson(res, 502, answer.error);
    const ack = parseAck(answer.result);
    if (ack) {
      const refused = this.workspace.applyResponse(context, ack);
      if (refused) this.logger?.warn({ error: refused }, 'the bot acked the command with a body Slack would refuse');
    }
    sendJson(res, 200, { ok: true, status: answer.result.status, ack: ack ?? null, responseUrl });
  }

  /** A person clicks a button: Slack sends the bot a signed block_actions payload. */
  private async action(res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const { user, channel } = this.workspace.requireMember(requiredField(body, 'user'), requiredField(body, 'channel'));
    const ts = requiredField(body, 'ts');
    const actionId = requiredField(body, 'actionId');
    const value = optionalField(body, 'value');
    const message = this.workspace.message(channel.id, ts);
    if (!message || (message.ephemeralFor && message.ephemeralFor !== user.id)) {
      throw new HttpError(404, `no message ${ts} in #${channel.name} that ${user.name} can see`);
    }
    const button = findButton(message, actionId, value);
    if (!button) {
      const withValue = value === undefined ? '' : ` and value ${JSON.stringify(value)}`;
      throw new HttpError(404, `message ${ts} has no button with action_id ${JSON.stringify(actionId)}${withValue}`);
    }
    const botUrl = this.requireBotUrl();
    const context: ResponseContext = { user: user.id, channel: channel.id, threadTs: message.thread_ts, messageTs: message.ts };
    const responseUrl = this.workspace.responseUrl(this.workspace.registerResponseUrl(context));
    const request = blockActionsBody({
      user: { id: user.id, username: user.name, name: user.name },
      channel: { id: channel.id, name: channel.name },
      message: { ...this.workspace.toApiMessage(message), ts: message.ts, text: message.text },
      isEphemeral: Boolean(message.ephemeralFor),
      button,
      responseUrl,
      team: this.workspace.team,
      apiAppId: this.workspace.bot.appId,
      // Valid for 3 seconds, once: what the bot needs to open a modal (views.open) for this click.
      triggerId: this.workspace.issueTrigger(user.id),
    });
    // Slack marks a failed click on the button itself; there is no message to add.
    const answer = await this.sendToBot(botUrl, request, () => undefined);
    if (!answer.ok) return sendJson(res, 502, answer.error);
    sendJson(res, 200, { ok: true, status: answer.result.status, ack: parseAck(answer.result) ?? null, responseUrl });
  }

  /**
   * A person submits the modal they see: `{user, viewId, values}`, values as block_id → text (or
   * block_id → action_id → text). Slack's client checks required inputs and lengths first (then
   * nothing is sent); otherwise the bot gets a signed view_submission and its HTTP answer decides:
   * empty → closed, response_action errors → open with the errors, clear / update / push.
   */
  private async submitModal(res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const user = requiredField(body, 'user');
    const viewId = requiredField(body, 'viewId');
    const values = body.values ?? {};
    if (typeof values !== 'object' || values === null || Array.isArray(values)) throw new HttpError(400, 'values must be an object: block_id → text');
    const prepared = this.workspace.prepareViewSubmission(user, viewId, values as ModalValues);
    if (!prepared.ok) return sendJson(res, 200, { ok: true, sent: false, outcome: 'errors', errors: prepared.errors, modal: prepared.modal });
    const botUrl = this.requireBotUrl();
    // Slack keeps the modal open and says it had trouble connecting; nothing else changes.
    const answer = await this.sendToBot(botUrl, interactionBody(prepared.payload), () => undefined);
    if (!answer.ok) return sendJson(res, 502, answer.error);
    const applied = this.workspace.applyViewSubmissionAnswer(user, viewId, answer.result.body);
    if (applied.outcome === 'failed') {
      this.logger?.warn({ viewId, error: applied.error }, 'the bot answered a view_submission with something Slack would refuse');
      return sendJson(res, 502, { ok: false, status: answer.result.status, error: applied.error, modal: applied.modal });
    }
    sendJson(res, 200, { ok: true, sent: true, status: answer.result.status, ...applied, modal: applied.modal ?? null });
  }

  /** A person closes the modal they see (its close button): `{user, viewId}`. */
  private closeModal(body: Record<string, unknown>): unknown {
    const { closed } = this.workspace.closeModal(requiredField(body, 'user'), requiredField(body, 'viewId'));
    return { ok: true, closed: closed.map((m) => m.id) };
  }

  private requireBotUrl(): string {
    if (!this.botUrl) throw new HttpError(503, 'the bot is not running yet (no bot URL is set)');
    return this.botUrl;
  }

  private threadOf(channel: string, threadTs: string | undefined): string | undefined {
    if (!threadTs) return undefined;
    const message = this.workspace.message(channel, threadTs);
    if (!message || message.ephemeralFor) throw new HttpError(404, `no message ${threadTs} in ${channel} to reply to`);
    return message.thread_ts ?? message.ts;
  }

  /** Posts a signed request to the bot; a bot that is down, slow or refusing becomes a clear error. */
  private async sendToBot(
    botUrl: string,
    body: string,
    onFailure: (slackError: 'dispatch_failed' | 'operation_timeout') => unknown,
  ): Promise<{ ok: true; result: SignedPostResult } | { ok: false; error: Record<string, unknown> }> {
    const endpoint = `${botUrl}/slack/events`;
    const timeoutMs = this.options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
    let result: SignedPostResult;
    try {
      result = await postSignedRequest(endpoint, body, this.options.signingSecret, { timeoutMs });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      onFailure(timedOut ? 'operation_timeout' : 'dispatch_failed');
      const why = timedOut ? `did not answer within ${timeoutMs} ms` : `is unreachable (${describeFetchError(error)})`;
      this.logger?.warn({ endpoint, err: error }, 'the bot did not take a request');
      return { ok: false, error: { ok: false, error: `the bot at ${endpoint} ${why}` } };
    }
    if (result.status < 200 || result.status >= 300) {
      onFailure('dispatch_failed');
      const error = `the bot at ${endpoint} answered HTTP ${result.status}${result.body ? `: ${result.body.slice(0, 200)}` : ''}`;
      return { ok: false, error: { ok: false, status: result.status, error } };
    }
    return { ok: true, result };
  }

  // ---- events -------------------------------------------------------------------------------------

  /**
   * Server-Sent Events: every message change (`message`) and modal change (`modal`: opened, updated,
   * closed); with ?user=U, others' ephemerals and modals are left out.
   */
  private async events(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const viewer = url.searchParams.get('user') ?? undefined;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': connected\n\n');
    const listener = (change: MessageChange): void => {
      if (viewer && change.message.visibleTo && change.message.visibleTo !== viewer) return;
      res.write(`event: message\ndata: ${JSON.stringify(change)}\n\n`);
    };
    const onModal = (change: ModalChange): void => {
      if (viewer && change.modal.user !== viewer) return;
      res.write(`event: modal\ndata: ${JSON.stringify(change)}\n\n`);
    };
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), this.options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
    heartbeat.unref();
    this.workspace.on('change', listener);
    this.workspace.on('modal', onModal);
    this.streams.add(res);
    const stop = (): void => {
      clearInterval(heartbeat);
      this.workspace.off('change', listener);
      this.workspace.off('modal', onModal);
      this.streams.delete(res);
    };
    req.on('close', stop);
    res.on('close', stop);
  }

  // ---- static files -------------------------------------------------------------------------------

  private async staticFile(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    const file = this.publicPath(pathname);
    const info = await stat(file).catch(() => undefined);
    if (info?.isFile()) return sendFile(req, res, file, await readFile(file));
    // The page's script is not a file of publicDir but the bundle of src/sandbox/page (page-bundle.ts);
    // a publicDir that has its own app.js (the tests' stand-in page) is served as it is.
    const bundled = pathname === `/${PAGE_SCRIPT}` || pathname === `/${PAGE_SCRIPT}.map`;
    if (!bundled) throw new HttpError(404, `no file ${pathname}`);
    const bundle = await pageBundle().catch((error: unknown) => {
      if (!(error instanceof PageBundleError)) throw error;
      // Said where the person who started the console looks, and to the browser.
      this.logger?.error({ err: error, code: error.code }, error.message);
      throw new HttpError(500, error.message);
    });
    const content = bundle.get(pathname.slice(1));
    if (!content) throw new HttpError(404, `no file ${pathname}`);
    sendFile(req, res, pathname, content);
  }

  /** The file under publicDir a URL path names; anything that could leave publicDir is refused. */
  private publicPath(pathname: string): string {
    const decoded = decodePath(pathname);
    if (hasDotDotSegment(pathname) || decoded.includes('\0')) throw new HttpError(400, 'paths with .. or NUL are not served');
    const relative = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
    const file = resolve(this.publicDir, relative);
    if (file !== this.publicDir && !file.startsWith(this.publicDir + sep)) throw new HttpError(400, 'the path leaves the public directory');
    return file;
  }
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    throw new HttpError(400, 'the path is not valid URL encoding');
  }
}

/** Whether the path part of a request target has a `..` segment, also encoded or with backslashes. */
function hasDotDotSegment(target: string): boolean {
  const path = target.split('?')[0] ?? '';
  return decodePath(path).split(/[/\\]/).includes('..');
}

function isConsolePath(path: string): boolean {
  return path.startsWith('/sandbox/');
}

// ---- request and response helpers ---------------------------------------------------------------------

/** A body over its limit: answered 413 and the connection closed, the rest never read. */
class BodyTooLargeError extends HttpError {
  constructor(
    readonly req: IncomingMessage,
    readonly limit: number,
  ) {
    super(413, `the body is larger than ${limit} bytes`);
  }
}

async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const read = await readBoundedBody(req, limit);
  if (read.ok) return read.body.toString('utf8');
  if (read.reason === 'too-large') throw new BodyTooLargeError(req, limit);
  throw new HttpError(400, 'the request ended before its body did');
}

async function readJsonObject(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Record<string, unknown>> {
  const raw = await readBody(req, limit);
  if (!raw.trim()) throw new HttpError(400, 'the body is empty; send a JSON object');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new HttpError(400, `the body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new HttpError(400, 'the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/**
 * Web API parameters as Slack takes them: query string plus a form-encoded or JSON body.
 * Undefined when the body cannot be parsed.
 */
async function readWebApiParams(req: IncomingMessage, url: URL): Promise<Record<string, unknown> | undefined> {
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const raw = await readBody(req);
  if (!raw) return params;
  if (req.headers['content-type']?.includes('application/json')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
      return { ...params, ...(parsed as Record<string, unknown>) };
    } catch {
      return undefined;
    }
  }
  return { ...params, ...Object.fromEntries(new URLSearchParams(raw)) };
}

function requiredField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '') throw new HttpError(400, `${name} is required (a non-empty string)`);
  return value;
}

function optionalField(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new HttpError(400, `${name} must be a string`);
  return value;
}

/** What the bot put in its ack: a JSON message, plain text, or nothing. */
function parseAck(result: SignedPostResult): ResponseUrlBody | undefined {
  const raw = result.body.trim();
  if (!raw) return undefined;
  if (result.contentType.includes('application/json') || raw.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as ResponseUrlBody;
    } catch {
      // Not JSON after all: Slack shows it as text.
    }
  }
  return { text: raw };
}

/** The clicked button: an `actions` block element or a section accessory with this action_id (and value). */
function findButton(message: WorkspaceMessage, actionId: string, value: string | undefined): ClickedButton | undefined {
  for (const block of message.blocks ?? []) {
    const record = block as { type?: unknown; block_id?: unknown; elements?: unknown; accessory?: unknown };
    const candidates = record.type === 'actions' && Array.isArray(record.elements) ? record.elements : [record.accessory];
    for (const element of candidates) {
      const button = element as { type?: unknown; action_id?: unknown; value?: unknown; text?: unknown; style?: unknown } | undefined;
      if (button?.type !== 'button' || button.action_id !== actionId) continue;
      if (value !== undefined && button.value !== value) continue;
      return {
        actionId,
        blockId: typeof record.block_id === 'string' ? record.block_id : '',
        value: typeof button.value === 'string' ? button.value : undefined,
        text: button.text,
        style: typeof button.style === 'string' ? button.style : undefined,
      };
    }
  }
  return undefined;
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

function sendFile(req: IncomingMessage, res: ServerResponse, name: string, content: Uint8Array): void {
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream',
    'content-length': content.length,
    'cache-control': 'no-cache',
  });
  res.end(req.method === 'HEAD' ? undefined : content);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendWebApi(res: ServerResponse, answer: WebApiResponse): void {
  if (typeof answer.body === 'string') {
    res.writeHead(answer.status, { 'content-type': 'text/plain; charset=utf-8', ...answer.headers });
    res.end(answer.body);
    return;
  }
  res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', ...answer.headers });
  res.end(JSON.stringify(answer.body));
}
