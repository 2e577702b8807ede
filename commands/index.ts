// The `/lane` router: slash-command text in, either a command to run or a reply to give at once.
// Pure (no I/O), so every bad input is answered before anything is queued.
import type { LanebotConfig } from '../src/config';
import type { Scope } from '../src/domain/names';
import { printable } from '../src/domain/names';
import { ephemeral, type Command, type CommandContext, type Reply } from './command';
import type { Principal } from '../src/access/policy';
import { approvalsCommand } from './approvals';
import { bootCommand } from './boot';
import { deleteCommand } from './delete';
import { deployCommand } from './deploy';
import { renewCommand } from './renew';
import { releasesCommand } from './releases';
import { promoteCommand } from './promote';
import { rollbackCommand } from './rollback';
import { historyCommand } from './history';
import { helpCommand } from './help';
import { infraCommand } from './infra';
import { listCommand } from './list';
import { setupCommand } from './setup';
import { statusCommand } from './status';

export const COMMANDS: ReadonlyMap<string, Command> = new Map<string, Command>(
  [deployCommand, deleteCommand, renewCommand, releasesCommand, promoteCommand, rollbackCommand, statusCommand, listCommand, historyCommand, approvalsCommand, helpCommand, setupCommand, infraCommand, bootCommand].map((c) => [c.name, c]),
);

/** Slack escapes these three characters in slash command text. */
function decodeSlackText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Slack caps slash command text well below this; anything longer is not a real command. */
const MAX_TEXT = 2000;

export type Routed =
  | { kind: 'run'; command: Command; args: unknown; ctx: CommandContext }
  /** Answered at once (help, bad input, a refusal); `scope` (and lane) when the command got that far. */
  | { kind: 'reply'; reply: Reply; scope?: Scope & { lane?: string } };

export interface RouteInput {
  text: string;
  /** Who typed it, with the configured user groups they belong to. */
  principal: Principal;
  channelId: string;
  /** The command's response_url, for answers that come later. */
  responseUrl?: string;
}

export function routeCommand(input: RouteInput, config: LanebotConfig): Routed {
  const text = decodeSlackText(input.text ?? '');
  if (text.length > MAX_TEXT) {
    const named = COMMANDS.get(text.trimStart().split(/\s/u, 1)[0]!.toLowerCase());
    return replyWith(`the command is ${text.length} characters long; that is not a lanebot command.`, named, true);
  }
  const tokens = text.split(/\s+/u).filter((t) => t.length > 0);
  const first = tokens.shift();
  if (first === undefined) return { kind: 'reply', reply: helpReply(config, input.channelId) };

  const name = first.toLowerCase();
  const command = COMMANDS.get(name);
  if (!command) {
    const suggestion = closest(name, [...COMMANDS.keys()]);
    const hint = suggestion ? ` Did you mean \`/lane ${suggestion}\`?` : '';
    return replyWith(`\`${printable(first.slice(0, 40))}\` is not a lanebot command.${hint}`, undefined, true);
  }

  const flags = extractFlags(tokens, command.options);
  if (!flags.ok) return replyWith(flags.problem, command);

  let scope: Scope = { service: '', env: '' };
  if (command.needsScope) {
    const resolved = resolveScope(input.channelId, flags.service, flags.env, config);
    if (!resolved.ok) return replyWith(resolved.problem, command);
    scope = resolved.scope;
  }

  const parsed = command.parse(flags.rest, scope);
  if (!parsed.ok) return withScope(replyWith(parsed.problem, command), scope);
  const ctx: CommandContext = { userId: input.principal.userId, principal: input.principal, channelId: input.channelId, scope };
  if (input.responseUrl) ctx.responseUrl = input.responseUrl;
  // Refusals from here on are about a lane when the command names one: `/lane history <lane>` shows them.
  const about = { ...scope, lane: laneOf(parsed.args) };
  const auth = command.authorize(ctx, parsed.args, config);
  if (!auth.allowed) return { kind: 'reply', reply: ephemeral(`:no_entry: ${auth.reason}`), scope: about };
  const missing = command.precondition?.(ctx, parsed.args, config);
  if (missing) return withScope(replyWith(missing, command), about);
  return { kind: 'run', command, args: parsed.args, ctx };
}

/** The lane a command's arguments name, if any. */
export function laneOf(args: unknown): string | undefined {
  const lane = (args as { lane?: unknown } | undefined)?.lane;
  return typeof lane === 'string' ? lane : undefined;
}

function withScope(routed: Routed, scope: Scope & { lane?: string }): Routed {
  return routed.kind === 'reply' ? { ...routed, scope } : routed;
}

function replyWith(problem: string, command?: Command, withHelp = false): Routed {
  const usage = command ? `\nUsage: \`${command.usage}\`` : '';
  const help = withHelp ? '\nType `/lane help` for the commands.' : '';
  return { kind: 'reply', reply: ephemeral(`:warning: ${problem}${usage}${help}`) };
}

function helpReply(config: LanebotConfig, channelId: string): Reply {
  const lines = ['Type a command after `/lane`:'];
  for (const c of COMMANDS.values()) lines.push(`\`${c.usage}\` — ${c.summary}`);
  if (!Object.hasOwn(config.channels, channelId)) lines.push('This channel is not bound to a service: add `--service <name> --env <name>`.');
  return ephemeral(lines.join('\n'));
}

type Flags = { ok: true; service?: string; env?: string; rest: string[] } | { ok: false; problem: string };

/**
 * Takes `--service X`, `--service=X`, `--env X`, `--env=X` out of the tokens, anywhere; the
 * command's own options (Command.options) stay in them for its parse.
 */
export function extractFlags(tokens: string[], own: readonly string[] = []): Flags {
  const values: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (!token.startsWith('--')) {
      rest.push(token);
      continue;
    }
    const [rawName, inline] = token.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const name = rawName.toLowerCase();
    if (own.includes(name)) {
      rest.push(token);
      continue;
    }
    if (name !== 'service' && name !== 'env') {
      const known = ['--service', '--env', ...own.map((o) => `--${o}`)].join(', ');
      return { ok: false, problem: `unknown option \`${printable(token.slice(0, 40))}\` (options: ${known})` };
    }
    const value = inline ?? tokens[++i];
    if (value === undefined || value === '' || value.startsWith('--')) return { ok: false, problem: `\`--${name}\` needs a value` };
    if (values[name] !== undefined) return { ok: false, problem: `\`--${name}\` is given twice` };
    values[name] = value;
  }
  return { ok: true, service: values.service, env: values.env, rest };
}

type ScopeResult = { ok: true; scope: Scope } | { ok: false; problem: string };

export function resolveScope(channelId: string, service: string | undefined, env: string | undefined, config: LanebotConfig): ScopeResult {
  const binding = Object.hasOwn(config.channels, channelId) ? config.channels[channelId] : undefined;
  const chosenService = service ?? binding?.service;
  const chosenEnv = env ?? binding?.env;
  if (!chosenService || !chosenEnv) {
    const missing = [!chosenService && '--service', !chosenEnv && '--env'].filter(Boolean).join(' and ');
    return {
      ok: false,
      problem:
        `this channel is not bound to a service and environment, so lanebot does not know what to act on. Add ${missing} ` +
        `(services: ${Object.keys(config.services).join(', ')}; environments: ${Object.keys(config.environments).join(', ')}), ` +
        'or ask your platform team to bind this channel under `channels:` in lanebot.yml.',
    };
  }
  if (!Object.hasOwn(config.services, chosenService)) {
    const suggestion = closest(chosenService, Object.keys(config.services));
    return {
      ok: false,
      problem: `unknown service \`${printable(chosenService.slice(0, 60))}\`${suggestion ? ` (did you mean \`${suggestion}\`?)` : ''}; services: ${Object.keys(config.services).join(', ')}`,
    };
  }
  if (!Object.hasOwn(config.environments, chosenEnv)) {
    const suggestion = closest(chosenEnv, Object.keys(config.environments));
    return {
      ok: false,
      problem: `unknown environment \`${printable(chosenEnv.slice(0, 60))}\`${suggestion ? ` (did you mean \`${suggestion}\`?)` : ''}; environments: ${Object.keys(config.environments).join(', ')}`,
    };
  }
  return { ok: true, scope: { service: chosenService, env: chosenEnv } };
}

/** The candidate within edit distance 2 of `word`, if any ("did you mean"). */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}
