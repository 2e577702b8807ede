// `/lane infra`: run the environment's infrastructure pipeline `infra-{env}`, which deploys the stack
// `infra-environment-{env}` (VPC, subnets, ECS cluster, Cloud Map namespace) from templates/.
// Admins only. Queued like a deploy (one at a time per environment) and narrated in a thread.
import { infraPipelineName } from '../src/domain/names';
import { adminsOnly, type Command } from './command';
import { parseNoArguments, runAdminOperation } from './admin-operation';

export const infraCommand: Command<Record<string, never>> = {
  name: 'infra',
  summary: "admins: run the environment's infrastructure pipeline (VPC, ECS cluster, Cloud Map namespace)",
  usage: '/lane infra',
  needsScope: true,
  parse: parseNoArguments,
  authorize: adminsOnly('infra'),
  acknowledge: (ctx) =>
    `:building_construction: Queued pipeline \`${infraPipelineName(ctx.scope.env)}\`, the infrastructure of environment *${ctx.scope.env}*. ` +
    'lanebot posts its progress in a thread in this channel.',
  run: runAdminOperation('infra'),
};
