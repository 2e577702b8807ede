// The "Delete lane …" button of `/lane delete <lane>`'s confirmation (commands/delete.ts builds it):
// queues the lane's delete. The value names the lane; whether it still exists, is not already being
// deleted, and whether the clicker may delete it are all checked again now.
import { threadRefusal } from '../../../commands/command';
import { checkDelete, DELETE_LANE_ACTION_ID, requestDelete } from '../../../commands/delete';
import { simple } from '../../chat/messages';
import type { LaneRef } from '../../domain/names';
import type { ButtonModule, ClickOutcome } from './action';
import { decodeButtonValue, laneOfValue, type DecodeResult } from './button-value';

export interface DeleteLaneValue extends LaneRef {
  v: 1;
}

export function decodeDeleteLaneValue(raw: unknown): DecodeResult<DeleteLaneValue> {
  return decodeButtonValue(raw, 1, (fields) => {
    const lane = laneOfValue(fields);
    return lane.ok ? { ok: true, value: { v: 1, ...lane.value } } : lane;
  });
}

export const deleteLaneButton: ButtonModule<DeleteLaneValue> = {
  actionId: DELETE_LANE_ACTION_ID,
  name: 'delete_lane',
  instead: '`/lane delete <lane>`',
  decode: decodeDeleteLaneValue,

  async handle(click, deps): Promise<ClickOutcome> {
    const { service, env, lane } = click.value;
    const ref: LaneRef = { service, env, lane };
    const scope = { service, env, lane };
    if (!Object.hasOwn(deps.config.services, service) || !Object.hasOwn(deps.config.environments, env)) {
      const text = `${service}/${env} is not in lanebot's configuration (any more), so lanebot deletes nothing there.`;
      return { outcome: 'refused', reply: `:warning: ${text}`, detail: text, scope };
    }
    // The lane must belong to this channel's service/env, unless the command named them with flags:
    // a confirmation copied into another channel must not act there.
    const binding = Object.hasOwn(deps.config.channels, click.channelId) ? deps.config.channels[click.channelId] : undefined;
    if (binding && (binding.service !== service || binding.env !== env)) {
      const text = `This confirmation is for ${service}/${env}, but this channel is bound to ${binding.service}/${binding.env}. Run \`/lane delete ${lane} --service ${service} --env ${env}\` again.`;
      return { outcome: 'refused', reply: `:warning: ${text}`, detail: text, scope };
    }
    const check = await checkDelete(click, ref, deps);
    if (!check.ok) return { outcome: 'refused', reply: check.problem, detail: check.problem, scope };
    const cannotPost = await threadRefusal(click.channelId, deps);
    if (cannotPost) return { outcome: 'refused', reply: cannotPost.text, detail: 'the bot cannot post in the channel', scope };
    const request = await requestDelete({ userId: click.principal.userId, channelId: click.channelId }, ref, deps);
    const text = `:wastebasket: Deleting lane *${lane}* of ${service}/${env}: lanebot posts its progress in a thread in this channel.`;
    return { outcome: 'accepted', replaceOriginal: simple(text), detail: `queued ${request.id}`, scope: { ...scope, operationId: request.id } };
  },
};
