// The integration tests' Slack: the sandbox's SlackWorkspace served by its console server (the
// bot's SLACK_API_URL points here; slash commands answer through its response_urls), seen through
// the small API the tests were written against. It records what the bot sent, keeps messages with
// edits applied, and can be told to fail the next calls (429 with Retry-After, 500).
import { startConsoleServer, type ConsoleServer } from '../../src/sandbox/console-server';
import {
  SlackWorkspace,
  type ApiCall,
  type ConsoleMessage,
  type Failure,
  type MessageChange,
  type ResponseUrlPost,
  type SlackLimits,
  type WorkspaceChannelData,
  type WorkspaceUserData,
  type WorkspaceUserGroupData,
} from '../../src/sandbox/slack-workspace';

export type { ApiCall };

export interface StubMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  /** A thread reply also shown in the channel (reply_broadcast). */
  broadcast?: boolean;
  text: string;
  blocks?: unknown[];
  metadata?: unknown;
  /** How many times chat.update edited it. */
  edits: number;
}

export type StubResponse = ResponseUrlPost;

/** The people and channels of the tests' workspace (TEST_CONFIG binds the channels). */
export const TEST_USERS: WorkspaceUserData[] = [
  { id: 'U0ALICE', name: 'alice', realName: 'Alice Example', title: 'Developer' },
  { id: 'U0BOB', name: 'bob', realName: 'Bob Example', title: 'Developer' },
  { id: 'U0APPROVER1', name: 'approver', realName: 'Ada Approver', title: 'Release manager' },
];

export const TEST_CHANNELS: WorkspaceChannelData[] = [
  { id: 'C0USERAPIDEV', name: 'user-api-dev', binding: { service: 'user-api', env: 'dev' } },
  { id: 'C0ORDERSDEV', name: 'orders-dev', binding: { service: 'orders', env: 'dev' } },
];

/** The harness's SIGNING_SECRET (not imported: the harness imports this file). */
const TEST_SIGNING_SECRET = 'test-signing-secret';

export interface SlackStubOptions {
  /** The bot, for commands and clicks sent through the console API; also settable with setBotUrl. */
  botUrl?: string;
  signingSecret?: string;
  /** Defaults to TEST_USERS / TEST_CHANNELS; channels the bot names beyond them appear on first use. */
  users?: WorkspaceUserData[];
  channels?: WorkspaceChannelData[];
  /** User groups served by usergroups.users.list; change them with setUserGroupMembers. */
  userGroups?: WorkspaceUserGroupData[];
  /** Console files, for tests of the static file serving. */
  publicDir?: string;
  /** Slack's rate limits, enforced (429 with Retry-After beyond them); none when left out. */
  rateLimits?: SlackLimits;
}

export class SlackStub {
  readonly workspace: SlackWorkspace;
  /** Normal (not ephemeral) messages in ts order; each object follows later edits of its message. */
  readonly messages: StubMessage[] = [];
  url = '';
  private server?: ConsoleServer;

  constructor(private readonly options: SlackStubOptions = {}) {
    this.workspace = new SlackWorkspace({
      users: options.users ?? TEST_USERS,
      channels: options.channels ?? TEST_CHANNELS,
      userGroups: options.userGroups,
      autoCreateChannels: true,
      rateLimits: options.rateLimits,
    });
    this.workspace.on('change', (change) => this.follow(change));
  }

  async start(): Promise<this> {
    this.server = await startConsoleServer({
      workspace: this.workspace,
      botUrl: this.options.botUrl,
      signingSecret: this.options.signingSecret ?? TEST_SIGNING_SECRET,
      port: 0,
      publicDir: this.options.publicDir,
    });
    this.url = this.server.url;
    return this;
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }

  /** Every accepted response_url post, in order. */
  get responses(): StubResponse[] {
    return this.workspace.responses;
  }

  /** Every Web API call, in order, with the HTTP status it got. */
  get calls(): ApiCall[] {
    return this.workspace.calls;
  }

  /** SLACK_API_URL for the bot. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /** Where console commands and clicks go (the bot started after the stub). */
  setBotUrl(url: string): void {
    if (!this.server) throw new Error('start the stub before setting the bot URL');
    this.server.setBotUrl(url);
  }

  /** A response_url for one slash command; answers to it are recorded under `id`. */
  responseUrl(id: string): string {
    return this.workspace.responseUrl(this.workspace.registerResponseUrl(undefined, id));
  }

  /**
   * An admin changes a user group's members in Slack: Slack then sends the bot (setBotUrl) a signed
   * subteam_members_changed event. Resolves with whether the bot took it.
   */
  async setUserGroupMembers(id: string, users: string[]): Promise<{ ok: boolean; event: { delivered: boolean; status?: number; error?: string } }> {
    const response = await fetch(`${this.url}/sandbox/usergroups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, users }),
    });
    return (await response.json()) as { ok: boolean; event: { delivered: boolean; status?: number; error?: string } };
  }

  /** The next Web API calls fail like this, in order. */
  failNext(...failures: Failure[]): void {
    this.workspace.failNext(...failures);
  }

  roots(channel?: string): StubMessage[] {
    return this.messages.filter((m) => !m.threadTs && (!channel || m.channel === channel));
  }

  thread(root: StubMessage): StubMessage[] {
    return this.messages.filter((m) => m.threadTs === root.ts && m.channel === root.channel);
  }

  /** The root message whose text mentions `needle` (e.g. a branch name). */
  rootMentioning(needle: string): StubMessage | undefined {
    return this.roots().find((m) => m.text.includes(needle));
  }

  responsesFor(id: string): StubResponse[] {
    return this.responses.filter((r) => r.id === id);
  }

  /** Keeps `messages` in step with the workspace, editing the same objects the tests hold. */
  private follow({ kind, message }: MessageChange): void {
    if (message.ephemeral) return;
    const index = this.messages.findIndex((m) => m.channel === message.channel && m.ts === message.ts);
    if (kind === 'posted') this.messages.push(toStubMessage(message));
    else if (kind === 'deleted' && index >= 0) this.messages.splice(index, 1);
    else if (kind === 'updated' && index >= 0) Object.assign(this.messages[index]!, toStubMessage(message));
  }
}

function toStubMessage(message: ConsoleMessage): StubMessage {
  return {
    channel: message.channel,
    ts: message.ts,
    threadTs: message.thread_ts,
    ...(message.broadcast ? { broadcast: true } : {}),
    text: message.text,
    blocks: message.blocks,
    metadata: message.metadata,
    edits: message.edits,
  };
}
