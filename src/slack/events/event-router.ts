// Every Events API listener of lanebot behind one Bolt listener, found by event type.
//
// Bolt runs the middleware chain of every registered listener for every request it gets, slash
// commands and clicks included (each chain copies its middleware array and the listener's
// arguments before it finds the request is not its kind). One listener per event type costs every
// command that much more; one listener for all of them, routing by type here, costs it once.
//
// The event modules (channel-membership.ts, subteam-members-changed.ts) register on anything with
// `event(type, listener)`: this router in the app, Bolt's App itself in a test.
import type { AllMiddlewareArgs, App, SlackEventMiddlewareArgs } from '@slack/bolt';

export type EventListener<T extends string> = (args: SlackEventMiddlewareArgs<T> & AllMiddlewareArgs) => Promise<void>;

/** Where an event module registers its listeners (App has this shape too). */
export interface EventListeners {
  event<T extends string>(type: T, listener: EventListener<T>): void;
}

export class EventRouter implements EventListeners {
  private readonly listeners = new Map<string, EventListener<string>[]>();

  event<T extends string>(type: T, listener: EventListener<T>): void {
    const forType = this.listeners.get(type) ?? [];
    forType.push(listener as unknown as EventListener<string>);
    this.listeners.set(type, forType);
  }

  /** The event types listened to, sorted (what the Slack app must subscribe to). */
  get types(): string[] {
    return [...this.listeners.keys()].sort();
  }

  /** Registers one Bolt listener for every type registered here (none when there is none). */
  attach(app: App): void {
    if (this.listeners.size === 0) return;
    const pattern = new RegExp(`^(?:${this.types.map(escapeRegExp).join('|')})$`);
    app.event(pattern, async (args) => {
      for (const listener of this.listeners.get(args.event.type) ?? []) await listener(args);
    });
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
