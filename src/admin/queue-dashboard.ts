// The operator view of lanebot's queues: Bull Board (@bull-board/api with its Express adapter) at
// QUEUE_DASHBOARD_PATH on the bot's own HTTP port, behind ADMIN_TOKEN. The composition root mounts
// it only when ADMIN_TOKEN is set; without it the path does not exist (404).
//
// Read-only on purpose: every job belongs to an operation whose runner decides when it runs again,
// fails for good or frees its lane (src/operations/runner.ts). Retrying, promoting or removing a job
// by hand would bypass that, so the queues are registered in Bull Board's read-only mode and only
// GET/HEAD reach it; what a person may change goes through `/lane` commands.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { ADMIN_REALM, checkAdminAuthorization } from './admin-auth';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * Where the page may load anything from: this origin only (its scripts, styles, fonts, images and
 * API are all served from the @bull-board/ui package under QUEUE_DASHBOARD_PATH/static). Inline
 * styles are the React UI's own style attributes; no inline script runs.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

export interface QueueDashboardOptions {
  queues: Queue[];
  /** ADMIN_TOKEN: the bearer token, or the basic-auth password (any user name). */
  token: string;
  logger: Logger;
  basePath?: string;
}

export type QueueDashboardHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createQueueDashboard(options: QueueDashboardOptions): QueueDashboardHandler {
  const basePath = options.basePath ?? QUEUE_DASHBOARD_PATH;
  const logger = options.logger.child({ component: 'queue-dashboard' });
  const board = new ExpressAdapter();
  board.setBasePath(basePath);
  createBullBoard({
    queues: options.queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: true })),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'lanebot queues' } },
  });
  const app = express();
  app.disable('x-powered-by');
  app.use(basePath, withoutExternalStylesheets, board.getRouter());

  return (req, res) => {
    const verdict = checkAdminAuthorization(req.headers.authorization, options.token);
    if (verdict !== 'accepted') {
      if (verdict === 'wrong') logger.warn({ path: pathOf(req), from: req.socket.remoteAddress }, 'refused the queue dashboard to wrong credentials (401)');
      res.writeHead(401, { 'www-authenticate': `Basic realm="${ADMIN_REALM}", charset="UTF-8"`, 'cache-control': 'no-store' });
      res.end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      res.end();
      return;
    }
    res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    app(req as Request, res as Response);
  };
}

/**
 * Bull Board's page links a web font stylesheet on fonts.googleapis.com. The dashboard must work
 * without reaching anything but the bot (private subnets, no egress, no third party seeing who
 * looks at it): the link is taken out of the rendered page, and the UI falls back to system fonts.
 */
function withoutExternalStylesheets(_req: Request, res: Response, next: NextFunction): void {
  const render = res.render.bind(res);
  res.render = ((view: string, locals?: object) =>
    render(view, locals ?? {}, (error: Error | null, html?: string) => {
      if (error) return next(error);
      res.type('html').send(stripExternalLinks(html ?? ''));
    })) as Response['render'];
  next();
}

/** Removes every `<link>` whose href is an absolute http(s) URL. */
export function stripExternalLinks(html: string): string {
  return html.replace(/<link\b[^>]*\bhref\s*=\s*["']?(?:https?:)?\/\/[^>]*>\s*/gi, '');
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] ?? '/';
}
