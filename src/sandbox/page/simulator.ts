// The Simulator panel: what the simulated AWS account holds (pipeline executions with their
// approvals, stacks, lanes' health and alarms, armed faults) and the levers a person pulls to see
// how the bot reacts. Polls GET /sandbox/sim/state while open.
import { api, errorText, HttpError, isRefusal } from './api';
import { byId, h, type Child } from './dom';
import { rerender } from './messages';
import { state, STORAGE } from './state';
import type { LaneHealthChange, SimAlarm, SimExecutionRow, SimFaultKind, SimLaneRow, SimStackRow, SimState, SimTargetHealth } from './sim-types';
import { ago, fullTime, hhmmss, toDate } from './time';
import { toast } from './toast';
import type { ChannelBinding } from '../slack-workspace';

const sim: { timer: ReturnType<typeof setInterval> | undefined; unavailableToasted: boolean; loading: boolean; again: boolean; lastState: SimState | null } = {
  timer: undefined,
  unavailableToasted: false,
  loading: false,
  again: false,
  lastState: null,
};

function simOpen(): boolean {
  return byId('sim-panel').dataset.open === 'true';
}

export function setSimOpen(open: boolean): void {
  const panel = byId('sim-panel');
  panel.dataset.open = String(open);
  byId('sim-collapse').setAttribute('aria-expanded', String(open));
  localStorage.setItem(STORAGE.sim, open ? '1' : '0');
  document.body.classList.toggle('sim-open', open);
  clearInterval(sim.timer);
  sim.timer = undefined;
  if (open) {
    sim.unavailableToasted = false;
    void refreshSim();
    sim.timer = setInterval(() => void refreshSim(), 2000);
  }
}

function bindings(): ChannelBinding[] {
  const seen = new Map<string, ChannelBinding>();
  for (const ch of state.channels) {
    if (ch.binding) seen.set(`${ch.binding.service}/${ch.binding.env}`, ch.binding);
  }
  return [...seen.values()];
}

export function fillSimForms(): void {
  const list = bindings();
  byId('fail-pipeline').replaceChildren(...list.map((b) => h('option', { value: `${b.service}-${b.env}` }, `${b.service}-${b.env}`)));
  byId('health-binding').replaceChildren(...list.map((b) => h('option', { value: `${b.service}/${b.env}` }, `${b.service}/${b.env}`)));
  syncSimDefaults();
}

/** The forms default to the current channel's binding. */
export function syncSimDefaults(): void {
  const binding = state.channelId === null ? undefined : state.channelsById.get(state.channelId)?.binding;
  if (!binding) return;
  const pipeline = byId<HTMLSelectElement>('fail-pipeline');
  const health = byId<HTMLSelectElement>('health-binding');
  if ([...pipeline.options].some((o) => o.value === `${binding.service}-${binding.env}`)) pipeline.value = `${binding.service}-${binding.env}`;
  if ([...health.options].some((o) => o.value === `${binding.service}/${binding.env}`)) health.value = `${binding.service}/${binding.env}`;
}

function statusBadge(status: string | undefined): HTMLSpanElement {
  const s = String(status ?? '').toLowerCase();
  const tone = /fail|rollback_failed|error/.test(s) ? 'bad'
    : /progress|running|pending|starting/.test(s) ? 'busy'
      : /succeed|complete|ok|healthy/.test(s) ? 'good'
        : /stop|cancel|supersed|delete/.test(s) ? 'off' : 'neutral';
  return h('span', { class: `status status-${tone}` }, status ?? '—');
}

async function refreshSim(): Promise<void> {
  // One at a time; a refresh asked for meanwhile (e.g. after a control) runs right after.
  if (sim.loading) {
    sim.again = true;
    return;
  }
  sim.loading = true;
  sim.again = false;
  try {
    const data = await api<SimState>('GET', '/sim/state');
    byId('sim-unavailable').hidden = true;
    const simState = data && !isRefusal(data) ? data : null;
    sim.lastState = simState;
    renderSimState(simState ?? { ok: true });
    byId('sim-updated').textContent = `updated ${hhmmss(new Date())}`;
  } catch (error) {
    if (error instanceof HttpError && error.status === 404) {
      byId('sim-unavailable').hidden = false;
      byId('sim-updated').textContent = '';
      if (!sim.unavailableToasted) toast('not available', 'error');
      sim.unavailableToasted = true;
    } else {
      byId('sim-updated').textContent = `refresh failed: ${errorText(error)}`;
    }
  } finally {
    sim.loading = false;
    if (sim.again) void refreshSim();
  }
}

function emptyRow(cols: number, text: string): HTMLTableRowElement {
  return h('tr', { class: 'empty-row' }, h('td', { colspan: String(cols) }, text));
}

function renderSimState(data: SimState): void {
  const now = toDate(data.clock?.now)?.getTime() ?? Date.now();
  renderPipelineChoices(Array.isArray(data.pipelines) ? data.pipelines : []);
  renderFaults(Array.isArray(data.faults) ? data.faults : []);
  renderExecutions(Array.isArray(data.executions) ? [...data.executions] : [], now);
  renderStacks(Array.isArray(data.stacks) ? data.stacks : [], now);
  renderLanes(Array.isArray(data.lanes) ? data.lanes : [], now);

  const clock = data.clock;
  const clockNow = toDate(clock?.now);
  if (clock && clockNow) {
    const offset = Number(clock.offsetMs ?? 0);
    // Dates in messages say "today" or "tomorrow" by the simulated clock the bot posts them with.
    if (Number.isFinite(offset) && offset !== state.simOffsetMs) {
      state.simOffsetMs = offset;
      if (state.channelId) rerender(state.channelId);
    }
    const days = Math.floor(offset / 86_400_000);
    const hours = Math.floor((offset % 86_400_000) / 3_600_000);
    const minutes = Math.floor((offset % 3_600_000) / 60_000);
    const skew = offset > 0 ? ` (+${days ? `${days} d ` : ''}${hours ? `${hours} h ` : ''}${!days && !hours ? `${minutes} min` : ''})`.replace(/ \)$/, ')') : '';
    byId('sim-clock').textContent = `🕒 sim time ${clockNow.toLocaleString(undefined, { weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })}${skew}`;
  }
}

/** Every pipeline of the simulated account (infra-{env} and boot-{env} too) can be made to fail. */
function renderPipelineChoices(names: readonly string[]): void {
  const select = byId<HTMLSelectElement>('fail-pipeline');
  const current = [...select.options].map((o) => o.value);
  if (names.length === 0 || (current.length === names.length && current.every((v, i) => v === names[i]))) return;
  const chosen = select.value;
  select.replaceChildren(...names.map((name) => h('option', { value: name }, name)));
  if (names.includes(chosen)) select.value = chosen;
}

const FAULT_LABELS: Readonly<Record<SimFaultKind, string>> = { throttled: 'throttled', 'access-denied': 'access denied', unavailable: '503 unavailable' };

function faultLabel(fault: string): string {
  return FAULT_LABELS[fault as SimFaultKind] ?? fault;
}

/** The armed faults, in the order they will fail the bot's calls. */
function renderFaults(faults: NonNullable<SimState['faults']>): void {
  const box = byId('pending-faults');
  if (faults.length === 0) {
    box.replaceChildren('No faults armed.');
    return;
  }
  box.replaceChildren('Armed:', ...faults.map((f) =>
    h('span', { class: 'status status-bad', 'data-testid': 'pending-fault' }, `${f.count} × ${faultLabel(f.fault)} on ${f.service}`)));
}

// ---- executions, with Approve / Reject on those waiting at a manual approval

function renderExecutions(executions: SimExecutionRow[], now: number): void {
  executions.sort((a, b) => (toDate(b.startedAt)?.getTime() ?? 0) - (toDate(a.startedAt)?.getTime() ?? 0));
  byId<HTMLTableElement>('sim-executions').tBodies[0]!.replaceChildren(...(executions.length ? executions.map((e) => {
    const started = toDate(e.startedAt);
    return h('tr', { 'data-testid': 'execution-row', 'data-execution': e.executionId ?? '' },
      h('td', null, h('code', null, e.pipeline ?? '')),
      h('td', null, e.lane ?? ''),
      h('td', null, h('code', null, e.branch ?? '')),
      h('td', { title: e.statusSummary ?? '' }, statusBadge(e.status)),
      h('td', { title: started ? fullTime(started) : '' }, started ? ago(started, now) : '—'),
      h('td', { class: 'mono', title: e.executionId ?? '' }, String(e.executionId ?? '').slice(0, 8)),
      h('td', { class: 'wrap' }, e.pendingApproval ? approvalControls(e, e.pendingApproval, now) : null));
  }) : [emptyRow(7, 'No pipeline executions yet. Run /lane deploy in a bound channel.')]));
  const count = byId('count-executions');
  count.textContent = String(executions.length);
  const waiting = executions.filter((e) => e.pendingApproval).length;
  count.title = waiting ? `${waiting} waiting for approval` : '';
  count.classList.toggle('count-alert', waiting > 0);
}

function approvalControls(execution: SimExecutionRow, pending: NonNullable<SimExecutionRow['pendingApproval']>, now: number): HTMLElement {
  const since = toDate(pending.since);
  const answer = (approved: boolean) => (event: MouseEvent): void => {
    (event.currentTarget as HTMLElement).closest('.approval')?.classList.add('busy');
    void simPost('/sim/approve', { executionId: execution.executionId, approved, summary: `${approved ? 'Approved' : 'Rejected'} in the sandbox console` },
      `${approved ? 'Approved' : 'Rejected'} ${execution.pipeline} (${execution.lane ?? 'no lane'}).`);
  };
  return h('span', { class: 'approval', title: `${pending.stageName} / ${pending.actionName}, as an approver would answer in the AWS console` },
    h('span', { class: 'status status-wait' }, `⏸ approval${since ? ` · ${ago(since, now)}` : ''}`),
    h('button', { type: 'button', class: 'mini-btn mini-approve', 'data-testid': 'approve', onclick: answer(true) }, 'Approve'),
    h('button', { type: 'button', class: 'mini-btn mini-reject', 'data-testid': 'reject', onclick: answer(false) }, 'Reject'));
}

// ---- stacks

function stackTone(status: string | null | undefined): string {
  const s = String(status ?? '');
  if (/FAILED|ROLLBACK/.test(s)) return 'bad';
  if (/IN_PROGRESS/.test(s)) return 'busy';
  if (/COMPLETE/.test(s)) return 'good';
  return 'neutral';
}

function stackBadge(status: string | null | undefined): HTMLSpanElement {
  return h('span', { class: `status status-${stackTone(status)}`, 'data-testid': 'stack-status' }, status ?? '—');
}

function lastOperationCell(op: SimStackRow['lastOperation'] | undefined, now: number): Child {
  if (!op) return '—';
  const started = toDate(op.startedAt);
  const ends = toDate(op.endsAt);
  const outcome = !op.finished ? 'running' : op.succeeded ? 'succeeded' : 'failed';
  const when = op.finished && ends ? `ended ${ago(ends, now)}` : started ? `started ${ago(started, now)}` : '';
  return h('span', { class: 'last-op', title: op.statusReason ?? '' },
    h('b', null, op.kind ?? 'operation'), ' ', h('span', { class: `op-${outcome}` }, outcome), when ? h('span', { class: 'muted' }, ` · ${when}`) : null,
    op.statusReason ? h('div', { class: 'op-reason' }, op.statusReason) : null);
}

/**
 * The image a lane stack runs (its ImageUri parameter): what promote and rollback change in place, so
 * the page shows it to see them work. Only its tag (`:gray-d153776f6cec`) or the start of its digest
 * (`@sha256:ab12cd34ef56…`): the registry and repository are the same for every lane of a service and
 * would not fit the panel; the whole URI on hover and in data-image. Under the stack's name rather than
 * a column of its own: the table is already as wide as the panel.
 */
function stackImage(uri: string): Child {
  const name = uri.slice(uri.lastIndexOf('/') + 1);
  const at = name.indexOf('@');
  const colon = name.lastIndexOf(':');
  const short = at >= 0 ? `@${name.slice(at + 1, at + 20)}…` : colon >= 0 ? name.slice(colon) : name;
  return h('code', { 'data-testid': 'stack-image', 'data-image': uri, title: uri }, short);
}

function renderStacks(stacks: readonly SimStackRow[], now: number): void {
  byId('count-stacks').textContent = String(stacks.length);
  byId<HTMLTableElement>('sim-stacks').tBodies[0]!.replaceChildren(...(stacks.length
    ? stacks.map((s) => h('tr', { 'data-testid': 'stack-row', 'data-stack': s.name ?? '' },
      h('td', null, h('code', null, s.name ?? ''), s.family ? h('span', { class: 'family' }, s.family) : null,
        s.parameters?.ImageUri ? h('div', { class: 'muted' }, 'image ', stackImage(s.parameters.ImageUri)) : null),
      h('td', { title: s.statusReason ?? '' }, stackBadge(s.status)),
      h('td', { class: 'wrap' }, lastOperationCell(s.lastOperation, now)),
      h('td', null, h('button', {
        type: 'button',
        class: 'mini-btn mini-reject',
        'data-testid': 'fail-next-stack',
        title: 'Make the next create, update or delete of this stack fail: a create or update rolls back; a delete ends in DELETE_FAILED, keeping what it could not remove',
        onclick: () => void simPost('/sim/fail-next-stack', { stack: s.name }, `The next operation of ${s.name} fails.`),
      }, 'Fail next op'))))
    : [emptyRow(4, 'No stacks yet: a deploy creates its lane stack.')]));
  byId('stack-names').replaceChildren(...stacks.map((s) => h('option', { value: s.name })));
}

// ---- lane health: one row per lane, updated in place so that its inputs keep focus and edits

const ALARM_LABELS: Readonly<Record<string, string>> = { errorRate: '5xx rate', unhealthyHosts: 'unhealthy hosts', runningTasks: 'tasks < desired' };
const ALARM_TONE: Readonly<Record<string, string>> = { OK: 'good', ALARM: 'bad', INSUFFICIENT_DATA: 'off' };

interface LaneRowView {
  tr: HTMLTableRowElement;
  cells: { lane: HTMLTableCellElement; targets: HTMLTableCellElement; settings: HTMLTableCellElement; alarms: HTMLTableCellElement };
  form: HTMLFormElement;
  /** Shown instead of the form on the canary's row: its settings are its source lane's. */
  follows: HTMLDivElement;
  inputs: { rate: HTMLInputElement; rateNumber: HTMLInputElement; unhealthy: HTMLInputElement; p99: HTMLInputElement };
}

const laneRows = new Map<string, LaneRowView>();

function laneKey(l: SimLaneRow): string {
  return `${l.service}/${l.env}/${l.lane}`;
}

function renderLanes(lanes: readonly SimLaneRow[], now: number): void {
  const count = byId('count-lanes');
  count.textContent = String(lanes.length);
  const alarming = lanes.some((l) => (l.alarms ?? []).some((a) => a.state === 'ALARM'));
  count.classList.toggle('count-alert', alarming);
  byId('lane-names').replaceChildren(...[...new Set(lanes.map((l) => l.lane).filter(Boolean))].map((lane) => h('option', { value: lane })));
  const body = byId<HTMLTableElement>('sim-lanes').tBodies[0]!;
  if (!lanes.length) {
    laneRows.clear();
    body.replaceChildren(emptyRow(4, 'No lanes yet: deploy one, or set a lane’s health in the form.'));
    return;
  }
  const rows = lanes.map((l) => {
    let row = laneRows.get(laneKey(l));
    if (!row) {
      row = laneRow(l);
      laneRows.set(laneKey(l), row);
    }
    updateLaneRow(row, l, now);
    return row.tr;
  });
  for (const key of [...laneRows.keys()]) if (!lanes.some((l) => laneKey(l) === key)) laneRows.delete(key);
  // Re-attach only when the rows changed: moving a row would take the focus from its inputs.
  const current = [...body.children];
  if (current.length !== rows.length || current.some((tr, i) => tr !== rows[i])) body.replaceChildren(...rows);
}

function laneRow(l: SimLaneRow): LaneRowView {
  const rate = h('input', { type: 'range', min: '0', max: '20', step: '0.5', 'aria-label': `5xx rate of ${l.lane} (slider)`, 'data-testid': 'lane-5xx-slider' });
  const rateNumber = h('input', { type: 'number', min: '0', max: '100', step: '0.1', class: 'num', 'aria-label': `5xx rate of ${l.lane} in percent`, 'data-testid': 'lane-5xx' });
  const unhealthy = h('input', { type: 'number', min: '0', max: '100', step: '1', class: 'num', 'aria-label': `unhealthy targets of ${l.lane}`, 'data-testid': 'lane-unhealthy' });
  const p99 = h('input', { type: 'number', min: '1', max: '60000', step: '1', class: 'num num-wide', 'aria-label': `p99 latency of ${l.lane} in ms`, 'data-testid': 'lane-p99' });
  const apply = h('button', { type: 'submit', class: 'mini-btn', 'data-testid': 'lane-apply' }, 'Set');
  const form = h('form', { class: 'lane-form', autocomplete: 'off' },
    h('label', { class: 'lane-field', title: 'Share of the lane’s requests answered with a 5xx (the alarm fires above 1% over 5 minutes)' }, '5xx', rate, rateNumber, '%'),
    h('label', { class: 'lane-field', title: 'Targets failing the health check (ECS keeps replacing them, so fewer tasks run)' }, 'unhealthy', unhealthy),
    h('label', { class: 'lane-field', title: 'The lane’s TargetResponseTime p99 (what a canary’s analysis compares with the baseline’s)' }, 'p99', p99, 'ms'),
    apply);
  const follows = h('div', { class: 'muted small', 'data-testid': 'lane-follows', hidden: true });
  for (const input of [rate, rateNumber, unhealthy, p99]) input.addEventListener('input', () => { input.dataset.dirty = '1'; });
  rate.addEventListener('input', () => { rateNumber.value = rate.value; rateNumber.dataset.dirty = '1'; });
  rateNumber.addEventListener('input', () => { rate.value = String(Math.min(20, Number(rateNumber.value) || 0)); });
  // Releasing the slider applies it, as the number box does with Enter or Set.
  rate.addEventListener('change', () => form.requestSubmit());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body: LaneHealthChange = { service: l.service, env: l.env, lane: l.lane };
    if (rateNumber.dataset.dirty) body.errorRatePercent = Number(rateNumber.value);
    if (unhealthy.dataset.dirty) body.unhealthyTargets = Number(unhealthy.value);
    if (p99.dataset.dirty) body.p99Ms = Number(p99.value);
    if (body.errorRatePercent === undefined && body.unhealthyTargets === undefined && body.p99Ms === undefined) return;
    const ok = await simPost('/sim/lane-health', body, `Lane ${l.lane} of ${l.service}/${l.env}: ${describeHealthChange(body)}.`);
    if (ok) for (const input of [rate, rateNumber, unhealthy, p99]) delete input.dataset.dirty;
  });
  const cells = {
    lane: h('td', null),
    targets: h('td', { class: 'wrap' }),
    settings: h('td', { class: 'wrap' }, form, follows),
    alarms: h('td', { class: 'wrap' }),
  };
  const tr = h('tr', { 'data-testid': 'lane-row', 'data-lane': laneKey(l) }, cells.lane, cells.targets, cells.settings, cells.alarms);
  return { tr, cells, form, follows, inputs: { rate, rateNumber, unhealthy, p99 } };
}

function describeHealthChange(body: LaneHealthChange): string {
  const parts: string[] = [];
  if (body.errorRatePercent !== undefined) parts.push(`5xx rate ${body.errorRatePercent}%`);
  if (body.unhealthyTargets !== undefined) parts.push(`${body.unhealthyTargets} unhealthy target${body.unhealthyTargets === 1 ? '' : 's'}`);
  if (body.p99Ms !== undefined) parts.push(`p99 ${body.p99Ms} ms`);
  if (body.failNextDeployment) parts.push('its next ECS deployment fails');
  return parts.join(', ');
}

function updateLaneRow(row: LaneRowView, l: SimLaneRow, now: number): void {
  row.cells.lane.replaceChildren(h('b', null, l.lane ?? ''), h('span', { class: 'muted small' }, ` ${l.service}/${l.env}`),
    h('div', { title: l.stack ?? '' }, l.stackStatus ? stackBadge(l.stackStatus) : h('span', { class: 'muted small' }, 'no lane stack')));
  row.cells.targets.replaceChildren(targetSummary(l.targetHealth),
    l.stackStatus ? h('div', { class: 'muted small' }, `${l.runningTasks ?? 0}/${l.desiredTasks ?? 0} tasks running`) : '',
    l.traffic ? trafficLine(l.traffic) : '');
  // The canary has no settings of its own: it runs its source lane's release and behaves like it.
  const canaryOf = l.canaryOf ?? null;
  row.form.hidden = canaryOf !== null;
  row.follows.hidden = canaryOf === null;
  if (canaryOf !== null) {
    row.follows.textContent = `behaves like ${canaryOf}: 5xx ${l.errorRatePercent ?? 0}% · ${l.unhealthyTargets ?? 0} unhealthy · p99 ${l.p99Ms ?? '—'} ms (set ${canaryOf}’s)`;
  }
  const alarms = l.alarms ?? [];
  row.cells.alarms.replaceChildren(alarms.length ? h('span', { class: 'alarms' }, ...alarms.map((a) => alarmBadge(a, now))) : h('span', { class: 'muted' }, '—'));
  // The server's values, unless the person is editing them.
  const { rate, rateNumber, unhealthy, p99 } = row.inputs;
  const editing = (input: HTMLInputElement): boolean => Boolean(input.dataset.dirty) || document.activeElement === input;
  if (!editing(rateNumber) && !editing(rate)) {
    rateNumber.value = String(l.errorRatePercent ?? 0);
    rate.value = String(Math.min(20, Number(l.errorRatePercent ?? 0)));
  }
  if (!editing(unhealthy)) unhealthy.value = String(l.unhealthyTargets ?? 0);
  if (!editing(p99)) p99.value = String(l.p99Ms ?? 120);
  row.cells.settings.classList.toggle('warn-cell', Number(l.errorRatePercent) > 1 || Number(l.unhealthyTargets) > 0);
}

/** What the lane's target group served over the last 5 simulated minutes (the metrics port's figures). */
function trafficLine(traffic: NonNullable<SimLaneRow['traffic']>): HTMLDivElement {
  const parts = [`${traffic.requestsPerMinute.toLocaleString()} req/min`];
  if (traffic.errorRatePercent !== null) parts.push(`5xx ${traffic.errorRatePercent}%`);
  if (traffic.p99Ms !== null) parts.push(`p99 ${traffic.p99Ms} ms`);
  return h('div', { class: 'muted small', 'data-testid': 'lane-traffic', title: 'Its target group over the last 5 simulated minutes, as CloudWatch would report it' }, parts.join(' · '));
}

const TARGET_STATES: ReadonlyArray<readonly [keyof Omit<SimTargetHealth, 'targets'>, string]> = [
  ['healthy', 'good'], ['unhealthy', 'bad'], ['initial', 'busy'], ['draining', 'off'], ['unused', 'off'], ['unavailable', 'off'],
];

function targetSummary(health: SimTargetHealth | null | undefined): HTMLSpanElement {
  if (!health) return h('span', { class: 'muted', title: 'The lane has no target group (no lane stack yet)' }, 'no target group');
  const total = (health.targets ?? []).length;
  const parts = TARGET_STATES.filter(([key]) => Number(health[key]) > 0)
    .map(([key, tone]) => h('span', { class: `status status-${tone}`, 'data-testid': `targets-${key}` }, `${health[key]} ${key}`));
  const reasons = (health.targets ?? []).filter((t) => t.reason).map((t) => `${t.id}:${t.port ?? ''} ${t.state} — ${t.description ?? t.reason}`);
  return h('span', { class: 'targets', title: reasons.join('\n') }, ...(parts.length ? parts : [h('span', { class: 'muted' }, total ? '' : 'no targets')]));
}

function alarmBadge(alarm: SimAlarm, now: number): HTMLSpanElement {
  const since = toDate(alarm.updatedAt);
  const label = alarm.state === 'INSUFFICIENT_DATA' ? 'no data' : alarm.state;
  return h('span', {
    class: `status status-${ALARM_TONE[alarm.state] ?? 'neutral'} alarm`,
    'data-testid': `alarm-${alarm.kind}`,
    'data-state': alarm.state,
    title: `${alarm.name}\n${alarm.state}${since ? ` since ${fullTime(since)} (${ago(since, now)})` : ''}\n${alarm.reason ?? ''}`,
  }, `${ALARM_LABELS[alarm.kind] ?? alarm.name}: ${label}`);
}

/** Posts a control; resolves true when the simulator took it. */
async function simPost(path: string, body: object, okText: string): Promise<boolean> {
  try {
    const result = await api<unknown>('POST', path, body);
    if (isRefusal(result)) {
      toast(result.error || 'the simulator refused', 'error');
      return false;
    }
    toast(okText, 'ok');
    if (simOpen()) void refreshSim();
    return true;
  } catch (error) {
    toast(errorText(error, { notFound: 'not available' }), 'error');
    return false;
  }
}

function formText(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === 'string' ? value : '';
}

function onSubmit(id: string, handle: (form: FormData) => void): void {
  byId<HTMLFormElement>(id).addEventListener('submit', (event) => {
    event.preventDefault();
    handle(new FormData(event.currentTarget as HTMLFormElement));
  });
}

export function wireSim(): void {
  byId('sim-collapse').addEventListener('click', () => setSimOpen(!simOpen()));
  byId('sim-toggle').addEventListener('click', () => setSimOpen(!simOpen()));
  byId('sim-refresh').addEventListener('click', () => {
    sim.unavailableToasted = false;
    void refreshSim();
  });
  onSubmit('fail-form', (form) => {
    const body: { pipeline: string; stage: string; message?: string } = { pipeline: formText(form, 'pipeline'), stage: formText(form, 'stage') };
    const message = formText(form, 'message').trim();
    if (message) body.message = message;
    void simPost('/sim/fail-next', body, `The next run of ${body.pipeline} fails at ${body.stage}.`);
  });
  onSubmit('stack-fail-form', (form) => {
    const body: { stack: string; reason?: string } = { stack: formText(form, 'stack').trim() };
    const reason = formText(form, 'reason').trim();
    if (reason) body.reason = reason;
    void simPost('/sim/fail-next-stack', body, `The next operation of ${body.stack} fails.`);
  });
  onSubmit('call-fail-form', (form) => {
    const body = { service: formText(form, 'service'), fault: formText(form, 'fault'), count: Number(form.get('count') ?? 1) };
    const calls = body.count === 1 ? 'call' : `${body.count} calls`;
    void simPost('/sim/fail-next-call', body, `The next ${calls} to ${body.service} fail: ${faultLabel(body.fault)}.`);
  });
  onSubmit('health-form', (form) => {
    const [service = '', env = ''] = formText(form, 'binding').split('/');
    const body: LaneHealthChange = {
      service,
      env,
      lane: formText(form, 'lane').trim(),
      errorRatePercent: Number(form.get('errorRatePercent') ?? 0),
      unhealthyTargets: Number(form.get('unhealthyTargets') ?? 0),
      p99Ms: Number(form.get('p99Ms') ?? 120),
    };
    if (form.get('failNextDeployment')) body.failNextDeployment = true;
    void simPost('/sim/lane-health', body, `Lane ${body.lane} of ${service}/${env}: ${describeHealthChange(body)}.`);
  });
  const tabs = document.querySelectorAll<HTMLElement>('.sim-tab');
  for (const tab of tabs) {
    tab.addEventListener('click', () => {
      for (const other of tabs) other.setAttribute('aria-selected', String(other === tab));
      for (const panel of document.querySelectorAll<HTMLElement>('[data-tabpanel]')) panel.hidden = panel.dataset.tabpanel !== tab.dataset.tab;
    });
  }
  for (const button of document.querySelectorAll<HTMLElement>('[data-advance]')) {
    button.addEventListener('click', () => {
      const body: unknown = JSON.parse(button.dataset.advance ?? '{}');
      void simPost('/sim/advance-clock', body as object, `Clock moved ${button.textContent}.`);
    });
  }
}
