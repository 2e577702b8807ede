// Slack's side of Socket Mode, for tests: the Web API method apps.connections.open (called with the
// app-level token, it answers the URL of a WebSocket server this class runs) and that server, which
// speaks Slack's Socket Mode protocol: `hello` on every new connection, envelopes
// ({envelope_id, type, payload, accepts_response_payload}) that the app must ack by sending back
// {envelope_id, payload?}, and `disconnect` messages that make the app reconnect.
// Every other Web API call is passed on to the tests' Slack (SlackStub), so one SLACK_API_URL
// serves both, as slack.com does.
// Protocol: https://docs.slack.dev/apis/events-api/using-socket-mode
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** The envelope types Slack sends over a Socket Mode connection. */
export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

/** What the app sent back for one envelope. */
export interface Ack {
  envelopeId: string;
  /** The connection (1 = the first) the ack came on. */
  connection: number;
  payload?: Record<string, unknown>;
}

export class SocketModeSlack {
  /** The token of every apps.connections.open call, in order. */
  readonly connectionsOpened: string[] = [];
  /** How many of the next apps.connections.open calls fail (Slack unreachable at the app's start). */
  failOpens = 0;
  /** What those failing calls answer (internal_error: the client retries by itself; invalid_auth: it gives up, and lanebot retries). */
  failWith = 'internal_error';
  /** Every ack received, in order. */
  readonly acks: Ack[] = [];
  private http?: Server;
  private wss?: WebSocketServer;
  private readonly sockets: WebSocket[] = [];
  private readonly waiting = new Map<string, (ack: Ack) => void>();

  /** `upstream`: the Web API base URL every other method goes to (SlackStub.apiUrl). */
  constructor(private readonly upstream: string) {}

  async start(): Promise<this> {
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => this.wss!.once('listening', () => resolve()));
    this.wss.on('connection', (socket) => this.accept(socket));
    this.http = createServer((req, res) => void this.webApi(req, res));
    await new Promise<void>((resolve) => this.http!.listen(0, '127.0.0.1', () => resolve()));
    return this;
  }

  async stop(): Promise<void> {
    // A close handshake, not a cut: the client would otherwise keep its own close timer (30 s) running.
    await Promise.all(
      this.sockets
        .filter((socket) => socket.readyState !== socket.CLOSED)
        .map(
          (socket) =>
            new Promise<void>((resolve) => {
              const cut = setTimeout(() => socket.terminate(), 2_000);
              socket.once('close', () => {
                clearTimeout(cut);
                resolve();
              });
              socket.close(1001, 'going away');
            }),
        ),
    );
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => {
      if (!this.http) return resolve();
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  /** SLACK_API_URL for the bot. */
  get apiUrl(): string {
    return `http://127.0.0.1:${(this.http!.address() as AddressInfo).port}/api/`;
  }

  /** How many WebSocket connections the app opened so far (each one got its hello). */
  get connections(): number {
    return this.sockets.length;
  }

  /** Whether the newest connection is open. */
  get connected(): boolean {
    const socket = this.sockets.at(-1);
    return socket !== undefined && socket.readyState === socket.OPEN;
  }

  /**
   * Sends an envelope on the newest connection; resolves with the app's ack of it. Never times out
   * by itself: the test's own timeout (or waitFor) bounds it.
   */
  send(type: EnvelopeType, payload: Record<string, unknown>): Promise<Ack> {
    const socket = this.sockets.at(-1);
    if (!socket || socket.readyState !== socket.OPEN) throw new Error('the app has no open Socket Mode connection');
    const envelopeId = randomUUID();
    const acked = new Promise<Ack>((resolve) => this.waiting.set(envelopeId, resolve));
    // Slack lets the app answer in the ack only where an answer means something (commands, modals).
    const acceptsResponsePayload = type !== 'events_api';
    socket.send(JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: acceptsResponsePayload, ...(type === 'events_api' ? { retry_attempt: 0, retry_reason: '' } : {}) }));
    return acked;
  }

  /** Slack asks the app to reconnect (it is about to recycle the connection). */
  disconnect(reason: 'refresh_requested' | 'warning' | 'link_disabled' = 'refresh_requested'): void {
    const socket = this.sockets.at(-1);
    if (!socket) throw new Error('the app has no Socket Mode connection');
    socket.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-test' } }));
  }

  private accept(socket: WebSocket): void {
    this.sockets.push(socket);
    const connection = this.sockets.length;
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { envelope_id?: string; payload?: Record<string, unknown> };
      if (!message.envelope_id) return;
      const ack: Ack = { envelopeId: message.envelope_id, connection, ...(message.payload ? { payload: message.payload } : {}) };
      this.acks.push(ack);
      this.waiting.get(message.envelope_id)?.(ack);
      this.waiting.delete(message.envelope_id);
    });
    socket.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'applink-test', approximate_connection_time: 18060 }, connection_info: { app_id: 'A1' } }));
  }

  private async webApi(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    const path = target.split('?')[0]!;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (path === '/api/apps.connections.open') {
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      this.connectionsOpened.push(token);
      // Slack answers not_allowed_token_type to anything but an app-level token (xapp-).
      const failing = this.failOpens > 0;
      if (failing) this.failOpens -= 1;
      const answer = failing
        ? { ok: false, error: this.failWith }
        : token.startsWith('xapp-')
        ? { ok: true, url: `ws://127.0.0.1:${(this.wss!.address() as AddressInfo).port}/link/?ticket=${randomUUID()}` }
        : { ok: false, error: 'not_allowed_token_type' };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
      return;
    }
    const forwarded = await fetch(new URL(target.slice('/api/'.length), this.upstream), {
      method: req.method,
      headers: Object.fromEntries(Object.entries(req.headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[0] !== 'host')),
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
    });
    res.writeHead(forwarded.status, Object.fromEntries([...forwarded.headers].filter(([name]) => name !== 'content-length' && name !== 'content-encoding' && name !== 'transfer-encoding')));
    res.end(Buffer.from(await forwarded.arrayBuffer()));
  }
}
