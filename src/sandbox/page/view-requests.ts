// What the views (message list, sidebar) ask of navigation: open a thread, switch channel. The views
// sit below navigation (navigation renders them), so they cannot import it; main.ts hands navigation's
// functions in here once at start-up, before anything is rendered that a person could click.

export interface ViewRequestHandlers {
  /** A message's reply count or "Reply in thread" was clicked. */
  openThread(ts: string): void;
  /** A channel in the sidebar was clicked. */
  selectChannel(channelId: string): void;
}

let handlers: ViewRequestHandlers | null = null;

export function handleViewRequests(next: ViewRequestHandlers): void {
  handlers = next;
}

function wired(): ViewRequestHandlers {
  // A click before start-up wired navigation is a bug in main.ts, not something to swallow.
  if (!handlers) throw new Error('view requests: main.ts has not wired navigation yet');
  return handlers;
}

export function requestThread(ts: string): void {
  wired().openThread(ts);
}

export function requestChannel(channelId: string): void {
  wired().selectChannel(channelId);
}
