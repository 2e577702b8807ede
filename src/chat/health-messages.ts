// What Slack shows of a lane's health: the verdict after a deploy (in its final reply and its root's
// status), and the health part of `/lane status`. Pure builders over records and readings.
import type { HealthVerdict, OperationRecord } from '../domain/operation';
import type { LaneResources } from '../domain/lane-resources';
import { alarmLink, alarmText, rolloutText, targetsText, type LaneHealthReading } from '../health/lane-health';
import { escapeAndTruncate, escapeText } from './messages';

/** The root's status for a succeeded operation with a verdict; undefined otherwise (the usual label). */
export function healthStatusLabel(op: OperationRecord): string | undefined {
  if (op.status !== 'succeeded' || !op.health) return undefined;
  switch (op.health.verdict) {
    case 'healthy':
      return ':white_check_mark: deployed and healthy';
    case 'unhealthy':
      return ':warning: deployed, unhealthy';
    case 'unchecked':
      return ':white_check_mark: deployed (health not checked)';
  }
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

/** The health lines of `/lane status <lane>`: rollout, targets, each alarm with its link. */
export function laneHealthLines(resources: LaneResources, reading: LaneHealthReading): string[] {
  const lines: string[] = [];
  const service = reading.service;
  lines.push(service ? `• ${escapeText(rolloutText(service))}` : `• ECS service \`${escapeText(resources.serviceName ?? '?')}\` not found`);
  if (reading.targets) lines.push(`• ${escapeText(targetsText(reading.targets, service?.desiredCount ?? reading.targets.targets.length))}`);
  else if (resources.targetGroupArn) lines.push('• target group not found');
  for (const alarm of reading.alarms) {
    const icon = alarm.state === 'ALARM' ? ':rotating_light:' : alarm.state === 'OK' ? ':large_green_circle:' : ':white_circle:';
    const link = alarmLink(resources, alarm.name);
    const text = escapeAndTruncate(alarmText(resources, alarm), 300);
    lines.push(`• ${icon} ${link ? `<${link}|${text}>` : text}`);
  }
  for (const name of reading.missingAlarms) lines.push(`• alarm \`${escapeText(name)}\` does not exist`);
  return lines;
}
