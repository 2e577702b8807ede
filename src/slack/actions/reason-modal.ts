// Asking for a reason: a Reject button opens a modal (views.open within Slack's 3-second trigger
// window, right after the click's ack), and the modal's `view_submission` carries the reason back.
// Each reason modal is a module (its callback id, a decoder of its private_metadata, and what a
// submission does), listed in REASON_MODALS (index.ts) and registered by src/slack/slack-app.ts,
// like the buttons. A submission's answer is its ack: errors keep the modal open under the field.
import type { ModalView } from '@slack/web-api';
import type { Principal } from '../../access/policy';
import type { DecodeResult } from './button-value';
import type { ActionDeps, Click, ClickOutcome } from './action';

/** The reason field: its block id and action id. */
export const REASON_BLOCK = 'reason';
export const MAX_REASON_LENGTH = 500;

export interface ReasonModalModule<V> {
  callbackId: string;
  /** Names it in the audit log (`click:<name>`). */
  name: string;
  decode(privateMetadata: unknown): DecodeResult<V>;
  /** Re-checks the clicker and acts; a refusal's reply is shown under the reason field. */
  submit(value: V, reason: string, principal: Principal, deps: ActionDeps): Promise<ClickOutcome>;
}

export function reasonModal(options: { callbackId: string; metadata: object; title: string; question: string }): ModalView {
  return {
    type: 'modal',
    callback_id: options.callbackId,
    private_metadata: JSON.stringify(options.metadata),
    title: { type: 'plain_text', text: options.title },
    submit: { type: 'plain_text', text: 'Reject' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: options.question } },
      {
        type: 'input',
        block_id: REASON_BLOCK,
        label: { type: 'plain_text', text: 'Reason' },
        element: { type: 'plain_text_input', action_id: REASON_BLOCK, multiline: true, max_length: MAX_REASON_LENGTH },
      },
    ],
  };
}

/** A Reject click: open the reason modal, or tell the clicker why it could not be opened. */
export async function askForReason(click: Click<unknown>, deps: ActionDeps, view: ModalView, scope: ClickOutcome['scope']): Promise<ClickOutcome> {
  if (!click.triggerId) return { outcome: 'refused', reply: ':warning: Slack sent this click without a trigger, so lanebot cannot ask for a reason; click Reject again.', scope };
  try {
    await deps.openModal(click.triggerId, view);
  } catch (error) {
    // The trigger lives 3 seconds; a slow moment anywhere can miss it.
    const text = ':warning: Slack did not let lanebot open the reason dialog in time; click Reject again.';
    return { outcome: 'refused', reply: text, detail: `views.open failed: ${(error as Error).message}`.slice(0, 200), scope };
  }
  return { outcome: 'accepted', detail: 'asked for the reason', scope };
}
