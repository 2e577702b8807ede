// Slack mentions of the people and user groups lanebot names in its replies. Here rather than in
// commands/ or src/slack/ so that both the commands and the access policy can use it without an
// import cycle between them.

/** Renders a Slack user id (U…/W…) as `<@U…>` and a user group id (S…) as `<!subteam^S…>`. */
export function mention(id: string): string {
  return id.startsWith('S') ? `<!subteam^${id}>` : `<@${id}>`;
}

/** Several ids as mentions, comma-separated, in the order given. */
export function mentionAll(ids: readonly string[]): string {
  return ids.map(mention).join(', ');
}

/** Whether a configured principal id is a user group (S…) rather than a user. */
export function isUserGroupId(id: string): boolean {
  return id.startsWith('S');
}
