// The page's shared state: the one XML-RPC client (with the signed-in user's credentials),
// the session kept in sessionStorage, and the last known host summary and domain rows.
// Views read from here and subscribe to changes instead of calling the API themselves for
// the same data, so a state change seen by the event loop updates every view at once.
//
// CPU use is derived here: domain.list carries each domain's cumulative cpu_time, and the
// difference between two lists, divided by the wall time between them and the number of
// vCPUs, is the share of its vCPUs the domain used in between.

import { XmlRpcClient } from './xmlrpc.js';

const SESSION_KEY = 'xend.session';

export const client = new XmlRpcClient('/RPC2', {timeoutMs: 30000});

export const state = {
  user: null,
  version: null,     // daemon.version
  node: null,        // node.info
  domains: new Map(),  // name -> row of domain.list, plus cpu_pct
  listedAt: 0,       // performance.now() of the last list
  clockSkew: 0,      // server epoch seconds minus ours, estimated from event times
};

const listeners = new Set();

/**
 * fn(what, payload) is called after each change: 'domains', 'node', 'event' (payload: the
 * event, after it was applied) and 'suspect' (a call could not reach the daemon).
 */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function emit(what, payload) {
  for (const fn of [...listeners]) {
    try {
      fn(what, payload);
    } catch (e) {
      console.error(e);
    }
  }
}

// ---- session ---------------------------------------------------------------------------

// The credentials stay in sessionStorage (this tab only, gone when it closes) so that a
// reload does not ask again; HTTP Basic needs them with every call.
export function saveSession(user, password) {
  try {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({user, password}));
  } catch {
    // storage disabled: the session then lasts until the next reload
  }
}

export function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    if (s && typeof s.user === 'string' && typeof s.password === 'string') return s;
  } catch {
    // unreadable: treated as signed out
  }
  return null;
}

export function clearSession() {
  try {
    sessionStorage.removeItem(SESSION_KEY);
  } catch {
    // nothing to clear
  }
  client.setCredentials(null);
  state.user = null;
  state.version = null;
  state.node = null;
  state.domains = new Map();
}

/** Check the credentials with daemon.version; throws what the call threw. */
export async function signIn(user, password) {
  client.setCredentials(user, password);
  try {
    state.version = await client.call('daemon.version');
  } catch (e) {
    client.setCredentials(null);
    throw e;
  }
  state.user = user;
  saveSession(user, password);
}

// ---- data ------------------------------------------------------------------------------

/** Epoch seconds as the daemon counts them (for uptimes). */
export function serverNow() {
  return Date.now() / 1000 + state.clockSkew;
}

export async function refreshNode() {
  state.node = await client.call('node.info');
  emit('node');
  return state.node;
}

// uuid -> {t, cpu, id, pct}: the reference sample CPU use is measured against. Kept apart from
// the rows so that a list that follows another closely (an event, then a refresh) does not
// shrink the interval to nothing: the reference only moves on once 1.5 s have passed.
const cpuRefs = new Map();

// Lists can overlap (the periodic one, one after an event, one after an action); a reply
// that was overtaken by a newer one must not bring back an older state. Nor may a list
// asked for before an event or an action's reply: those are newer than it.
let listSeq = 0;
let listShown = 0;

function discardListsInFlight() {
  listShown = listSeq + 1;
}

/** Re-list every domain; keeps the CPU-use figures continuous across lists. */
export async function refreshDomains() {
  const seq = ++listSeq;
  const rows = await client.call('domain.list');
  if (seq < listShown) return state.domains;
  listShown = seq;
  const now = performance.now();
  const next = new Map();
  const seen = new Set();
  for (const row of rows) {
    seen.add(row.uuid);
    let ref = cpuRefs.get(row.uuid);
    const cpu = Number(row.cpu_time);
    if (row.id < 0) {
      cpuRefs.delete(row.uuid);
      ref = null;
    } else if (!ref || ref.id !== row.id || cpu < ref.cpu) {
      ref = {t: now, cpu, id: row.id, pct: null};
      cpuRefs.set(row.uuid, ref);
    } else if (now - ref.t >= 1500) {
      const dt = (now - ref.t) / 1000;
      ref.pct = Math.min(100, (100 * (cpu - ref.cpu)) / dt / Math.max(1, row.vcpus));
      ref.t = now;
      ref.cpu = cpu;
    }
    row.cpu_pct = ref ? ref.pct : null;
    next.set(row.name, row);
  }
  for (const uuid of [...cpuRefs.keys()]) if (!seen.has(uuid)) cpuRefs.delete(uuid);
  state.domains = next;
  state.listedAt = now;
  emit('domains');
  return next;
}

/** Apply what an event says about a domain's state at once, before the next list. */
export function applyEvent(ev) {
  if (typeof ev.time === 'number') {
    // Events carry the daemon's clock: use it to show uptimes that match the daemon's.
    const skew = ev.time - Date.now() / 1000;
    if (Math.abs(skew - state.clockSkew) > 2) state.clockSkew = skew;
  }
  if (ev.type !== 'lifecycle' || !ev.domain) return false;
  const row = state.domains.get(ev.domain);
  if (!row) return false;
  // An undefined domain either disappears or becomes transient: the list that follows says.
  if (ev.event === 'undefined') return false;
  if (typeof ev.state === 'string' && ev.state) row.state = ev.state;
  if (typeof ev.domid === 'number') row.id = ev.domid;
  if (typeof ev.reason === 'string') row.reason = ev.reason;
  discardListsInFlight();
  emit('domains');
  return true;
}

/** Replace one row with what an action returned (the methods return the domain's row). */
export function applyRow(row) {
  if (!row || typeof row !== 'object' || typeof row.name !== 'string' || !('state' in row)) return;
  const prev = state.domains.get(row.name);
  const merged = {...(prev || {}), ...row};
  if (!prev || prev.id !== row.id) merged.cpu_pct = null;
  state.domains.set(row.name, merged);
  discardListsInFlight();
  emit('domains');
}

/** Forget a domain that is gone (undefined, or a transient one that stopped). */
export function removeDomain(name) {
  discardListsInFlight();
  if (state.domains.delete(name)) emit('domains');
}

// ---- coalesced refreshes ---------------------------------------------------------------

// Several events often arrive together (started, then resumed...): one list answers them
// all. The failure of a background refresh is reported through onRefreshError (the event
// loop decides whether it is a lost connection).
let refreshTimer = 0;
let refreshNodeToo = false;
let refreshErrorHandler = (e) => console.error(e);

export function onRefreshError(fn) {
  refreshErrorHandler = fn;
}

export function requestRefresh({node = false, delayMs = 100} = {}) {
  refreshNodeToo ||= node;
  if (refreshTimer) return;
  refreshTimer = setTimeout(async () => {
    refreshTimer = 0;
    const withNode = refreshNodeToo;
    refreshNodeToo = false;
    if (!state.user) return;
    try {
      await Promise.all([refreshDomains(), withNode ? refreshNode() : null]);
    } catch (e) {
      refreshErrorHandler(e);
    }
  }, delayMs);
}
