// `/lane boot`: run the environment's bootstrap pipeline `boot-{env}` for this channel's service
// (variable SERVICE), which deploys `boot-{service}-{env}`: the service's ALB and listener, log group
// and Cloud Map service. Admins only; needs `/lane infra` to have run once for the environment.
import { bootPipelineName } from '../src/domain/names';
import { adminsOnly, type Command } from './command';
import { parseNoArguments, runAdminOperation } from './admin-operation';

export const bootCommand: Command<Record<string, never>> = {
  name: 'boot',
  summary: "admins: run the service's bootstrap pipeline (ALB, listener, log group, Cloud Map service)",
  usage: '/lane boot',
  needsScope: true,
  parse: parseNoArguments,
  authorize: adminsOnly('boot'),
  acknowledge: (ctx) =>
    `:building_construction: Queued pipeline \`${bootPipelineName(ctx.scope.env)}\` for service *${ctx.scope.service}* in *${ctx.scope.env}*. ` +
    'lanebot posts its progress in a thread in this channel.',
  run: runAdminOperation('boot'),
};
