// Reads a request body up to a limit and no further. Slack's payloads are a few KB; a larger body is
// refused before it is read in full, so that many large bodies cannot fill the process's memory.
// Used by the Slack edge and the sandbox console.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The most /slack/events takes. Slack's largest payloads (a view_submission with big inputs) stay well under it. */
export const SLACK_BODY_LIMIT_BYTES = 64 * 1024;

export type BoundedBody =
  | { ok: true; body: Buffer }
  /** `received`: how many bytes were read before giving up (0 when content-length alone said no). */
  | { ok: false; reason: 'too-large'; received: number }
  | { ok: false; reason: 'aborted'; received: number };

/**
 * Resolves with the body, or with `too-large` as soon as content-length or the bytes counted so far
 * exceed `limit` (a chunked body has no content-length: counting is what cuts it off). Never
 * rejects. After `too-large` the request is paused and left unread: answer with `refuseTooLarge`.
 */
export function readBoundedBody(req: IncomingMessage, limit: number): Promise<BoundedBody> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve({ ok: false, reason: 'too-large', received: 0 });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (result: BoundedBody) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onError);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) {
        req.pause();
        chunks.length = 0;
        finish({ ok: false, reason: 'too-large', received });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish({ ok: true, body: Buffer.concat(chunks, received) });
    const onError = () => finish({ ok: false, reason: 'aborted', received });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onError);
  });
}

/**
 * Answers 413 and closes the connection once the answer is out, so the rest of the body is never
 * read (Node would otherwise read and discard it to keep the connection alive). The socket is
 * ended, not destroyed at once: destroying it with unread data makes the kernel send a reset that
 * can overtake the 413 on the client's side.
 */
export function refuseTooLarge(req: IncomingMessage, res: ServerResponse, limit: number, contentType: 'text' | 'json' = 'text'): void {
  const message = `the body is larger than ${limit} bytes`;
  const payload = contentType === 'json' ? JSON.stringify({ ok: false, error: message }) : message;
  res.shouldKeepAlive = false;
  res.writeHead(413, {
    connection: 'close',
    'content-type': contentType === 'json' ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload, () => {
    req.socket.end();
    // A client that keeps sending never closes its side: do not keep its socket open for it.
    setTimeout(() => req.socket.destroy(), 2_000).unref();
  });
}
