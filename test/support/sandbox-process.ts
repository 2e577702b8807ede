// `npm run sandbox`'s entry point (src/sandbox/main.ts) started as its own process, for tests that
// drive it from outside: the browser test and the console-API test.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REDIS_URL, waitFor } from './harness';
import { freePort } from './free-port';

export interface SandboxProcess {
  /** The console's URL, without a trailing slash. */
  consoleUrl: string;
  stop(): Promise<void>;
}


/**
 * Starts the sandbox on two free ports and waits for it to print its URL. Starting compiles the bot
 * with tsx, which takes a while on a cold cache and a busy machine, hence the generous wait; if it
 * never comes, the error carries what the process printed. Other test files run at the same time and
 * take ports too, so a port taken between the choice and the listen is tried again with new ones.
 */
export async function startSandboxProcess(env: Record<string, string> = {}): Promise<SandboxProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(env);
    } catch (error) {
      if (attempt >= 3 || !(error as Error).message.includes('EADDRINUSE')) throw error;
    }
  }
}

async function startOnce(env: Record<string, string>): Promise<SandboxProcess> {
  const port = await freePort();
  let consolePort = await freePort();
  while (consolePort === port) consolePort = await freePort();
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  const child: ChildProcess = spawn(process.execPath, ['--import', tsx, join(__dirname, '../../src/sandbox/main.ts')], {
    env: { ...process.env, PORT: String(port), SANDBOX_PORT: String(consolePort), REDIS_URL, SIM_TIME_SCALE: '300', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    const consoleUrl = await waitFor(
      'the sandbox to print its URL',
      () => {
        if (child.exitCode !== null) throw new Error(`the sandbox exited with ${child.exitCode}`);
        return /open (http:\/\/\S+)/.exec(output)?.[1]?.replace(/\/$/, '');
      },
      110_000,
    );
    return { consoleUrl, stop };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n--- sandbox output ---\n${output.slice(-4000)}`);
  }
}
