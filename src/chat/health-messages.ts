// What Slack shows of a lane's health: the verdict after a deploy (in its final reply and its root's
// status), and the health part of `/lane status` (its follow-up). Pure builders over records and readings.
import type { Scope } from '../domain/names';
import type { HealthVerdict, OperationRecord } from '../domain/operation';
import { alarmNamesOf, LANE_ALARM_LABEL, type LaneAlarmRole, type LaneResources } from '../domain/lane-resources';
import type { AlarmNotice } from '../state/alarm-states';
import { alarmLink, alarmText, healthLinks, rolloutText, targetsText, type LaneHealthReading } from '../health/lane-health';
import { escapeAndTruncate, escapeText, formatDuration, statusLabelOf } from './messages';

/** The root's status for a succeeded operation with a verdict; undefined otherwise (the kind's usual label). */
export function healthStatusLabel(op: OperationRecord): string | undefined {
  return op.status === 'succeeded' && op.health ? statusLabelOf(op) : undefined;
}

/**
 * The verdict as the end of a final reply: " Deployed and healthy: 3/3 targets healthy, …" or
 * " Deployed, but not healthy: 1/3 targets unhealthy (…). <links>". Empty without a verdict.
 */
export function healthText(health: HealthVerdict | undefined): string {
  if (!health) return '';
  const links = health.links.length > 0 ? ` ${health.links.map((l) => `<${l.url}|${escapeText(l.label)}>`).join(' · ')}` : '';
  const reasons = health.reasons.map((r) => escapeAndTruncate(r, 400)).join('; ');
  switch (health.verdict) {
    case 'healthy':
      return `\n*Deployed and healthy:* ${escapeText(health.summary)}.${reasons ? ` Note: ${reasons}.` : ''}`;
    case 'unhealthy':
      // After a failed ECS deployment the lane template's circuit breaker rolls the service back:
      // telling people the new version runs would send them looking in the wrong place.
      return health.rolloutFailed
        ? `\n*Deployed, but not healthy:* ${reasons}.${links} ECS rolled the service back to its previous deployment, so the lane does not run this version; fix the cause and deploy again.`
        : `\n*Deployed, but not healthy:* ${reasons}.${links} The lane runs the new version; fix it forward or deploy the previous branch again.`;
    case 'unchecked':
      return `\n*Health not checked:* ${reasons}.${links}`;
  }
}

/**
 * The health lines of `/lane status`: rollout, targets, each alarm with its link. A part that could
 * not be read says so with the reason ("target health: could not be read: …"), never nothing: a
 * missing line would read as "fine".
 */
export function laneHealthLines(resources: LaneResources, reading: LaneHealthReading): string[] {
  const lines: string[] = [];
  const { service, unreadable = {} } = reading;
  const cannotRead = (part: string, problem: string) => `• :grey_question: ${part}: could not be read: ${escapeAndTruncate(problem, 300)}`;

  if (unreadable.service) lines.push(cannotRead('ECS service', unreadable.service));
  else if (service) lines.push(`• ${escapeText(rolloutText(service))}`);
  else if (resources.clusterName && resources.serviceName) lines.push(`• ECS service \`${escapeText(resources.serviceName)}\` not found`);
  else lines.push(`• ECS service unknown: the lane stack publishes no ClusterName or ServiceName output`);

  if (unreadable.targets) lines.push(cannotRead('target health', unreadable.targets));
  else if (reading.targets) lines.push(`• ${escapeAndTruncate(targetsText(reading.targets, service?.desiredCount ?? reading.targets.targets.length), 600)}`);
  else if (resources.targetGroupArn) lines.push('• target group not found');
  else lines.push('• target health unknown: the lane stack publishes no TargetGroupArn output');

  if (unreadable.alarms) lines.push(cannotRead('alarms', unreadable.alarms));
  else if (alarmNamesOf(resources).length === 0) lines.push('• no alarms: the lane stack publishes none');
  for (const alarm of reading.alarms) {
    const icon = alarm.state === 'ALARM' ? ':rotating_light:' : alarm.state === 'OK' ? ':large_green_circle:' : ':white_circle:';
    const link = alarmLink(resources, alarm.name);
    const text = escapeAndTruncate(alarmText(resources, alarm), 300);
    lines.push(`• ${icon} ${link ? `<${link}|${text}>` : text}`);
  }
  for (const name of reading.missingAlarms) lines.push(`• alarm \`${escapeText(name)}\` does not exist`);
  return lines;
}

/** One lane of `/lane status`'s follow-up: what was read, or why nothing could be. */
export type LaneHealthEntry =
  | { lane: string; resources: LaneResources; reading: LaneHealthReading }
  /** Nothing to read: e.g. "the lane stack `app-…` does not exist", or that it could not be read. */
  | { lane: string; problem: string };

/**
 * `/lane status`'s follow-up: the health of the lanes its first answer showed, as the ports report it
 * now ("ECS deployment complete, 1/1 running", "1/1 targets healthy", each alarm), with console links.
 */
export function laneHealthReportText(scope: Scope, entries: LaneHealthEntry[]): string {
  const one = entries.length === 1;
  const sections = entries.map((entry) => {
    const head = one ? `:stethoscope: *Health of lane ${entry.lane}* (${scope.service}/${scope.env}), read just now:` : `*${entry.lane}*`;
    if ('problem' in entry) return [head, `• ${escapeAndTruncate(entry.problem, 400)}`].join('\n');
    const links = healthLinks(entry.resources).map((l) => `<${l.url}|${escapeText(l.label)}>`);
    return [head, ...laneHealthLines(entry.resources, entry.reading), ...(links.length > 0 ? [links.join(' · ')] : [])].join('\n');
  });
  if (one) return sections[0] ?? '';
  return [`:stethoscope: *Health of the lanes above* (${scope.service}/${scope.env}), read just now:`, ...sections].join('\n\n');
}

/**
 * An alarm change for the lane's thread: ":rotating_light: 5xx rate 4.2 % > 1 % on lane gray" (with
 * the alarm's console link), ":white_check_mark: 5xx rate on lane gray cleared after 12 min", and for a
 * flapping alarm how many changes the message sums up.
 */
export function alarmNoticeText(notice: AlarmNotice, about: { lane: string; role?: LaneAlarmRole; link?: string }): string {
  const label = about.role ? LANE_ALARM_LABEL[about.role] : `alarm ${notice.alarmName}`;
  const name = about.link ? `<${about.link}|${escapeText(label)}>` : escapeText(label);
  const lane = `lane *${escapeText(about.lane)}*`;
  const folded = notice.changes > 1 ? ` _(${notice.changes} changes in and out of ALARM in the last minutes, folded into this message: the alarm is flapping.)_` : '';
  if (notice.state === 'ALARM') {
    // Figures hold `>`, which Slack wants escaped like any text. CloudWatch's reasons end with a full
    // stop of their own (the message adds one).
    const figures = figuresText(about.role, notice.value, notice.threshold);
    const reason = notice.reason.trim().replace(/\.+$/, '');
    const why = figures ? `${name}: ${escapeText(figures)} on ${lane}` : `${name} alarm on ${lane}${reason ? `: ${escapeAndTruncate(reason, 300)}` : ''}`;
    return `:rotating_light: ${why}.${folded}`;
  }
  const lasted = notice.alarmingSince !== undefined && notice.at >= notice.alarmingSince ? ` after ${durationText(notice.at - notice.alarmingSince)}` : '';
  if (notice.state === 'OK') return `:white_check_mark: ${name} on ${lane} cleared${lasted}.${folded}`;
  return `:white_circle: ${name} on ${lane} is no longer in ALARM${lasted}, but has no data now (no traffic, or no tasks).${folded}`;
}

/** "4.2 % > 1 %", "2 unhealthy hosts", "1 task below desired" (not escaped yet); undefined without figures. */
function figuresText(role: LaneAlarmRole | undefined, value: number | undefined, threshold: number | undefined): string | undefined {
  if (value === undefined) return undefined;
  // Whole numbers as they are, from 10 up without decimals, below 10 two significant digits (so a
  // 0.04 % rate against a 0.01 % threshold does not read "0.0 % > 0.0 %").
  const number = (n: number) => (Number.isInteger(n) ? String(n) : Math.abs(n) >= 10 ? n.toFixed(0) : String(Number(n.toPrecision(2))));
  switch (role) {
    case 'errorRate':
      return `${number(value)} %${threshold === undefined ? '' : ` > ${number(threshold)} %`}`;
    case 'unhealthyHosts':
      return `${number(value)} unhealthy host${value === 1 ? '' : 's'}`;
    case 'runningTasks':
      return `${number(value)} task${value === 1 ? '' : 's'} below desired`;
    default:
      return `${number(value)}${threshold === undefined ? '' : ` > ${number(threshold)}`}`;
  }
}

/** "12 min", "1 h 05 min", "40 s". */
function durationText(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (ms < 60_000) return formatDuration(ms);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}
