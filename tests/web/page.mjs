// Browser tests of xend's web page: headless Debian chromium (through playwright-core)
// against a live xend with TLS, users and the sample domains of `make run` (web and db
// running, build offline, archive suspended), started by run-node.py. A person's path
// through the page: a wrong password, signing in, the domain list, one-click actions whose
// results arrive without a reload, creating a domain, faults shown with their codes,
// changes made by xm in another process, the domain view, the daemon log, a read-only
// user, a lost connection, a narrow window. Screenshots of the main views go to
// XEND_WEB_SHOTS (the build tree).
//
// "Without a reload" is checked with a marker on window set before an action and read
// after it: a navigation would have dropped it. "Driven by events" is checked by watching
// the page's own event.next replies for the change.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser, newContext, check, step, summary, screenshot as takeScreenshot, env } from './lib/browser.mjs';

const T = 15000 * env.slow;   // bound of every wait for something to appear

// ---- helpers ---------------------------------------------------------------------------

// A full-page screenshot from the top: the page's header is sticky, and a page scrolled
// down would show it in the middle of the picture.
async function screenshot(page, name, opts = {}) {
  await page.evaluate(() => {
    window.scrollTo(0, 0);
    // confirmations float over the page and would land anywhere in a full-page picture
    document.querySelector('[data-testid="toasts"]')?.replaceChildren();
  }).catch(() => {});
  return takeScreenshot(page, name, opts);
}

function xm(...args) {
  return new Promise((resolve) => {
    execFile(env.xm, args, {env: {...process.env, XEND_URI: env.uri}, timeout: T},
             (err, stdout, stderr) => resolve({code: err ? (err.code ?? 1) : 0, stdout, stderr}));
  });
}

// A small image file for the attach test (the daemon opens it; it runs as this user).
let scratchDir = null;
function scratchImage() {
  scratchDir ||= fs.mkdtempSync(path.join(os.tmpdir(), 'xend-web-'));
  const file = path.join(scratchDir, 'extra.img');
  fs.writeFileSync(file, Buffer.alloc(0));
  fs.truncateSync(file, 1 << 20);
  return file;
}
process.on('exit', () => { if (scratchDir) fs.rmSync(scratchDir, {recursive: true, force: true}); });

const row = (page, name) => page.locator(`[data-testid="domain-row-${name}"]`);
const stateOf = (page, name) =>
  row(page, name).locator('[data-testid="state"] [data-state]').getAttribute('data-state', {timeout: T});

/** Wait until the state cell of domain name says want; returns the last state seen. */
async function waitState(page, name, want) {
  try {
    await page.waitForFunction(([n, w]) => {
      const el = document.querySelector(`[data-testid="domain-row-${n}"] [data-testid="state"] [data-state]`);
      return el && el.dataset.state === w;
    }, [name, want], {timeout: T});
    return want;
  } catch {
    return await stateOf(page, name).catch(() => 'no such row');
  }
}

/** Click the row button "Action name" (e.g. 'Pause', 'web') and wait for want. */
async function clickAndWait(page, action, name, want) {
  await page.getByRole('button', {name: `${action} ${name}`, exact: true}).click();
  return waitState(page, name, want);
}

async function setMarker(page) {
  await page.evaluate(() => { window.__marker = 'still-here'; });
}

async function markerKept(page) {
  return page.evaluate(() => window.__marker === 'still-here');
}

async function signIn(page, user, password) {
  await page.goto(env.url);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', {name: 'Sign in', exact: true}).click();
}

// The texts of the event.next replies the page received, so a test can tell that a change
// reached it through events (and not only through its periodic list).
function watchEvents(page) {
  const bodies = [];
  page.on('response', async (resp) => {
    const req = resp.request();
    if (!req.url().endsWith('/RPC2') || !(req.postData() || '').includes('<methodName>event.next<'))
      return;
    try {
      bodies.push(await resp.text());
    } catch {
      // the page went away while the reply was read
    }
  });
  const saw = (...needles) => bodies.some((b) => needles.every((n) => b.includes(n)));
  return {
    saw,
    // Whether an event.next reply with all the needles arrives within T: the state may turn
    // first through the action's own reply, its event reply can come a little later.
    heard: async (page, ...needles) => {
      const end = Date.now() + T;
      while (!saw(...needles) && Date.now() < end)
        await page.waitForTimeout(100);
      return saw(...needles);
    },
  };
}

// The newest error notice: its text, or null when none appears in time.
async function errorNotice(page) {
  const n = page.locator('[data-testid="notices"] [role="alert"]').first();
  try {
    await n.waitFor({state: 'visible', timeout: T});
  } catch {
    return null;
  }
  return n.innerText();
}

async function dismissNotices(page) {
  for (const b of await page.locator('[data-testid="notices"] button[aria-label="Dismiss"]').all())
    await b.click().catch(() => {});
}

// ---- the tests -------------------------------------------------------------------------

const browser = await launchBrowser();
let failedToStart = false;
try {
  const context = await newContext(browser);
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // What the browser refused to load or run: a CSP violation, or a file served with the
  // wrong type (a stylesheet as text/plain is dropped by the browser without a word).
  const refused = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) refused.push(m.text());
  });
  page.on('response', (resp) => {
    if (resp.status() >= 400 && !resp.url().endsWith('/RPC2')) refused.push(`${resp.status()} ${resp.url()}`);
  });
  const events = watchEvents(page);

  await step('sign-in form', async () => {
    await page.goto(env.url);
    const form = page.locator('[data-testid="signin-form"]');
    await form.waitFor({state: 'visible', timeout: T});
    check('the sign-in form is shown first', await form.isVisible());
    await screenshot(page, 'signin');
  });

  await step('wrong password', async () => {
    await page.getByLabel('User name').fill(env.user);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', {name: 'Sign in', exact: true}).click();
    const err = page.locator('[data-testid="signin-error"]');
    await err.waitFor({state: 'visible', timeout: T});
    const text = await err.innerText();
    check('a wrong password shows an error in the form', /wrong user name or password/i.test(text), text);
    check('and the page stays on the sign-in form',
          await page.locator('[data-testid="signin-form"]').isVisible() &&
          !(await page.locator('[data-testid="domain-table"]').isVisible()));
    await screenshot(page, 'signin-error');
  });

  await step('sign in', async () => {
    await page.getByLabel('Password').fill(env.password);
    await page.getByRole('button', {name: 'Sign in', exact: true}).click();
    await page.locator('[data-testid="domain-table"]').waitFor({state: 'visible', timeout: T});
    await row(page, 'web').waitFor({timeout: T});
    check('signing in shows the domain table', true);
    check('the signed-in user is named', (await page.locator('[data-testid="user-name"]').innerText()).includes(env.user));
  });

  await step('sample domains', async () => {
    const want = {web: 'running', db: 'running', build: 'shutoff', archive: 'suspended'};
    const got = {};
    for (const name of Object.keys(want)) got[name] = await stateOf(page, name);
    check('the four sample domains are listed with their states', JSON.stringify(got) === JSON.stringify(want),
          {got, want});
    const cells = await row(page, 'db').locator('td').allInnerTexts();
    check('a row shows memory and vCPUs', cells.some((c) => /1 GiB/.test(c)) && cells.some((c) => c.trim() === '2'),
          cells);
    check('offline and suspended domains have one-click buttons',
          await page.getByRole('button', {name: 'Start build', exact: true}).isVisible() &&
          await page.getByRole('button', {name: 'Resume archive', exact: true}).isVisible());
  });

  await step('host summary', async () => {
    const host = page.locator('[data-testid="host-summary"]');
    await host.locator('[data-testid="host-cpus"]').waitFor({timeout: T});
    const text = await host.innerText();
    check('the host summary shows CPUs, memory, hypervisor and driver',
          /CPUs[\s\S]*\d/i.test(text) && /free/.test(text) && /simulated/.test(text) &&
          /Driver\s*test/i.test(text), text);
    // CPU use needs two lists 1.5 s apart; the page lists every 5 s.
    await page.waitForFunction(() => {
      const td = document.querySelector('[data-testid="domain-row-web"] [data-testid="cpu"]');
      return td && /%/.test(td.textContent);
    }, null, {timeout: T}).catch(() => {});
    const cpu = await row(page, 'web').locator('[data-testid="cpu"]').innerText();
    const up = await row(page, 'web').locator('[data-testid="uptime"]').innerText();
    check('running domains show CPU use and uptime', /%/.test(cpu) && /\d+ (s|min|h|d)/.test(up), {cpu, up});
    await screenshot(page, 'domains');
  });

  await step('start build', async () => {
    await setMarker(page);
    const st = await clickAndWait(page, 'Start', 'build', 'running');
    check("one click on 'Start build' turns its state running", st === 'running', st);
    check('without a page reload', await markerKept(page));
    check('the page heard of it through event.next',
          await events.heard(page, '<string>build</string>', '<string>started</string>'));
    check('build now offers Pause and Destroy', await page.getByRole('button', {name: 'Pause build', exact: true}).isVisible() &&
          await page.getByRole('button', {name: 'Destroy build', exact: true}).isVisible());
  });

  await step('pause and unpause web', async () => {
    await setMarker(page);
    let st = await clickAndWait(page, 'Pause', 'web', 'paused');
    check('Pause web: paused', st === 'paused', st);
    st = await clickAndWait(page, 'Unpause', 'web', 'running');
    check('Unpause web: running again', st === 'running', st);
    check('no reload during pause and unpause', await markerKept(page));
  });

  await step('keyboard', async () => {
    // A button is reachable and usable with the keyboard alone: focus it, press Enter.
    const b = page.getByRole('button', {name: 'Pause db', exact: true});
    await b.focus();
    await page.keyboard.press('Enter');
    let st = await waitState(page, 'db', 'paused');
    check('Enter on a focused action button runs it', st === 'paused', st);
    const focused = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('aria-label'));
    check('focus stays on the row after its buttons change', focused === 'Unpause db', focused);
    await page.keyboard.press('Enter');
    st = await waitState(page, 'db', 'running');
    check('and Enter again unpauses it', st === 'running', st);
  });

  await step('destroy asks first', async () => {
    await setMarker(page);
    await page.getByRole('button', {name: 'Destroy build', exact: true}).click();
    const dlg = page.locator('dialog[open]');
    await dlg.waitFor({state: 'visible', timeout: T});
    check('Destroy opens a confirmation dialog', (await dlg.innerText()).includes('Destroy build'));
    check('the dialog has the focus', await page.evaluate(() => !!document.activeElement?.closest('dialog')));
    await screenshot(page, 'confirm-destroy', {fullPage: false});
    await page.keyboard.press('Escape');
    await dlg.waitFor({state: 'detached', timeout: T});
    await page.waitForTimeout(300);
    check('Escape closes it and nothing happens', await stateOf(page, 'build') === 'running');
    await page.getByRole('button', {name: 'Destroy build', exact: true}).click();
    await page.locator('dialog[open]').getByRole('button', {name: 'Destroy build', exact: true}).click();
    const st = await waitState(page, 'build', 'shutoff');
    check('confirming destroys it', st === 'shutoff', st);
    check('no reload during destroy', await markerKept(page));
  });

  await step('create from the form', async () => {
    await setMarker(page);
    await page.getByRole('link', {name: 'New domain'}).first().click();
    const form = page.locator('[data-testid="create-form"]');
    await form.waitFor({timeout: T});
    await form.getByLabel('Name').fill('webtest');
    await form.getByLabel('Memory (MiB)').fill('256');
    await form.getByLabel('vCPUs').fill('2');
    await screenshot(page, 'create');
    await form.getByRole('button', {name: 'Create domain', exact: true}).click();
    await row(page, 'webtest').waitFor({timeout: T});
    const st = await waitState(page, 'webtest', 'running');
    check('a domain created from the form appears in the table, running', st === 'running', st);
    const cells = await row(page, 'webtest').locator('td').allInnerTexts();
    check('with the memory and vCPUs of the form', cells.some((c) => /256 MiB/.test(c)) && cells.some((c) => c.trim() === '2'),
          cells);
    check('no reload while creating', await markerKept(page));
    const shown = await xm('list', 'webtest');
    check('xm sees it too', shown.code === 0 && /webtest/.test(shown.stdout), shown.stderr);
  });

  await step('faults are shown with their code', async () => {
    await dismissNotices(page);
    await page.getByRole('link', {name: 'New domain'}).first().click();
    const form = page.locator('[data-testid="create-xml-form"]');
    await form.waitFor({timeout: T});
    await form.getByLabel('Domain XML').fill("<domain type='test'><name>broken</name><memory>oops");
    await form.getByRole('button', {name: 'Define from XML', exact: true}).click();
    let text = await errorNotice(page);
    check('invalid XML shows the fault message with its code', text !== null && /fault 6\b/.test(text) &&
          /CONFIG_INVALID/.test(text) && /domain XML/i.test(text), text);
    check('and no raw XML-RPC body', text !== null && !/<\?xml|methodResponse|faultCode|<value>/.test(text), text);
    await screenshot(page, 'fault', {fullPage: false});
    await dismissNotices(page);
    await page.locator('[data-testid="notices"] [role="alert"]').first().waitFor({state: 'detached', timeout: T});
    check('the notice can be dismissed', (await page.locator('[data-testid="notices"] [role="alert"]').count()) === 0);

    // A crafted path through the page's own code: the Start action (what the button runs)
    // on a domain that is already running. The daemon refuses with fault 10.
    await page.getByRole('link', {name: 'Domains', exact: true}).click();
    await row(page, 'web').waitFor({timeout: T});
    await page.evaluate(() => import('/js/actions.js').then((m) => m.runAction('start', 'web')));
    text = await errorNotice(page);
    check('starting a running domain shows fault 10 OPERATION_INVALID', text !== null && /fault 10\b/.test(text) &&
          /OPERATION_INVALID/.test(text) && /already running/.test(text), text);
    await dismissNotices(page);
  });

  await step('changes made by xm appear', async () => {
    await setMarker(page);
    let r = await xm('pause', 'db');
    check('xm pause db', r.code === 0, r.stderr);
    let st = await waitState(page, 'db', 'paused');
    check('the row of db turns paused without a reload', st === 'paused', st);
    check('through event.next', await events.heard(page, '<string>db</string>', '<string>suspended</string>'));
    r = await xm('start', 'build');
    st = await waitState(page, 'build', 'running');
    check('xm start build: its row turns running', r.code === 0 && st === 'running', r.stderr || st);
    r = await xm('destroy', 'build');
    check('xm destroy build', r.code === 0, r.stderr);
    st = await waitState(page, 'build', 'shutoff');
    check('the row of build turns shut off', st === 'shutoff', st);
    r = await xm('unpause', 'db');
    st = await waitState(page, 'db', 'running');
    check('xm unpause db shows running again', r.code === 0 && st === 'running', st);
    check('no reload through all of it', await markerKept(page));
  });

  await step('resume, suspend and delete', async () => {
    await setMarker(page);
    let st = await clickAndWait(page, 'Resume', 'archive', 'running');
    check('Resume archive: running from its saved state', st === 'running', st);
    st = await clickAndWait(page, 'Suspend', 'archive', 'suspended');
    check('Suspend archive: suspended again', st === 'suspended', st);
    const r = await xm('destroy', 'webtest');
    st = await waitState(page, 'webtest', 'shutoff');
    check('webtest, destroyed by xm, is offered for deletion', r.code === 0 && st === 'shutoff' &&
          await page.getByRole('button', {name: 'Delete webtest', exact: true}).isVisible(), r.stderr || st);
    await page.getByRole('button', {name: 'Delete webtest', exact: true}).click();
    const dlg = page.locator('dialog[open]');
    await dlg.waitFor({timeout: T});
    check('Delete asks first', /Delete webtest\?/.test(await dlg.innerText()));
    await dlg.getByRole('button', {name: 'Delete webtest', exact: true}).click();
    const gone = await row(page, 'webtest').waitFor({state: 'detached', timeout: T}).then(() => true, () => false);
    check('and the deleted domain leaves the table', gone);
    check('no reload', await markerKept(page));
  });

  await step('domain view', async () => {
    await page.getByRole('link', {name: 'db', exact: true}).click();
    await page.locator('[data-testid="domain-title"]').waitFor({timeout: T});
    check('the domain view opens', (await page.locator('[data-testid="domain-title"]').innerText()) === 'db');
    const devices = page.locator('[data-testid="devices"]');
    await devices.locator('[data-testid="device-vda"]').waitFor({timeout: T});
    check("it lists db's disks", await devices.locator('[data-testid="device-vdb"]').isVisible());
    await page.waitForFunction(() => /<domain/.test(document.querySelector('[data-testid="domain-xml"]')?.textContent || ''),
                               null, {timeout: T});
    const xml = await page.locator('[data-testid="domain-xml"]').innerText();
    check('its domain XML', /<name>db<\/name>/.test(xml));
    await page.waitForFunction(() => /login/.test(document.querySelector('[data-testid="console"]')?.textContent || ''),
                               null, {timeout: T}).catch(() => {});
    check('the console tail', /login/.test(await page.locator('[data-testid="console"]').innerText()));
    // charts: a few samples (2 s apart) drawn as a line
    await page.waitForFunction(() => {
      const d = document.querySelector('[data-testid="chart-cpu"] .chart-line')?.getAttribute('d') || '';
      return (d.match(/L/g) || []).length >= 3;
    }, null, {timeout: T}).catch(() => {});
    const line = await page.locator('[data-testid="chart-cpu"] .chart-line').getAttribute('d');
    const mem = await page.locator('[data-testid="chart-memory"] .chart-value').innerText();
    check('live CPU and memory charts', /L/.test(line || '') && /MiB|GiB/.test(mem), {line, mem});

    // attach a disk and detach it again
    const attach = page.locator('[data-testid="attach-form"]');
    await attach.getByLabel('Image path').fill(scratchImage());
    await attach.getByLabel('Target').fill('vdc');
    await attach.getByLabel('Read-only').check();
    await attach.getByRole('button', {name: 'Attach', exact: true}).click();
    const attached = await devices.locator('[data-testid="device-vdc"]').waitFor({timeout: T}).then(() => true, () => false);
    check('a disk attached from the view is listed', attached,
          await page.locator('[data-testid="notices"]').innerText().catch(() => ''));
    await screenshot(page, 'domain-view');
    if (attached) {
      await page.getByRole('button', {name: 'Detach vdc from db', exact: true}).click();
      await page.locator('dialog[open]').getByRole('button', {name: 'Detach', exact: true}).click();
      const gone = await devices.locator('[data-testid="device-vdc"]').waitFor({state: 'detached', timeout: T})
        .then(() => true, () => false);
      check('and detached again', gone);
    }
  });

  await step('daemon log', async () => {
    await page.getByRole('link', {name: 'Daemon log'}).click();
    await page.waitForFunction(() => /audit/.test(document.querySelector('[data-testid="log-text"]')?.textContent || ''),
                               null, {timeout: T}).catch(() => {});
    check('an admin reads the daemon log', /audit: .*domain\.start/.test(await page.locator('[data-testid="log-text"]').innerText()));
    await screenshot(page, 'log', {fullPage: false});
  });

  await step('reload keeps the session', async () => {
    await page.reload();
    await page.locator('[data-testid="main"]').waitFor({state: 'visible', timeout: T});
    check('after a reload the page is still signed in',
          await page.locator('[data-testid="signin-form"]').isHidden() &&
          (await page.locator('[data-testid="user-name"]').innerText()).includes(env.user));
    await page.getByRole('link', {name: 'Domains', exact: true}).click();
    await row(page, 'web').waitFor({timeout: T});
  });

  await step('lost connection', async () => {
    // The browser goes offline: the page's next call fails as a daemon gone away would.
    await setMarker(page);
    await context.setOffline(true);
    const banner = page.locator('[data-testid="connection-banner"]');
    const shown = await banner.waitFor({state: 'visible', timeout: T}).then(() => true, () => false);
    check('a lost connection shows the banner', shown && /Connection lost — retrying/.test(await banner.innerText()));
    await screenshot(page, 'connection-lost', {fullPage: false});
    const r = await xm('pause', 'web');   // a change the page cannot hear of while offline
    await context.setOffline(false);
    const hidden = await banner.waitFor({state: 'hidden', timeout: T}).then(() => true, () => false);
    check('the banner goes away when the daemon answers again', hidden);
    const st = await waitState(page, 'web', 'paused');
    check('and the data missed meanwhile is refreshed', r.code === 0 && st === 'paused', st);
    check('without a reload', await markerKept(page));
    await xm('unpause', 'web');
    await waitState(page, 'web', 'running');
  });

  await step('narrow window', async () => {
    await page.setViewportSize({width: 400, height: 800});
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check('at 400 px the domain list fits the width (rows reflow)', overflow <= 0, `${overflow} px too wide`);
    check('and its buttons are still there', await page.getByRole('button', {name: 'Pause web', exact: true}).isVisible());
    await screenshot(page, 'narrow');
    await page.getByRole('link', {name: 'web', exact: true}).click();
    await page.locator('[data-testid="domain-title"]').waitFor({timeout: T});
    await page.waitForTimeout(2500);
    const overflow2 = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check('the domain view fits too', overflow2 <= 0, `${overflow2} px too wide`);
    await screenshot(page, 'narrow-domain-view');
    await page.setViewportSize({width: 1280, height: 800});
  });

  await step('sign out', async () => {
    await page.getByRole('button', {name: 'Sign out', exact: true}).click();
    await page.locator('[data-testid="signin-form"]').waitFor({state: 'visible', timeout: T});
    await page.reload();
    await page.locator('[data-testid="signin-form"]').waitFor({state: 'visible', timeout: T});
    check('signing out forgets the session', await page.locator('[data-testid="domain-table"]').count() === 0);
  });

  check('no script errors on the page', pageErrors.length === 0, pageErrors);
  check('every file of the page loaded, nothing refused (CSP, content types)', refused.length === 0,
        [...new Set(refused)]);

  // A user of access class read: sees everything, changes nothing, no log.
  await step('read-only user', async () => {
    const ro = await newContext(browser);
    const p = await ro.newPage();
    await signIn(p, env.roUser, env.roPassword);
    await row(p, 'db').waitFor({timeout: T});
    check('a read-only user sees the domains', await stateOf(p, 'db') === 'running');
    await p.getByRole('button', {name: 'Pause db', exact: true}).click();
    const text = await errorNotice(p);
    check('an action is refused with fault 4 ACCESS_DENIED', text !== null && /fault 4\b/.test(text) &&
          /ACCESS_DENIED/.test(text), text);
    check('and the domain is left as it was', await stateOf(p, 'db') === 'running');
    await p.getByRole('link', {name: 'Daemon log'}).click();
    const denied = p.locator('[data-testid="log-denied"]');
    const seen = await denied.waitFor({timeout: T}).then(() => true, () => false);
    check('the daemon log explains that it needs admin access', seen && /admin/.test(await denied.innerText()));
    await screenshot(p, 'log-read-only', {fullPage: false});
    await ro.close();
  });
} catch (e) {
  failedToStart = true;
  check('the browser tests ran', false, (e && e.stack) || String(e));
} finally {
  await browser.close().catch(() => {});
}
summary();
if (failedToStart) process.exitCode = 1;
