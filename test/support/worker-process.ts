// A lanebot worker in a process of its own, for the tests that kill one mid-operation
// (resilience.test.ts, canary.test.ts): the environment such a process starts with, and the fork
// that resolves once the process says its workers run. The scripts forked are test/support/crashing-*.ts.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REDIS_URL, SIGNING_SECRET, testClusterNodes } from './harness';

/** A worker process's environment: role `worker` on the test's Redis (or cluster) and prefix, the simulator at `simTimeScale`. */
export function workerProcessEnv(options: { slackApiUrl: string; prefix: string; simTimeScale: number }): Record<string, string> {
  const clusterNodes = testClusterNodes();
  return {
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: options.slackApiUrl,
    REDIS_URL,
    ...(clusterNodes ? { REDIS_CLUSTER_NODES: clusterNodes } : {}),
    CLOUD: 'sim',
    SIM_TIME_SCALE: String(options.simTimeScale),
    LANEBOT_REDIS_PREFIX: options.prefix,
    LANEBOT_ROLE: 'worker',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  };
}

/** Forks `script` (a file name in test/support) with `env`; resolves once its workers run (its first IPC message). */
export async function forkWorkerProcess(script: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = fork(join(__dirname, script), [], {
    env: { ...process.env, ...env },
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`worker process ${script} exited early (${code})`)));
  });
  return child;
}

/** Kills the process at once (SIGKILL: no clean-up of any kind) and resolves once it is gone. */
export async function killWorkerProcess(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}
