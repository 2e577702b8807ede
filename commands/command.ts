// The shape every `/lane` subcommand module has: usage text, a pure parser, an authorization rule,
// and what it does. commands/index.ts routes the slash command text to one of them.
import type { KnownBlock } from '@slack/web-api';
import type { Clock } from '../src/clock';
import type { LanebotConfig } from '../src/config';
import type { DeployRequest } from '../src/domain/deploy';
import type { Scope } from '../src/domain/names';
import type { DeployStore } from '../src/state/deploy-store';
import type { LaneRegistry } from '../src/state/lane-registry';

export type ParseResult<A> = { ok: true; args: A } | { ok: false; problem: string };

export type Authorization = { allowed: true } | { allowed: false; reason: string };

export interface Reply {
  text: string;
  blocks?: KnownBlock[];
  /** Ephemeral replies are seen only by the person who typed the command. */
  visibility: 'ephemeral' | 'in_channel';
}

/** Who typed the command, where. */
export interface CommandContext {
  userId: string;
  channelId: string;
  /** The service/env the command is about: from the channel binding or --service/--env. */
  scope: Scope;
}

/** What commands may use. No AWS here: listeners must answer Slack within 3 seconds. */
export interface CommandDeps {
  config: LanebotConfig;
  clock: Clock;
  lanes: Pick<LaneRegistry, 'get' | 'list'>;
  /** Read-only: a deploy's record, for buttons that name a deploy by id. */
  deploys: Pick<DeployStore, 'get'>;
  /** Queues a deploy; throws QueueUnavailableError when Redis cannot take it. */
  enqueueDeploy(request: DeployRequest): Promise<void>;
}

export interface Command<A = unknown> {
  name: string;
  /** One line for `/lane help`. */
  summary: string;
  /** e.g. "/lane deploy <lane> <branch>" */
  usage: string;
  /** False for commands that work in any channel (help). */
  needsScope: boolean;
  /** Pure: tokens after the subcommand and global flags. */
  parse(tokens: string[], scope: Scope): ParseResult<A>;
  authorize(ctx: CommandContext, args: A, config: LanebotConfig): Authorization;
  /**
   * Optional: what the configuration lacks for this command (e.g. `/lane setup` without a `setup:`
   * section), checked after authorization; a problem is answered with the usage and nothing runs.
   */
  precondition?(ctx: CommandContext, args: A, config: LanebotConfig): string | undefined;
  /**
   * Optional text sent with the ack itself, before `run` starts: for commands whose result shows up
   * elsewhere (a deploy's thread), so that success needs no second message.
   */
  acknowledge?(ctx: CommandContext, args: A): string;
  /** Does the work; a reply, or undefined when the ack already said everything. */
  run(ctx: CommandContext, args: A, deps: CommandDeps): Promise<Reply | undefined>;
}

export const allowEveryone = (): Authorization => ({ allowed: true });

/**
 * Authorization of the admin commands: the user must be listed under `admins:` by user id. User
 * groups (S…) are listed in the config too, but checking membership would mean a Slack call before
 * the ack; until that exists, members of an admin group are told to be listed by user id.
 */
export function adminsOnly(commandName: string) {
  return (ctx: CommandContext, _args: unknown, config: LanebotConfig): Authorization => {
    if (config.admins.includes(ctx.userId)) return { allowed: true };
    const groups = config.admins.filter((id) => id.startsWith('S'));
    const listed = config.admins.length > 0 ? ` (${config.admins.map(mention).join(', ')})` : '';
    const groupNote =
      groups.length > 0 ? ' lanebot checks admins by user id: if you are in an admin group, ask for your user id to be listed under `admins:`.' : '';
    const none = config.admins.length === 0 ? ' No admins are configured: add Slack user ids under `admins:` in lanebot.yml.' : '';
    return {
      allowed: false,
      reason: `\`/lane ${commandName}\` changes shared infrastructure, so only lanebot admins${listed} may run it.${groupNote}${none}`,
    };
  };
}

export function ephemeral(text: string): Reply {
  return { text, visibility: 'ephemeral' };
}

/** Renders a Slack user or user-group id as a mention. */
export function mention(id: string): string {
  return id.startsWith('S') ? `<!subteam^${id}>` : `<@${id}>`;
}
