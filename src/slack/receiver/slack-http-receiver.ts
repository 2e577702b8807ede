// The HTTP edge in front of Bolt (a Bolt `Receiver`, like Bolt's own HTTPReceiver): POST /slack/events
// plus a few GET routes (/healthz, /metrics) and mounted handlers (the queue dashboard under
// /admin/queues, when on) on one port. What it refuses before Bolt sees anything:
//  - a body over the limit: 413 as soon as content-length or the bytes counted say so, unread;
//  - a bad or missing signature, a timestamp older than 5 minutes or more than 1 minute ahead: 401;
//  - a replay (a signature already taken, in any bot process sharing the Redis) and a Slack retry
//    (x-slack-retry-num) of a delivery already taken: 200 with an empty body, which is what Slack
//    expects for a duplicate, and nothing runs.
// Bolt's HTTPReceiver reads the whole body (up to 4 MB by default) before its checks and cannot
// see a replay; this receiver does the checks itself and hands the parsed body to `app.processEvent`.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HTTPModuleFunctions, ReceiverMultipleAckError, type App, type Logger as BoltLogger, type Receiver, type ReceiverEvent } from '@slack/bolt';
import type { Logger } from 'pino';
import { withTimeout } from '../../timeout';
import { readBoundedBody, refuseTooLarge, SLACK_BODY_LIMIT_BYTES } from './bounded-body';
import { DELIVERY_MEMORY_MS, deliveryKeyOf, signatureKeyOf } from './delivery-key';
import type { RequestLedger } from './request-ledger';
import { signatureMemoryMs, verifySlackSignature } from './slack-signature';

export const SLACK_EVENTS_PATH = '/slack/events';
/**
 * How long a request waits for the replay ledger. Past it (Redis slow or down) the request goes on
 * unchecked: refusing would also refuse `/lane help` and the "Redis is down" answers, and while
 * Redis does not answer nothing can be queued twice anyway.
 */
const LEDGER_TIMEOUT_MS = 500;

export type GetRoute = (req: IncomingMessage, res: ServerResponse) => void;
/** A handler of every request under a path prefix, whatever its method; it answers all of them itself. */
export type MountedHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface SlackHttpReceiverOptions {
  signingSecret: string;
  ledger: RequestLedger;
  logger: Logger;
  /** Bolt's logger shape, for Bolt's own ack helper. */
  boltLogger: BoltLogger;
  /** GET-only routes beside /slack/events, by exact path. They take no body. */
  routes?: Record<string, GetRoute>;
  /** Handlers by path prefix: each gets the prefix itself and every path below it (`prefix/…`). */
  mounts?: Record<string, MountedHandler>;
  bodyLimit?: number;
  /** Wall-clock ms; Slack's timestamps are real time, whatever clock the rest of the bot uses. */
  now?: () => number;
  /** How long a request waits for a listener's ack before it is answered 404; default 3,001 ms, as Bolt's HTTPReceiver. */
  unacknowledgedMs?: number;
}

export class SlackHttpReceiver implements Receiver {
  private app: App | undefined;
  private server: Server | undefined;
  private readonly bodyLimit: number;
  private readonly now: () => number;
  private readonly logger: Logger;

  constructor(private readonly options: SlackHttpReceiverOptions) {
    this.bodyLimit = options.bodyLimit ?? SLACK_BODY_LIMIT_BYTES;
    this.now = options.now ?? Date.now;
    this.logger = options.logger.child({ component: 'slack-edge' });
  }

  init(app: App): void {
    this.app = app;
  }

  /** Listens on `port` (0: any free port); resolves with the server once it listens. */
  async start(port: number): Promise<Server> {
    if (this.server) return this.server;
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  }

  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  /** The request listener (public so that a test or another server can mount it). */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === SLACK_EVENTS_PATH) {
      if (req.method !== 'POST') return answer(res, 405, { allow: 'POST' });
      void this.handleEvent(req, res).catch((error: unknown) => {
        this.logger.error({ err: error }, 'the Slack edge failed on a request');
        if (!res.headersSent) answer(res, 500);
      });
      return;
    }
    const route = this.options.routes?.[path];
    if (!route) {
      const mount = Object.entries(this.options.mounts ?? {}).find(([prefix]) => path === prefix || path.startsWith(`${prefix}/`));
      if (mount) return mount[1](req, res);
      return answer(res, 404);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, { allow: 'GET' });
    if (hasBody(req)) return refuseTooLarge(req, res, 0);
    route(req, res);
  };

  private async handleEvent(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const read = await readBoundedBody(req, this.bodyLimit);
    if (!read.ok) {
      if (read.reason === 'aborted') return void res.destroy();
      this.logger.warn({ limit: this.bodyLimit, contentLength: req.headers['content-length'], received: read.received }, 'refused a request body over the limit (413)');
      return refuseTooLarge(req, res, this.bodyLimit);
    }
    const raw = read.body;
    const contentType = header(req, 'content-type');

    // Slack's SSL check is not signed; answer it and read nothing from it.
    if (contentType?.startsWith('application/x-www-form-urlencoded') && new URLSearchParams(raw.toString('utf8')).get('ssl_check') === '1') {
      return answer(res, 200);
    }

    const signature = header(req, 'x-slack-signature');
    const now = this.now();
    const verdict = verifySlackSignature({ body: raw, signature, timestamp: header(req, 'x-slack-request-timestamp') }, this.options.signingSecret, now);
    if (!verdict.ok) {
      this.logger.warn({ problem: verdict.problem }, 'refused an unverified request (401); if every request fails, check that SLACK_SIGNING_SECRET is the app\'s signing secret');
      return answer(res, 401);
    }

    let body: Record<string, unknown>;
    try {
      const buffered = Object.assign(req, { rawBody: raw });
      body = HTTPModuleFunctions.parseHTTPRequestBody(buffered) as Record<string, unknown>;
      if (!body || typeof body !== 'object') throw new Error('the body is not an object');
    } catch (error) {
      this.logger.warn({ err: error }, 'refused a malformed request body (400)');
      return answer(res, 400);
    }

    if (body.type === 'url_verification') return HTTPModuleFunctions.buildUrlVerificationResponse(res, body);

    const retryNum = HTTPModuleFunctions.extractRetryNumFromHTTPRequest(req);
    const retryReason = HTTPModuleFunctions.extractRetryReasonFromHTTPRequest(req);
    const duplicate = await this.duplicateOf(signature as string, verdict.timestamp, body, raw, retryNum, now);
    if (duplicate) {
      this.logger.warn({ duplicate, retryNum, retryReason, type: body.type, command: body.command }, 'answered a request already taken without acting on it');
      return answer(res, 200);
    }

    if (!this.app) {
      // Only a wiring mistake gets here: Bolt's App calls init() in its constructor.
      this.logger.error('the Slack HTTP receiver has no Bolt app (init was not called)');
      return answer(res, 503);
    }
    const ack = httpAck(res, this.logger, this.options.unacknowledgedMs ?? UNACKNOWLEDGED_MS);
    const event: ReceiverEvent = { body, ack: ack.send, retryNum, retryReason };
    try {
      await this.app.processEvent(event);
    } catch (error) {
      // As Bolt's HTTPReceiver: 401 when authorize failed, 500 for anything else before the ack.
      const acknowledged = await HTTPModuleFunctions.defaultProcessEventErrorHandler({ error: error as Error, logger: this.options.boltLogger, request: req, response: res, storedResponse: undefined });
      if (acknowledged) ack.answered();
    }
  }

  /**
   * Records this request in the shared ledger; says why it is a duplicate, or undefined when it is
   * new. A signature already seen is a replay; a retry is a duplicate when its delivery was taken
   * (the first delivery recorded it). A first delivery records its delivery key too.
   */
  private async duplicateOf(
    signature: string,
    timestamp: number,
    body: unknown,
    raw: Buffer,
    retryNum: number | undefined,
    now: number,
  ): Promise<'replayed signature' | 'retry of a delivery already taken' | undefined> {
    const { ledger } = this.options;
    const checks = ledger.firstSightings([
      { key: signatureKeyOf(signature), ttlMs: signatureMemoryMs(timestamp, now) },
      { key: deliveryKeyOf(body, raw), ttlMs: DELIVERY_MEMORY_MS },
    ]);
    // Past the timeout the checks may still fail; nobody waits for them any more.
    checks.catch(() => undefined);
    let firstSignature: boolean;
    let firstDelivery: boolean;
    try {
      const [signatureAnswer, deliveryAnswer] = await withTimeout(checks, LEDGER_TIMEOUT_MS, `no answer within ${LEDGER_TIMEOUT_MS} ms`);
      firstSignature = signatureAnswer !== false;
      firstDelivery = deliveryAnswer !== false;
    } catch (error) {
      this.logger.warn({ err: error }, 'could not check the request against the replay ledger (Redis); taking it unchecked');
      return undefined;
    }
    if (!firstSignature) return 'replayed signature';
    if (retryNum !== undefined && !firstDelivery) return 'retry of a delivery already taken';
    return undefined;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function hasBody(req: IncomingMessage): boolean {
  const length = Number(req.headers['content-length'] ?? 0);
  return req.headers['transfer-encoding'] !== undefined || (Number.isFinite(length) && length > 0);
}

/** How long a request waits for a listener's ack before it is answered 404 (Bolt's HTTPReceiver waits as long). */
const UNACKNOWLEDGED_MS = 3_001;

/**
 * The ack Bolt hands to the listeners: the HTTP answer, sent at once, its length in its head, so
 * the answer leaves in one write. (Bolt's HTTPResponseAck writes the head before it knows the body,
 * which then goes chunked: five buffers and a `writev` per answer.) As Bolt's: a second ack throws
 * ReceiverMultipleAckError, and a request no listener acks within 3 s is answered 404.
 */
function httpAck(res: ServerResponse, logger: Logger, unacknowledgedMs: number): { send: (body?: unknown) => Promise<void>; answered(): void } {
  let acked = false;
  const unacknowledged = setTimeout(() => {
    if (acked || res.headersSent) return;
    logger.error({ waitedMs: unacknowledgedMs }, 'no listener acknowledged a Slack request in time; answered 404');
    answer(res, 404);
  }, unacknowledgedMs);
  const answered = () => {
    acked = true;
    clearTimeout(unacknowledged);
  };
  // Answered some other way (a 500 from a listener that threw before its ack, or the client gone):
  // the timer has nothing left to do.
  res.once('close', () => clearTimeout(unacknowledged));
  return {
    answered,
    async send(body?: unknown) {
      if (acked) throw new ReceiverMultipleAckError();
      answered();
      // Past the 3 s, the 404 went already; Slack has given up on this request.
      if (res.headersSent) return;
      if (body === undefined || body === null || body === '') return answer(res, 200, { 'content-length': '0' });
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      const headers: Record<string, string> = { 'content-length': String(Buffer.byteLength(text)) };
      if (typeof body !== 'string') headers['content-type'] = 'application/json';
      res.writeHead(200, headers);
      res.end(text);
    },
  };
}

function answer(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, headers);
  res.end();
}

