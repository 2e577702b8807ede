// Slack's subteam_members_changed event (a user group's members changed; needs the usergroups:read
// scope and the event subscription): lanebot's copy of the group is out of date, so ask for a
// refresh. The listener does not apply the event's added/removed lists itself: events can arrive
// late, twice or out of order, and a refresh reads the whole truth from Slack.
import type { Logger } from 'pino';
import type { EventListeners } from './event-router';

export interface SubteamMembersChangedDeps {
  /** Queues a refresh of the group (lanebot's copy in Redis); throws when it cannot. */
  onChanged(groupId: string): Promise<void>;
  logger: Pick<Logger, 'debug' | 'warn'>;
}

export function registerSubteamMembersChanged(app: EventListeners, deps: SubteamMembersChangedDeps): void {
  app.event('subteam_members_changed', async function subteamMembersChanged({ event }) {
    const groupId = event.subteam_id;
    deps.logger.debug({ groupId, added: event.added_users?.length ?? 0, removed: event.removed_users?.length ?? 0 }, 'user group members changed');
    try {
      await deps.onChanged(groupId);
    } catch (error) {
      // Slack has its ack already; a missed refresh is caught up by the periodic one, so log and go on.
      deps.logger.warn({ err: error, groupId }, 'could not queue a refresh of a user group; it is refreshed at the next periodic refresh');
    }
  });
}
