// The entry point of xend's web page: sign-in and sign-out, the hash router between the
// views (#/ domains, #/domain/NAME, #/create, #/log), the periodic refresh behind the CPU
// use figures, and starting the live-update loop. Everything the page shows comes from
// xend's XML-RPC API (/RPC2) through xmlrpc.js; the views are in their own modules.
//
// Views are swapped with the URL's hash so that moving around never reloads the page (a
// reload would drop the event loop and the charts' history) and the back button works.

import { XmlRpcError } from './xmlrpc.js';
import { initNotices, notifyError, clearNotices, describeError } from './ui.js';
import { client, state, subscribe, signIn, loadSession, clearSession, refreshDomains,
         onRefreshError } from './state.js';
import { EventLoop, isConnectionError } from './events.js';
import { DomainsView } from './domains.js';
import { DomainView } from './domain-view.js';
import { CreateView } from './create.js';
import { LogView } from './log.js';

const $ = (id) => document.getElementById(id);

// CPU use and uptimes come from comparing lists over time; state changes come from events.
const LIST_REFRESH_MS = 5000;

let events = null;
let view = null;
let listTimer = 0;

// ---- routing ---------------------------------------------------------------------------

function parseRoute() {
  const hash = location.hash.replace(/^#/, '') || '/';
  let m;
  if ((m = /^\/domain\/(.+)$/.exec(hash))) {
    let name;
    try {
      name = decodeURIComponent(m[1]);
    } catch {
      name = m[1];
    }
    return {name: 'domain', arg: name};
  }
  if (hash === '/create') return {name: 'create'};
  if (hash === '/log') return {name: 'log'};
  return {name: 'domains'};
}

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  if (!state.user) return;
  const r = parseRoute();
  view?.unmount();
  const main = $('main');
  main.replaceChildren();
  main.dataset.view = r.name;
  if (r.name === 'domain') view = new DomainView(main, r.arg);
  else if (r.name === 'create') view = new CreateView(main, {navigate});
  else if (r.name === 'log') view = new LogView(main);
  else view = new DomainsView(main);
  view.mount();
  document.title = `${view.title} · xend${state.node?.hostname ? ' · ' + state.node.hostname : ''}`;
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === (r.name === 'domain' ? 'domains' : r.name)) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // Move focus to the new content for keyboard and screen-reader users, unless the view
  // already put it somewhere useful (the create form focuses its first field).
  if (!main.contains(document.activeElement)) main.focus({preventScroll: true});
  window.scrollTo(0, 0);
}

// ---- signed in / out -------------------------------------------------------------------

function showSignIn(message) {
  $('app').hidden = true;
  $('signin').hidden = false;
  const err = $('signin-error');
  err.textContent = message || '';
  err.hidden = !message;
  const user = $('signin-user');
  (user.value ? $('signin-password') : user).focus();
}

function enterApp() {
  $('signin').hidden = true;
  $('app').hidden = false;
  $('user-name').textContent = state.user;
  const v = state.version || {};
  $('version').textContent = v.product ? `${v.product} ${v.version || ''} · API ${v.api || ''}` : '';
  route();
  events = new EventLoop({banner: $('conn-banner'), onAuthLost: authLost});
  events.start();   // it lists domains and reads the host before following events
  clearInterval(listTimer);
  listTimer = setInterval(() => {
    if (!state.user || events.lost || document.hidden) return;
    refreshDomains().catch(onBackgroundError);
  }, LIST_REFRESH_MS);
}

function leaveApp() {
  events?.stop();
  events = null;
  clearInterval(listTimer);
  view?.unmount();
  view = null;
  $('main').replaceChildren();
  clearNotices();
  clearSession();
}

function authLost() {
  leaveApp();
  showSignIn('Your session is no longer accepted by xend (the password may have changed). Sign in again.');
}

function onBackgroundError(e) {
  if (e instanceof XmlRpcError && e.kind === 'auth') return authLost();
  if (isConnectionError(e)) {
    events?.suspect();   // the event loop checks, shows the banner and recovers
    return;
  }
  notifyError('Refreshing', e);
}

async function submitSignIn(ev) {
  ev.preventDefault();
  const user = $('signin-user').value.trim();
  const password = $('signin-password').value;
  const err = $('signin-error');
  if (!user) {
    showSignIn('Enter your user name.');
    $('signin-user').focus();
    return;
  }
  const button = $('signin-submit');
  button.disabled = true;
  button.textContent = 'Signing in…';
  err.hidden = true;
  try {
    await signIn(user, password);
    $('signin-password').value = '';
    enterApp();
  } catch (e) {
    let msg;
    if (e instanceof XmlRpcError && e.kind === 'auth') msg = 'Wrong user name or password.';
    else msg = describeError(e);
    showSignIn(msg);
    $('signin-password').select();
  } finally {
    button.disabled = false;
    button.textContent = 'Sign in';
  }
}

function signOut() {
  leaveApp();
  $('signin-password').value = '';
  showSignIn();
  history.replaceState(null, '', location.pathname);
}

// ---- start -----------------------------------------------------------------------------

async function main() {
  initNotices($('notices'), $('toasts'));
  onRefreshError(onBackgroundError);
  $('signin-form').addEventListener('submit', submitSignIn);
  $('signout').addEventListener('click', signOut);
  $('retry-now').addEventListener('click', () => events?.retryNow());
  window.addEventListener('hashchange', route);
  subscribe((what) => {
    if (what === 'suspect') events?.suspect();
    if (what === 'node' && state.node) {
      $('host-name').textContent = state.node.hostname || '';
      if (view) document.title = `${view.title} · xend · ${state.node.hostname || ''}`;
    }
  });
  // Escape closes the newest notice when no dialog is open (a dialog handles its own).
  document.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape' || document.querySelector('dialog[open]')) return;
    const n = $('notices').firstElementChild;
    if (n && n.contains(document.activeElement)) n.remove();
  });

  const saved = loadSession();
  if (!saved) {
    showSignIn();
    return;
  }
  $('signin-user').value = saved.user;
  try {
    await signIn(saved.user, saved.password);
    enterApp();
  } catch (e) {
    if (e instanceof XmlRpcError && e.kind === 'auth') {
      clearSession();
      showSignIn('The saved session is no longer valid. Sign in again.');
    } else if (isConnectionError(e)) {
      // The daemon is out of reach right now (restarting?): keep the session and let the
      // event loop show the banner and bring the page up when it answers again.
      client.setCredentials(saved.user, saved.password);
      state.user = saved.user;
      enterApp();
    } else {
      showSignIn(describeError(e));
    }
  }
}

main();
