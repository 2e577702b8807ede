// The buttons of a running canary (kinds/canary.kind.ts), in its root message: Pause, Resume, Promote
// now, Abort. A click only records the decision on the operation (one Lua script that writes only while
// the canary runs) and wakes its job; the canary's own step acts on it at once, so no AWS call is made
// from a click. Who may: Pause, Resume and Abort whoever may deploy to lane default; Promote now, which
// skips the remaining checks, the environment's approvers where deploys need an approval.
import type { ActionsBlock } from '@slack/types';
import { can, type AccessDecision } from '../../access/policy';
import { approvalGateOf } from '../../config';
import { DEFAULT_LANE } from '../../domain/names';
import { OPERATION_ID, type OperationRecord } from '../../domain/operation';
import type { CanaryControlField } from '../../state/operation-store';
import type { ActionDeps, ButtonModule, Click, ClickOutcome } from './action';
import { decodeButtonValue, type DecodeResult } from './button-value';

export const PAUSE_CANARY_ACTION_ID = 'canary_pause';
export const RESUME_CANARY_ACTION_ID = 'canary_resume';
export const PROMOTE_CANARY_NOW_ACTION_ID = 'canary_promote_now';
export const ABORT_CANARY_ACTION_ID = 'canary_abort';

export interface CanaryControlValue {
  v: 1;
  /** The canary operation. */
  op: string;
}

export function decodeCanaryControlValue(raw: unknown): DecodeResult<CanaryControlValue> {
  return decodeButtonValue(raw, 1, ({ op }) => (typeof op === 'string' && OPERATION_ID.test(op) ? { ok: true, value: { v: 1, op } } : { ok: false, problem: 'the value does not name an operation' }));
}

/** The buttons while the canary takes traffic and nothing has decided its end yet. */
export function canaryControlBlocks(op: OperationRecord): ActionsBlock[] {
  const canary = op.canary;
  if (op.status !== 'running' || !canary || canary.outcome || op.canaryAbort || op.canaryPromoteNow) return [];
  const value = JSON.stringify({ v: 1, op: op.id });
  const paused = op.canaryPause?.paused === true;
  return [
    {
      type: 'actions',
      block_id: 'canary_controls',
      elements: [
        paused
          ? { type: 'button', action_id: RESUME_CANARY_ACTION_ID, text: { type: 'plain_text', text: 'Resume' }, value }
          : { type: 'button', action_id: PAUSE_CANARY_ACTION_ID, text: { type: 'plain_text', text: 'Pause' }, value },
        {
          type: 'button',
          action_id: PROMOTE_CANARY_NOW_ACTION_ID,
          style: 'primary',
          text: { type: 'plain_text', text: 'Promote now' },
          value,
          confirm: {
            title: { type: 'plain_text', text: 'Promote now?' },
            text: { type: 'mrkdwn', text: `Put the canary's image on lane *default* of ${op.service}/${op.env} now, without the remaining steps and checks?`.slice(0, 300) },
            confirm: { type: 'plain_text', text: 'Promote now' },
            deny: { type: 'plain_text', text: 'Cancel' },
          },
        },
        {
          type: 'button',
          action_id: ABORT_CANARY_ACTION_ID,
          style: 'danger',
          text: { type: 'plain_text', text: 'Abort' },
          value,
          confirm: {
            title: { type: 'plain_text', text: 'Abort the canary?' },
            text: { type: 'mrkdwn', text: `Send all of default's traffic back to the version it runs and remove the canary of ${op.service}/${op.env}?`.slice(0, 300) },
            confirm: { type: 'plain_text', text: 'Abort' },
            deny: { type: 'plain_text', text: 'Keep it' },
            style: 'danger',
          },
        },
      ],
    },
  ];
}

type Control = 'pause' | 'resume' | 'promote-now' | 'abort';

const FIELD: Record<Control, CanaryControlField> = { pause: 'canaryPause', resume: 'canaryPause', 'promote-now': 'canaryPromoteNow', abort: 'canaryAbort' };

function mayControl(control: Control, click: Click<CanaryControlValue>, op: OperationRecord, deps: ActionDeps): AccessDecision {
  const scope = { service: op.service, env: op.env, lane: DEFAULT_LANE };
  if (control === 'promote-now' && approvalGateOf(deps.config, op.env)) return can(click.principal, 'approve', scope, deps.config);
  return can(click.principal, 'deploy', scope, deps.config);
}

async function controlCanary(control: Control, click: Click<CanaryControlValue>, deps: ActionDeps): Promise<ClickOutcome> {
  const op = await deps.operations.get(click.value.op);
  const scope = op ? { service: op.service, env: op.env, lane: op.lane, operationId: op.id } : { service: '', env: '', operationId: click.value.op };
  const refuse = (reply: string): ClickOutcome => ({ outcome: 'refused', reply, detail: reply, scope });
  if (!op || op.kind !== 'canary') return refuse(':grey_question: This canary is no longer known to lanebot (its record expired).');
  if (op.status !== 'running' || !op.canary) return refuse(`:information_source: This canary is not running (it is ${op.status}); the thread says how it ended.`);
  if (op.canary.outcome || op.canaryAbort || op.canaryPromoteNow) return refuse(':information_source: This canary is already ending (promoted, rolled back or aborted); the thread says how.');
  const decision = mayControl(control, click, op, deps);
  if (!decision.allowed) return refuse(`:no_entry: ${decision.reason}`);
  const paused = op.canaryPause?.paused === true;
  if (control === 'pause' && paused) return refuse(':information_source: The canary is already paused.');
  if (control === 'resume' && !paused) return refuse(':information_source: The canary is not paused.');

  const by = click.principal.userId;
  const at = deps.clock.now();
  const value = control === 'pause' || control === 'resume' ? { paused: control === 'pause', by, at } : { by, at };
  const once = control === 'abort' || control === 'promote-now';
  const written = await deps.controlOperation(op.id, FIELD[control], value, ['running'], once);
  if (written === 'not-running') return refuse(':information_source: The canary ended meanwhile; the thread says how.');
  if (written === 'already') return refuse(':information_source: Someone decided this already; the thread says how.');
  await deps.resume(op.id);
  await deps.refreshThread(op.id);
  const reply: Record<Control, string> = {
    pause: ':double_vertical_bar: Paused: the canary keeps its traffic share and no check runs until someone resumes it.',
    resume: ':arrow_forward: Resumed: the canary goes on from its step.',
    'promote-now': ':arrow_up: Promoting now: lane default gets the canary\'s image, then the canary is removed. The thread follows it.',
    abort: ':rewind: Aborting: all of default\'s traffic goes back to the version it runs and the canary is removed. The thread follows it.',
  };
  return { outcome: 'accepted', reply: reply[control], detail: control, scope };
}

function controlButton(actionId: string, control: Control): ButtonModule<CanaryControlValue> {
  return {
    actionId,
    name: `canary_${control.replace('-', '_')}`,
    instead: 'the buttons of a newer message, or ask in the canary\'s thread',
    decode: decodeCanaryControlValue,
    handle: (click, deps) => controlCanary(control, click, deps),
  };
}

export const pauseCanaryButton = controlButton(PAUSE_CANARY_ACTION_ID, 'pause');
export const resumeCanaryButton = controlButton(RESUME_CANARY_ACTION_ID, 'resume');
export const promoteCanaryNowButton = controlButton(PROMOTE_CANARY_NOW_ACTION_ID, 'promote-now');
export const abortCanaryButton = controlButton(ABORT_CANARY_ACTION_ID, 'abort');
