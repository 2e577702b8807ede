// The audit log: every command (accepted or refused, and why), every button click, and every status
// change of an operation. Each entry goes to a capped Redis stream for the whole bot, to a smaller
// capped stream per service/env (what `/lane history` reads), and to the log as a pino line with
// `audit: true` (what a log pipeline keeps for longer than Redis does).
import type { RedisClient } from '../redis/redis-connection';
import type { Logger } from 'pino';
import type { Scope } from '../domain/names';
import type { RedisKeys } from '../state/keys';
import { LuaScript } from '../redis/lua-script';

export interface AuditEntry {
  at: number;
  /** Slack user id, or `lanebot` for what the bot does on its own (a worker, the recovery pass). */
  actor: string;
  /** What was done: `command:deploy`, `click:deploy_again`, `operation:deploy`… */
  action: string;
  /** accepted, refused, queued, running, succeeded, failed, error… */
  outcome: string;
  service?: string;
  env?: string;
  lane?: string;
  operationId?: string;
  channel?: string;
  /** The refusal reason, the command text, an error: short, one line. */
  detail?: string;
}

/** Entries kept in the bot-wide stream and in each service/env's stream (approximately: MAXLEN ~). */
export const AUDIT_MAX_ENTRIES = 100_000;
export const AUDIT_MAX_ENTRIES_PER_SCOPE = 5_000;
const MAX_DETAIL = 500;

/**
 * Both streams in one command (several per operation run through here). KEYS: the bot-wide stream,
 * then the service/env's when the entry has one; ARGV: their caps, then the entry's field/value pairs.
 */
const RECORD_SCRIPT = new LuaScript(`
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
if KEYS[2] then redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(fields)) end
return 1`);

export class AuditLog {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly logger: Logger,
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    const clean: AuditEntry = { ...entry, detail: entry.detail === undefined ? undefined : oneLine(entry.detail) };
    this.logger.info({ audit: true, ...clean }, `audit: ${clean.action} ${clean.outcome}`);
    const fields = toFields(clean);
    const scoped = clean.service && clean.env ? [this.keys.auditOf({ service: clean.service, env: clean.env })] : [];
    await RECORD_SCRIPT.run(this.redis, 1 + scoped.length, this.keys.audit, ...scoped, AUDIT_MAX_ENTRIES, AUDIT_MAX_ENTRIES_PER_SCOPE, ...fields);
  }

  /**
   * The latest entries of a service/env, newest first; with `lane`, that lane's only. Reads at most
   * `scanLimit` entries, so a busy stream never makes the answer slow.
   */
  async recent(scope: Scope & { lane?: string }, limit: number, scanLimit = 2_000): Promise<AuditEntry[]> {
    const result: AuditEntry[] = [];
    let end = '+';
    let scanned = 0;
    while (result.length < limit && scanned < scanLimit) {
      // Never read past the bound, even within a page (a small bound would otherwise read 200).
      const count = Math.min(200, scanLimit - scanned);
      const page = await this.redis.xrevrange(this.keys.auditOf(scope), end, '-', 'COUNT', count);
      if (page.length === 0) break;
      for (const [, fields] of page) {
        scanned++;
        const entry = fromFields(fields);
        if (!scope.lane || entry.lane === scope.lane) result.push(entry);
        if (result.length >= limit) break;
      }
      const lastId = page[page.length - 1]![0];
      end = `(${lastId}`;
      if (page.length < count) break;
    }
    return result;
  }
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_DETAIL ? `${flat.slice(0, MAX_DETAIL - 1)}…` : flat;
}

function toFields(entry: AuditEntry): string[] {
  const fields: string[] = [];
  for (const [key, value] of Object.entries(entry)) if (value !== undefined) fields.push(key, String(value));
  return fields;
}

function fromFields(fields: string[]): AuditEntry {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
  return { ...record, at: Number(record.at ?? 0), actor: record.actor ?? '', action: record.action ?? '', outcome: record.outcome ?? '' } as AuditEntry;
}
