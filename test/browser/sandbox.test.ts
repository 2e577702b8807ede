// The sandbox as a person uses it: `src/sandbox/main.ts` started as a process, its console opened
// in Debian's Chromium (driven by playwright-core), a deploy typed into the composer, the thread
// followed to success, a lane promoted to default and rolled back with its button (the Stacks tab
// showing each stack's image), a canary that passes and one that rolls back
// showing each stack's image), a button clicked, the Simulator panel's lane health and approvals used, a lane
// deleted through its confirmation, a lane warned, renewed and expired by moving the simulated clock,
// and screenshots saved (test/output/sandbox*.png).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, type ViewSubmitAction } from '@slack/bolt';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createSlackWebClient, SlackChatAdapter } from '../../src/chat/slack-chat.adapter';
import { startConsoleServer, type ConsoleServer } from '../../src/sandbox/console-server';
import { formatSlackDate } from '../../src/sandbox/page/slack-date';
import { SlackWorkspace } from '../../src/sandbox/slack-workspace';
import { SIGNING_SECRET, waitFor } from '../support/harness';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox-process';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const READER_TIME_ZONE = 'Asia/Kolkata';
const OUTPUT = join(__dirname, '..', 'output');
const INSTALL = 'install it with `apt-get install -y chromium` (Debian/Ubuntu; sudo as needed) or point CHROMIUM_PATH at a Chromium';
/**
 * Why the suite does not run here, if it does not. A machine without Chromium skips it, so that
 * `npm test` passes on a laptop; CI (CI=true, as .ci/run sets it) installs Chromium, and there a
 * missing browser fails the suite instead of quietly skipping it.
 */
const skipReason =
  process.env.SKIP_BROWSER_TESTS === '1'
    ? 'SKIP_BROWSER_TESTS=1'
    : !existsSync(CHROMIUM) && process.env.CI !== 'true'
      ? `no Chromium at ${CHROMIUM}; ${INSTALL}`
      : undefined;
const skip = skipReason !== undefined;

if (skip) {
  // eslint-disable-next-line no-console -- says loudly that a part of the suite did not run, and how to run it.
  console.warn(`SKIPPED: the browser tests (test/browser/sandbox.test.ts): ${skipReason}`);
}

(skip ? describe.skip : describe)('the sandbox in a browser', () => {
  let sandbox: SandboxProcess | undefined;
  let consoleUrl: string;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      // Only with CI=true: elsewhere the suite is skipped above.
      throw new Error(`Chromium not found at ${CHROMIUM} and CI=true, where the browser tests must run: ${INSTALL}`);
    }
    sandbox = await startSandboxProcess();
    consoleUrl = sandbox.consoleUrl;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    // A reader half an hour off UTC, on a 24-hour clock: dates in messages (`<!date^…>`) must show in
    // this time zone, not as the UTC fallback the bot writes beside them.
    page = await browser.newPage({ viewport: { width: 1280, height: 800 }, timezoneId: READER_TIME_ZONE, locale: 'en-GB' });
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    await sandbox?.stop();
  });

  it('deploys a lane from the composer and follows its thread to success', async () => {
    await page.goto(consoleUrl);
    await page.getByTestId('channel-C0USERAPIDEV').click();
    const composer = page.getByTestId('composer');
    await composer.fill('/lane deploy gray release/1.2.3');
    await composer.press('Enter');

    const root = page.getByTestId('message').filter({ hasText: 'lane gray ← release/1.2.3' });
    await root.first().waitFor({ timeout: 30_000 });
    await page.getByTestId('message').filter({ hasText: 'Only visible to you' }).first().waitFor();

    await root.first().getByTestId('thread-replies-link').click({ timeout: 30_000 });
    const panel = page.getByTestId('thread-panel');
    await panel.getByTestId('thread-reply').filter({ hasText: 'now runs' }).first().waitFor({ timeout: 30_000 });
    await expectText(panel, 'Lane gray of user-api/dev now runs');
    // The health check after the pipeline: its verdict ends the reply.
    await expectText(panel, 'Deployed and healthy');
    await root.first().filter({ hasText: 'deployed' }).waitFor({ timeout: 30_000 });

    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'sandbox.png') });
  }, 90_000);

  // Right after the first test, while gray runs release/1.2.3 and is healthy (later tests set its 5xx
  // rate, delete it and expire it). `default` never expires, so the expiry test at the end ignores it.
  it('promotes gray to default from the composer, rolls default back with the thread\'s button, and lists the three releases', async () => {
    await page.getByTestId('channel-C0USERAPIDEV').click();
    const composer = page.getByTestId('composer');
    // A promote needs its target deployed once: default gets its own release first.
    await composer.fill('/lane deploy default release/1.0.0');
    await composer.press('Enter');
    const deployRoot = page.getByTestId('message').filter({ hasText: 'lane default ← release/1.0.0' }).first();
    await deployRoot.filter({ hasText: 'deployed' }).waitFor({ timeout: 60_000 });

    // The Stacks tab shows what each lane stack runs (its ImageUri).
    const sim = page.getByTestId('sim-panel');
    if ((await sim.getAttribute('data-open')) !== 'true') await page.locator('#sim-toggle').click();
    await page.getByRole('tab', { name: /Stacks/ }).click();
    const imageOf = (stackName: string) => page.locator(`[data-testid="stack-row"][data-stack="${stackName}"]`).getByTestId('stack-image');
    // The image a URI names, as its digest: a pipeline names it by tag, a promote or rollback by the
    // digest its release recorded (the simulated registry in the console's state maps one to the other).
    const digestOf = async (uri: string): Promise<string | undefined> => {
      if (uri.includes('@sha256:')) return uri.slice(uri.indexOf('@') + 1);
      const state = (await (await fetch(`${consoleUrl}/sandbox/sim/state`)).json()) as { images: { repositoryUri: string; digest: string; tags: string[] }[] };
      const tag = uri.slice(uri.lastIndexOf(':') + 1);
      return state.images.find((image) => uri.startsWith(image.repositoryUri) && image.tags.includes(tag))?.digest;
    };
    const runs = async (stackName: string, uri: string) => (await digestOf((await imageOf(stackName).getAttribute('data-image')) ?? '')) === (await digestOf(uri));
    await imageOf('app-user-api-dev-default').waitFor({ timeout: 30_000 });
    const grayImage = (await imageOf('app-user-api-dev-gray').getAttribute('data-image')) ?? '';
    const defaultBefore = (await imageOf('app-user-api-dev-default').getAttribute('data-image')) ?? '';
    // The simulated pipeline tags images per lane and commit (`…:gray-<commit>`).
    expect(grayImage).toContain(':gray-');
    expect(defaultBefore).toContain(':default-');
    expect(grayImage).not.toBe(defaultBefore);

    await composer.fill('/lane promote gray');
    await composer.press('Enter');
    await page.getByTestId('message').filter({ hasText: 'Promoting lane gray → default' }).first().waitFor({ timeout: 30_000 });
    const promoteRoot = page.getByTestId('message').filter({ hasText: 'promote gray → default' }).first();
    await promoteRoot.getByTestId('thread-replies-link').click({ timeout: 30_000 });
    const thread = page.getByTestId('thread-panel');
    const promoted = thread.getByTestId('thread-reply').filter({ hasText: 'now runs' }).first();
    await promoted.waitFor({ timeout: 60_000 });
    await expectText(promoted, 'promoted from lane gray');
    await expectText(promoted, 'Deployed and healthy');
    // default now runs gray's very image: the stack was updated in place, nothing rebuilt.
    await waitFor('default\'s stack to run gray\'s image', () => runs('app-user-api-dev-default', grayImage), 30_000);

    const rollBack = promoted.getByTestId('button-lane_roll_back');
    expect(await rollBack.innerText()).toBe('Roll back');
    await rollBack.click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    await expectText(dialog, 'Roll back the lane?');
    await expectText(dialog, 'Put lane default of user-api/dev back on its previous release?');
    expect(await dialog.getByTestId('confirm-deny').innerText()).toBe('Cancel');
    const ok = dialog.getByTestId('confirm-ok');
    expect(await ok.innerText()).toBe('Roll back');
    const clicked = page.waitForResponse((r) => r.url().endsWith('/sandbox/actions'));
    await ok.click();
    expect((await (await clicked).json()) as { ok: boolean }).toMatchObject({ ok: true });
    await dialog.waitFor({ state: 'hidden' });

    // The rollback has its own root and thread; default is back on the image it ran before the promote.
    const rollbackRoot = page.getByTestId('message').filter({ hasText: 'roll back default to release 2' }).first();
    await rollbackRoot.getByTestId('thread-replies-link').click({ timeout: 30_000 });
    const rolledBack = thread.getByTestId('thread-reply').filter({ hasText: 'rolled back to release 2' }).first();
    await rolledBack.waitFor({ timeout: 60_000 });
    await expectText(rolledBack, 'Deployed and healthy');
    // A rollback offers the way back too.
    expect(await rolledBack.getByTestId('button-lane_roll_back').count()).toBe(1);
    await waitFor('default\'s stack to run its previous image again', () => runs('app-user-api-dev-default', defaultBefore), 30_000);

    const answers = page.getByTestId('message').filter({ hasText: 'Releases of lane default' });
    const before = await answers.count();
    await composer.fill('/lane releases default');
    await composer.press('Enter');
    await waitFor('the /lane releases answer', async () => (await answers.count()) > before, 30_000);
    const releases = await answers.last().innerText();
    expect(releases).toMatch(/1\. .*rollback by @alice/);
    expect(releases).toMatch(/2\. .*promote by @alice/);
    expect(releases).toMatch(/3\. .*deploy by @alice/);
    expect(releases).not.toMatch(/4\. /);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'sandbox-promote.png') });
  }, 180_000);

  it('shows a failed stage with its reason, and its "Deploy again" button queues the deploy again', async () => {
    const composer = page.getByTestId('composer');
    await composer.fill('/lane deploy blue feature/sim-fail-build');
    await composer.press('Enter');
    const root = page.getByTestId('message').filter({ hasText: 'lane blue ← feature/sim-fail-build' }).first();
    await root.waitFor({ timeout: 30_000 });
    await root.getByTestId('thread-replies-link').click({ timeout: 30_000 });
    const panel = page.getByTestId('thread-panel');
    await panel.getByTestId('thread-reply').filter({ hasText: 'npm test' }).first().waitFor({ timeout: 30_000 });

    const again = panel.getByTestId('button-lane_deploy_again').first();
    await again.click({ timeout: 30_000 });
    // The button asks for confirmation first, as Slack shows a confirm dialog.
    await page.getByRole('button', { name: /deploy again/i }).last().click();
    await waitFor('a second root message for the branch', async () => (await page.getByTestId('message').filter({ hasText: 'lane blue ← feature/sim-fail-build' }).count()) >= 2, 30_000);
    await page.screenshot({ path: join(OUTPUT, 'sandbox-failure.png') });
  }, 90_000);

  it('sets a lane\'s 5xx rate in the Lane health tab and sees its alarm fire and clear', async () => {
    // The first test deployed lane gray of user-api/dev; at SIM_TIME_SCALE=300 its alarms settle within seconds.
    const panel = page.getByTestId('sim-panel');
    if ((await panel.getAttribute('data-open')) !== 'true') await page.locator('#sim-toggle').click();
    await page.getByRole('tab', { name: /Stacks/ }).click();
    const stack = page.locator('[data-testid="stack-row"][data-stack="app-user-api-dev-gray"]');
    await stack.getByTestId('stack-status').filter({ hasText: 'CREATE_COMPLETE' }).waitFor({ timeout: 30_000 });

    await page.getByRole('tab', { name: /Lane health/ }).click();
    const lane = page.locator('[data-testid="lane-row"][data-lane="user-api/dev/gray"]');
    await lane.locator('[data-testid="alarm-errorRate"][data-state="OK"]').waitFor({ timeout: 30_000 });
    await lane.getByTestId('targets-healthy').waitFor();

    await lane.getByTestId('lane-5xx').fill('5');
    await lane.getByTestId('lane-apply').click();
    await lane.locator('[data-testid="alarm-errorRate"][data-state="ALARM"]').waitFor({ timeout: 30_000 });
    expect(await lane.getByTestId('lane-5xx').inputValue()).toBe('5');
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'sandbox-lane-health.png') });

    // The alarm reaches gray's thread (its home thread: the deploy of the first test).
    await page.getByTestId('channel-C0USERAPIDEV').click();
    const root = page.getByTestId('message').filter({ hasText: 'lane gray ← release/1.2.3' }).first();
    await root.getByTestId('thread-replies-link').click({ timeout: 30_000 });
    const thread = page.getByTestId('thread-panel');
    await thread.getByTestId('thread-reply').filter({ hasText: /5xx rate: 5 % > 1 % on lane gray/ }).first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(OUTPUT, 'sandbox-alarm.png') });

    await lane.getByTestId('lane-5xx').fill('0');
    await lane.getByTestId('lane-5xx').press('Enter');
    await lane.locator('[data-testid="alarm-errorRate"][data-state="OK"]').waitFor({ timeout: 30_000 });
    await thread.getByTestId('thread-reply').filter({ hasText: /5xx rate on lane gray cleared after/ }).first().waitFor({ timeout: 30_000 });
  }, 90_000);

  // After the promote test (default runs its own release again) and the alarm test (gray runs
  // release/1.2.3, healthy, its 5xx rate back to 0). At SIM_TIME_SCALE=300 a 1-minute step takes 0.2 s.
  it('promotes gray to default as a canary that walks its six steps, then rolls back a canary whose 5xx rate is 5 %', async () => {
    await page.getByTestId('channel-C0USERAPIDEV').click();
    const composer = page.getByTestId('composer');
    await composer.fill('/lane promote gray --canary');
    await composer.press('Enter');
    const root = page.getByTestId('message').filter({ hasText: 'canary gray → default' }).first();
    await root.waitFor({ timeout: 30_000 });
    await root.getByTestId('thread-replies-link').click({ timeout: 30_000 });
    const thread = page.getByTestId('thread-panel');
    const promoted = thread.getByTestId('thread-reply').filter({ hasText: 'Canary promoted' }).first();
    await promoted.waitFor({ timeout: 90_000 });
    await expectText(promoted, '6 of 6 steps passed');
    await expectText(promoted, 'Deployed and healthy');
    for (const percent of [1, 5, 10, 25, 50, 100]) {
      await thread.getByTestId('thread-reply').filter({ hasText: `${percent} % passed: canary` }).first().waitFor();
    }
    // The root: the full progress bar, each step's figures, no buttons once it ended.
    await root.filter({ hasText: 'promoted' }).waitFor({ timeout: 30_000 });
    await expectText(root, '▰▰▰▰▰▰');
    await expectText(root, '100 % canary');
    expect(await root.getByTestId('button-canary_abort').count()).toBe(0);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'sandbox-canary.png') });

    // A newer gray whose 5xx rate is then set to 5 %: its canary fails its checks and rolls back.
    await composer.fill('/lane deploy gray release/2.0.0');
    await composer.press('Enter');
    await page.getByTestId('message').filter({ hasText: 'lane gray ← release/2.0.0' }).first().filter({ hasText: 'deployed' }).waitFor({ timeout: 60_000 });
    const sim = page.getByTestId('sim-panel');
    if ((await sim.getAttribute('data-open')) !== 'true') await page.locator('#sim-toggle').click();
    await page.getByRole('tab', { name: /Lane health/ }).click();
    const lane = page.locator('[data-testid="lane-row"][data-lane="user-api/dev/gray"]');
    await lane.getByTestId('lane-5xx').fill('5');
    await lane.getByTestId('lane-apply').click();
    await expect(lane.getByTestId('lane-5xx').inputValue()).resolves.toBe('5');

    await composer.fill('/lane promote gray --canary');
    await composer.press('Enter');
    const second = page.getByTestId('message').filter({ hasText: 'canary gray → default' }).nth(1);
    await second.waitFor({ timeout: 30_000 });
    await second.getByTestId('thread-replies-link').click({ timeout: 30_000 });
    const rolledBack = thread.getByTestId('thread-reply').filter({ hasText: 'Canary rolled back' }).first();
    await rolledBack.waitFor({ timeout: 90_000 });
    await expectText(rolledBack, 'canary 5xx rate 5 % > 1 %');
    await expectText(rolledBack, 'at the 1 % step (failed check 2 of 2)');
    await thread.getByTestId('thread-reply').filter({ hasText: 'failed (1 of 2), holding the step' }).first().waitFor();
    await second.filter({ hasText: 'rolled back' }).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(OUTPUT, 'sandbox-canary-rollback.png') });

    // Gray healthy again for the tests after this one.
    await lane.getByTestId('lane-5xx').fill('0');
    await lane.getByTestId('lane-apply').click();
    await lane.locator('[data-testid="alarm-errorRate"][data-state="OK"]').waitFor({ timeout: 30_000 });
  }, 240_000);

  it('approves a prod deploy from its thread as bob, then the pipeline\'s manual approval; rejects another with a reason in the modal', async () => {
    // alice asks for a deploy to prod: it waits for an approver before anything starts.
    const ask = (lane: string, branch: string) =>
      fetch(`${consoleUrl}/sandbox/commands`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'U0ALICE', channel: 'C0USERAPIPROD', text: `deploy ${lane} ${branch}` }),
      });
    expect((await ask('gray', 'release/1.2.3')).status).toBe(200);

    // bob (an approver) opens #user-api-prod and clicks Approve on the request.
    await page.locator('#user-switcher').selectOption('U0BOB');
    await page.getByTestId('channel-C0USERAPIPROD').click();
    const root = page.getByTestId('message').filter({ hasText: 'lane gray ← release/1.2.3' }).first();
    await root.filter({ hasText: 'Approval needed' }).waitFor({ timeout: 30_000 });
    await root.getByTestId('button-lane_approve_deploy').click();
    await root.filter({ hasText: 'Approved by' }).waitFor({ timeout: 30_000 });
    expect(await root.getByTestId('button-lane_approve_deploy').count()).toBe(0);

    // The pipeline then waits at its own manual approval (the simulator's executions list).
    const panel = page.getByTestId('sim-panel');
    if ((await panel.getAttribute('data-open')) !== 'true') await page.locator('#sim-toggle').click();
    await page.getByRole('tab', { name: /Pipeline executions/ }).click();
    const row = page.getByTestId('execution-row').filter({ hasText: 'user-api-prod' }).first();
    await row.getByTestId('approve').click({ timeout: 30_000 });
    await row.getByText('Succeeded').waitFor({ timeout: 30_000 });
    await root.filter({ hasText: 'deployed' }).waitFor({ timeout: 30_000 });

    // Another request: bob rejects it, and the modal insists on a reason.
    expect((await ask('blue', 'release/9.9.9')).status).toBe(200);
    const other = page.getByTestId('message').filter({ hasText: 'lane blue ← release/9.9.9' }).first();
    await other.filter({ hasText: 'Approval needed' }).waitFor({ timeout: 30_000 });
    await other.getByTestId('button-lane_reject_deploy').click();
    const modal = page.getByTestId('view-modal');
    await modal.waitFor({ timeout: 30_000 });
    await expectText(page.getByTestId('view-modal-title'), 'Reject the deploy');
    await page.getByTestId('view-input-reason').fill('the change window is closed');
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'sandbox-reject-modal.png') });
    const submitted = page.waitForResponse((r) => r.url().endsWith('/sandbox/modals/submit'));
    await page.getByTestId('view-submit').click();
    const answer = (await (await submitted).json()) as { outcome?: string; errors?: unknown; error?: string };
    expect(answer).toMatchObject({ outcome: 'closed' });
    await modal.waitFor({ state: 'hidden', timeout: 30_000 });
    await other.filter({ hasText: 'Rejected by' }).waitFor({ timeout: 30_000 });
    await expectText(other, 'the change window is closed');
    await page.locator('#user-switcher').selectOption('U0ALICE');
  }, 120_000);

  it('deletes a lane: the confirmation\'s danger button and dialog, the stack gone from the Stacks tab, the lane from /lane list', async () => {
    await page.getByTestId('channel-C0USERAPIDEV').click();
    const composer = page.getByTestId('composer');
    // Lane gray exists since the first test; alice deploys it again, so she is its last deployer.
    await composer.fill('/lane deploy gray release/1.3.0');
    await composer.press('Enter');
    const deployRoot = page.getByTestId('message').filter({ hasText: 'lane gray ← release/1.3.0' }).first();
    await deployRoot.filter({ hasText: 'deployed' }).waitFor({ timeout: 30_000 });

    const panel = page.getByTestId('sim-panel');
    if ((await panel.getAttribute('data-open')) !== 'true') await page.locator('#sim-toggle').click();
    await page.getByRole('tab', { name: /Stacks/ }).click();
    const stack = page.locator('[data-testid="stack-row"][data-stack="app-user-api-dev-gray"]');
    await stack.getByTestId('stack-status').filter({ hasText: /UPDATE_COMPLETE|CREATE_COMPLETE/ }).waitFor({ timeout: 30_000 });
    expect(await stack.getByTestId('fail-next-stack').getAttribute('title')).toContain('delete');

    await composer.fill('/lane delete gray');
    await composer.press('Enter');
    const confirmation = page.getByTestId('message').filter({ hasText: 'Delete lane gray of user-api/dev?' }).last();
    await confirmation.waitFor({ timeout: 30_000 });
    await expectText(confirmation, 'Only visible to you');
    const button = confirmation.getByTestId('button-lane_delete_confirm');
    expect(await button.innerText()).toBe('Delete lane gray');
    expect(await button.getAttribute('class')).toContain('bk-btn-danger');
    // The danger style shows: Slack's red text on white.
    expect(await button.evaluate((el) => (globalThis as unknown as BrowserGlobals).getComputedStyle(el).color)).toBe('rgb(224, 30, 90)');

    await button.click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    await expectText(dialog, 'Delete the lane?');
    await expectText(dialog, 'This cannot be undone.');
    const ok = dialog.getByTestId('confirm-ok');
    expect(await ok.innerText()).toBe('Delete');
    expect(await ok.getAttribute('class')).toContain('btn-danger');
    expect(await dialog.getByTestId('confirm-deny').innerText()).toBe('Cancel');
    // The dialog fades in; the screenshot shows it once it has.
    await page.locator('#modal').evaluate((el) => Promise.all((el as unknown as Animated).getAnimations({ subtree: true }).map((a) => a.finished)));
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'sandbox-delete-confirm.png') });
    const clicked = page.waitForResponse((r) => r.url().endsWith('/sandbox/actions'));
    await ok.click();
    const { responseUrl } = (await (await clicked).json()) as { responseUrl: string };

    // The confirmation is replaced in place (replace_original), its button gone.
    const replaced = page.getByTestId('message').filter({ hasText: 'Deleting lane gray of user-api/dev' });
    await replaced.first().waitFor({ timeout: 30_000 });
    await waitFor('the confirmation to be replaced', async () => (await page.getByTestId('message').filter({ hasText: 'Delete lane gray of user-api/dev?' }).count()) === 0, 30_000);
    expect(await page.getByTestId('button-lane_delete_confirm').count()).toBe(0);

    const deleteRoot = page.getByTestId('message').filter({ hasText: 'lane gray — delete' }).first();
    await deleteRoot.filter({ hasText: 'deleted' }).waitFor({ timeout: 30_000 });
    await stack.waitFor({ state: 'detached', timeout: 30_000 });

    await composer.fill('/lane list');
    await composer.press('Enter');
    const list = page.getByTestId('message').filter({ hasText: 'Lanes of user-api/dev' }).last();
    await list.waitFor({ timeout: 30_000 });
    await waitFor('a /lane list answer after the delete', async () => (await list.innerText()).includes('blue'), 30_000);
    expect(await list.innerText()).not.toContain('gray');
    await page.screenshot({ path: join(OUTPUT, 'sandbox-delete.png') });

    // A later answer through the same response_url that replaces the message with text only: Slack
    // shows just that text, so the page must not keep the blocks of the copy it had.
    const answer = await fetch(responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ replace_original: true, text: 'Replaced with text only' }),
    });
    expect(answer.status).toBe(200);
    await answer.arrayBuffer();
    const textOnly = page.getByTestId('message').filter({ hasText: 'Replaced with text only' });
    await textOnly.waitFor({ timeout: 30_000 });
    expect(await textOnly.innerText()).not.toContain('Deleting lane gray');
  }, 90_000);

  // Last in this suite: moving the clock 14 days expires every lane of this sandbox.
  it('warns idle gray after 6 simulated days with Renew in its thread, renews it, and deletes it when 8 more days pass', async () => {
    await page.getByTestId('channel-C0USERAPIDEV').click();
    const composer = page.getByTestId('composer');
    // The test before deleted gray; it comes back with this deploy, whose thread is its home thread.
    await composer.fill('/lane deploy gray release/1.4.0');
    await composer.press('Enter');
    const root = page.getByTestId('message').filter({ hasText: 'lane gray ← release/1.4.0' }).first();
    await root.filter({ hasText: 'deployed' }).waitFor({ timeout: 30_000 });

    const sim = page.getByTestId('sim-panel');
    if ((await sim.getAttribute('data-open')) !== 'true') await page.locator('#sim-toggle').click();
    await page.getByRole('tab', { name: /Stacks/ }).click();
    const stack = page.locator('[data-testid="stack-row"][data-stack="app-user-api-dev-gray"]');
    await stack.getByTestId('stack-status').filter({ hasText: 'CREATE_COMPLETE' }).waitFor({ timeout: 30_000 });
    const advance = async (label: '+6 d' | '+1 d') => {
      const moved = page.waitForResponse((r) => r.url().endsWith('/sandbox/sim/advance-clock') && r.ok());
      await page.getByRole('button', { name: label, exact: true }).click();
      await moved;
    };

    await advance('+6 d');
    await root.getByTestId('thread-replies-link').click({ timeout: 30_000 });
    const thread = page.getByTestId('thread-panel');
    const prompt = thread.getByTestId('thread-reply').filter({ hasText: 'Lane gray of user-api/dev has been idle for 6 days and will be deleted on' });
    await prompt.waitFor({ timeout: 60_000 });
    await expectText(prompt, '@alice');
    await expectText(prompt.getByTestId('broadcast-note'), 'Also sent to the channel');

    // The deletion date, in the reader's time zone; the bot's UTC fallback only on hover.
    const date = prompt.getByTestId('slack-date');
    const fallback = (await date.getAttribute('title')) ?? '';
    expect(fallback).toMatch(/ UTC$/);
    const at = Date.parse((await date.getAttribute('datetime')) ?? '');
    const shown = await date.innerText();
    expect(shown).not.toContain('UTC');
    expect(shown.endsWith(` ${formatSlackDate(at, '{time}', { now: at, timeZone: READER_TIME_ZONE, hour12: false })}`)).toBe(true);
    expect(await prompt.innerText()).not.toContain(fallback);

    // Renew, Renew for 30 days, and Delete now behind its confirm dialog.
    const renew = prompt.getByTestId('button-lane_renew');
    expect(await renew.innerText()).toBe('Renew for 7 days');
    expect(await prompt.getByTestId('button-lane_renew_long').innerText()).toBe('Renew for 30 days');
    const deleteNow = prompt.getByTestId('button-lane_delete_confirm');
    expect(await deleteNow.innerText()).toBe('Delete now');
    expect(await deleteNow.getAttribute('class')).toContain('bk-btn-danger');
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'sandbox-expiry-prompt.png') });
    await deleteNow.click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    await expectText(dialog, 'Delete the lane?');
    await expectText(dialog, 'Delete lane gray of user-api/dev and everything in its stack now?');
    await dialog.getByTestId('confirm-deny').click();
    await dialog.waitFor({ state: 'hidden' });

    await renew.click();
    // Both the click's replace_original and the bot's edit of its prompt say so (in slightly different words).
    const renewed = thread.getByTestId('thread-reply').filter({ hasText: /Lane gray (of user-api\/dev )?was renewed by @alice until .+ It is deleted after that/ });
    await renewed.waitFor({ timeout: 30_000 });
    expect(await renewed.getByTestId('button-lane_renew').count()).toBe(0);
    expect(await renewed.getByTestId('slack-date').innerText()).not.toContain('UTC');
    await page.screenshot({ path: join(OUTPUT, 'sandbox-expiry-renewed.png') });

    // Renewed for 7 days: warned again 6 days on, deleted a day after that.
    await advance('+6 d');
    await prompt.waitFor({ timeout: 60_000 });
    await advance('+1 d');
    await advance('+1 d');
    await stack.waitFor({ state: 'detached', timeout: 90_000 });
    await thread.getByTestId('thread-reply').filter({ hasText: 'Lane gray was not renewed, so lanebot is deleting it' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('message').filter({ hasText: 'lane gray — delete (idle, not renewed)' }).filter({ hasText: 'deleted' }).first().waitFor({ timeout: 30_000 });

    const lists = page.getByTestId('message').filter({ hasText: /lanes of user-api\/dev/i });
    const before = await lists.count();
    await composer.fill('/lane list');
    await composer.press('Enter');
    await waitFor('a /lane list answer', async () => (await lists.count()) > before, 30_000);
    expect(await lists.last().innerText()).not.toMatch(/\bgray\b/);
    await page.screenshot({ path: join(OUTPUT, 'sandbox-expiry-deleted.png') });
  }, 180_000);
});

// A modal in the console page, against an in-process sandbox Slack and a small Bolt app standing in
// for the bot's view listener (lanebot's own modal, the reject reason, is tested by its flow).
(skip ? describe.skip : describe)('a modal in the sandbox page', () => {
  let sandbox: ConsoleServer;
  let workspace: SlackWorkspace;
  let receiver: HTTPReceiver;
  let browser: Browser;
  const reasons: string[] = [];

  beforeAll(async () => {
    workspace = new SlackWorkspace({ users: [{ id: 'U0BOB', name: 'bob' }], channels: [{ id: 'C0DEV', name: 'dev' }] });
    sandbox = await startConsoleServer({ workspace, signingSecret: SIGNING_SECRET, port: 0 });
    receiver = new HTTPReceiver({ signingSecret: SIGNING_SECRET, endpoints: '/slack/events', processBeforeResponse: false });
    const app = new App({ receiver, authorize: async () => ({ botToken: 'xoxb-test' }), clientOptions: { slackApiUrl: sandbox.apiUrl } });
    app.view<ViewSubmitAction>('reject_reason', async ({ ack, view }) => {
      const reason = view.state.values.reason?.text?.value ?? '';
      if (reason.trim().length < 5) return void (await ack({ response_action: 'errors', errors: { reason: 'Say a little more (5 characters at least).' } }));
      reasons.push(reason);
      await ack();
    });
    const server = await receiver.start(0);
    sandbox.setBotUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await receiver?.stop();
    await sandbox?.close();
  });

  it('shows the modal the bot opened, the bot\'s errors under the input, and closes it when the bot takes the reason', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${sandbox.url}/#/channel/C0DEV`);
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 30_000 });
    await new SlackChatAdapter(createSlackWebClient('xoxb-test', sandbox.apiUrl)).openModal(workspace.issueTrigger('U0BOB'), {
      type: 'modal',
      callback_id: 'reject_reason',
      title: { type: 'plain_text', text: 'Reject the deploy' },
      submit: { type: 'plain_text', text: 'Reject' },
      close: { type: 'plain_text', text: 'Cancel' },
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: 'Rejecting *release/1.2.3*' } },
        { type: 'input', block_id: 'reason', label: { type: 'plain_text', text: 'Why?' }, element: { type: 'plain_text_input', action_id: 'text', multiline: true } },
      ],
    });
    const modal = page.getByTestId('view-modal');
    await modal.waitFor({ timeout: 30_000 });
    await expectText(page.getByTestId('view-modal-title'), 'Reject the deploy');
    await expectText(modal, 'Rejecting release/1.2.3');

    await page.getByTestId('view-input-reason').fill('meh');
    await page.getByTestId('view-submit').click();
    await expectText(await waitForVisible(page.getByTestId('view-error-reason')), 'Say a little more');
    // What was typed stays while the errors show.
    expect(await page.getByTestId('view-input-reason').inputValue()).toBe('meh');
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'sandbox-modal-errors.png') });

    await page.getByTestId('view-input-reason').fill('the change log is missing');
    await page.getByTestId('view-submit').click();
    await modal.waitFor({ state: 'hidden', timeout: 30_000 });
    expect(reasons).toEqual(['the change log is missing']);
    expect(workspace.listModals('U0BOB')).toEqual([]);
    await page.close();
  }, 90_000);
});

// A thread reply broadcast to the channel (an alarm), as the Slack adapter posts it: the page shows it
// in the channel under "replied to a thread" and in the thread with "Also sent to the channel".
(skip ? describe.skip : describe)('a broadcast thread reply in the sandbox page', () => {
  let sandbox: ConsoleServer;
  let browser: Browser;

  beforeAll(async () => {
    const workspace = new SlackWorkspace({ users: [{ id: 'U0BOB', name: 'bob' }], channels: [{ id: 'C0DEV', name: 'dev' }] });
    sandbox = await startConsoleServer({ workspace, signingSecret: SIGNING_SECRET, port: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await sandbox?.close();
  });

  it('shows the reply in the channel with what it answers, and in its thread as also sent to the channel', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${sandbox.url}/#/channel/C0DEV`);
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 30_000 });
    const chat = new SlackChatAdapter(createSlackWebClient('xoxb-test', sandbox.apiUrl));
    const root = await chat.post('C0DEV', { text: '*user-api · dev · lane gray ← release/1.2.3*' });
    await chat.post('C0DEV', { text: 'Deployed and healthy.' }, { threadTs: root.ts });
    await chat.post('C0DEV', { text: ':rotating_light: 5xx rate 4.2 % > 1 % on lane gray', broadcast: true }, { threadTs: root.ts });

    const inChannel = page.getByTestId('message').filter({ hasText: '5xx rate 4.2 %' });
    await inChannel.waitFor({ timeout: 30_000 });
    await expectText(inChannel.getByTestId('broadcast-note'), 'replied to a thread: user-api · dev · lane gray ← release/1.2.3');
    // The quiet reply stays in the thread; the root counts both.
    expect(await page.getByTestId('message').filter({ hasText: 'Deployed and healthy.' }).count()).toBe(0);
    await expectText(page.getByTestId('message').filter({ hasText: 'lane gray ← release/1.2.3' }).first().getByTestId('thread-replies-link'), '2 replies');
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'sandbox-broadcast-channel.png') });

    await inChannel.getByTestId('broadcast-note').getByRole('button').click();
    const panel = page.getByTestId('thread-panel');
    const inThread = panel.getByTestId('thread-reply').filter({ hasText: '5xx rate 4.2 %' });
    await inThread.waitFor({ timeout: 30_000 });
    await expectText(inThread.getByTestId('broadcast-note'), 'Also sent to the channel');
    expect(await panel.getByTestId('thread-reply').filter({ hasText: 'Deployed and healthy.' }).getByTestId('broadcast-note').count()).toBe(0);
    await page.screenshot({ path: join(OUTPUT, 'sandbox-broadcast-thread.png') });
    await page.close();
  }, 90_000);
});

async function waitForVisible<T extends { waitFor(options: { timeout: number }): Promise<void> }>(locator: T): Promise<T> {
  await locator.waitFor({ timeout: 30_000 });
  return locator;
}

// What the page functions above use of the browser: this file is type-checked without the DOM library.
interface BrowserGlobals {
  getComputedStyle(element: unknown): { color: string };
}
interface Animated {
  getAnimations(options: { subtree: boolean }): { finished: Promise<unknown> }[];
}

async function expectText(locator: { innerText(): Promise<string> }, text: string): Promise<void> {
  expect(await locator.innerText()).toContain(text);
}
