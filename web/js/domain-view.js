// The view of one domain (#/domain/NAME): its summary and actions, live CPU and memory
// charts sampled from domain.stats every 2 s, its devices with attach and detach, the tail
// of its console (domain.console_read, followed from the returned offset) with a line to
// type into it, and its domain XML. Every timer it starts is stopped when the view is left,
// so a closed view costs the daemon nothing.

import { h, setChildren, fmtKiB, fmtDuration, fmtPercent, field, confirmDialog, notify, notifyError,
         describeError, FAULT } from './ui.js';
import { client, state, subscribe, serverNow } from './state.js';
import { actionButtons } from './actions.js';
import { stateBadge } from './domains.js';
import { LineChart } from './charts.js';
import { XmlRpcFault } from './xmlrpc.js';

const SAMPLE_MS = 2000;
const CONSOLE_KEEP = 64 * 1024;   // characters of console text kept on screen

const escapeXml = (v) => String(v).replace(/[<>&'"]/g, (c) =>
  ({'<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;'})[c]);

/** The <disk> or <interface> XML the attach form describes. */
export function deviceXml(f) {
  if (f.kind === 'disk') {
    const lines = [`<disk type='file' device='${f.cdrom ? 'cdrom' : 'disk'}'>`,
                   "  <driver name='qemu' type='raw'/>",
                   `  <source file='${escapeXml(f.source)}'/>`,
                   `  <target dev='${escapeXml(f.target)}' bus='virtio'/>`];
    if (f.readonly || f.cdrom) lines.push('  <readonly/>');
    lines.push('</disk>');
    return lines.join('\n');
  }
  const lines = [`<interface type='${escapeXml(f.type)}'>`];
  if (f.mac) lines.push(`  <mac address='${escapeXml(f.mac)}'/>`);
  if (f.type === 'bridge') lines.push(`  <source bridge='${escapeXml(f.source)}'/>`);
  if (f.type === 'network') lines.push(`  <source network='${escapeXml(f.source)}'/>`);
  lines.push(`  <model type='${escapeXml(f.model || 'virtio')}'/>`);
  lines.push('</interface>');
  return lines.join('\n');
}

// The first vdX target not yet used by a disk.
function nextTarget(devices) {
  const used = new Set(devices.filter((d) => d.kind === 'disk').map((d) => d.target));
  for (let i = 0; i < 26; i++) {
    const t = 'vd' + String.fromCharCode(97 + i);
    if (!used.has(t)) return t;
  }
  return '';
}

export class DomainView {
  constructor(container, name) {
    this.container = container;
    this.name = name;
    this.title = name;
    this.timers = [];
    this.devices = [];
    this.consoleOffset = null;
    this.lastStats = null;
    this.gone = false;
  }

  get row() {
    return state.domains.get(this.name);
  }

  mount() {
    const name = this.name;
    this.headEl = h('div', {class: 'view-head'});
    this.infoEl = h('dl', {class: 'facts', dataset: {testid: 'domain-info'}});
    this.cpuChart = new LineChart({title: 'CPU use', format: (v) => fmtPercent(v), minTop: 10,
                                  testid: 'chart-cpu'});
    this.memChart = new LineChart({title: 'Memory', format: (v) => fmtKiB(v), testid: 'chart-memory'});
    this.chartNote = h('p', {class: 'muted chart-note', hidden: true}, 'Not running: no live figures.');
    this.devBody = h('tbody', {});
    this.consoleEl = h('pre', {class: 'console', tabindex: '0', 'aria-label': `Console of ${name}`,
                               dataset: {testid: 'console'}});
    this.consoleNote = h('p', {class: 'muted', hidden: true});
    this.xmlEl = h('pre', {class: 'code', tabindex: '0', 'aria-label': `Domain XML of ${name}`,
                           dataset: {testid: 'domain-xml'}});
    this.inactiveBox = h('input', {type: 'checkbox', onchange: () => this.loadXml()});

    setChildren(this.container,
      h('nav', {class: 'crumbs', 'aria-label': 'Breadcrumb'}, h('a', {href: '#/'}, '← All domains')),
      this.headEl,
      h('div', {class: 'grid-2'},
        h('section', {class: 'card', 'aria-labelledby': 'sum-h'},
          h('h2', {id: 'sum-h', class: 'card-title'}, 'Summary'), this.infoEl),
        h('section', {class: 'card', 'aria-labelledby': 'live-h', dataset: {testid: 'charts'}},
          h('h2', {id: 'live-h', class: 'card-title'}, 'Live'),
          h('div', {class: 'charts'}, this.cpuChart.el, this.memChart.el), this.chartNote)),
      h('section', {class: 'card', 'aria-labelledby': 'dev-h', dataset: {testid: 'devices'}},
        h('h2', {id: 'dev-h', class: 'card-title'}, 'Devices'),
        h('div', {class: 'table-wrap'},
          h('table', {class: 'devices'},
            h('thead', {}, h('tr', {}, ['Kind', 'Target / MAC', 'Source', 'Details', ''].map((t) =>
              h('th', {scope: 'col'}, t || h('span', {class: 'sr-only'}, 'Actions'))))),
            this.devBody)),
        this.attachForm()),
      h('section', {class: 'card', 'aria-labelledby': 'con-h'},
        h('div', {class: 'card-head'},
          h('h2', {id: 'con-h', class: 'card-title'}, 'Console'),
          h('span', {class: 'muted'}, 'the tail of the serial console log')),
        this.consoleEl, this.consoleNote, this.consoleInput()),
      h('section', {class: 'card', 'aria-labelledby': 'xml-h'},
        h('div', {class: 'card-head'},
          h('h2', {id: 'xml-h', class: 'card-title'}, 'Domain XML'),
          h('label', {class: 'check'}, this.inactiveBox, ' Show the configuration for the next boot')),
        this.xmlEl));

    this.lastSig = null;
    this.unsubscribe = subscribe((what, ev) => this.onChange(what, ev));
    this.render();
    this.loadAll();
    this.timers.push(setInterval(() => this.sample(), SAMPLE_MS));
    this.timers.push(setInterval(() => this.readConsole(), SAMPLE_MS));
    this.timers.push(setInterval(() => this.renderInfo(), 1000));
    this.sample();
  }

  unmount() {
    this.unsubscribe?.();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.closed = true;
  }

  onChange(what, ev) {
    if (what === 'domains') this.render();
    if (what === 'event' && ev && ev.domain === this.name &&
        (ev.type === 'device' || ev.type === 'config' || ev.event === 'defined')) {
      this.loadDevices();
      this.loadXml();
    }
  }

  // Header and summary; the rest of the view reloads when the domain starts or stops.
  render() {
    const d = this.row;
    if (!d) {
      if (state.listedAt && !this.gone) {
        this.gone = true;
        setChildren(this.headEl, h('h1', {class: 'view-title'}, this.name),
                    h('p', {class: 'muted', dataset: {testid: 'domain-gone'}},
                      `There is no domain '${this.name}' (any more). `, h('a', {href: '#/'}, 'Back to the list'), '.'));
      }
      return;
    }
    if (this.gone) {
      this.gone = false;
      this.lastSig = null;
    }
    const sig = JSON.stringify([d.state, d.id, d.persistent, d.managed_save]);
    if (sig !== this.lastSig) {
      const wasActive = this.lastSig ? JSON.parse(this.lastSig)[1] >= 0 : null;
      this.lastSig = sig;
      const hadFocus = this.headEl.contains(document.activeElement);
      setChildren(this.headEl,
        h('div', {class: 'view-title-row'},
          h('h1', {class: 'view-title', dataset: {testid: 'domain-title'}}, d.name),
          h('span', {dataset: {testid: 'state'}}, stateBadge(d.state))),
        h('div', {class: 'actions', dataset: {testid: 'domain-actions'}}, actionButtons(d)));
      if (hadFocus) this.headEl.querySelector('button, a')?.focus();
      if (wasActive !== null && wasActive !== (d.id >= 0)) {
        // started or stopped: new devices (live definition), new console, new XML
        this.consoleOffset = null;
        this.lastStats = null;
        this.loadAll();
      }
      this.chartNote.hidden = d.id >= 0;
    }
    this.memChart.setMax(d.max_memory || null);
    this.renderInfo();
  }

  renderInfo() {
    const d = this.row;
    if (!d) return;
    const lk = this.lookup || {};
    const items = [
      ['State', `${d.state}${d.reason ? ` (${d.reason})` : ''}`],
      ['ID', d.id >= 0 ? String(d.id) : '— (not running)'],
      ['UUID', d.uuid],
      ['Memory', `${fmtKiB(d.memory)} of ${fmtKiB(d.max_memory)} max`],
      ['vCPUs', `${d.vcpus} of ${d.max_vcpus} max`],
      ['Uptime', d.id >= 0 && d.start_time > 0 ? fmtDuration(serverNow() - d.start_time) : '—'],
      ['Persistent', d.persistent ? 'yes' : 'no (transient)'],
      ['Autostart', d.autostart ? 'yes' : 'no'],
    ];
    if (lk.title) items.splice(0, 0, ['Title', lk.title]);
    if (lk.os_type) items.push(['OS type', lk.os_type]);
    if (lk.on_poweroff) items.push(['On power-off / reboot / crash',
                                    `${lk.on_poweroff} / ${lk.on_reboot} / ${lk.on_crash}`]);
    setChildren(this.infoEl, items.map(([k, v]) => h('div', {class: 'fact'}, h('dt', {}, k), h('dd', {}, v))));
  }

  loadAll() {
    this.loadLookup();
    this.loadDevices();
    this.loadXml();
    this.readConsole();
  }

  // A fault caused by the domain having gone away or stopped in the meantime is expected
  // while the view is open; anything else is shown.
  quiet(e) {
    return e instanceof XmlRpcFault && (e.code === FAULT.NO_DOMAIN || e.code === FAULT.OPERATION_INVALID);
  }

  async loadLookup() {
    try {
      this.lookup = await client.call('domain.lookup', this.name);
      this.renderInfo();
    } catch (e) {
      if (!this.quiet(e)) notifyError(`Reading ${this.name}`, e);
    }
  }

  async loadXml() {
    const inactive = this.inactiveBox.checked;
    try {
      const xml = await client.call('domain.get_xml', this.name, inactive);
      if (!this.closed) this.xmlEl.textContent = xml;
    } catch (e) {
      if (!this.closed) this.xmlEl.textContent = describeError(e);
    }
  }

  async loadDevices() {
    try {
      this.devices = await client.call('domain.devices', this.name);
    } catch (e) {
      if (!this.quiet(e)) notifyError(`Listing the devices of ${this.name}`, e);
      return;
    }
    if (this.closed) return;
    const rows = this.devices.map((dev) => {
      const isDisk = dev.kind === 'disk';
      const id = isDisk ? dev.target : dev.mac;
      const detachId = isDisk ? dev.target : (dev.mac || String(dev.index));
      const details = isDisk
        ? [dev.device, dev.bus, dev.format, dev.readonly ? 'read-only' : null, dev.shareable ? 'shareable' : null]
        : [dev.type, dev.model];
      return h('tr', {dataset: {testid: `device-${detachId}`}},
        h('td', {dataset: {label: 'Kind'}}, isDisk ? 'disk' : 'network'),
        h('td', {dataset: {label: 'Target / MAC'}}, h('code', {}, id || '—')),
        h('td', {dataset: {label: 'Source'}, class: 'wrap'}, dev.source || (isDisk ? '—' : 'user networking')),
        h('td', {dataset: {label: 'Details'}}, details.filter(Boolean).join(', ')),
        h('td', {class: 'actions-cell'},
          h('button', {type: 'button', class: 'btn btn-small', 'aria-label': `Detach ${id} from ${this.name}`,
                       onclick: () => this.detach(detachId, id)}, 'Detach')));
    });
    setChildren(this.devBody, rows.length ? rows
      : h('tr', {}, h('td', {colspan: '5', class: 'muted'}, 'No disks or network interfaces.')));
    if (this.targetInput && !this.targetInput.dataset.touched) this.targetInput.value = nextTarget(this.devices);
  }

  async detach(devId, label) {
    const ok = await confirmDialog({
      title: `Detach ${label}?`,
      message: `Remove ${label} from '${this.name}'` +
               (this.row && this.row.id >= 0 ? ' (unplugged from the running guest, and from its configuration)' : '') +
               '. The image file itself is kept.',
      confirmLabel: 'Detach'});
    if (!ok) return;
    try {
      await client.call('domain.detach_device', this.name, devId);
      notify(`${label} detached from ${this.name}.`, 'info');
    } catch (e) {
      notifyError(`Detach ${label}`, e);
    }
    this.loadDevices();
    this.loadXml();
  }

  attachForm() {
    const kind = h('select', {}, h('option', {value: 'disk'}, 'Disk'), h('option', {value: 'interface'}, 'Network interface'));
    const source = h('input', {type: 'text', placeholder: '/var/lib/xend/images/data.img', autocomplete: 'off'});
    const target = h('input', {type: 'text', placeholder: 'vdb', autocomplete: 'off', size: 6});
    target.addEventListener('input', () => { target.dataset.touched = '1'; });
    this.targetInput = target;
    const readonly = h('input', {type: 'checkbox'});
    const nicType = h('select', {}, ['user', 'network', 'bridge'].map((t) => h('option', {value: t}, t)));
    const nicSource = h('input', {type: 'text', placeholder: 'br0', autocomplete: 'off'});
    const mac = h('input', {type: 'text', placeholder: 'automatic', autocomplete: 'off'});
    const model = h('input', {type: 'text', value: 'virtio', autocomplete: 'off', size: 8});

    const diskFields = h('div', {class: 'form-row'},
      field('Image path', source).wrap, field('Target', target).wrap,
      h('label', {class: 'check'}, readonly, ' Read-only'));
    const nicSourceField = field('Bridge or network', nicSource);
    const nicFields = h('div', {class: 'form-row', hidden: true},
      field('Type', nicType).wrap, nicSourceField.wrap, field('MAC address', mac).wrap, field('Model', model).wrap);
    const syncKind = () => {
      diskFields.hidden = kind.value !== 'disk';
      nicFields.hidden = kind.value === 'disk';
      nicSourceField.wrap.hidden = nicType.value === 'user';
    };
    kind.addEventListener('change', syncKind);
    nicType.addEventListener('change', syncKind);
    syncKind();

    const submit = h('button', {type: 'submit', class: 'btn btn-primary'}, 'Attach');
    const form = h('form', {class: 'attach', 'aria-label': `Attach a device to ${this.name}`,
                            dataset: {testid: 'attach-form'}},
      h('h3', {class: 'subhead'}, 'Attach a device'),
      h('div', {class: 'form-row form-row-narrow'}, field('Kind', kind).wrap),
      diskFields, nicFields, h('div', {class: 'form-actions'}, submit));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const f = kind.value === 'disk'
        ? {kind: 'disk', source: source.value.trim(), target: target.value.trim(), readonly: readonly.checked}
        : {kind: 'interface', type: nicType.value, source: nicSource.value.trim(), mac: mac.value.trim(),
           model: model.value.trim()};
      if (f.kind === 'disk' && (!f.source || !f.target)) {
        notify('A disk needs an image path and a target such as vdb.', 'error', {title: 'Attach'});
        return;
      }
      submit.disabled = true;
      try {
        await client.call('domain.attach_device', this.name, deviceXml(f));
        notify(`${f.kind === 'disk' ? f.target : 'Network interface'} attached to ${this.name}.`, 'info');
        source.value = '';
        mac.value = '';
        delete target.dataset.touched;
      } catch (e) {
        notifyError(`Attach to ${this.name}`, e);
      } finally {
        submit.disabled = false;
      }
      this.loadDevices();
      this.loadXml();
    });
    return form;
  }

  consoleInput() {
    const input = h('input', {type: 'text', autocomplete: 'off', spellcheck: false,
                              placeholder: 'a command for the guest, e.g. uname -a'});
    const send = h('button', {type: 'submit', class: 'btn'}, 'Send');
    const form = h('form', {class: 'console-form', 'aria-label': `Type into the console of ${this.name}`},
                   field('Type a line', input).wrap, send);
    this.consoleForm = form;
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      send.disabled = true;
      try {
        await client.call('domain.console_write', this.name, input.value + '\n');
        input.value = '';
        setTimeout(() => this.readConsole(), 300);
      } catch (e) {
        notifyError(`Typing into ${this.name}`, e);
      } finally {
        send.disabled = false;
      }
    });
    return form;
  }

  async readConsole() {
    const d = this.row;
    if (this.closed || this.readingConsole) return;
    if (!d || d.id < 0) {
      this.consoleNote.hidden = false;
      this.consoleNote.textContent = 'The console is there while the domain runs.';
      this.consoleForm.hidden = true;
      if (!this.consoleEl.textContent) this.consoleEl.hidden = true;
      return;
    }
    this.consoleNote.hidden = true;
    this.consoleForm.hidden = false;
    this.consoleEl.hidden = false;
    this.readingConsole = true;
    try {
      const args = this.consoleOffset === null ? [this.name] : [this.name, this.consoleOffset];
      const r = await client.call('domain.console_read', ...args);
      if (this.closed) return;
      const fresh = this.consoleOffset === null || Number(r.start) > Number(this.consoleOffset);
      this.consoleOffset = r.offset;
      const text = typeof r.data === 'string' ? r.data : new TextDecoder().decode(r.data);
      if (fresh) this.consoleEl.textContent = '';
      if (text) {
        const el = this.consoleEl;
        const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        let all = el.textContent + text;
        if (all.length > CONSOLE_KEEP) all = all.slice(all.length - CONSOLE_KEEP);
        // eslint-disable-next-line no-control-regex
        el.textContent = all.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
        if (atBottom || fresh) el.scrollTop = el.scrollHeight;
      }
    } catch (e) {
      if (!this.quiet(e) && !this.consoleErrorShown) {
        this.consoleErrorShown = true;
        notifyError(`Reading the console of ${this.name}`, e);
      }
    } finally {
      this.readingConsole = false;
    }
  }

  // One statistics sample: CPU use from the cpu_time difference since the last sample.
  async sample() {
    const d = this.row;
    if (this.closed) return;
    if (!d || d.id < 0) {
      this.cpuChart.push(null);
      this.memChart.push(null);
      this.lastStats = null;
      return;
    }
    let st;
    try {
      st = await client.call('domain.stats', this.name);
    } catch (e) {
      if (!this.quiet(e) && !(e instanceof XmlRpcFault)) return;   // connection: the banner says it
      this.cpuChart.push(null);
      this.memChart.push(null);
      this.lastStats = null;
      return;
    }
    if (this.closed) return;
    const now = performance.now();
    let pct = null;
    if (this.lastStats && this.lastStats.id === d.id) {
      const dt = (now - this.lastStats.t) / 1000;
      const dcpu = Number(st.cpu_time) - Number(this.lastStats.cpu);
      if (dt > 0 && dcpu >= 0) pct = Math.min(100, (100 * dcpu) / dt / Math.max(1, d.vcpus));
    }
    this.lastStats = {t: now, cpu: Number(st.cpu_time), id: d.id};
    if (pct !== null || this.cpuChart.samples.length) this.cpuChart.push(pct);
    this.memChart.push(Number(st.memory));
  }
}
