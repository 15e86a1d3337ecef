// The one-click domain actions (start, shutdown, reboot, pause, unpause, suspend, resume,
// destroy, delete): which of them apply in which state, their buttons, and running them.
// The domain table and the domain view both use these, so a button means the same thing
// wherever it is. Destroy and delete ask first, since they cannot be undone.
//
// The methods return the domain's new row, which is applied at once; the event loop then
// brings whatever follows (a shutdown finishing, a reboot), and a list settles the rest.

import { h, confirmDialog, notify, notifyError } from './ui.js';
import { client, state, emit, applyRow, removeDomain, requestRefresh } from './state.js';
import { XmlRpcError } from './xmlrpc.js';

const active = (d) => d.id >= 0;
const running = (d) => d.state === 'running' || d.state === 'blocked';

// In display order. when(d) says whether the action applies to the row d.
export const ACTIONS = [
  {key: 'start', label: 'Start', method: 'domain.start', kind: 'primary',
   when: (d) => !active(d) && d.state !== 'suspended', done: 'started'},
  {key: 'resume', label: 'Resume', method: 'domain.resume', kind: 'primary',
   when: (d) => !active(d) && d.state === 'suspended', done: 'resumed'},
  {key: 'unpause', label: 'Unpause', method: 'domain.unpause', kind: 'primary',
   when: (d) => active(d) && d.state === 'paused', done: 'unpaused'},
  {key: 'pause', label: 'Pause', method: 'domain.pause',
   when: (d) => active(d) && running(d), done: 'paused'},
  {key: 'shutdown', label: 'Shut down', method: 'domain.shutdown',
   when: (d) => active(d) && running(d), done: 'is shutting down'},
  {key: 'reboot', label: 'Reboot', method: 'domain.reboot',
   when: (d) => active(d) && running(d), done: 'is rebooting'},
  {key: 'suspend', label: 'Suspend', method: 'domain.suspend',
   when: (d) => active(d) && d.persistent && (running(d) || d.state === 'paused'), done: 'suspended'},
  {key: 'destroy', label: 'Destroy', method: 'domain.destroy', kind: 'danger',
   when: (d) => active(d),
   confirm: (d) => ({
     title: `Destroy ${d.name}?`,
     message: `This stops '${d.name}' at once, as pulling the plug would: the guest gets no ` +
              'chance to shut down and unsaved data in it is lost.' +
              (d.persistent ? '' : ' It is transient, so it disappears entirely.'),
     confirmLabel: `Destroy ${d.name}`,
   }), done: 'destroyed'},
  {key: 'delete', label: 'Delete', method: 'domain.undefine', kind: 'danger',
   when: (d) => !active(d) && d.persistent,
   args: (d) => (d.managed_save ? [{managed_save: true}] : []),
   confirm: (d) => ({
     title: `Delete ${d.name}?`,
     message: `This removes the configuration of '${d.name}' from xend` +
              (d.managed_save ? ', and its saved state (the suspended guest) with it' : '') +
              '. Its disk images are left where they are.',
     confirmLabel: `Delete ${d.name}`,
   }), done: 'deleted'},
];

const byKey = Object.fromEntries(ACTIONS.map((a) => [a.key, a]));

/** The actions that apply to row d (none for Domain-0, the host itself). */
export function actionsFor(d) {
  if (d.id === 0 || d.name === 'Domain-0') return [];
  return ACTIONS.filter((a) => a.when(d));
}

const busy = new Set();   // "name/key" of actions in flight, so a double click sends one call

/** Run action key on the domain named name. Resolves true when it succeeded. */
export async function runAction(key, name) {
  const a = byKey[key];
  const d = state.domains.get(name) || {name};
  if (a.confirm && !(await confirmDialog(a.confirm(d)))) return false;
  const tag = `${name}/${key}`;
  if (busy.has(tag)) return false;
  busy.add(tag);
  try {
    const result = await client.call(a.method, name, ...(a.args ? a.args(d) : []));
    if (key === 'delete') removeDomain(name);
    else applyRow(result);
    notify(`${name} ${a.done}.`, 'info');
    return true;
  } catch (e) {
    notifyError(`${a.label} ${name}`, e);
    if (e instanceof XmlRpcError && e.kind !== 'auth') emit('suspect');
    return false;
  } finally {
    busy.delete(tag);
    requestRefresh({node: true, delayMs: 300});
  }
}

/** The buttons of the actions that apply to d. */
export function actionButtons(d) {
  return actionsFor(d).map((a) => h('button', {
    type: 'button',
    class: `btn btn-small${a.kind ? ' btn-' + a.kind : ''}`,
    'aria-label': `${a.label} ${d.name}`,
    dataset: {action: a.key, testid: `action-${a.key}`},
    onclick: (ev) => {
      ev.stopPropagation();
      runAction(a.key, d.name);
    },
  }, a.label));
}
