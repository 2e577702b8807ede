// Modals as Slack runs them for an app: trigger_ids that a click or command hands the app (valid
// once, for 3 seconds), views.open that exchanges one for a modal shown to the person who clicked,
// Slack's checks of the view, the person's typing and submit (with the checks Slack's client makes
// before anything is sent), the view_submission payload, and what the app's HTTP answer does to the
// modal (close, errors under their inputs, clear, update, push). Each person has a stack of views;
// the top one is what they see.
import { randomBytes } from 'node:crypto';
import type { SlackTeam } from '../slack-signing';
import { newTriggerId } from '../slack-signing';
import { optionalString } from './slack-params';
import { SlackApiError, WorkspaceError, type BotIdentity, type ConsoleModal, type ModalChange, type ModalViewData, type Params, type PlainText } from './types';

export type { ConsoleModal, ModalChange, ModalChangeKind, ModalViewData, PlainText } from './types';

/** How long Slack honours a trigger_id. */
export const TRIGGER_TTL_MS = 3000;
/** How long a used or expired trigger is still recognised as such (then it is unknown: invalid_trigger_id). */
const TRIGGER_MEMORY_MS = 10 * 60 * 1000;
/** Slack's format for trigger ids ("12345.98765.abcd2358fdea"). */
const TRIGGER_FORMAT = /^\d+\.\d+\.[0-9a-f]+$/;
const MAX_TITLE = 24;
const MAX_BLOCKS = 100;
const MAX_CALLBACK_ID = 255;
const MAX_PRIVATE_METADATA = 3000;
const MAX_EXTERNAL_ID = 255;
const MAX_LABEL = 2000;
const MAX_ID = 255;
const MAX_INPUT_LENGTH = 3000;
/** Slack's limit of views in one stack (views.push / response_action push). */
const MAX_STACK = 3;



/** What a person types into a modal: block_id → text (the block's one input), or block_id → action_id → text. */
export type ModalValues = Record<string, string | Record<string, string>>;

/** What submitting comes to before anything is sent: Slack's client refuses, or the payload to send. */
export type PreparedSubmission =
  | { ok: false; errors: Record<string, string>; modal: ConsoleModal }
  | { ok: true; payload: Record<string, unknown>; modal: ConsoleModal };

/** What the app's answer to a view_submission did to the modal. */
export type SubmissionOutcome =
  | { outcome: 'closed' | 'cleared' | 'updated' | 'pushed' | 'errors'; modal?: ConsoleModal; errors?: Record<string, string> }
  | { outcome: 'failed'; error: string; modal: ConsoleModal };

interface Trigger {
  user: string;
  expiresAt: number;
  used: boolean;
}

export interface ModalStoreDeps {
  bot: BotIdentity;
  team: SlackTeam;
  now: () => number;
  onChange: (change: ModalChange) => void;
}

export class ModalStore {
  private readonly triggers = new Map<string, Trigger>();
  /** user id → stack of open views, bottom first. */
  private readonly stacks = new Map<string, ConsoleModal[]>();

  constructor(private readonly deps: ModalStoreDeps) {}

  /** A new trigger_id for something `user` just did (a click, a command, a submission). */
  issueTrigger(user: string): string {
    const now = this.deps.now();
    for (const [id, trigger] of this.triggers) if (trigger.expiresAt + TRIGGER_MEMORY_MS < now) this.triggers.delete(id);
    const id = newTriggerId();
    this.triggers.set(id, { user, expiresAt: now + TRIGGER_TTL_MS, used: false });
    return id;
  }

  /** views.open: exchanges the trigger for a modal shown to the user who caused it. */
  open(p: Params): Record<string, unknown> {
    const triggerId = optionalString(p.trigger_id) ?? optionalString(p.interactivity_pointer);
    if (!triggerId) throw new SlackApiError('invalid_arguments', 'missing required field: trigger_id');
    const view = parseModalView(p.view);
    const trigger = this.exchange(triggerId);
    const user = trigger.user;
    if (view.external_id && this.all().some((m) => m.view.external_id === view.external_id)) throw new SlackApiError('duplicate_external_id');
    // A new modal takes the place of whatever the person had open, as in Slack.
    for (const old of this.stacks.get(user) ?? []) this.deps.onChange({ kind: 'closed', modal: old });
    const modal = this.newModal(user, view, null, null);
    this.stacks.set(user, [modal]);
    this.deps.onChange({ kind: 'opened', modal });
    return { ok: true, view: this.apiView(modal) };
  }

  /** Open views, bottom of each stack first; only `user`'s when given. */
  list(user?: string): ConsoleModal[] {
    // Copies: what a caller holds does not change under it when the view does.
    return (user ? (this.stacks.get(user) ?? []) : this.all()).map((m) => structuredClone(m));
  }

  /** The view `user` sees now (the top of their stack), if it is `viewId`. */
  requireTop(user: string, viewId: string): ConsoleModal {
    const stack = this.stacks.get(user) ?? [];
    const top = stack.at(-1);
    if (!top || top.id !== viewId) {
      const open = stack.some((m) => m.id === viewId);
      throw new WorkspaceError(404, open ? `view ${viewId} is under another view of ${user}; submit or close the top one` : `${user} has no open modal ${viewId}`);
    }
    return top;
  }

  /**
   * The person presses the submit button with `values` typed in. Slack's client first checks the
   * inputs itself (required ones filled, min/max length) and sends nothing if one fails.
   */
  prepareSubmission(user: string, viewId: string, values: ModalValues, userName: string): PreparedSubmission {
    const modal = this.requireTop(user, viewId);
    if (!modal.view.submit) throw new WorkspaceError(400, `view ${viewId} has no submit button`);
    const typed = normalizeValues(modal, values);
    const errors: Record<string, string> = {};
    for (const input of inputsOf(modal.view)) {
      const text = typed[input.blockId]?.[input.actionId] ?? '';
      if (input.elementType !== 'plain_text_input') continue;
      if (!text && !input.optional) errors[input.blockId] = 'Please complete this required field.';
      else if (text && input.minLength !== undefined && text.length < input.minLength) errors[input.blockId] = `Must be at least ${input.minLength} characters.`;
      else if (input.maxLength !== undefined && text.length > input.maxLength) errors[input.blockId] = `Must be at most ${input.maxLength} characters.`;
    }
    modal.values = typed;
    if (Object.keys(errors).length > 0) {
      modal.errors = errors;
      this.deps.onChange({ kind: 'updated', modal });
      return { ok: false, errors, modal };
    }
    const team = this.deps.team;
    const payload = {
      type: 'view_submission',
      team: { id: team.id, domain: team.domain },
      user: { id: user, username: userName, name: userName, team_id: team.id },
      api_app_id: this.deps.bot.appId,
      token: 'legacy-verification-token',
      trigger_id: this.issueTrigger(user),
      view: this.apiView(modal),
      response_urls: [],
      is_enterprise_install: false,
      enterprise: null,
    };
    return { ok: true, payload, modal };
  }

  /** What the app answered to the submission of `viewId` (HTTP 200; `body` is its text) does to the modal. */
  applySubmissionAnswer(user: string, viewId: string, body: string): SubmissionOutcome {
    const modal = this.requireTop(user, viewId);
    const raw = body.trim();
    if (!raw) return this.closeTop(user, 'closed');
    let answer: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      answer = parsed as Record<string, unknown>;
    } catch {
      return this.failed(modal, `the app answered with something that is not a JSON object: ${raw.slice(0, 200)}`);
    }
    switch (answer.response_action) {
      case undefined:
        // Slack closes the view on any 200 without a response_action.
        return this.closeTop(user, 'closed');
      case 'clear':
        return this.closeAll(user);
      case 'errors': {
        const errors = answer.errors;
        if (typeof errors !== 'object' || errors === null || Array.isArray(errors)) return this.failed(modal, 'response_action errors needs an errors object');
        const inputIds = new Set(inputsOf(modal.view).map((i) => i.blockId));
        const entries = Object.entries(errors as Record<string, unknown>);
        const bad = entries.find(([blockId, message]) => !inputIds.has(blockId) || typeof message !== 'string' || !message);
        // Slack shows a generic failure when an error names no input block of the view.
        if (bad || entries.length === 0) return this.failed(modal, `response_action errors must name input blocks of the view with a message (got ${JSON.stringify(errors).slice(0, 200)})`);
        modal.errors = Object.fromEntries(entries) as Record<string, string>;
        this.deps.onChange({ kind: 'updated', modal });
        return { outcome: 'errors', errors: modal.errors, modal };
      }
      case 'update': {
        const view = this.checked(modal, answer.view);
        if (!view) return this.failed(modal, 'response_action update needs a valid modal view');
        Object.assign(modal, { view, hash: newHash(this.deps.now()), errors: {}, values: {} });
        this.deps.onChange({ kind: 'updated', modal });
        return { outcome: 'updated', modal };
      }
      case 'push': {
        const view = this.checked(modal, answer.view);
        if (!view) return this.failed(modal, 'response_action push needs a valid modal view');
        const stack = this.stacks.get(user) ?? [];
        if (stack.length >= MAX_STACK) return this.failed(modal, `a modal stack holds at most ${MAX_STACK} views`);
        const pushed = this.newModal(user, view, modal.rootViewId, modal.id);
        stack.push(pushed);
        this.deps.onChange({ kind: 'opened', modal: pushed });
        return { outcome: 'pushed', modal: pushed };
      }
      default:
        return this.failed(modal, `unknown response_action ${JSON.stringify(answer.response_action)}`);
    }
  }

  /** The person closes the view they see (the close button or ✕): back to the one below, or all with clear_on_close. */
  close(user: string, viewId: string): { closed: ConsoleModal[] } {
    const modal = this.requireTop(user, viewId);
    if (modal.view.clear_on_close) return { closed: this.closeAll(user).closed };
    this.closeTop(user, 'closed');
    return { closed: [modal] };
  }

  /** The Web API's view object (views.open's answer and the payloads' `view`). */
  apiView(modal: ConsoleModal): Record<string, unknown> {
    const { view } = modal;
    return {
      id: modal.id,
      team_id: this.deps.team.id,
      type: 'modal',
      blocks: view.blocks,
      private_metadata: view.private_metadata,
      callback_id: view.callback_id,
      state: { values: stateValues(modal) },
      hash: modal.hash,
      title: view.title,
      clear_on_close: view.clear_on_close,
      notify_on_close: view.notify_on_close,
      close: view.close ?? null,
      submit: view.submit ?? null,
      previous_view_id: modal.previousViewId,
      root_view_id: modal.rootViewId,
      app_id: this.deps.bot.appId,
      external_id: view.external_id,
      app_installed_team_id: this.deps.team.id,
      bot_id: this.deps.bot.botId,
    };
  }

  private all(): ConsoleModal[] {
    return [...this.stacks.values()].flat();
  }

  private exchange(triggerId: string): Trigger {
    if (!TRIGGER_FORMAT.test(triggerId)) throw new SlackApiError('invalid_trigger_id');
    const trigger = this.triggers.get(triggerId);
    if (!trigger) throw new SlackApiError('invalid_trigger_id');
    if (trigger.used) throw new SlackApiError('exchanged_trigger_id');
    if (this.deps.now() > trigger.expiresAt) throw new SlackApiError('expired_trigger_id');
    trigger.used = true;
    return trigger;
  }

  private newModal(user: string, view: ModalViewData, rootViewId: string | null, previousViewId: string | null): ConsoleModal {
    const id = `V${randomBytes(5).toString('hex').toUpperCase()}`;
    const now = this.deps.now();
    return { id, user, view, hash: newHash(now), rootViewId: rootViewId ?? id, previousViewId, errors: {}, values: {}, openedAt: now };
  }

  private checked(_modal: ConsoleModal, value: unknown): ModalViewData | undefined {
    try {
      return parseModalView(value);
    } catch {
      return undefined;
    }
  }

  /** Slack keeps the view open and says it could not reach the app; the console API says why. */
  private failed(modal: ConsoleModal, error: string): SubmissionOutcome {
    return { outcome: 'failed', error, modal };
  }

  private closeTop(user: string, outcome: 'closed'): SubmissionOutcome {
    const stack = this.stacks.get(user) ?? [];
    const closed = stack.pop();
    if (stack.length === 0) this.stacks.delete(user);
    if (closed) this.deps.onChange({ kind: 'closed', modal: closed });
    return { outcome, modal: stack.at(-1) };
  }

  private closeAll(user: string): { outcome: 'cleared'; closed: ConsoleModal[] } {
    const stack = this.stacks.get(user) ?? [];
    this.stacks.delete(user);
    for (const modal of [...stack].reverse()) this.deps.onChange({ kind: 'closed', modal });
    return { outcome: 'cleared', closed: stack };
  }
}

/** Slack's view hash: "<epoch seconds>.<random>". */
function newHash(now: number): string {
  return `${Math.floor(now / 1000)}.${randomBytes(4).toString('hex')}`;
}

interface InputField {
  blockId: string;
  actionId: string;
  elementType: string;
  optional: boolean;
  minLength?: number;
  maxLength?: number;
}

/** The input blocks of a view with their element. */
function inputsOf(view: ModalViewData): InputField[] {
  return view.blocks.flatMap((block) => {
    if (block.type !== 'input') return [];
    const element = block.element as Record<string, unknown>;
    return [{
      blockId: block.block_id as string,
      actionId: element.action_id as string,
      elementType: String(element.type),
      optional: block.optional === true,
      minLength: typeof element.min_length === 'number' ? element.min_length : undefined,
      maxLength: typeof element.max_length === 'number' ? element.max_length : undefined,
    }];
  });
}

/** The typed values, keyed block_id → action_id; a bare string goes to the block's one input. */
function normalizeValues(modal: ConsoleModal, values: ModalValues): Record<string, Record<string, string>> {
  const inputs = new Map(inputsOf(modal.view).map((i) => [i.blockId, i]));
  const result: Record<string, Record<string, string>> = {};
  for (const [blockId, value] of Object.entries(values)) {
    const input = inputs.get(blockId);
    if (!input) throw new WorkspaceError(400, `view ${modal.id} has no input block ${JSON.stringify(blockId)}`);
    if (typeof value === 'string') {
      result[blockId] = { [input.actionId]: value };
      continue;
    }
    if (typeof value !== 'object' || value === null) throw new WorkspaceError(400, `values.${blockId} must be a string or an object of strings`);
    for (const [actionId, text] of Object.entries(value)) {
      if (actionId !== input.actionId) throw new WorkspaceError(400, `input block ${blockId} has no element ${JSON.stringify(actionId)}`);
      if (typeof text !== 'string') throw new WorkspaceError(400, `values.${blockId}.${actionId} must be a string`);
      result[blockId] = { [actionId]: text };
    }
  }
  return result;
}

/**
 * view.state.values as Slack sends it: every input block, keyed block_id → action_id, a
 * plain_text_input as `{type, value}` with null when nothing was typed. Other elements carry only
 * their type (the sandbox renders plain_text_input only).
 */
function stateValues(modal: ConsoleModal): Record<string, Record<string, Record<string, unknown>>> {
  const values: Record<string, Record<string, Record<string, unknown>>> = {};
  for (const input of inputsOf(modal.view)) {
    const typed = modal.values[input.blockId]?.[input.actionId];
    values[input.blockId] = {
      [input.actionId]: input.elementType === 'plain_text_input' ? { type: input.elementType, value: typed ? typed : null } : { type: input.elementType },
    };
  }
  return values;
}

// ---- Slack's checks of a view ------------------------------------------------------------------------

/** Slack's answer to a view it will not show: invalid_arguments naming the field, as its API does. */
function invalid(message: string, pointer: string): never {
  throw new SlackApiError('invalid_arguments', `${message} [json-pointer:/view${pointer}]`);
}

function plainTextField(value: unknown, pointer: string, max: number, required: boolean): PlainText | undefined {
  if (value === undefined || value === null) {
    if (required) invalid('missing required field: text', pointer);
    return undefined;
  }
  const obj = value as { type?: unknown; text?: unknown; emoji?: unknown };
  if (typeof value !== 'object' || obj.type !== 'plain_text') invalid('must be a plain_text text object', `${pointer}/type`);
  if (typeof obj.text !== 'string' || obj.text.length === 0) invalid('must be more than 0 characters', `${pointer}/text`);
  if (obj.text.length > max) invalid(`must be less than ${max + 1} characters`, `${pointer}/text`);
  return { type: 'plain_text', text: obj.text, ...(typeof obj.emoji === 'boolean' ? { emoji: obj.emoji } : {}) };
}

function optionalId(value: unknown, pointer: string, max: number): string {
  if (value === undefined || value === null || value === '') return '';
  if (typeof value !== 'string') invalid('must be a string', pointer);
  if (value.length > max) invalid(`must be less than ${max + 1} characters`, pointer);
  return value;
}

/** A short random id, as Slack gives blocks and elements that come without one. */
function generatedId(): string {
  return randomBytes(3).toString('base64url');
}

/**
 * The `view` parameter of views.open (a JSON string, or an object in a JSON body) or of a
 * response_action, checked the way Slack checks a modal: type `modal`, a title of at most 24
 * characters, submit/close likewise, submit present when there is an input block, at most 100
 * blocks each with a type, unique block_ids, input blocks with a label and an element,
 * callback_id ≤ 255 and private_metadata ≤ 3000 characters.
 */
export function parseModalView(value: unknown): ModalViewData {
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new SlackApiError('invalid_arguments', 'view is not valid JSON');
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SlackApiError('invalid_arguments', 'missing required field: view');
  const v = parsed as Record<string, unknown>;
  if (v.type !== 'modal') invalid('must be one of the following: modal (views.open opens modals; home tabs are published)', '/type');
  const title = plainTextField(v.title, '/title', MAX_TITLE, true)!;
  const submit = plainTextField(v.submit, '/submit', MAX_TITLE, false);
  const close = plainTextField(v.close, '/close', MAX_TITLE, false);
  if (!Array.isArray(v.blocks)) invalid('missing required field: blocks', '/blocks');
  if (v.blocks.length > MAX_BLOCKS) invalid(`no more than ${MAX_BLOCKS} items allowed`, '/blocks');
  const blockIds = new Set<string>();
  const blocks = v.blocks.map((raw, index) => {
    const pointer = `/blocks/${index}`;
    if (typeof raw !== 'object' || raw === null || typeof (raw as { type?: unknown }).type !== 'string') invalid('missing required field: type', pointer);
    const block = { ...(raw as Record<string, unknown>) };
    block.block_id = optionalId(block.block_id, `${pointer}/block_id`, MAX_ID) || generatedId();
    if (blockIds.has(block.block_id as string)) invalid(`duplicate block_id ${String(block.block_id)}`, `${pointer}/block_id`);
    blockIds.add(block.block_id as string);
    if (block.type === 'input') {
      plainTextField(block.label, `${pointer}/label`, MAX_LABEL, true);
      const element = block.element as Record<string, unknown> | undefined;
      if (typeof element !== 'object' || element === null || typeof element.type !== 'string') invalid('missing required field: element', `${pointer}/element`);
      const checkedElement = { ...element, action_id: optionalId(element.action_id, `${pointer}/element/action_id`, MAX_ID) || generatedId() };
      if (element.type === 'plain_text_input') {
        for (const key of ['min_length', 'max_length'] as const) {
          const length = element[key];
          if (length !== undefined && (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || length > MAX_INPUT_LENGTH)) {
            invalid(`must be an integer from 0 to ${MAX_INPUT_LENGTH}`, `${pointer}/element/${key}`);
          }
        }
      }
      block.element = checkedElement;
    }
    return block;
  });
  if (!submit && blocks.some((b) => b.type === 'input')) invalid('submit is required when the view has an input block', '/submit');
  const callbackId = optionalId(v.callback_id, '/callback_id', MAX_CALLBACK_ID);
  const privateMetadata = optionalId(v.private_metadata, '/private_metadata', MAX_PRIVATE_METADATA);
  const externalId = optionalId(v.external_id, '/external_id', MAX_EXTERNAL_ID);
  return {
    type: 'modal',
    title,
    ...(submit ? { submit } : {}),
    ...(close ? { close } : {}),
    blocks,
    callback_id: callbackId,
    private_metadata: privateMetadata,
    external_id: externalId,
    clear_on_close: v.clear_on_close === true,
    notify_on_close: v.notify_on_close === true,
  };
}
