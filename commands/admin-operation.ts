// What `/lane infra`, `/lane boot` and `/lane setup` share: no arguments, admins only, and one
// operation queued like a deploy (src/operations/kinds/admin.kinds.ts), admitted to its admin slot,
// with a thread narrated like a deploy's.
import { newOperationId, type OperationRequest } from '../src/domain/operation';
import { bootPipelineName, infraPipelineName, operationRef, type Scope } from '../src/domain/names';
import { pipelineNameFor, type LanebotConfig } from '../src/config';
import { threadRefusal, type CommandContext, type CommandDeps, type ParseResult, type Reply } from './command';

export type AdminOperationKind = 'infra' | 'boot' | 'setup';

export function parseNoArguments(tokens: string[]): ParseResult<Record<string, never>> {
  if (tokens.length > 0) return { ok: false, problem: `this command takes no arguments (got ${tokens.length})` };
  return { ok: true, args: {} };
}

/** The pipeline an operation runs; for setup, the app pipeline whose stacks it sets up. */
export function operationPipeline(kind: AdminOperationKind, scope: Scope, config: LanebotConfig): string {
  switch (kind) {
    case 'infra':
      return infraPipelineName(scope.env);
    case 'boot':
      return bootPipelineName(scope.env);
    case 'setup':
      return pipelineNameFor(config, scope);
  }
}

/** Queues an admin operation for `ctx.scope`, requested by `ctx.userId` in `ctx.channelId`. */
export async function requestOperation(
  kind: AdminOperationKind,
  ctx: CommandContext,
  deps: Pick<CommandDeps, 'config' | 'clock' | 'enqueue'>,
): Promise<OperationRequest> {
  const now = deps.clock.now();
  const slot = operationRef(kind, ctx.scope);
  const request: OperationRequest = {
    id: newOperationId(now),
    kind,
    ...slot,
    params: {
      // The infra repository's branch: what the pipelines' InfraSource builds from.
      branch: deps.config.setup?.infraBranch ?? 'main',
      pipeline: operationPipeline(kind, ctx.scope, deps.config),
    },
    requester: ctx.userId,
    channel: ctx.channelId,
    requestedAt: now,
  };
  await deps.enqueue(request);
  return request;
}

/** The `run` of an admin command: queue its operation, unless its thread could not be posted. */
export function runAdminOperation(kind: AdminOperationKind) {
  return async (ctx: CommandContext, _args: unknown, deps: CommandDeps): Promise<Reply | undefined> => {
    const cannotPost = await threadRefusal(ctx.channelId, deps);
    if (cannotPost) return cannotPost;
    await requestOperation(kind, ctx, deps);
    return undefined;
  };
}
