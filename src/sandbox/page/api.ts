// The console API client.
import { API } from './state';

/** An HTTP answer that is not a result: `status` and the server's message. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

/** A JSON answer the server gave with `ok: false`: an answer to show, not a fault. */
export interface Refusal {
  ok: false;
  error?: string;
}

export function isRefusal(value: unknown): value is Refusal {
  return typeof value === 'object' && value !== null && (value as { ok?: unknown }).ok === false;
}

/**
 * Calls the console API. `T` is what the endpoint answers; a JSON `{ok: false, error}` body with
 * an error status comes back as a Refusal (except 404, see below), other failures throw HttpError.
 */
export async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T | Refusal | null> {
  const response = await fetch(`${API}${path}`, {
    method,
    headers: body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  // fetch resolves whatever the status; a JSON {ok:false,error} body is an answer, not a fault.
  // A 404 stays an error even with such a body: it means the endpoint does not exist (yet).
  if (!response.ok) {
    if (isRefusal(data) && response.status !== 404) return data;
    const error = typeof data === 'object' && data !== null ? (data as { error?: unknown }).error : undefined;
    throw new HttpError(response.status, (typeof error === 'string' && error) || `HTTP ${response.status}`);
  }
  return data as T | null;
}

export function errorText(error: unknown, { notFound }: { notFound?: string } = {}): string {
  if (error instanceof HttpError) return error.status === 404 && notFound ? notFound : error.message;
  return `cannot reach the sandbox server (${error instanceof Error ? error.message : String(error)})`;
}
