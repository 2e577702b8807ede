// Bolt's fake-receiver pattern: a test hands events straight to `receiver.app.processEvent`.
import type { App, Receiver } from '@slack/bolt';

export class FakeReceiver implements Receiver {
  app!: App;
  init(app: App): void {
    this.app = app;
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}
