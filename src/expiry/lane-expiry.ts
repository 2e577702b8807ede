// Lane expiry: a lane idle for `warnAfter` (6 days) gets a prompt in its home thread, with Renew and
// Delete now buttons, and is deleted at `deleteAfter` (day 7) unless renewed; the rules are in
// domain/expiry.ts.
//
//   sweep (one BullMQ job scheduler, every minute)
//     reads the expiry index up to `now - shortest warnAfter` (so its cost follows the lanes that
//     are due, not all lanes) and queues, per lane, `warn` or `expire` work whose job id is the lane
//     and its expiry base: many processes and repeated sweeps queue it once;
//     withdraws warnings that a deploy since made moot, and says so under the prompt.
//   warn    claims the warning for the lane's base (Lua: once), then posts the prompt in the lane's
//           home thread (the narrator drops a second copy), broadcast to the channel.
//   expire  on the stored deletion time, if the lane was not renewed or used since and nothing
//           runs on it, queues the `delete` operation exactly as `/lane delete` would (requested by
//           `lanebot`); a busy lane is looked at again later.
//   renew   (`/lane renew`, the Renew buttons) moves the base forward and edits the prompt.
//   digest  once a day, one message per bound channel listing its lanes pending deletion.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { KnownBlock } from '@slack/types';
import type { AuditLog } from '../audit/audit-log';
import type { ChatPort } from '../chat/chat.port';
import { laneHomeThread } from '../chat/lane-home-thread';
import { escapeText, formatDuration } from '../chat/messages';
import type { ThreadNarrator } from '../chat/thread-narrator';
import type { Clock } from '../clock';
import type { LanebotConfig } from '../config';
import { expiryWindowOf, shortestWarnAfter } from '../config';
import { expiryTimes, renewedBase, slackDate, type ExpiryWindow, type RenewResult } from '../domain/expiry';
import { laneStackName, type LaneRef } from '../domain/names';
import { LANEBOT_ACTOR, type OperationRequest } from '../domain/operation';
import { DONE, later, type ExpiryJobData, type StepOutcome } from '../queue/queues';
import { indexMember, parseIndexMember, type LaneRegistry } from '../state/lane-registry';
import type { OperationStore } from '../state/operation-store';
import { expiryPromptBlocks } from '../slack/actions/renew-lane';

/** Candidates read per Redis round trip. */
const PAGE = 500;
/** A busy lane due for deletion is looked at again after this long (in the cloud's time). */
const BUSY_RECHECK_MS = 5 * 60_000;


export interface LaneExpiryDeps {
  lanes: LaneRegistry;
  operations: OperationStore;
  narrator: Pick<ThreadNarrator, 'say'>;
  chat: Pick<ChatPort, 'post'>;
  audit: AuditLog;
  config: LanebotConfig;
  clock: Clock;
  logger: Logger;
  /**
   * Queues the per-lane work (job id from the lane and its base: adding it twice is a no-op), and
   * brings that work forward when it waits (delayed: its lane was busy, or its notice still ran).
   * The sweep runs in the cloud's time, so it is what says the work is due again; the delay is the
   * fallback when no sweep comes.
   */
  queueWork(data: ExpiryJobData, jobId: string): Promise<void>;
  /** Queues an operation request, as the commands do. */
  enqueue(request: OperationRequest): Promise<void>;
  /** SIM_TIME_SCALE with CLOUD=sim (rechecks are in the cloud's time), else 1. */
  timeScale: number;
  /** Claims a once-a-day digest for a channel (SET NX): true for the one process that sends it. */
  claimDigest(channel: string, day: string): Promise<boolean>;
}

export interface SweepResult {
  /** Lanes read from the index (those idle for at least the shortest warnAfter). */
  candidates: number;
  warn: number;
  expire: number;
  /** Warnings withdrawn because the lane was used since, or is being deleted. */
  withdrawn: number;
}


export class LaneExpiry {
  constructor(private readonly deps: LaneExpiryDeps) {}

  // ---------------------------------------------------------------------------------------------
  // Sweep

  async sweep(): Promise<SweepResult> {
    const { lanes, config, clock } = this.deps;
    const now = clock.now();
    const result: SweepResult = { candidates: 0, warn: 0, expire: 0, withdrawn: 0 };
    result.withdrawn = await this.settleWarnings();
    const shortest = shortestWarnAfter(config);
    if (shortest === undefined) return result; // nothing expires anywhere
    // The page moves by what stays in the index: lanes dropped here shift the rest down.
    let offset = 0;
    for (;;) {
      const page = await lanes.expiryCandidates(now - shortest, offset, PAGE);
      result.candidates += page.length;
      let dropped = 0;
      for (const { member, ref, base } of page) {
        const window = expiryWindowOf(config, ref);
        if (!window) {
          // default, an environment with `expiry: never`, or no longer in the config.
          await lanes.dropFromExpiry(ref);
          dropped++;
          continue;
        }
        const { warnAt, deleteAt } = expiryTimes(base, window);
        if (now >= deleteAt) {
          await this.deps.queueWork({ kind: 'expire', member, base }, jobId('expire', member, base));
          result.expire++;
        } else if (now >= warnAt) {
          await this.deps.queueWork({ kind: 'warn', member, base }, jobId('warn', member, base));
          result.warn++;
        }
      }
      if (page.length < PAGE) return result;
      offset += PAGE - dropped;
    }
  }

  /** Withdraws warnings a deploy made moot (or that a delete overtook), and says so under the prompt. */
  private async settleWarnings(): Promise<number> {
    let withdrawn = 0;
    for (const member of await this.deps.lanes.warnedLanes()) {
      const settled = await this.deps.lanes.settleWarning(member);
      const ref = parseIndexMember(member);
      if (!settled || !ref) continue;
      withdrawn++;
      const text =
        settled.why === 'activity'
          ? `:white_check_mark: Lane *${escapeText(ref.lane)}* was used again (a deploy), so it is no longer pending deletion.${this.nextExpiryText(ref, await this.deps.lanes.expiryBase(ref))}`
          : `:wastebasket: Lane *${escapeText(ref.lane)}* is being deleted.`;
      await this.editPrompt(settled.threadId, settled.base, text);
      await this.audit(ref, LANEBOT_ACTOR, 'expiry:withdrawn', settled.why === 'activity' ? 'the lane was used again' : 'the lane is being deleted');
    }
    return withdrawn;
  }

  // ---------------------------------------------------------------------------------------------
  // Per-lane work

  async handle(data: ExpiryJobData): Promise<StepOutcome> {
    const ref = parseIndexMember(data.member);
    if (!ref) return DONE;
    const window = expiryWindowOf(this.deps.config, ref);
    if (!window) return DONE;
    const now = this.deps.clock.now();
    // The work was queued for this base; a lane used or renewed since has another one.
    if ((await this.deps.lanes.expiryBase(ref)) !== data.base) return DONE;
    const warning = await this.warn(ref, data.base, window, now);
    if (!warning || data.kind === 'warn') return DONE;
    // Not due yet (the config moved the deletion since this was queued): come back then; a sweep
    // would not queue it again meanwhile (its id is taken for a day).
    if (now < warning.deleteAt) return later((warning.deleteAt - now) / this.scale());
    const view = await this.deps.lanes.get(ref);
    if (!view || view.state !== 'active') return DONE;
    if (view.activeId || view.pendingId) {
      // Something runs on the lane (or waits for it): never delete under it; look again later.
      this.deps.logger.info({ ...ref }, 'lane due for deletion is busy; looking again later');
      return later(BUSY_RECHECK_MS / this.scale());
    }
    const request = expiryDeleteRequest(ref, data.base, warning.channel, now);
    await this.deps.enqueue(request);
    await this.audit(ref, LANEBOT_ACTOR, 'expiry:expired', `idle since ${new Date(data.base).toISOString()}; queued delete ${request.id}`, request.id);
    await this.editPrompt(
      warning.threadId,
      data.base,
      `:wastebasket: Lane *${escapeText(ref.lane)}* was not renewed, so lanebot is deleting it (as \`/lane delete ${escapeText(ref.lane)}\` would). The delete has its own thread in this channel.`,
    );
    return DONE;
  }

  /**
   * Warns the lane once for `base`: claims the warning, then posts the prompt (again, if a process
   * died before: the narrator keeps one). Undefined when the lane moved on or has nowhere to post.
   */
  private async warn(ref: LaneRef, base: number, window: ExpiryWindow, now: number): Promise<{ deleteAt: number; threadId: string; channel: string } | undefined> {
    const { lanes, narrator, operations } = this.deps;
    const seed = `expiry:${indexMember(ref)}:${base}`;
    const threadId = await laneHomeThread(this.deps, ref, seed);
    if (!threadId) {
      this.deps.logger.warn({ ...ref }, 'no channel is bound to this lane\'s service and environment: it cannot be warned, so it is not deleted');
      return undefined;
    }
    // The deletion is at base + deleteAfter, as configured, even when the warning comes late (the bot
    // was down, or the sandbox's clock jumped past the warning): a lane nobody renewed in time goes.
    const deleteAt = expiryTimes(base, window).deleteAt;
    const claim = await lanes.claimWarning(ref, base, deleteAt, threadId, now);
    if (claim.outcome === 'stale') return undefined;
    const thread = await operations.get(claim.threadId);
    if (!thread) return undefined;
    const view = await lanes.get(ref);
    const idleFor = formatIdle(now - (view?.lastActivityAt ?? base));
    const mention = view?.lastDeployer ? ` <@${view.lastDeployer}>` : '';
    const text = `:hourglass: Lane *${escapeText(ref.lane)}* of ${ref.service}/${ref.env} has been idle for ${idleFor} and will be deleted on ${slackDate(claim.deleteAt)} unless renewed.${mention}`;
    await narrator.say(claim.threadId, promptEntryId(base), {
      kind: 'note',
      text,
      broadcast: true,
      blocks: promptBlocks(text, ref, window),
    });
    if (claim.outcome === 'claimed') await this.audit(ref, LANEBOT_ACTOR, 'expiry:warned', `deleted on ${new Date(claim.deleteAt).toISOString()} unless renewed`);
    return { deleteAt: claim.deleteAt, threadId: claim.threadId, channel: thread.channel };
  }

  // ---------------------------------------------------------------------------------------------
  // Renew (the command and the buttons; Redis only, so it runs in the ack path)

  /** Renews the lane for `durationMs` (default: the environment's deleteAfter), capped by maxRenewal. */
  async renew(ref: LaneRef, by: string, durationMs?: number): Promise<RenewResult> {
    const window = expiryWindowOf(this.deps.config, ref);
    if (!window) {
      return { ok: false, problem: `Lane *${ref.lane}* of ${ref.service}/${ref.env} never expires${ref.lane === 'default' ? ' (the baseline lane)' : ` (${ref.env} has \`expiry: never\`)`}: there is nothing to renew.` };
    }
    const duration = durationMs ?? window.deleteAfter;
    if (duration > window.maxRenewal) {
      return { ok: false, problem: `A lane can be renewed for at most ${formatIdle(window.maxRenewal)} at a time (\`expiry.maxRenewal\`); ${formatIdle(duration)} is longer.` };
    }
    if (duration < window.deleteAfter - window.warnAfter) {
      return { ok: false, problem: `Renew for at least ${formatIdle(window.deleteAfter - window.warnAfter)}: the warning comes that long before the deletion.` };
    }
    const now = this.deps.clock.now();
    const until = now + duration;
    const renewed = await this.deps.lanes.renew(ref, renewedBase(now, duration, window), until, by, now);
    if (renewed.outcome === 'gone') {
      return { ok: false, problem: `Lane *${ref.lane}* of ${ref.service}/${ref.env} does not exist: it was never deployed, or it was deleted. There is nothing to renew.` };
    }
    if (renewed.outcome === 'deleting') return { ok: false, problem: `Lane *${ref.lane}* of ${ref.service}/${ref.env} is being deleted; it cannot be renewed.` };
    if (renewed.outcome === 'longer') {
      // Said as the lane will be deleted: a warning that stands may have given it longer than its base does.
      const deleteAt = (await this.deps.lanes.get(ref))?.deleteAt ?? expiryTimes(renewed.base, window).deleteAt;
      return {
        ok: false,
        problem: `Lane *${ref.lane}* of ${ref.service}/${ref.env} is already kept until ${slackDate(deleteAt)}, longer than a renewal for ${formatIdle(duration)} would keep it; nothing changed.`,
      };
    }
    await this.audit(ref, by, 'expiry:renewed', `until ${new Date(until).toISOString()}`);
    const text = renewedText(ref, by, until, Boolean(renewed.warning));
    // The prompt says it in place (a click on its Renew button replaces it with the same words at once).
    if (renewed.warning) await this.editPrompt(renewed.warning.threadId, renewed.warning.base, text);
    return { ok: true, until, withdrewWarning: Boolean(renewed.warning), text };
  }

  // ---------------------------------------------------------------------------------------------
  // Digest

  /** One message per bound channel listing its lanes pending deletion (once a day, any number of processes). */
  async digest(): Promise<number> {
    const { lanes, config, clock, chat } = this.deps;
    const now = clock.now();
    const day = new Date(now).toISOString().slice(0, 10);
    const warned = (await lanes.warnedLanes()).map(parseIndexMember).filter((ref): ref is LaneRef => ref !== undefined);
    let sent = 0;
    for (const [channel, binding] of Object.entries(config.channels)) {
      const refs = warned.filter((ref) => ref.service === binding.service && ref.env === binding.env);
      if (refs.length === 0) continue;
      const views = (await Promise.all(refs.map((ref) => lanes.get(ref)))).filter((v) => v?.deleteAt !== undefined);
      if (views.length === 0 || !(await this.deps.claimDigest(channel, day))) continue;
      const lines = views
        // Soonest first; lanes due at the same moment by name, so the message does not reshuffle.
        .sort((a, b) => a!.deleteAt! - b!.deleteAt! || a!.lane.localeCompare(b!.lane))
        .map((v) => `• *${escapeText(v!.lane)}* — deleted ${slackDate(v!.deleteAt!)} unless renewed${v!.lastDeployer ? ` · last deployed by <@${v!.lastDeployer}>` : ''}`);
      const text = `:hourglass: *Lanes of ${binding.service}/${binding.env} pending deletion*\n${lines.join('\n')}\nRenew one with \`/lane renew <lane>\`, or with the buttons in its thread.`;
      try {
        await chat.post(channel, { text });
        sent++;
      } catch (error) {
        // At most once a day: a digest that did not go out is not worth a second one.
        this.deps.logger.warn({ channel, err: error }, 'could not post the daily digest of lanes pending deletion');
      }
    }
    return sent;
  }

  // ---------------------------------------------------------------------------------------------

  private scale(): number {
    return this.deps.timeScale > 0 ? this.deps.timeScale : 1;
  }

  private nextExpiryText(ref: LaneRef, base: number | undefined): string {
    const window = expiryWindowOf(this.deps.config, ref);
    return window && base !== undefined ? ` Next warning ${slackDate(expiryTimes(base, window).warnAt)} if it stays idle.` : '';
  }

  private async editPrompt(threadId: string, base: number, text: string): Promise<void> {
    if (!threadId) return;
    await this.deps.narrator.say(threadId, `${promptEntryId(base)}:edit:${createHash('sha256').update(text).digest('hex').slice(0, 12)}`, {
      kind: 'edit',
      entryId: promptEntryId(base),
      text,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
    });
  }

  private async audit(ref: LaneRef, actor: string, action: string, detail: string, operationId?: string): Promise<void> {
    await this.deps.audit.record({ at: this.deps.clock.now(), actor, action, outcome: action.split(':')[1] ?? action, ...ref, detail, operationId });
  }
}

/** What a renewal says, in the prompt it answers and to whoever renewed. */
function renewedText(ref: LaneRef, by: string, until: number, wasPending: boolean): string {
  return (
    `:white_check_mark: Lane *${escapeText(ref.lane)}* of ${ref.service}/${ref.env} was renewed by <@${by}> until ${slackDate(until)}` +
    `${wasPending ? '; it is no longer pending deletion' : ''}. It is deleted after that unless it is used or renewed again.`
  );
}

/** The prompt's entry in the thread: one per lane base (a lane warned again after a renewal gets a new one). */
function promptEntryId(base: number): string {
  return `expiry-warn:${base}`;
}

function jobId(kind: ExpiryJobData['kind'], member: string, base: number): string {
  return `expiry-${kind}-${createHash('sha256').update(member).digest('hex').slice(0, 16)}-${base}`;
}

/** The delete an expiry queues: its id comes from the lane and base, so queuing it twice queues it once. */
export function expiryDeleteRequest(ref: LaneRef, base: number, channel: string, now: number): OperationRequest {
  const id = `exp-${createHash('sha256').update(`${indexMember(ref)}:${base}`).digest('hex').slice(0, 20)}`;
  return { id, kind: 'delete', ...ref, params: { stack: laneStackName(ref), reason: 'expired' }, requester: LANEBOT_ACTOR, channel, requestedAt: now };
}

function promptBlocks(text: string, ref: LaneRef, window: ExpiryWindow): KnownBlock[] {
  return [{ type: 'section', text: { type: 'mrkdwn', text } }, ...expiryPromptBlocks(ref, window)];
}

/** "6 days", "12 h", "30 min". */
export function formatIdle(ms: number): string {
  const day = 86_400_000;
  if (ms >= day && ms % day < 3_600_000) return `${Math.round(ms / day)} day${Math.round(ms / day) === 1 ? '' : 's'}`;
  if (ms >= day) return `${(ms / day).toFixed(1)} days`;
  if (ms >= 3_600_000) return `${Math.round(ms / 3_600_000)} h`;
  return formatDuration(ms);
}
