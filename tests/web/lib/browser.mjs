// Shared helpers of the browser tests (tests/web/*.mjs, run by tests/web/run-node.py):
// launch Debian's chromium headless through playwright-core (never a downloaded browser),
// a context that trusts the daemon's test certificate, numbered checks that end with one
// line "N passed, N failed" and the exit status, and screenshots into the build tree.
//
// env holds what run-node.py hands over: the page's address, the users, xm and its URI,
// where screenshots go. The module is plain node (no test framework).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// The daemon's bounds scale under valgrind (20) and ASan (3), as in tests/lib/xendtest.py.
const SLOW = Number(process.env.XEND_SLOW || 1) || 1;

export const env = {
  url: process.env.XEND_WEB_URL || '',                 // https://127.0.0.1:PORT/
  origin: process.env.XEND_WEB_ORIGIN || '',           // https://127.0.0.1:PORT
  user: process.env.XEND_WEB_USER || '',               // an admin user
  password: process.env.XEND_WEB_PASSWORD || '',
  roUser: process.env.XEND_WEB_RO_USER || '',          // a user of access class read
  roPassword: process.env.XEND_WEB_RO_PASSWORD || '',
  uri: process.env.XEND_URI || '',                     // unix://<rw socket>, for xm
  xm: process.env.XEND_XM || '',                       // the xm binary
  shots: process.env.XEND_WEB_SHOTS || '',             // screenshots go here
  chromium: process.env.XEND_CHROMIUM || '/usr/bin/chromium',
  slow: SLOW,
};

// playwright-core from node_modules at the top of the source tree (scripts/install-deps);
// resolved from this file, so the tests work from any working directory.
function playwright() {
  try {
    return require('playwright-core');
  } catch (e) {
    throw new Error('playwright-core is not installed (scripts/install-deps runs npm ci ' +
                    'into node_modules/ at the top of the tree): ' + e.message);
  }
}

export async function launchBrowser(opts = {}) {
  if (!fs.existsSync(env.chromium))
    throw new Error(`no chromium at ${env.chromium} (scripts/install-deps installs ` +
                    "Debian's chromium; XEND_CHROMIUM names another)");
  const { chromium } = playwright();
  return chromium.launch({
    executablePath: env.chromium,
    headless: true,
    // Running as root needs --no-sandbox; the rest keep chromium from reaching for the
    // network at all (this machine's network is closed: those connections fail slowly).
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update',
           '--disable-sync'],
    timeout: 60000 * SLOW,
    ...opts,
  });
}

// A fresh context (its own cookies and storage): trusts the daemon's test CA by ignoring
// certificate errors, 1280x800 unless opts say otherwise. Default timeouts scale with SLOW.
export async function newContext(browser, opts = {}) {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 800 },
    ...opts,
  });
  context.setDefaultTimeout(15000 * SLOW);
  context.setDefaultNavigationTimeout(30000 * SLOW);
  return context;
}

// ---- checks ------------------------------------------------------------------------------
let passed = 0;
let failed = 0;

// One check: prints "ok N - name" or "not ok N - name: detail" and counts it.
// Returns cond (as a boolean) so a test can stop early.
export function check(name, cond, detail) {
  const n = passed + failed + 1;
  if (cond) {
    passed++;
    console.log(`ok ${n} - ${name}`);
  } else {
    failed++;
    let d = '';
    if (detail !== undefined)
      d = ': ' + (typeof detail === 'string' ? detail : JSON.stringify(detail));
    console.log(`not ok ${n} - ${name}${d}`);
  }
  return !!cond;
}

// check(name, a === b) with both values in the message when they differ.
export function checkEqual(name, actual, expected) {
  const a = JSON.stringify(actual);
  const b = JSON.stringify(expected);
  return check(name, a === b, `got ${a}, expected ${b}`);
}

// Run fn as one named step: an exception fails the step (with its message) instead of
// ending the script, so one broken view does not hide the results of the others.
export async function step(name, fn) {
  try {
    return await fn();
  } catch (e) {
    check(name, false, (e && e.stack) || String(e));
    return undefined;
  }
}

export function counts() {
  return { passed, failed };
}

// The closing line; the exit status is 1 when a check failed or none ran.
export function summary() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
  return failed === 0 && passed > 0;
}

// ---- screenshots -------------------------------------------------------------------------
// page.screenshot into XEND_WEB_SHOTS/NAME.png (full page); returns the path, or null when
// no folder is set. A failure to take one is reported, not thrown.
export async function screenshot(page, name, opts = {}) {
  if (!env.shots)
    return null;
  fs.mkdirSync(env.shots, { recursive: true });
  const file = path.join(env.shots, name.replace(/[^A-Za-z0-9._-]/g, '_') + '.png');
  try {
    await page.screenshot({ path: file, fullPage: true, ...opts });
    console.log(`# screenshot ${file}`);
    return file;
  } catch (e) {
    console.log(`# screenshot ${name} failed: ${e.message}`);
    return null;
  }
}
