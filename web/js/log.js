// The daemon log view (#/log): the last lines of xend's log from node.log, newest at the
// bottom, with a filter and a refresh. node.log is an admin method: a user of another
// access class gets ACCESS_DENIED, which is shown here as an explanation, not as an error
// notice, since nothing went wrong.

import { h, setChildren, describeError, FAULT } from './ui.js';
import { client, state } from './state.js';
import { XmlRpcFault } from './xmlrpc.js';

const LINES = 500;

export class LogView {
  constructor(container) {
    this.container = container;
    this.title = 'Daemon log';
    this.text = '';
  }

  mount() {
    this.pre = h('pre', {class: 'log', tabindex: '0', 'aria-label': 'Daemon log', dataset: {testid: 'log-text'}});
    this.status = h('div', {class: 'log-status', dataset: {testid: 'log-status'}});
    this.filter = h('input', {type: 'search', placeholder: 'Filter lines', 'aria-label': 'Filter log lines',
                              autocomplete: 'off', oninput: () => this.render()});
    this.follow = h('input', {type: 'checkbox', checked: true});
    this.toolbar = h('div', {class: 'toolbar'},
      this.filter,
      h('label', {class: 'check'}, this.follow, ' Refresh every 5 s'),
      h('button', {type: 'button', class: 'btn', onclick: () => this.load()}, 'Refresh'));
    this.blurb = h('p', {class: 'muted'}, `The last ${LINES} lines xend logged, the newest at the bottom.`);
    setChildren(this.container,
      h('section', {class: 'card', 'aria-labelledby': 'log-h', dataset: {testid: 'daemon-log'}},
        h('div', {class: 'card-head'},
          h('h1', {id: 'log-h', class: 'card-title'}, 'Daemon log'),
          this.toolbar),
        this.blurb, this.status, this.pre));
    this.load();
    this.timer = setInterval(() => { if (this.follow.checked && !this.denied) this.load(); }, 5000);
  }

  unmount() {
    clearInterval(this.timer);
    this.closed = true;
  }

  async load() {
    try {
      this.text = await client.call('node.log', LINES);
      this.denied = false;
      setChildren(this.status);
    } catch (e) {
      if (this.closed) return;
      if (e instanceof XmlRpcFault && e.code === FAULT.ACCESS_DENIED) {
        this.denied = true;
        this.text = '';
        setChildren(this.status, h('div', {class: 'explain', dataset: {testid: 'log-denied'}},
          h('p', {}, h('strong', {}, 'The daemon log needs admin access.'),
            ` You are signed in as '${state.user}', whose access class does not include it. `,
            'Sign in with an admin account to read it here, or read it on the host.'),
          h('p', {class: 'explain-detail'}, `xend: ${describeError(e)}`)));
      } else {
        setChildren(this.status, h('div', {class: 'explain explain-error', role: 'alert'}, describeError(e)));
      }
    }
    if (!this.closed) this.render();
  }

  render() {
    const q = this.filter.value.trim().toLowerCase();
    const lines = this.text.split('\n');
    const shown = q ? lines.filter((l) => l.toLowerCase().includes(q)) : lines;
    const el = this.pre;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
    el.textContent = shown.join('\n');
    el.hidden = this.denied;
    this.toolbar.hidden = this.denied;
    this.blurb.hidden = this.denied;
    if (atBottom) el.scrollTop = el.scrollHeight;
  }
}
