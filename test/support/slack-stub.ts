// A local stand-in for Slack's Web API (the bot's SLACK_API_URL points here) and for the
// response_url that slash commands answer through. It records what the bot sent, keeps messages
// with edits applied, and can be told to fail the next calls (429 with Retry-After, 500).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  text: string;
  blocks?: unknown[];
  metadata?: unknown;
  /** How many times chat.update edited it. */
  edits: number;
}

export interface StubResponse {
  id: string;
  body: { text?: string; response_type?: string; [key: string]: unknown };
}

export interface ApiCall {
  method: string;
  body: Record<string, unknown>;
  status: number;
}

type Failure = { status: 429; retryAfterSeconds: number } | { status: 500 };

export class SlackStub {
  readonly messages: StubMessage[] = [];
  readonly responses: StubResponse[] = [];
  readonly calls: ApiCall[] = [];
  private readonly failures: Failure[] = [];
  private server?: Server;
  private tsCounter = 0;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** SLACK_API_URL for the bot. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /** A response_url for one slash command. */
  responseUrl(id: string): string {
    return `${this.url}/response/${id}`;
  }

  /** The next Web API calls fail like this, in order. */
  failNext(...failures: Failure[]): void {
    this.failures.push(...failures);
  }

  roots(channel?: string): StubMessage[] {
    return this.messages.filter((m) => !m.threadTs && (!channel || m.channel === channel));
  }

  thread(root: StubMessage): StubMessage[] {
    return this.messages.filter((m) => m.threadTs === root.ts && m.channel === root.channel);
  }

  /** The root message whose text mentions `needle` (e.g. a branch name). */
  rootMentioning(needle: string): StubMessage | undefined {
    return this.roots().find((m) => m.text.includes(needle));
  }

  responsesFor(id: string): StubResponse[] {
    return this.responses.filter((r) => r.id === id);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', this.url);
    if (url.pathname.startsWith('/response/')) {
      this.responses.push({ id: url.pathname.slice('/response/'.length), body: JSON.parse(raw || '{}') });
      return send(res, 200, 'ok', 'text/plain');
    }
    const method = url.pathname.replace(/^\/api\//, '');
    const body = parseBody(raw, req.headers['content-type']);
    const failure = this.failures.shift();
    if (failure) {
      this.calls.push({ method, body, status: failure.status });
      if (failure.status === 429) {
        res.setHeader('retry-after', String(failure.retryAfterSeconds));
        return send(res, 429, { ok: false, error: 'ratelimited' });
      }
      return send(res, 500, 'internal error', 'text/plain');
    }
    this.calls.push({ method, body, status: 200 });
    send(res, 200, this.answer(method, body));
  }

  private answer(method: string, body: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T1' };
      case 'chat.postMessage': {
        // Real-time-based like Slack's, unique by a counter in the microseconds.
        const ts = `${Math.floor(Date.now() / 1000)}.${String(++this.tsCounter).padStart(6, '0')}`;
        const message: StubMessage = {
          channel: String(body.channel),
          ts,
          threadTs: typeof body.thread_ts === 'string' ? body.thread_ts : undefined,
          text: String(body.text ?? ''),
          blocks: asBlocks(body.blocks),
          metadata: typeof body.metadata === 'string' ? JSON.parse(body.metadata) : body.metadata,
          edits: 0,
        };
        this.messages.push(message);
        return { ok: true, channel: message.channel, ts };
      }
      case 'chat.update': {
        const message = this.messages.find((m) => m.channel === body.channel && m.ts === body.ts);
        if (!message) return { ok: false, error: 'message_not_found' };
        message.text = String(body.text ?? '');
        message.blocks = asBlocks(body.blocks);
        message.edits += 1;
        return { ok: true, channel: message.channel, ts: message.ts };
      }
      case 'conversations.history':
      case 'conversations.replies': {
        const oldest = Number(body.oldest ?? 0);
        const inScope = (m: StubMessage) =>
          m.channel === body.channel &&
          (method === 'conversations.history' ? !m.threadTs : m.threadTs === body.ts || m.ts === body.ts) &&
          Number(m.ts) >= oldest;
        const withMetadata = body.include_all_metadata === true || body.include_all_metadata === 'true';
        const messages = this.messages
          .filter(inScope)
          .map((m) => ({ type: 'message', ts: m.ts, thread_ts: m.threadTs, text: m.text, ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}) }));
        return { ok: true, messages, has_more: false };
      }
      case 'chat.getPermalink':
        return { ok: true, permalink: `https://example.slack.com/archives/${String(body.channel)}/p${String(body.message_ts).replace('.', '')}` };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}

function asBlocks(value: unknown): unknown[] | undefined {
  if (typeof value === 'string') return JSON.parse(value) as unknown[];
  return Array.isArray(value) ? value : undefined;
}

function parseBody(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  if (contentType?.includes('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  return Object.fromEntries(new URLSearchParams(raw));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}
