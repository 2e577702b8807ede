// `/lane setup`: deploy or update the three pipeline stacks of this channel's service/env from
// templates/pipelines/ — `pipeline-infra-{env}`, `pipeline-boot-{env}` and `pipeline-{pipeline}` —
// through the stack port (src/jobs/setup.job.ts). Admins only. Safe to run again: stacks already up
// to date report "no changes".
import { adminsOnly, type Command } from './command';
import { parseNoArguments, runAdminOperation } from './admin-operation';

export const setupCommand: Command<Record<string, never>> = {
  name: 'setup',
  summary: 'admins: create or update the pipelines of this service and environment from templates/',
  usage: '/lane setup',
  needsScope: true,
  parse: parseNoArguments,
  authorize: adminsOnly('setup'),

  precondition(ctx, _args, config) {
    const missing: string[] = [];
    if (!config.setup) missing.push('a `setup:` section with `connectionArn` (the CodeStar connection to your repositories) and `infraRepo` (owner/name)');
    if (!config.services[ctx.scope.service]?.repo) missing.push(`\`services.${ctx.scope.service}.repo\` (the app repository, owner/name)`);
    if (missing.length === 0) return undefined;
    return `lanebot cannot set up the pipelines of ${ctx.scope.service}/${ctx.scope.env}: lanebot.yml lacks ${missing.join(' and ')}. Ask your platform team to add it (lanebot.example.yml shows how) and restart lanebot.`;
  },

  acknowledge: (ctx, _args) =>
    `:gear: Queued the setup of the pipelines of *${ctx.scope.service}/${ctx.scope.env}*. ` +
    'lanebot posts each stack\'s progress in a thread in this channel.',

  run: runAdminOperation('setup'),
};
