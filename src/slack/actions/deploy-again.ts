// The "Deploy again" button, on the last reply of a failed, stopped or cancelled deploy: it queues the
// same deploy (service, env, lane, branch) for whoever clicks, exactly as if they had typed
// `/lane deploy <lane> <branch>` in that channel. Only the operation id comes from the value; the
// deploy is read from Redis, and the channel, the lane and branch, and the clicker's right to deploy
// are all checked again.
import type { KnownBlock } from '@slack/web-api';
import { can } from '../../access/policy';
import type { OperationRecord, OperationStatus } from '../../domain/operation';
import { OPERATION_ID } from '../../domain/operation';
import type { Scope } from '../../domain/names';
import { deployCommand, laneBeingDeleted, queuingText, requestDeploy } from '../../../commands/deploy';
import { threadRefusal, type CommandContext } from '../../../commands/command';
import type { ButtonModule, ClickOutcome } from './action';
import { decodeButtonValue, type DecodeResult } from './button-value';

/** Stable: buttons already posted carry it. */
export const DEPLOY_AGAIN_ACTION_ID = 'lane_deploy_again';

/** The deploys whose final reply offers "Deploy again": the ones that changed nothing. */
export const DEPLOY_AGAIN_STATUSES: ReadonlySet<OperationStatus> = new Set<OperationStatus>(['failed', 'stopped', 'cancelled']);

/** What the button carries: which deploy to repeat, nothing else. */
export interface DeployAgainValue {
  v: 1;
  deployId: string;
}

export function encodeDeployAgainValue(value: DeployAgainValue): string {
  // Our own ids always pass; failing here is a bug, not input, so it throws.
  if (!OPERATION_ID.test(value.deployId)) throw new Error(`not a deploy id: ${JSON.stringify(value.deployId.slice(0, 140))}`);
  return JSON.stringify({ v: value.v, deployId: value.deployId });
}

export function decodeDeployAgainValue(raw: unknown): DecodeResult<DeployAgainValue> {
  return decodeButtonValue(raw, 1, ({ deployId }) =>
    typeof deployId === 'string' && OPERATION_ID.test(deployId) ? { ok: true, value: { v: 1, deployId } } : { ok: false, problem: 'the value does not name a deploy' },
  );
}

/** Slack's limit for a confirm dialog's text. */
const MAX_CONFIRM_TEXT = 300;

/** The button, as the deploy kind's last reply carries it. */
export function deployAgainBlock(deploy: OperationRecord): KnownBlock {
  return {
    type: 'actions',
    block_id: 'deploy_again',
    elements: [
      {
        type: 'button',
        action_id: DEPLOY_AGAIN_ACTION_ID,
        text: { type: 'plain_text', text: 'Deploy again' },
        style: 'primary',
        value: encodeDeployAgainValue({ v: 1, deployId: deploy.id }),
        confirm: {
          title: { type: 'plain_text', text: 'Deploy again?' },
          text: { type: 'mrkdwn', text: deployAgainQuestion(deploy.lane, deploy.params.branch ?? '') },
          confirm: { type: 'plain_text', text: 'Deploy again' },
          deny: { type: 'plain_text', text: 'Cancel' },
        },
      },
    ],
  };
}

function deployAgainQuestion(lane: string, branch: string): string {
  const question = (shown: string) => `Deploy \`${shown}\` to lane *${lane}* again?`;
  const full = question(branch);
  if (full.length <= MAX_CONFIRM_TEXT) return full;
  // Branches go up to 255 characters and lanes to 63: cut the branch, never the lane.
  return question(`${branch.slice(0, Math.max(1, branch.length - (full.length - MAX_CONFIRM_TEXT) - 1))}…`);
}

const TYPE_INSTEAD = 'Type `/lane deploy <lane> <branch>` instead.';

export const deployAgainButton: ButtonModule<DeployAgainValue> = {
  actionId: DEPLOY_AGAIN_ACTION_ID,
  name: 'deploy_again',
  instead: '`/lane deploy <lane> <branch>`',
  decode: decodeDeployAgainValue,

  async handle(click, deps): Promise<ClickOutcome> {
    const refused = (text: string, scope?: ClickOutcome['scope']): ClickOutcome => ({ outcome: 'refused', reply: `:warning: ${text}`, detail: text, scope });
    const deploy = await deps.operations.get(click.value.deployId);
    if (!deploy || deploy.kind !== 'deploy') {
      return refused(`That deploy is no longer known to lanebot (its record has expired or was removed). ${TYPE_INSTEAD}`);
    }
    // Say nothing about a deploy of another channel: the person clicking may not be able to see it.
    if (deploy.channel !== click.channelId) {
      return refused(`This button belongs to a deploy of another channel; lanebot deploys again only where the deploy was requested. ${TYPE_INSTEAD}`);
    }
    const scope: Scope = { service: deploy.service, env: deploy.env };
    const about = { ...scope, lane: deploy.lane, operationId: deploy.id };
    const branch = deploy.params.branch ?? '';
    if (!DEPLOY_AGAIN_STATUSES.has(deploy.status)) {
      return refused(
        `The deploy of \`${branch}\` to lane *${deploy.lane}* has status ${deploy.status}; only failed, stopped or cancelled deploys ` +
          `are deployed again with this button. Type \`/lane deploy ${deploy.lane} ${branch}\` to deploy it once more.`,
        about,
      );
    }
    if (!Object.hasOwn(deps.config.services, scope.service) || !Object.hasOwn(deps.config.environments, scope.env)) {
      return refused(`${scope.service}/${scope.env} is no longer in lanebot's configuration, so lanebot cannot deploy to it.`, about);
    }
    const parsed = deployCommand.parse([deploy.lane, branch], scope);
    if (!parsed.ok) return refused(`lanebot cannot deploy that again: ${parsed.problem}.`, about);
    const ctx: CommandContext = { userId: click.principal.userId, principal: click.principal, channelId: click.channelId, scope };
    const decision = can(click.principal, 'deploy', { ...scope, lane: deploy.lane }, deps.config);
    if (!decision.allowed) return { outcome: 'refused', reply: `:no_entry: ${decision.reason}`, detail: decision.reason, scope: about };
    const deleting = await laneBeingDeleted(ctx, deploy.lane, deps);
    if (deleting) return { outcome: 'refused', reply: deleting, detail: 'the lane is being deleted', scope: about };
    const cannotPost = await threadRefusal(click.channelId, deps);
    if (cannotPost) return { outcome: 'refused', reply: cannotPost.text, detail: 'the bot cannot post in the channel', scope: about };
    const request = await requestDeploy(ctx, parsed.args, deps);
    return { outcome: 'accepted', reply: queuingText(ctx, parsed.args), detail: `queued ${request.id}`, scope: { ...about, operationId: request.id } };
  },
};
