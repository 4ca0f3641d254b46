// Reusable pieces of the browser runs: start Debian's headless Chromium through playwright-core
// (a browser download by the test tool does not work here, see BUILD-NOTES.md), run axe-core on
// a page, check the tablet-first rules (text size, target size, visible focus, no horizontal
// scrolling), save a screenshot, collect what the page's console says about the CSP, and lay a
// printable page out for paper (`checkPrint`: A4 PDF, what shows and what does not).
//
//   import { startBrowser, checkPage } from './lib/browser.mjs';
//   const browser = await startBrowser();
//   const page = await browser.newPage({ baseUrl, cookies, viewport: { width: 768, height: 1024 } });
//   await page.goto(baseUrl + '/');
//   const report = await checkPage(page, 'accueil', { artefacts: 'target/browser-artefacts/x', tablet: true });
//   await browser.closePage(page);
//   await browser.close();

import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
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

/** The viewport of a page when the plan names none. */
export const DEFAULT_VIEWPORT = { width: 1280, height: 900 };

/**
 * Starts Chromium (its own temporary profile, removed on close). Each page gets a browser
 * context of its own, so a session can have its viewport and can run without JavaScript.
 * Throws with a clear message when the binary is missing.
 */
export async function startBrowser({ executablePath = CHROMIUM } = {}) {
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium not found at ${executablePath}: install Debian's package (apt-get install -y chromium) or set AC_CHROMIUM`,
    );
  }
  const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_FLAGS });
  return {
    browser,
    /**
     * A page in a fresh context whose console errors (CSP refusals among them) are collected in
     * `page.problems`. `javaScript: false` is a browser with scripts turned off; close the page
     * with `closePage`.
     */
    async newPage({ baseUrl, cookies = [], viewport = DEFAULT_VIEWPORT, javaScript = true } = {}) {
      const context = await browser.newContext({
        locale: 'fr-FR',
        viewport,
        javaScriptEnabled: javaScript,
        acceptDownloads: true,
      });
      if (cookies.length > 0) {
        await context.addCookies(cookies.map((c) => ({ url: baseUrl, ...c })));
      }
      const page = await context.newPage();
      page.javaScript = javaScript;
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
        // A media player cancels its own range requests once it has read what it needs (an Ogg
        // file's header, then its end for the duration): an abort of a media request is the
        // player's, not a failure. A media file that is missing or broken still shows, as a
        // status above or through the `playable` step.
        const aborted = request.failure()?.errorText === 'net::ERR_ABORTED';
        if (request.resourceType() === 'media' && aborted) return;
        if (request.resourceType() !== 'document') {
          page.problems.push(`failed ${request.resourceType()} ${request.url()}: ${request.failure()?.errorText}`);
        }
      });
      return page;
    },
    async closePage(page) {
      await page.context().close();
    },
    async close() {
      await browser.close();
    },
  };
}

/** The tablet-first rules (docs/accessibility.md). */
export const TABLET_RULES = {
  /** Smallest computed font size of any visible text, in CSS pixels. */
  minFontPx: 18,
  /** Smallest target (WCAG 2.5.5's 44 × 44 CSS pixels) of any visible control. */
  minTargetPx: 44,
  /** Thinnest focus indicator (outline or box-shadow), in CSS pixels. */
  minFocusPx: 2,
  /** How many Tab presses the focus walk makes at most on one page. */
  maxTabs: 80,
};

/**
 * Measures the page as laid out now: text smaller than `minFontPx`, controls smaller than
 * `minTargetPx` on a side, content wider than the viewport. Runs in the page (it needs no page
 * script, so it works with JavaScript turned off too). Exceptions, from WCAG 2.5.8: a link
 * inside a sentence (its target is the line of text), and a checkbox or radio button whose
 * label, which clicks it too, is big enough.
 */
function measureLayout({ minFontPx, minTargetPx }) {
  const problems = [];
  const describe = (el) => {
    const id = el.id ? `#${el.id}` : '';
    const cls = el.classList.length > 0 ? `.${[...el.classList].join('.')}` : '';
    const text = (el.textContent || el.value || '').trim().replace(/\s+/g, ' ').slice(0, 40);
    return `<${el.tagName.toLowerCase()}${id}${cls}> "${text}"`;
  };
  const shown = (el) => {
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') return false;
    const r = el.getBoundingClientRect();
    // Off-screen on purpose (the skip link until it has the focus).
    return r.width > 0 && r.height > 0 && r.right > 0 && r.bottom + window.scrollY > 0;
  };

  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const small = new Set();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || node.textContent.trim() === '' || small.has(el) || !shown(el)) continue;
    if (el.closest('svg, script, style, noscript')) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < minFontPx - 0.01) {
      small.add(el);
      problems.push(`text at ${size.toFixed(1)}px (< ${minFontPx}px): ${describe(el)}`);
    }
  }

  const controls = document.querySelectorAll(
    'a[href], button, input:not([type="hidden"]), select, textarea, summary, [role="button"], [tabindex]:not([tabindex="-1"])',
  );
  for (const el of controls) {
    if (!shown(el)) continue;
    let box = el.getBoundingClientRect();
    if (el.tagName === 'A' && getComputedStyle(el).display === 'inline') {
      const sentence = el.parentElement ? el.parentElement.textContent.trim() : '';
      if (sentence !== el.textContent.trim()) continue;
    }
    if (el.type === 'checkbox' || el.type === 'radio') {
      const label = el.labels && el.labels[0];
      if (label) {
        const l = label.getBoundingClientRect();
        if (l.width * l.height > box.width * box.height) box = l;
      }
    }
    if (box.width < minTargetPx - 0.01 || box.height < minTargetPx - 0.01) {
      problems.push(
        `target ${box.width.toFixed(0)}×${box.height.toFixed(0)}px (< ${minTargetPx}px): ${describe(el)}`,
      );
    }
  }

  const width = document.documentElement.scrollWidth;
  if (width > window.innerWidth) {
    problems.push(`page ${width}px wide in a ${window.innerWidth}px viewport: horizontal scrolling`);
  }
  return problems;
}

/** The focus indicator of the focused element, or null when it has none thick enough. */
function focusIndicator({ minFocusPx }) {
  const el = document.activeElement;
  if (!el || el === document.body) return { done: true };
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' ? parseFloat(style.outlineWidth) : 0;
  // A box-shadow ring: its spread (the last length) is its thickness.
  const spread =
    style.boxShadow !== 'none' ? Math.max(0, ...[...style.boxShadow.matchAll(/(-?[\d.]+)px/g)].map((m) => parseFloat(m[1]))) : 0;
  const text = (el.textContent || el.value || '').trim().replace(/\s+/g, ' ').slice(0, 40);
  return {
    done: false,
    key: `${el.tagName}|${el.id}|${el.getAttribute('name')}|${el.getAttribute('href')}|${text}|${el.value || ''}`,
    label: `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}> "${text}"`,
    visible: Math.max(outline, spread) >= minFocusPx,
    width: Math.max(outline, spread),
  };
}

/**
 * The tablet-first checks of the page as it is now: sizes (see `measureLayout`), then a walk of
 * the focus with the Tab key from the top of the page, each focused element needing a visible
 * indicator. Returns the problems found, as sentences; the walk leaves the focus where it ended.
 */
export async function checkTablet(page, rules = TABLET_RULES) {
  const problems = await page.evaluate(measureLayout, rules);
  // Start the walk from the document, as a keyboard user arriving on the page.
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  const seen = new Set();
  let focused = 0;
  for (let i = 0; i < rules.maxTabs; i += 1) {
    await page.keyboard.press('Tab');
    const focus = await page.evaluate(focusIndicator, rules);
    if (focus.done || seen.has(focus.key)) break;
    seen.add(focus.key);
    focused += 1;
    if (!focus.visible) {
      problems.push(`focus indicator ${focus.width}px (< ${rules.minFocusPx}px) on ${focus.label}`);
    }
  }
  if (focused === 0) problems.push('the Tab key focuses nothing');
  return problems;
}

/**
 * Checks the page as it is now and saves a full-page screenshot `<name>.png` under `artefacts`:
 * axe-core (when the page runs scripts: Chromium drops a page that is handed axe with
 * JavaScript turned off) and, with `tablet`, the tablet-first rules (`checkTablet`). Returns
 * `{ name, url, axe, violations, tablet, problems }`; `violations` keeps each rule's id, impact,
 * help and the first targets, `tablet` the tablet-first problems, `problems` the console errors
 * seen since the last check. axe is injected through the DevTools protocol, which the page's
 * CSP does not govern: the page is checked under its real policy.
 */
export async function checkPage(page, name, { artefacts, tags = AXE_TAGS, tablet = false } = {}) {
  let violations = [];
  const axe = page.javaScript !== false;
  if (axe) {
    await page.evaluate(AXE_SOURCE);
    const results = await page.evaluate(
      (runOnly) => globalThis.axe.run(document, { runOnly: { type: 'tag', values: runOnly } }),
      tags,
    );
    violations = results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    }));
  }
  if (artefacts) {
    await mkdir(artefacts, { recursive: true });
    await page.screenshot({ path: join(artefacts, `${name}.png`), fullPage: true });
  }
  // After the screenshot: the focus walk scrolls the page.
  const tabletProblems = tablet ? await checkTablet(page) : [];
  const problems = page.problems.splice(0);
  return { name, url: page.url(), axe, violations, tablet: tabletProblems, problems };
}

/**
 * The page as printed: under print media, saves `<name>.pdf` (A4, the stylesheets' `@page`
 * rules applying) and `<name>-papier.png` under `artefacts`, and checks that every selector of `visible` matches a shown
 * element and that no element of `hidden` shows on paper. Screen media is restored afterwards.
 * Returns `{ pdf, problems }`.
 */
export async function checkPrint(page, name, { artefacts, visible = [], hidden = [] } = {}) {
  const problems = [];
  await page.emulateMedia({ media: 'print' });
  try {
    for (const selector of visible) {
      const found = page.locator(selector);
      if ((await found.count()) === 0 || !(await found.first().isVisible())) {
        problems.push(`${selector} does not show on paper`);
      }
    }
    for (const selector of hidden) {
      for (const el of await page.locator(selector).all()) {
        if (await el.isVisible()) problems.push(`${selector} shows on paper`);
      }
    }
    const pdf = join(artefacts, `${name}.pdf`);
    await mkdir(artefacts, { recursive: true });
    await page.pdf({ path: pdf, format: 'A4', preferCSSPageSize: true, printBackground: true });
    // The same layout as an image, to look at without a PDF reader.
    await page.screenshot({ path: join(artefacts, `${name}-papier.png`), fullPage: true });
    return { pdf, problems };
  } finally {
    await page.emulateMedia({ media: null });
  }
}
