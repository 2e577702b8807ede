// The "Deploy again" button on the final reply of a deploy that changed nothing.
import type { ActionsBlock, Button, KnownBlock } from '@slack/web-api';
import type { OperationRecord, OperationStatus } from '../../../src/domain/operation';
import { deployRecord, T0, type DeployOverrides } from '../../support/fixtures';
import { MAX_BRANCH_LENGTH, MAX_LANE_LENGTH } from '../../../src/domain/names';
import { DEPLOY_AGAIN_ACTION_ID, decodeDeployAgainValue as decodeActionValue } from '../../../src/slack/actions/deploy-again';
import { rootMessage as renderRoot, threadReply as renderReply, type RenderContext, type ThreadEvent } from '../../../src/chat/messages';
import { createOperationRegistry } from '../../../src/operations/kinds/index';

// The messages as the narrator renders them: each with its kind's view from the operations registry.
const { viewOf } = createOperationRegistry();
const rootMessage = (op: OperationRecord, now: number) => renderRoot(op, viewOf(op), now);
const threadReply = (op: OperationRecord, event: ThreadEvent, ctx: RenderContext) => renderReply(op, event, viewOf(op), ctx);


const deploy = (overrides: Partial<OperationRecord> & DeployOverrides = {}): OperationRecord => deployRecord({ status: 'failed', ...overrides });

const finished = (record: OperationRecord) => threadReply(record, { kind: 'finished' }, { now: T0 });

function actionsOf(blocks: KnownBlock[] | undefined): ActionsBlock[] {
  return (blocks ?? []).filter((b): b is ActionsBlock => b.type === 'actions');
}

function deployAgainButton(record: OperationRecord): Button {
  const actions = actionsOf(finished(record).blocks);
  expect(actions).toHaveLength(1);
  const [element, ...rest] = actions[0]!.elements;
  expect(rest).toEqual([]);
  expect(element?.type).toBe('button');
  return element as Button;
}

describe('the final reply of a deploy that changed nothing', () => {
  it.each<OperationStatus>(['failed', 'stopped', 'cancelled'])('%s: keeps its text and ends with a "Deploy again" button', (status) => {
    const message = finished(deploy({ status }));
    const blocks = message.blocks ?? [];
    expect(blocks.map((b) => b.type)).toEqual(['section', 'actions']);
    // The fallback text is the section's text: notifications and block-less clients lose nothing.
    expect(blocks[0]?.type === 'section' && blocks[0].text?.text).toBe(message.text);
    expect(message.text).toContain('release/1.2.3');

    const button = deployAgainButton(deploy({ status }));
    expect(button).toMatchObject({
      action_id: DEPLOY_AGAIN_ACTION_ID,
      style: 'primary',
      text: { type: 'plain_text', text: 'Deploy again' },
    });
    expect(button.url).toBeUndefined();
  });

  it('carries only the versioned deploy id in the value', () => {
    const button = deployAgainButton(deploy());
    expect(JSON.parse(button.value!)).toEqual({ v: 1, deployId: 'mhx3k2a0-0123456789ab' });
    expect(decodeActionValue(button.value)).toEqual({ ok: true, value: { v: 1, deployId: 'mhx3k2a0-0123456789ab' } });
  });

  it('asks for confirmation, naming the branch and the lane', () => {
    const { confirm } = deployAgainButton(deploy());
    expect(confirm).toEqual({
      title: { type: 'plain_text', text: 'Deploy again?' },
      text: { type: 'mrkdwn', text: 'Deploy `release/1.2.3` to lane *gray* again?' },
      confirm: { type: 'plain_text', text: 'Deploy again' },
      deny: { type: 'plain_text', text: 'Cancel' },
    });
  });

  it('keeps the confirmation within Slack limits for the longest branch and lane, cutting the branch only', () => {
    const lane = 'l'.repeat(MAX_LANE_LENGTH);
    const branch = `feature/${'b'.repeat(MAX_BRANCH_LENGTH - 'feature/'.length)}`;
    const { confirm } = deployAgainButton(deploy({ lane, branch }));
    const text = confirm?.text.text ?? '';
    expect(text.length).toBeLessThanOrEqual(300);
    expect(text).toMatch(/^Deploy `feature\/b+…` to lane \*l+\* again\?$/);
    expect(text).toContain(`*${lane}*`);
    expect(confirm?.title?.text.length).toBeLessThanOrEqual(100);
  });

  it.each<OperationStatus>(['queued', 'waiting', 'starting', 'running', 'succeeded', 'superseded', 'error'])('%s: has no button', (status) => {
    expect(actionsOf(finished(deploy({ status })).blocks)).toEqual([]);
  });

  it('is pure: the same record gives the same message', () => {
    expect(finished(deploy())).toEqual(finished(deploy()));
  });
});
