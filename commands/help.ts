// `/lane help`: the grammar.
import type { LanebotConfig } from '../src/config';
import { approvalsCommand } from './approvals';
import { bootCommand } from './boot';
import { allowEveryone, ephemeral, type Command } from './command';
import { deleteCommand } from './delete';
import { deployCommand } from './deploy';
import { historyCommand } from './history';
import { infraCommand } from './infra';
import { listCommand } from './list';
import { releasesCommand } from './releases';
import { renewCommand } from './renew';
import { setupCommand } from './setup';
import { statusCommand } from './status';

export const helpCommand: Command<Record<string, never>> = {
  name: 'help',
  summary: 'show this help',
  usage: '/lane help',
  needsScope: false,
  parse: () => ({ ok: true, args: {} }),
  authorize: allowEveryone,
  async run(ctx, _args, deps) {
    return ephemeral(helpText(deps.config, ctx.channelId));
  },
};

export function helpText(config: LanebotConfig, channelId: string): string {
  const commands: Command[] = [deployCommand, deleteCommand, statusCommand, listCommand, renewCommand, releasesCommand, historyCommand, approvalsCommand, helpCommand];
  const binding = Object.hasOwn(config.channels, channelId) ? config.channels[channelId] : undefined;
  const lines = [
    '*lanebot* deploys branches to lanes: parallel versions of a service, reached with the header `tracestate: ctx=lane:<lane>`.',
    '',
    ...commands.map((c) => `\`${c.usage}\` — ${c.summary}`),
    '',
    `For lanebot admins (order on a new environment: setup, infra, boot): ${[setupCommand, infraCommand, bootCommand].map((c) => `\`${c.usage}\``).join(', ')}.`,
    '',
    binding
      ? `In this channel, commands are about *${binding.service}/${binding.env}*. Add \`--service <name> --env <name>\` to target another.`
      : 'This channel is not bound to a service; add `--service <name> --env <name>`, or ask your platform team to bind it under `channels:` in lanebot.yml.',
    'Lane names: a lowercase letter, then lowercase letters, digits and `-`. `default` is the baseline lane.',
  ];
  return lines.join('\n');
}
