// The main view: the host summary (node.info) and the table of every domain, running or
// not, with its state, memory, vCPUs, CPU use and uptime and the one-click actions valid
// for its state. It renders from the shared state (state.js) whenever that changes, so
// the event loop, the periodic refresh and the actions all update it the same way.
//
// Rows are updated in place (keyed by domain name) rather than rebuilt, so a button that
// has the keyboard focus keeps it while the row around it changes.

import { h, setChildren, fmtKiB, fmtDuration, fmtPercent } from './ui.js';
import { state, subscribe, serverNow } from './state.js';
import { actionButtons } from './actions.js';

export const STATE_LABELS = {
  running: 'running', blocked: 'blocked', paused: 'paused', shutdown: 'shutting down',
  shutoff: 'shut off', crashed: 'crashed', suspended: 'suspended',
};

/** A state badge: the state name in text (tests read data-state) plus a colour class. */
export function stateBadge(st) {
  return h('span', {class: `badge badge-${st || 'unknown'}`, dataset: {state: st || ''}},
           STATE_LABELS[st] || st || 'unknown');
}

function hostSummary() {
  const n = state.node;
  if (!n) return h('p', {class: 'muted'}, 'Loading host information…');
  const used = Number(n.memory) - Number(n.free_memory);
  const pct = n.memory ? Math.round((100 * used) / Number(n.memory)) : 0;
  const accel = {kvm: 'KVM', tcg: 'TCG (emulated)', sim: 'simulated'}[n.accel] || n.accel || '—';
  const meter = h('div', {class: 'meter', role: 'img', 'aria-label': `Memory ${pct} % used`},
                  h('div', {class: 'meter-fill'}));
  meter.firstChild.style.width = `${pct}%`;
  const item = (label, value, testid, extra) =>
    h('div', {class: 'stat', dataset: {testid}},
      h('dt', {}, label), h('dd', {}, value, extra || null));
  return h('dl', {class: 'stats'},
    item('Host', n.hostname || '—', 'host-name'),
    item('CPUs', `${n.cpus}` + (n.mhz ? ` × ${n.mhz} MHz` : ''), 'host-cpus'),
    item('Memory', `${fmtKiB(used)} used · ${fmtKiB(n.free_memory)} free`, 'host-memory', meter),
    item('Hypervisor', `${n.hypervisor || '—'}${n.hypervisor_version ? ' ' + n.hypervisor_version : ''}`,
         'host-hypervisor'),
    item('Driver', n.driver || '—', 'host-driver'),
    item('Acceleration', accel, 'host-accel'),
    item('Domains', String(n.domains ?? state.domains.size), 'host-domains'));
}

const COLUMNS = [
  ['name', 'Name'], ['state', 'State'], ['memory', 'Memory'], ['vcpus', 'vCPUs'],
  ['cpu', 'CPU use'], ['uptime', 'Uptime'], ['actions', 'Actions'],
];

function cells(d) {
  const uptime = d.id >= 0 && d.start_time > 0 ? fmtDuration(serverNow() - d.start_time) : '—';
  const mem = d.memory !== d.max_memory && d.max_memory
    ? `${fmtKiB(d.memory)} / ${fmtKiB(d.max_memory)}` : fmtKiB(d.memory);
  const vcpus = d.max_vcpus && d.vcpus !== d.max_vcpus ? `${d.vcpus} / ${d.max_vcpus}` : String(d.vcpus ?? '—');
  const cpu = d.id >= 0 ? fmtPercent(d.cpu_pct) : '—';
  const host = d.id === 0;
  return {
    name: [h('a', {href: `#/domain/${encodeURIComponent(d.name)}`, class: 'domain-link'}, d.name),
           host ? h('span', {class: 'tag'}, 'host') : null,
           !d.persistent && !host ? h('span', {class: 'tag', title: 'Not kept after it stops'}, 'transient') : null,
           d.autostart ? h('span', {class: 'tag', title: 'Starts when the host boots'}, 'autostart') : null],
    state: stateBadge(d.state),
    memory: mem,
    vcpus,
    cpu,
    uptime,
    actions: h('div', {class: 'actions'}, actionButtons(d)),
  };
}

function renderRow(tr, d) {
  const c = cells(d);
  // The actions cell is rebuilt only when the set of actions changes, so focus survives.
  const sig = JSON.stringify([d.state, d.id, d.persistent, d.managed_save]);
  for (const [key] of COLUMNS) {
    let td = tr.querySelector(`td[data-testid="${key}"]`);
    if (!td) {
      td = h('td', {dataset: {testid: key, label: COLUMNS.find((x) => x[0] === key)[1]}, class: `col-${key}`});
      tr.append(td);
    }
    if (key === 'actions') {
      if (td.dataset.sig !== sig) {
        const hadFocus = td.contains(document.activeElement);
        setChildren(td, c.actions);
        td.dataset.sig = sig;
        if (hadFocus) (td.querySelector('button') || tr.querySelector('a')).focus();
      }
      continue;
    }
    if (key === 'state' && td.dataset.value === d.state) continue;
    if (key === 'state') td.dataset.value = d.state;
    setChildren(td, c[key]);
  }
  tr.dataset.state = d.state;
  tr.className = `row-${d.state}`;
}

export class DomainsView {
  constructor(container) {
    this.container = container;
    this.title = 'Domains';
  }

  mount() {
    this.hostEl = h('div', {class: 'host-body'});
    this.tbody = h('tbody', {});
    this.countEl = h('span', {class: 'muted count'});
    const head = h('tr', {}, COLUMNS.map(([k, label]) =>
      h('th', {scope: 'col', class: `col-${k}`}, k === 'actions' ? h('span', {class: 'sr-only'}, label) : label)));
    this.emptyEl = h('p', {class: 'empty muted', hidden: true}, 'No domains are defined yet. ',
                     h('a', {href: '#/create'}, 'Create one'), '.');
    setChildren(this.container,
      h('section', {class: 'card', 'aria-labelledby': 'host-h', dataset: {testid: 'host-summary'}},
        h('h2', {id: 'host-h', class: 'card-title'}, 'Host'), this.hostEl),
      h('section', {class: 'card', 'aria-labelledby': 'dom-h', dataset: {testid: 'domains'}},
        h('div', {class: 'card-head'},
          h('h2', {id: 'dom-h', class: 'card-title'}, 'Domains ', this.countEl),
          h('a', {href: '#/create', class: 'btn btn-primary'}, 'New domain')),
        h('div', {class: 'table-wrap'},
          h('table', {class: 'domains', dataset: {testid: 'domain-table'}},
            h('caption', {class: 'sr-only'}, 'All domains, running or not, with their actions'),
            h('thead', {}, head), this.tbody)),
        this.emptyEl));
    this.unsubscribe = subscribe((what) => {
      if (what === 'node') this.renderHost();
      if (what === 'domains') this.renderRows();
    });
    this.renderHost();
    this.renderRows();
    // Uptimes move on between lists.
    this.ticker = setInterval(() => this.tickUptime(), 1000);
  }

  unmount() {
    this.unsubscribe?.();
    clearInterval(this.ticker);
  }

  renderHost() {
    setChildren(this.hostEl, hostSummary());
  }

  renderRows() {
    const seen = new Set();
    let prev = null;
    for (const d of state.domains.values()) {
      seen.add(d.name);
      let tr = this.tbody.querySelector(`tr[data-name="${CSS.escape(d.name)}"]`);
      if (!tr) tr = h('tr', {dataset: {name: d.name, testid: `domain-row-${d.name}`}});
      renderRow(tr, d);
      // keep the daemon's order (Domain-0 first, then by name)
      const want = prev ? prev.nextSibling : this.tbody.firstChild;
      if (want !== tr) this.tbody.insertBefore(tr, want);
      prev = tr;
    }
    for (const tr of [...this.tbody.children]) if (!seen.has(tr.dataset.name)) tr.remove();
    const n = state.domains.size;
    this.countEl.textContent = state.listedAt ? `(${n})` : '';
    this.emptyEl.hidden = !state.listedAt || n > 0;
  }

  tickUptime() {
    for (const d of state.domains.values()) {
      if (!(d.id >= 0 && d.start_time > 0)) continue;
      const td = this.tbody.querySelector(`tr[data-name="${CSS.escape(d.name)}"] td[data-testid="uptime"]`);
      if (td) td.textContent = fmtDuration(serverNow() - d.start_time);
    }
  }
}
