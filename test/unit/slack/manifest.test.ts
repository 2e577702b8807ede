// The Slack app manifests (slack-manifest.yaml for HTTP mode, slack-manifest.socket-mode.yaml)
// checked against the code, not against a list kept beside it: the Web API methods lanebot calls
// and the listeners it registers are found by scanning the source, so a new call or listener that
// the manifest does not cover fails here. What each method and event needs is the table below,
// from Slack's reference pages (cited per entry).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { WebClient } from '@slack/web-api';
import { parse } from 'yaml';

const ROOT = join(__dirname, '../../..');
/** Where lanebot's own code is. src/sandbox is left out: it is the Slack stand-in (it answers the Web API), not a Slack client. */
const SOURCE_DIRS = ['src', 'commands'];
const NOT_SLACK_CLIENTS = [join('src', 'sandbox')];

interface SlackNeed {
  /** Every bot scope needed (all of them: lanebot's channels may be public or private). */
  scopes: string[];
  /** Slack's reference page that says so. */
  doc: string;
}

/**
 * Web API method → the bot scopes it needs. A method missing here fails the test: look it up on
 * https://docs.slack.dev/reference/methods and add it. conversations.* need the scope of the
 * conversation's type; lanebot's bound channels may be public (channels:*) or private (groups:*).
 */
const METHOD_SCOPES: Record<string, SlackNeed> = {
  'chat.postMessage': { scopes: ['chat:write'], doc: 'https://docs.slack.dev/reference/methods/chat.postMessage' },
  'chat.update': { scopes: ['chat:write'], doc: 'https://docs.slack.dev/reference/methods/chat.update' },
  'chat.getPermalink': { scopes: [], doc: 'https://docs.slack.dev/reference/methods/chat.getPermalink (no scope required)' },
  'conversations.info': { scopes: ['channels:read', 'groups:read'], doc: 'https://docs.slack.dev/reference/methods/conversations.info' },
  'conversations.history': { scopes: ['channels:history', 'groups:history'], doc: 'https://docs.slack.dev/reference/methods/conversations.history' },
  'conversations.replies': { scopes: ['channels:history', 'groups:history'], doc: 'https://docs.slack.dev/reference/methods/conversations.replies' },
  'views.open': { scopes: [], doc: 'https://docs.slack.dev/reference/methods/views.open (no scope required)' },
  'usergroups.users.list': { scopes: ['usergroups:read'], doc: 'https://docs.slack.dev/reference/methods/usergroups.users.list' },
};

/** Events API event → the bot scopes its delivery needs (Slack sends it only with them). */
const EVENT_SCOPES: Record<string, SlackNeed> = {
  member_joined_channel: { scopes: ['channels:read', 'groups:read'], doc: 'https://docs.slack.dev/reference/events/member_joined_channel' },
  member_left_channel: { scopes: ['channels:read', 'groups:read'], doc: 'https://docs.slack.dev/reference/events/member_left_channel' },
  channel_left: { scopes: ['channels:read'], doc: 'https://docs.slack.dev/reference/events/channel_left' },
  subteam_members_changed: { scopes: ['usergroups:read'], doc: 'https://docs.slack.dev/reference/events/subteam_members_changed' },
};

/** A slash command needs the `commands` scope: https://docs.slack.dev/reference/scopes/commands */
const SLASH_COMMAND_SCOPE = 'commands';

interface Manifest {
  display_information: { name: string; description?: string; background_color?: string };
  features: {
    app_home?: { home_tab_enabled?: boolean; messages_tab_enabled?: boolean; messages_tab_read_only_enabled?: boolean };
    bot_user: { display_name: string; always_online?: boolean };
    slash_commands?: Array<{ command: string; description: string; usage_hint?: string; url?: string; should_escape?: boolean }>;
  };
  oauth_config: { scopes: { bot?: string[]; user?: string[] } };
  settings: {
    event_subscriptions?: { request_url?: string; bot_events?: string[]; user_events?: string[] };
    interactivity?: { is_enabled: boolean; request_url?: string };
    socket_mode_enabled?: boolean;
    org_deploy_enabled?: boolean;
    token_rotation_enabled?: boolean;
  };
}

const readManifest = (file: string) => parse(readFileSync(join(ROOT, file), 'utf8')) as Manifest;
const HTTP = readManifest('slack-manifest.yaml');
const SOCKET = readManifest('slack-manifest.socket-mode.yaml');

/** Every .ts file of lanebot's own code, with its text. */
function sourceFiles(): Array<{ path: string; text: string }> {
  const files: Array<{ path: string; text: string }> = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(ROOT, dir))) {
      const path = join(dir, name);
      if (NOT_SLACK_CLIENTS.includes(path)) continue;
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else if (path.endsWith('.ts')) files.push({ path, text: readFileSync(join(ROOT, path), 'utf8') });
    }
  };
  for (const dir of SOURCE_DIRS) walk(dir);
  return files;
}

/**
 * Every Web API method @slack/web-api's WebClient offers ("chat.postMessage", "usergroups.users.list"…):
 * the functions of its method namespaces that it binds to apiCall.
 */
function webClientMethods(): Set<string> {
  const methods = new Set<string>();
  const walk = (value: unknown, path: string, depth: number) => {
    if (depth > 5 || value === null || typeof value !== 'object') return;
    for (const [key, member] of Object.entries(value)) {
      const name = path ? `${path}.${key}` : key;
      if (typeof member === 'function' && /^bound (apiCall|filesUploadV2)$/.test(member.name)) methods.add(name);
      else walk(member, name, depth + 1);
    }
  };
  walk(new WebClient(), '', 0);
  return methods;
}

/**
 * The Web API methods the code calls, each with where: every call through a property chain
 * (`this.client.chat.postMessage(`, also split over lines) whose longest tail is a WebClient
 * method (so `.usergroups.users.list(` is usergroups.users.list, not users.list), and every
 * `apiCall('…')` / `paginate('…')`. Over-inclusive on purpose: a port method that shares a Slack
 * method's name (ChatPort's `this.chat.update(`) counts too; at worst the table has one entry more.
 */
function methodsCalled(): Map<string, string[]> {
  const known = webClientMethods();
  const called = new Map<string, string[]>();
  const note = (method: string, where: string) => {
    const places = called.get(method) ?? [];
    if (!places.includes(where)) called.set(method, [...places, where]);
  };
  for (const { path, text: source } of sourceFiles()) {
    const text = withoutComments(source);
    for (const match of text.matchAll(/[A-Za-z_$][\w$]*(?:\s*\??\.\s*[A-Za-z_$][\w$]*)+(?=\s*\()/g)) {
      const chain = match[0].split(/\s*\??\.\s*/);
      for (let start = 1; start < chain.length - 1; start += 1) {
        const tail = chain.slice(start).join('.');
        if (known.has(tail)) {
          note(tail, path);
          break;
        }
      }
    }
    for (const match of text.matchAll(/\b(?:apiCall|paginate)\(\s*['"`]([a-zA-Z.]+)['"`]/g)) note(match[1]!, path);
  }
  return called;
}

/** The code without its comments (which name methods in prose); `://` in URLs is not a comment. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

/** What the code registers on the Bolt app: `app.<kind>('<name>'` (names only where literal). */
function listeners(): Array<{ kind: string; name?: string; path: string }> {
  const found: Array<{ kind: string; name?: string; path: string }> = [];
  for (const { path, text: source } of sourceFiles()) {
    const text = withoutComments(source);
    for (const match of text.matchAll(/\bapp\.(event|command|action|view|shortcut|options|message|function)\s*(?:<[^()]*>)?\(\s*(?:(['"`])([^'"`]+)\2)?/g)) {
      found.push({ kind: match[1]!, name: match[3], path });
    }
  }
  return found;
}

/** The string literal members of a union type declared in one of @slack/web-api's .d.ts files. */
function unionMembers(typeName: string): Set<string> {
  const file = join(ROOT, 'node_modules/@slack/web-api/dist/types/request/manifest.d.ts');
  const declaration = readFileSync(file, 'utf8').match(new RegExp(`type ${typeName} = ([^;]+);`));
  if (!declaration) throw new Error(`${relative(ROOT, file)} no longer declares ${typeName}: find where @slack/web-api lists manifest ${typeName} now`);
  return new Set([...declaration[1]!.matchAll(/'([^']+)'/g)].map((m) => m[1]!));
}

describe('the Slack app manifest', () => {
  const called = methodsCalled();
  const registered = listeners();
  // By name: the one `app.event(pattern, …)` is src/slack/events/event-router.ts, which attaches the
  // event modules' listeners (each an `app.event('type', …)` found here) as one Bolt listener.
  const handledEvents = [...new Set(registered.filter((l) => l.kind === 'event' && l.name).map((l) => l.name!))].sort();
  const commands = [...new Set(registered.filter((l) => l.kind === 'command').map((l) => l.name!))];
  const grantedScopes = HTTP.oauth_config.scopes.bot ?? [];

  it('finds the calls it checks (the scan of the source and of the WebClient works)', () => {
    expect(webClientMethods().has('chat.postMessage')).toBe(true);
    expect(webClientMethods().has('usergroups.users.list')).toBe(true);
    expect([...called.keys()]).toEqual(expect.arrayContaining(['chat.postMessage', 'views.open', 'usergroups.users.list']));
    expect(handledEvents).toContain('subteam_members_changed');
    expect(registered.filter((l) => l.kind === 'event' && !l.name).map((l) => l.path)).toEqual([expect.stringMatching(/src\/slack\/events\/event-router\.ts$/)]);
  });

  it('knows the scopes of every Web API method the code calls', () => {
    const unknown = [...called].filter(([method]) => !METHOD_SCOPES[method]).map(([method, where]) => `${method} (${where.join(', ')})`);
    expect(unknown).toEqual([]);
  });

  it('grants every scope a called method needs', () => {
    const missing = [...called.keys()].flatMap((method) => (METHOD_SCOPES[method]?.scopes ?? []).filter((s) => !grantedScopes.includes(s)).map((s) => `${s} for ${method}`));
    expect(missing).toEqual([]);
  });

  it('subscribes to exactly the events the code handles, and grants their scopes', () => {
    expect([...(HTTP.settings.event_subscriptions?.bot_events ?? [])].sort()).toEqual(handledEvents);
    expect(HTTP.settings.event_subscriptions?.user_events ?? []).toEqual([]);
    const unknown = handledEvents.filter((event) => !EVENT_SCOPES[event]);
    expect(unknown).toEqual([]);
    const missing = handledEvents.flatMap((event) => EVENT_SCOPES[event]!.scopes.filter((s) => !grantedScopes.includes(s)).map((s) => `${s} for ${event}`));
    expect(missing).toEqual([]);
  });

  it('grants no scope the code does not use, and no user scopes', () => {
    const used = new Set<string>([
      ...[...called.keys()].flatMap((method) => METHOD_SCOPES[method]?.scopes ?? []),
      ...handledEvents.flatMap((event) => EVENT_SCOPES[event]?.scopes ?? []),
      ...(commands.length > 0 ? [SLASH_COMMAND_SCOPE] : []),
    ]);
    expect(grantedScopes.filter((scope) => !used.has(scope))).toEqual([]);
    expect(new Set(grantedScopes).size).toBe(grantedScopes.length);
    expect(HTTP.oauth_config.scopes.user ?? []).toEqual([]);
  });

  it('declares the slash commands the code registers, with the commands scope', () => {
    expect(commands).toEqual(['/lane']);
    expect((HTTP.features.slash_commands ?? []).map((c) => c.command)).toEqual(commands);
    expect(grantedScopes).toContain(SLASH_COMMAND_SCOPE);
    const lane = HTTP.features.slash_commands![0]!;
    // Lane and branch names are read as typed: escaping would turn #names and @names into ids.
    expect(lane.should_escape).toBe(false);
    expect(lane.usage_hint).toMatch(/deploy <lane> <branch>/);
  });

  it('turns interactivity on, as the code listens for button clicks and modal submissions', () => {
    const kinds = new Set(registered.map((l) => l.kind));
    expect(kinds.has('action') && kinds.has('view')).toBe(true);
    expect(HTTP.settings.interactivity?.is_enabled).toBe(true);
    // No shortcuts, options loads, message listeners or custom functions: nothing in the manifest for them.
    expect(registered.filter((l) => ['shortcut', 'options', 'message', 'function'].includes(l.kind))).toEqual([]);
  });

  it('has a bot user, and a read-only Messages tab for the DMs lanebot sends', () => {
    expect(HTTP.features.bot_user.display_name).toMatch(/^[a-z0-9._-]{1,80}$/);
    expect(HTTP.features.app_home).toEqual({ home_tab_enabled: false, messages_tab_enabled: true, messages_tab_read_only_enabled: true });
    // A DM is chat.postMessage to a user id; no views.publish (Home tab) anywhere.
    expect(called.has('views.publish')).toBe(false);
  });

  it('uses only names Slack knows and stays within its limits', () => {
    const botScopes = unionMembers('BotScope');
    const events = unionMembers('ManifestEvent');
    for (const manifest of [HTTP, SOCKET]) {
      expect((manifest.oauth_config.scopes.bot ?? []).filter((s) => !botScopes.has(s))).toEqual([]);
      expect((manifest.settings.event_subscriptions?.bot_events ?? []).filter((e) => !events.has(e))).toEqual([]);
      expect(manifest.display_information.name.length).toBeLessThanOrEqual(35);
      expect((manifest.display_information.description ?? '').length).toBeLessThanOrEqual(140);
      expect(manifest.display_information.background_color).toMatch(/^#([0-9a-f]{3}|[0-9a-f]{6})$/i);
      for (const command of manifest.features.slash_commands ?? []) {
        expect(command.command).toMatch(/^\/[a-z0-9_-]{1,31}$/);
        expect(command.description.length).toBeLessThanOrEqual(2000);
        expect((command.usage_hint ?? '').length).toBeLessThanOrEqual(1000);
      }
    }
  });

  describe('HTTP mode (slack-manifest.yaml)', () => {
    it('sends commands, events and interactions to POST /slack/events over HTTPS', () => {
      expect(HTTP.settings.socket_mode_enabled).toBe(false);
      const urls = [HTTP.features.slash_commands![0]!.url, HTTP.settings.event_subscriptions?.request_url, HTTP.settings.interactivity?.request_url];
      for (const url of urls) expect(url).toMatch(/^https:\/\/[^/]+\/slack\/events$/);
      expect(new Set(urls).size).toBe(1);
    });
  });

  describe('Socket Mode (slack-manifest.socket-mode.yaml)', () => {
    it('is the same app with Socket Mode on and no request URLs', () => {
      expect(SOCKET.settings.socket_mode_enabled).toBe(true);
      expect(SOCKET.features.slash_commands?.every((c) => c.url === undefined)).toBe(true);
      expect(SOCKET.settings.event_subscriptions?.request_url).toBeUndefined();
      expect(SOCKET.settings.interactivity?.request_url).toBeUndefined();
      const withoutUrls = (manifest: Manifest): Manifest => ({
        ...manifest,
        features: { ...manifest.features, slash_commands: manifest.features.slash_commands?.map(({ url: _url, ...command }) => command) },
        settings: {
          ...manifest.settings,
          socket_mode_enabled: undefined,
          event_subscriptions: { ...manifest.settings.event_subscriptions, request_url: undefined },
          interactivity: manifest.settings.interactivity && { ...manifest.settings.interactivity, request_url: undefined },
        },
      });
      expect(withoutUrls(SOCKET)).toEqual(withoutUrls(HTTP));
    });

    it('says which app-level token scope Socket Mode needs (a manifest cannot declare it)', () => {
      // @slack/socket-mode calls apps.connections.open with SLACK_APP_TOKEN, which needs connections:write:
      // https://docs.slack.dev/reference/methods/apps.connections.open
      expect(readFileSync(join(ROOT, 'slack-manifest.socket-mode.yaml'), 'utf8')).toMatch(/connections:write/);
    });
  });
});
