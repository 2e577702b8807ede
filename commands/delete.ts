// `/lane delete <lane>`: delete a lane — its stack, and with it the ECS service, target group,
// listener rule and alarms. Nothing is queued by the command itself: it answers with an ephemeral
// confirmation whose danger button (src/slack/actions/delete-lane.ts) queues the `delete` operation
// (src/operations/kinds/delete.kind.ts). Both check the lane and the clicker's right again.
import type { KnownBlock } from '@slack/web-api';
import { can } from '../src/access/policy';
import { DEFAULT_LANE, laneStackName, validateLane, type LaneRef } from '../src/domain/names';
import { newOperationId, type OperationRequest } from '../src/domain/operation';
import type { LaneView } from '../src/state/lane-registry';
import { allowEveryone, refusal, type Command, type CommandContext, type CommandDeps, type Reply } from './command';

export interface DeleteArgs {
  lane: string;
}

/** The confirm button's action id; the button module (src/slack/actions/delete-lane.ts) handles it. */
export const DELETE_LANE_ACTION_ID = 'lane_delete_confirm';

export const deleteCommand: Command<DeleteArgs> = {
  name: 'delete',
  summary: 'delete a lane: its stack, ECS service, listener rule and alarms (asks to confirm)',
  usage: '/lane delete <lane>',
  needsScope: true,

  parse(tokens, scope) {
    if (tokens.length === 0) return { ok: false, problem: 'missing the lane to delete' };
    if (tokens.length > 1) return { ok: false, problem: `too many arguments (${tokens.length}); expected one lane` };
    const lane = tokens[0]!;
    const check = validateLane(lane, scope);
    if (!check.ok) return { ok: false, problem: check.problem };
    if (lane === DEFAULT_LANE) {
      return {
        ok: false,
        problem: 'lane `default` is the baseline: it serves every request without a lane header, so lanebot never deletes it',
      };
    }
    return { ok: true, args: { lane } };
  },

  // Who may delete depends on the lane's last deployer, which is in Redis: checked in `run`, after the
  // ack, and again when the confirmation is clicked.
  authorize: allowEveryone,

  async run(ctx, { lane }, deps) {
    const ref: LaneRef = { ...ctx.scope, lane };
    const check = await checkDelete(ctx, ref, deps);
    if (!check.ok) return refusal(check.problem);
    return confirmation(ref, check.view);
  },
};

export type DeleteCheck = { ok: true; view: LaneView } | { ok: false; problem: string };

/** Whether `ctx.principal` may delete the lane now: it exists, is not being deleted, and the policy allows. */
export async function checkDelete(ctx: Pick<CommandContext, 'principal'>, ref: LaneRef, deps: Pick<CommandDeps, 'lanes' | 'config'>): Promise<DeleteCheck> {
  const view = await deps.lanes.get(ref);
  if (!view) {
    return { ok: false, problem: `:warning: Lane *${ref.lane}* of ${ref.service}/${ref.env} does not exist (lanebot knows no deploy of it). \`/lane list\` shows the lanes.` };
  }
  if (view.state === 'deleting') {
    return { ok: false, problem: `:wastebasket: Lane *${ref.lane}* of ${ref.service}/${ref.env} is already being deleted; its thread in this channel shows the progress.` };
  }
  const decision = can(ctx.principal, 'delete', { ...ref, laneOwner: view.lastDeployer }, deps.config);
  if (!decision.allowed) return { ok: false, problem: `:no_entry: ${decision.reason}` };
  return { ok: true, view };
}

function confirmation(ref: LaneRef, view: LaneView): Reply {
  const runs = view.branch ? ` It runs \`${view.branch}\`.` : '';
  const busy = view.activeId ? ' An operation is running on it now: the delete waits for it to end.' : '';
  const text =
    `:warning: Delete lane *${ref.lane}* of ${ref.service}/${ref.env}?${runs}${busy} This deletes stack \`${laneStackName(ref)}\` — ` +
    `the lane's ECS service, target group, listener rule and alarms. Requests for lane ${ref.lane} then reach the default lane.`;
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text } },
    {
      type: 'actions',
      block_id: 'delete_lane',
      elements: [
        {
          type: 'button',
          action_id: DELETE_LANE_ACTION_ID,
          style: 'danger',
          text: { type: 'plain_text', text: `Delete lane ${ref.lane}`.slice(0, 75) },
          value: JSON.stringify({ v: 1, service: ref.service, env: ref.env, lane: ref.lane }),
          confirm: {
            title: { type: 'plain_text', text: 'Delete the lane?' },
            text: { type: 'mrkdwn', text: `Delete lane *${ref.lane}* of ${ref.service}/${ref.env} and everything in its stack? This cannot be undone.`.slice(0, 300) },
            confirm: { type: 'plain_text', text: 'Delete' },
            deny: { type: 'plain_text', text: 'Cancel' },
            style: 'danger',
          },
        },
      ],
    },
  ];
  return { text, blocks, visibility: 'ephemeral' };
}

/** Queues the delete of `ref`, requested by `ctx.userId` in `ctx.channelId`; checked by the caller. */
export async function requestDelete(ctx: Pick<CommandContext, 'userId' | 'channelId'>, ref: LaneRef, deps: Pick<CommandDeps, 'clock' | 'enqueue'>): Promise<OperationRequest> {
  const now = deps.clock.now();
  const request: OperationRequest = {
    id: newOperationId(now),
    kind: 'delete',
    ...ref,
    params: { stack: laneStackName(ref) },
    requester: ctx.userId,
    channel: ctx.channelId,
    requestedAt: now,
  };
  await deps.enqueue(request);
  return request;
}
