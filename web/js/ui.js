// Small DOM and formatting helpers shared by every view of the page: an element builder
// (the page builds its DOM from code, never from HTML strings, so no text from the daemon
// can become markup), the notice area (errors with role="alert"), the confirmation dialog,
// and the formatting of sizes, durations and faults.
//
// The page runs under a strict Content-Security-Policy (no inline script or style
// attributes), so styling is done only through classes and el.style properties set here.

import { XmlRpcFault, XmlRpcError } from './xmlrpc.js';

/**
 * h('button', {class: 'btn', onclick: fn, dataset: {testid: 'x'}}, 'Label', child...)
 * Attributes named on* become event listeners; dataset/style objects are merged; strings
 * and numbers become text nodes; null/false children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style') Object.assign(el.style, v);
    else if (k === 'class') el.className = v;
    else if (k in el && typeof v !== 'string') el[k] = v;   // value, checked, disabled...
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace all children of el. */
export function setChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// ---- formatting ------------------------------------------------------------------------

/** KiB as a short human size: 524288 -> "512 MiB", 16777216 -> "16 GiB". */
export function fmtKiB(kib) {
  if (kib === null || kib === undefined || Number.isNaN(Number(kib))) return '—';
  let v = Number(kib);
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  const digits = v >= 100 || Number.isInteger(v) ? 0 : 1;
  return `${v.toFixed(digits)} ${units[u]}`;
}

/** Seconds as "3 d 4 h", "2 h 5 min", "4 min 10 s", "12 s". */
export function fmtDuration(s) {
  if (s === null || s === undefined || !Number.isFinite(s) || s < 0) return '—';
  s = Math.floor(s);
  const d = Math.floor(s / 86400), hr = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (d) return `${d} d ${hr} h`;
  if (hr) return `${hr} h ${m} min`;
  if (m) return `${m} min ${sec} s`;
  return `${sec} s`;
}

export function fmtPercent(p) {
  if (p === null || p === undefined || !Number.isFinite(p)) return '—';
  return p < 10 ? `${p.toFixed(1)} %` : `${Math.round(p)} %`;
}

// The fault names of docs/errors.md, so a message can say what kind of failure it was.
const FAULT_NAMES = {
  '-32700': 'PARSE', '-32701': 'ENCODING', '-32702': 'INVALID_CHAR',
  '-32600': 'INVALID_REQUEST', '-32601': 'METHOD_NOT_FOUND', '-32602': 'INVALID_PARAMS',
  '-32603': 'PROTOCOL_INTERNAL',
  1: 'INTERNAL', 2: 'GENERIC', 3: 'NO_DOMAIN', 4: 'ACCESS_DENIED', 5: 'UNSUPPORTED',
  6: 'CONFIG_INVALID', 7: 'DOMAIN_EXISTS', 8: 'DISK_IN_USE', 9: 'DISK_ACCESS',
  10: 'OPERATION_INVALID', 11: 'LIMIT', 12: 'SYSTEM', 13: 'INVALID_ARG',
  14: 'INSUFFICIENT_MEMORY', 15: 'OPERATION_IN_PROGRESS', 16: 'EVENTS_LOST',
  17: 'OPERATION_ABORTED', 18: 'NO_DEVICE', 19: 'DEVICE_EXISTS', 20: 'NO_SPACE',
  21: 'INVALID_NAME', 22: 'HYPERVISOR', 23: 'NO_HOST', 24: 'OPERATION_TIMEOUT',
};

export const FAULT = Object.freeze({
  NO_DOMAIN: 3, ACCESS_DENIED: 4, OPERATION_INVALID: 10, EVENTS_LOST: 16,
});

export function faultName(code) {
  return FAULT_NAMES[code] || 'UNKNOWN';
}

// Never show markup from a reply: the client already reduces HTTP errors to one line, but a
// proxy in between might still hand back a page, and a message is for people.
function plain(text) {
  let s = String(text ?? '');
  if (/<[a-zA-Z?!\/][^>]*>/.test(s)) s = s.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return s.length > 400 ? s.slice(0, 400) + '…' : s;
}

/** A failure as one sentence for a notice: the fault's own message, its code and name. */
export function describeError(err) {
  if (err instanceof XmlRpcFault) {
    const msg = plain(err.faultString);
    // Capitalise the daemon's lower-case message, unless it starts with a name that must
    // stay as it is (domain.pause, a_domain_name...).
    const first = msg.split(/\s/, 1)[0];
    const sentence = !msg ? 'The call failed'
      : /[._:'"0-9]/.test(first) ? msg : msg.charAt(0).toUpperCase() + msg.slice(1);
    return `${sentence} (fault ${err.code}, ${faultName(err.code)})`;
  }
  if (err instanceof XmlRpcError) {
    switch (err.kind) {
    case 'auth': return 'The daemon refused the user name or password (HTTP 401).';
    case 'network': return 'Cannot reach the daemon: the connection failed.';
    case 'timeout': return 'The daemon did not answer in time.';
    case 'malformed': return 'The daemon sent a reply the page cannot read.';
    case 'http':
      if (err.status === 429) return 'Too many failed sign-ins from this address: wait a minute, then try again.';
      return `The daemon answered with an error: ${plain(err.message)}`;
    default: return plain(err.message);
    }
  }
  return plain(err && err.message ? err.message : String(err));
}

// ---- notices ---------------------------------------------------------------------------

let noticeArea = null;
let toastArea = null;

/** errors: where error notices go (in the page flow); toasts: confirmations (a corner). */
export function initNotices(errors, toasts) {
  noticeArea = errors;
  toastArea = toasts || errors;
}

/**
 * Show a notice. kind 'error' stays until dismissed and is announced (role="alert");
 * 'info' is polite (role="status") and goes away by itself after a while.
 */
export function notify(message, kind = 'error', {title} = {}) {
  const area = kind === 'error' ? noticeArea : toastArea;
  if (!area) return null;
  const close = h('button', {type: 'button', class: 'notice-close', 'aria-label': 'Dismiss',
                             title: 'Dismiss'}, '×');
  const n = h('div', {class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status',
                      dataset: {testid: kind === 'error' ? 'notice-error' : 'notice-info'}},
              h('div', {class: 'notice-text'},
                title ? h('strong', {class: 'notice-title'}, title) : null,
                h('span', {class: 'notice-message', dataset: {testid: 'notice-message'}}, message)),
              close);
  const remove = () => n.remove();
  close.addEventListener('click', remove);
  if (kind === 'error') {
    area.prepend(n);
  } else {
    // Confirmations are brief: the row changing is the real feedback.
    area.append(n);
    setTimeout(remove, 4000);
  }
  // Keep the area from growing without bound when much happens at once.
  while (area.children.length > (kind === 'error' ? 5 : 3))
    (kind === 'error' ? area.lastElementChild : area.firstElementChild).remove();
  return n;
}

/** notify() for a failed call, titled with what was being done. */
export function notifyError(what, err) {
  return notify(describeError(err), 'error', {title: what ? `${what} failed` : undefined});
}

export function clearNotices() {
  noticeArea?.replaceChildren();
  toastArea?.replaceChildren();
}

// ---- dialogs ---------------------------------------------------------------------------

/**
 * A modal confirmation (native <dialog>: it traps focus, and Escape cancels it). Resolves
 * true when the user confirms. The confirm button is not focused first, so a stray Enter
 * does not destroy a domain.
 */
export function confirmDialog({title, message, confirmLabel, danger = true}) {
  return new Promise((resolve) => {
    const cancelBtn = h('button', {type: 'button', class: 'btn', value: 'cancel'}, 'Cancel');
    const okBtn = h('button', {type: 'button', class: danger ? 'btn btn-danger' : 'btn btn-primary',
                               dataset: {testid: 'confirm-ok'}}, confirmLabel);
    const titleId = `dlg-title-${Math.random().toString(36).slice(2)}`;
    const dlg = h('dialog', {class: 'dialog', 'aria-labelledby': titleId, dataset: {testid: 'confirm-dialog'}},
                  h('h2', {id: titleId, class: 'dialog-title'}, title),
                  h('p', {class: 'dialog-message'}, message),
                  h('div', {class: 'dialog-actions'}, cancelBtn, okBtn));
    const previous = document.activeElement;
    let done = false;
    const finish = (answer) => {
      if (done) return;
      done = true;
      if (dlg.open) dlg.close();
      dlg.remove();
      // Back to the button that opened it (if it is still there), so keyboard users keep
      // their place in the table.
      if (previous && previous.isConnected) previous.focus();
      resolve(answer);
    };
    cancelBtn.addEventListener('click', () => finish(false));
    okBtn.addEventListener('click', () => finish(true));
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); finish(false); });   // Escape
    dlg.addEventListener('close', () => finish(false));
    document.body.append(dlg);
    dlg.showModal();
    cancelBtn.focus();
  });
}

/** A labelled form field: returns {wrap, input}. */
export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2)}`;
  input.id = id;
  let hintEl = null;
  if (hint) {
    hintEl = h('span', {class: 'field-hint', id: `${id}-hint`}, hint);
    input.setAttribute('aria-describedby', hintEl.id);
  }
  const wrap = h('div', {class: 'field'}, h('label', {for: id}, label), input, hintEl);
  return {wrap, input};
}
