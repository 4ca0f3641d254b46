// Reusable pieces of the browser runs: start Debian's headless Chromium through playwright-core
// (a browser download by the test tool does not work here, see BUILD-NOTES.md), run axe-core on
// a page, save a screenshot, and collect what the page's console says about the CSP.
//
//   import { startBrowser, checkPage } from './lib/browser.mjs';
//   const browser = await startBrowser();
//   const page = await browser.newPage({ baseUrl, cookies });
//   await page.goto(baseUrl + '/');
//   const report = await checkPage(page, 'accueil', { artefacts: 'target/browser-artefacts/x' });
//   await browser.close();

import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Debian's Chromium, unless AC_CHROMIUM names another binary. */
export const CHROMIUM = process.env.AC_CHROMIUM || '/usr/bin/chromium';

/**
 * The flags this machine needs: without the background-networking ones Chromium keeps trying
 * to reach Google's hosts through a closed network.
 */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The accessibility rules checked: WCAG 2.1 A and AA (what RGAA 4 follows) and axe's best practices. */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

/**
 * Starts Chromium with a fresh, empty profile (removed by `close`). Throws with a clear message
 * when the binary is missing.
 */
export async function startBrowser({ executablePath = CHROMIUM } = {}) {
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium not found at ${executablePath}: install Debian's package (apt-get install -y chromium) or set AC_CHROMIUM`,
    );
  }
  const profile = await mkdtemp(join(tmpdir(), 'ac-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_FLAGS,
    locale: 'fr-FR',
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  return {
    context,
    /** A page whose console errors (CSP refusals among them) are collected in `page.problems`. */
    async newPage({ baseUrl, cookies = [] } = {}) {
      await context.clearCookies();
      if (cookies.length > 0) {
        await context.addCookies(cookies.map((c) => ({ url: baseUrl, ...c })));
      }
      const page = await context.newPage();
      page.problems = [];
      page.on('console', (message) => {
        // A failed load is reported by the response handler below, with its address; the
        // document's own status is the caller's to check (a 403 page can be the point).
        if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
          page.problems.push(message.text());
        }
      });
      page.on('pageerror', (error) => page.problems.push(String(error)));
      page.on('response', (response) => {
        const request = response.request();
        const url = new URL(response.url());
        // Browsers ask for /favicon.ico on their own; the service has none.
        if (request.resourceType() !== 'document' && response.status() >= 400 && url.pathname !== '/favicon.ico') {
          page.problems.push(`${response.status()} for ${request.resourceType()} ${url.pathname}`);
        }
      });
      page.on('requestfailed', (request) => {
        if (request.resourceType() !== 'document') {
          page.problems.push(`failed ${request.resourceType()} ${request.url()}: ${request.failure()?.errorText}`);
        }
      });
      return page;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Runs axe-core on the page as it is now and saves a full-page screenshot `<name>.png` under
 * `artefacts`. Returns `{ name, url, violations, problems }`; `violations` keeps each rule's id,
 * impact, help and the first targets, `problems` the console errors seen since the last check.
 * axe is injected through the DevTools protocol, which the page's CSP does not govern: the page
 * is checked under its real policy.
 */
export async function checkPage(page, name, { artefacts, tags = AXE_TAGS } = {}) {
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(
    (runOnly) => globalThis.axe.run(document, { runOnly: { type: 'tag', values: runOnly } }),
    tags,
  );
  if (artefacts) {
    await mkdir(artefacts, { recursive: true });
    await page.screenshot({ path: join(artefacts, `${name}.png`), fullPage: true });
  }
  const problems = page.problems.splice(0);
  return {
    name,
    url: page.url(),
    violations: results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    })),
    problems,
  };
}
