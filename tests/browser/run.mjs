// Drives headless Chromium through a scripted journey and checks every page with axe-core.
// Started by the Rust end-to-end tests (tests/src/browser.rs), which serve the app, sign the
// accounts in and write the plan:
//
//   node run.mjs plan.json
//
// plan.json:
//   {
//     "baseUrl": "http://127.0.0.1:PORT",
//     "artefacts": "target/browser-artefacts/NAME",   // screenshots and report.json
//     "sessions": [
//       { "name": "referent", "cookies": [{ "name": "ac_session", "value": "…" }],
//         // Optional: the window, scripts off, and the tablet-first checks on every page.
//         "viewport": { "width": 768, "height": 1024 }, "javaScript": false, "tablet": true,
//         "steps": [
//           { "name": "structure", "goto": "/referent/ID" },
//           { "name": "new", "click": "Ajouter un aidant" },              // a link, by its name
//           { "name": "created", "fill": { "Prénom": "Nadia" }, "select": { "Action": "mandate.created" },
//             "check": ["Référent"],                                      // checkboxes and radios, by label
//             "press": "Créer le compte",                                 // a button, by its name
//             "expect": ["Compte créé"],                                  // text the page shows
//             "remember": "aidant" },                                     // this page's path, as {aidant}
//           { "name": "again", "goto": "{aidant}" },                       // in any later step or session
//           { "name": "print", "click": "Imprimer",
//             "read": { "code": ".verification-code" },                   // an element's text, as {code}
//             "print": { "visible": [".qr-code"], "hidden": [".no-print"] }, // print media: PDF, checks
//             "absent": ["DUBOIS"] },                                     // text the page must not hold
//           { "name": "check", "fill": { "Code": "{code}" }, "press": "Vérifier" },
//           { "name": "forbidden", "goto": "/referent/OTHER", "status": 403 },
//           { "name": "falc", "drawn": ".ac-pictogram use",                  // SVG that must paint
//             "playable": "audio" }                                       // media that must load
//         ] } ] }
//
// Every step ends on a page that is checked (axe, tablet-first rules when asked, screenshot,
// console errors). The run prints a summary, writes report.json beside the screenshots and exits
// non-zero on any violation, console error, unexpected status or failed step.

import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkPage, checkPrint, startBrowser } from './lib/browser.mjs';

const plan = JSON.parse(readFileSync(process.argv[2], 'utf8'));
await mkdir(plan.artefacts, { recursive: true });

/** Paths remembered by `remember`, substituted for `{name}` in `goto`. */
const remembered = new Map();
const substitute = (path) =>
  path.replace(/\{([a-z0-9_-]+)\}/g, (whole, key) => {
    if (!remembered.has(key)) throw new Error(`nothing remembered as {${key}}`);
    return remembered.get(key);
  });

const browser = await startBrowser();
const pages = [];
const failures = [];
let index = 0;
try {
  for (const session of plan.sessions) {
    const page = await browser.newPage({
      baseUrl: plan.baseUrl,
      cookies: session.cookies || [],
      viewport: session.viewport,
      javaScript: session.javaScript !== false,
    });
    for (const step of session.steps) {
      index += 1;
      const name = `${String(index).padStart(2, '0')}-${session.name}-${step.name}`;
      try {
        let response = null;
        if (step.goto) {
          response = await page.goto(plan.baseUrl + substitute(step.goto));
        }
        if (step.click) {
          [response] = await Promise.all([
            page.waitForNavigation(),
            page.getByRole('link', { name: step.click, exact: false }).first().click(),
          ]);
        }
        for (const [label, value] of Object.entries(step.fill || {})) {
          await page.getByLabel(label, { exact: true }).fill(substitute(value));
        }
        for (const [label, value] of Object.entries(step.select || {})) {
          await page.getByLabel(label, { exact: true }).selectOption(value);
        }
        for (const label of step.check || []) {
          await page.getByLabel(label, { exact: true }).check();
        }
        if (step.press) {
          [response] = await Promise.all([
            page.waitForNavigation(),
            page.getByRole('button', { name: step.press, exact: false }).first().click(),
          ]);
        }
        const status = response ? response.status() : 200;
        const expected = step.status || 200;
        if (status !== expected) {
          failures.push(`${name}: status ${status}, expected ${expected} (${page.url()})`);
        }
        for (const text of step.expect || []) {
          if (!(await page.getByText(text, { exact: false }).first().isVisible())) {
            failures.push(`${name}: the page does not show « ${text} » (${page.url()})`);
          }
        }
        // SVG graphics whose references must resolve (a pictogram's <use> of a vendored file):
        // each element the selector matches gets a non-empty box within a few seconds.
        if (step.drawn) {
          const painted = (selector) => {
            const all = [...document.querySelectorAll(selector)];
            return all.length > 0 && all.every((el) => {
              const box = el.getBBox();
              return box.width > 0 && box.height > 0;
            });
          };
          try {
            await page.waitForFunction(painted, step.drawn, { timeout: 5000 });
          } catch {
            const count = await page.locator(step.drawn).count();
            failures.push(`${name}: ${step.drawn}: ${count} element(s), not all drawn (${page.url()})`);
          }
        }
        // Media elements that must load: each one the selector matches is asked for its
        // metadata (whatever its preload) and must report a duration.
        let media = null;
        if (step.playable) {
          media = await page.locator(step.playable).evaluateAll((elements) =>
            Promise.all(elements.map((el) => new Promise((resolve) => {
              const done = (ok) => resolve({
                src: el.currentSrc, type: el.querySelector('source')?.type || '', ok,
                duration: el.duration, error: el.error ? el.error.code : null,
              });
              el.addEventListener('loadedmetadata', () => done(true), { once: true });
              el.addEventListener('error', () => done(false), { once: true });
              el.querySelector('source')?.addEventListener('error', () => done(false), { once: true });
              setTimeout(() => done(false), 10000);
              el.preload = 'metadata';
              el.load();
            }))));
          if (media.length === 0) failures.push(`${name}: nothing matches ${step.playable}`);
          for (const m of media) {
            if (!m.ok || !(m.duration > 0)) {
              failures.push(`${name}: ${m.src || step.playable} does not play (error ${m.error}, duration ${m.duration})`);
            }
          }
        }
        // The whole document, attributes and title included: what must not be there at all.
        const html = step.absent ? (await page.content()).toLowerCase() : '';
        for (const text of step.absent || []) {
          if (html.includes(text.toLowerCase())) {
            failures.push(`${name}: the page holds « ${text} », which it must not (${page.url()})`);
          }
        }
        if (step.remember) {
          const url = new URL(page.url());
          remembered.set(step.remember, url.pathname + url.search);
        }
        for (const [key, selector] of Object.entries(step.read || {})) {
          const text = (await page.locator(selector).first().textContent()).trim();
          if (text === '') failures.push(`${name}: ${selector} is empty, nothing to remember as {${key}}`);
          remembered.set(key, text);
        }
        const report = await checkPage(page, name, { artefacts: plan.artefacts, tablet: session.tablet === true });
        report.status = status;
        if (media) report.media = media;
        report.viewport = page.viewportSize();
        pages.push(report);
        for (const v of report.violations) {
          failures.push(`${name}: axe ${v.id} (${v.impact}) ${v.help} at ${v.targets.join(', ')}`);
        }
        for (const t of report.tablet) {
          failures.push(`${name}: tablet: ${t}`);
        }
        for (const p of report.problems) {
          failures.push(`${name}: console error: ${p}`);
        }
        if (step.print) {
          report.print = await checkPrint(page, name, { artefacts: plan.artefacts, ...step.print });
          for (const p of report.print.problems) failures.push(`${name}: print: ${p}`);
        }
      } catch (error) {
        failures.push(`${name}: step failed: ${error.message.split('\n')[0]}`);
      }
    }
    await browser.closePage(page);
  }
} finally {
  await browser.close();
}

const violations = pages.reduce((n, p) => n + p.violations.length, 0);
await writeFile(
  join(plan.artefacts, 'report.json'),
  JSON.stringify({ pages, violations, remembered: Object.fromEntries(remembered), failures }, null, 2),
);
for (const p of pages) {
  const axe = p.axe ? `${String(p.violations.length).padStart(2)} axe violation(s)` : ' - axe (scripts off)';
  const size = p.viewport ? `${p.viewport.width}×${p.viewport.height}` : '';
  console.log(`${p.status} ${axe}  ${size}  ${p.name}  ${p.url}`);
}
console.log(`pages: ${pages.length}, axe violations: ${violations}, failures: ${failures.length}`);
for (const f of failures) console.log(`FAIL ${f}`);
process.exit(failures.length === 0 ? 0 : 1);
