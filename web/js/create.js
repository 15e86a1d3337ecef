// The create view (#/create): a new persistent domain either from a short form (name,
// memory, vCPUs, a disk image, a NIC), which is turned into domain XML here, or from domain
// XML pasted as is. Both end in domain.define, then domain.start when asked; a fault from
// either (invalid XML, a name in use...) is shown with its code and the form is kept.
//
// The XML follows what the daemon's own tools write (tests/lib/xendtest.py,
// scripts/xend-samples.py): <domain type=...> with the driver's virtualization type.

import { h, setChildren, field, notify, notifyError } from './ui.js';
import { client, state, requestRefresh } from './state.js';

const escapeXml = (v) => String(v).replace(/[<>&'"]/g, (c) =>
  ({'<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;'})[c]);

// The domain type the host's driver runs: the simulated host takes 'test', QEMU 'kvm' when
// it has KVM and 'qemu' when it emulates.
function virtType() {
  const n = state.node || {};
  if (n.driver === 'qemu') return n.accel === 'kvm' ? 'kvm' : 'qemu';
  return n.driver || 'test';
}

/** Domain XML for the quick form's values. */
export function formXml({name, memoryMiB, vcpus, disk, nic}) {
  const arch = state.node && state.node.arch ? ` arch='${escapeXml(state.node.arch)}'` : '';
  const lines = [
    `<domain type='${escapeXml(virtType())}'>`,
    `  <name>${escapeXml(name)}</name>`,
    `  <memory unit='MiB'>${Number(memoryMiB)}</memory>`,
    `  <vcpu>${Number(vcpus)}</vcpu>`,
    `  <os><type${arch}>hvm</type><boot dev='hd'/></os>`,
    '  <features><acpi/></features>',
    '  <devices>',
  ];
  if (disk) {
    lines.push("    <disk type='file' device='disk'>",
               "      <driver name='qemu' type='raw'/>",
               `      <source file='${escapeXml(disk)}'/>`,
               "      <target dev='vda' bus='virtio'/>",
               '    </disk>');
  }
  if (nic) lines.push("    <interface type='user'><model type='virtio'/></interface>");
  lines.push("    <serial type='pty'><target port='0'/></serial>", '  </devices>', '</domain>');
  return lines.join('\n') + '\n';
}

const NAME_RE = /^[A-Za-z0-9_.:+-]{1,64}$/;

export class CreateView {
  constructor(container, {navigate}) {
    this.container = container;
    this.navigate = navigate;
    this.title = 'New domain';
  }

  mount() {
    setChildren(this.container,
      h('h1', {class: 'view-title'}, 'New domain'),
      h('p', {class: 'muted lead'},
        'Define a persistent domain from a few settings or from domain XML. ',
        'It is kept in xend’s store and can be started, stopped and started again.'),
      h('div', {class: 'grid-2'}, this.quickForm(), this.xmlForm()));
    this.nameInput.focus();
  }

  unmount() {}

  quickForm() {
    const name = h('input', {type: 'text', required: true, autocomplete: 'off', spellcheck: false,
                             pattern: '[A-Za-z0-9_.:+\\-]{1,64}', maxlength: '64', name: 'name'});
    this.nameInput = name;
    const maxCpus = state.node && state.node.cpus ? state.node.cpus : 64;
    const memory = h('input', {type: 'number', required: true, min: '16', step: '1', value: '512', name: 'memory'});
    const vcpus = h('input', {type: 'number', required: true, min: '1', max: String(maxCpus), step: '1',
                              value: '1', name: 'vcpus'});
    const disk = h('input', {type: 'text', autocomplete: 'off', spellcheck: false, name: 'disk',
                             placeholder: '/var/lib/xend/images/guest.img'});
    const nic = h('input', {type: 'checkbox', checked: true, name: 'nic'});
    const start = h('input', {type: 'checkbox', checked: true, name: 'start'});
    const preview = h('pre', {class: 'code code-small', dataset: {testid: 'create-preview'}});
    const values = () => ({name: name.value.trim(), memoryMiB: Number(memory.value), vcpus: Number(vcpus.value),
                           disk: disk.value.trim(), nic: nic.checked});
    const update = () => { preview.textContent = formXml({...values(), name: values().name || 'NAME'}); };
    const submit = h('button', {type: 'submit', class: 'btn btn-primary'}, 'Create domain');
    const form = h('form', {class: 'card', 'aria-labelledby': 'quick-h', dataset: {testid: 'create-form'}, novalidate: true},
      h('h2', {id: 'quick-h', class: 'card-title'}, 'From a few settings'),
      field('Name', name, 'Letters, digits and _ . : + - (at most 64)').wrap,
      h('div', {class: 'form-row'},
        field('Memory (MiB)', memory).wrap,
        field('vCPUs', vcpus).wrap),
      field('Disk image (optional)', disk, 'The absolute path of an existing image file; it becomes vda').wrap,
      h('label', {class: 'check'}, nic, ' Network interface (user networking)'),
      h('label', {class: 'check'}, start, ' Start it now'),
      h('details', {class: 'preview'}, h('summary', {}, 'Domain XML that will be defined'), preview),
      h('div', {class: 'form-actions'}, submit));
    form.addEventListener('input', update);
    update();
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const v = values();
      const problem = !NAME_RE.test(v.name) ? 'The name must be 1 to 64 of: letters, digits, _ . : + -'
        : !(v.memoryMiB >= 16) ? 'Memory must be at least 16 MiB.'
          : !(Number.isInteger(v.vcpus) && v.vcpus >= 1) ? 'There must be at least one vCPU.'
            : v.disk && !v.disk.startsWith('/') ? 'The disk image path must be absolute.' : null;
      if (problem) {
        notify(problem, 'error', {title: 'Create domain'});
        return;
      }
      await this.define(formXml(v), start.checked, submit);
    });
    return form;
  }

  xmlForm() {
    const text = h('textarea', {rows: '16', spellcheck: false, autocomplete: 'off', class: 'code-input',
                                name: 'xml', dataset: {testid: 'create-xml'},
                                placeholder: "<domain type='test'>\n  <name>guest</name>\n  <memory unit='MiB'>512</memory>\n  ...\n</domain>"});
    const start = h('input', {type: 'checkbox', name: 'start-xml'});
    const submit = h('button', {type: 'submit', class: 'btn btn-primary'}, 'Define from XML');
    const form = h('form', {class: 'card', 'aria-labelledby': 'xml-form-h', dataset: {testid: 'create-xml-form'}},
      h('h2', {id: 'xml-form-h', class: 'card-title'}, 'From domain XML'),
      field('Domain XML', text, 'As domain.get_xml returns it; the name and uuid say which domain').wrap,
      h('label', {class: 'check'}, start, ' Start it after defining'),
      h('div', {class: 'form-actions'}, submit));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!text.value.trim()) {
        notify('Paste the domain XML first.', 'error', {title: 'Define from XML'});
        return;
      }
      await this.define(text.value, start.checked, submit);
    });
    return form;
  }

  async define(xml, start, button) {
    button.disabled = true;
    let row;
    try {
      row = await client.call('domain.define', xml);
    } catch (e) {
      notifyError('Define', e);
      button.disabled = false;
      return;
    }
    const warnings = Array.isArray(row.warnings) ? row.warnings : [];
    let started = false;
    if (start) {
      try {
        await client.call('domain.start', row.name);
        started = true;
      } catch (e) {
        notifyError(`Start ${row.name}`, e);
      }
    }
    button.disabled = false;
    notify(`Domain ${row.name} defined${started ? ' and started' : ''}.` +
           (warnings.length ? ` Not used: ${warnings.join('; ')}.` : ''), 'info');
    requestRefresh({node: true, delayMs: 0});
    this.navigate('#/');
  }
}
