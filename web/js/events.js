// Live updates: a loop of event.next long polls (30 s each) that applies every event to
// the shared state at once and then re-lists, so state changes made anywhere (this page,
// another browser, xm, the guest itself) appear without a reload. The loop is also the
// page's connection monitor: when a poll cannot reach the daemon it shows the "Connection
// lost" banner, retries with a growing delay, and on success hides the banner and fetches
// everything again, since events may have been missed (or the daemon restarted, which
// starts its event ids anew).
//
// Synchronisation follows docs/errors.md for EVENTS_LOST: take event.current_id first,
// then list, then continue from that id, so no change falls between the two.

import { i8, XmlRpcError, XmlRpcFault } from './xmlrpc.js';
import { client, emit, applyEvent, refreshDomains, refreshNode, requestRefresh } from './state.js';
import { FAULT, notify, notifyError } from './ui.js';

const POLL_MS = 30000;
const POLL_LIMIT_MS = POLL_MS + 15000;   // the client-side bound of one long poll
const BACKOFF_FIRST = 1000;
const BACKOFF_MAX = 10000;

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, {once: true});
});

/** Is err the daemon being out of reach (as opposed to a fault or a refused login)? */
export function isConnectionError(err) {
  return err instanceof XmlRpcError &&
    (err.kind === 'network' || err.kind === 'timeout' || err.kind === 'malformed' ||
     (err.kind === 'http' && (err.status >= 500 || err.status === 0)));
}

export class EventLoop {
  /**
   * banner: the element shown while the connection is lost (its [data-role=detail] child
   * gets the countdown). onAuthLost(err): the credentials stopped working.
   */
  constructor({banner, onAuthLost}) {
    this.banner = banner;
    this.onAuthLost = onAuthLost;
    this.lost = false;
    this.ctl = null;
    this.wake = null;
  }

  start() {
    this.stop();
    this.ctl = new AbortController();
    this.run(this.ctl.signal);
  }

  stop() {
    this.ctl?.abort();
    this.ctl = null;
    this.setLost(false);
  }

  /** Try again now instead of waiting for the backoff (the banner's button). */
  retryNow() {
    this.wake?.abort();
  }

  /**
   * Another call could not reach the daemon: check the connection now rather than when
   * the current long poll ends (up to 30 s later). The poll is cancelled and the loop
   * resynchronises at once, which either succeeds or shows the banner.
   */
  suspect() {
    if (!this.lost) this.poll?.abort();
  }

  setLost(lost, detail = '') {
    this.lost = lost;
    this.banner.hidden = !lost;
    const d = this.banner.querySelector('[data-role="detail"]');
    if (d) d.textContent = detail;
    document.body.classList.toggle('offline', lost);
  }

  // Take the current id, then re-read everything the page shows.
  async resync() {
    const id = await client.call('event.current_id');
    await Promise.all([refreshDomains(), refreshNode()]);
    return id;
  }

  async run(signal) {
    let lastId = null;
    let backoff = BACKOFF_FIRST;
    while (!signal.aborted) {
      try {
        if (lastId === null) {
          lastId = await this.resync();
          if (signal.aborted) return;
          if (this.lost) {
            this.setLost(false);
            notify('Connection restored; the page is up to date.', 'info');
          }
          backoff = BACKOFF_FIRST;
        }
        this.poll = new AbortController();
        const stopPoll = () => this.poll?.abort();
        signal.addEventListener('abort', stopPoll, {once: true});
        let r;
        try {
          r = await client.callWith({timeoutMs: POLL_LIMIT_MS, signal: this.poll.signal}, 'event.next',
                                    i8(lastId), POLL_MS);
        } finally {
          signal.removeEventListener('abort', stopPoll);
          this.poll = null;
        }
        if (signal.aborted) return;
        const events = Array.isArray(r.events) ? r.events : [];
        if (Number(r.last_id) < Number(lastId)) {
          // Ids went backwards: a new daemon answered. Start over from its current id.
          lastId = null;
          continue;
        }
        lastId = r.last_id;
        let lifecycle = false;
        for (const ev of events) {
          applyEvent(ev);
          emit('event', ev);
          if (ev.type === 'lifecycle') lifecycle = true;
        }
        if (events.length) requestRefresh({node: lifecycle, delayMs: 50});
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof XmlRpcFault && e.code === FAULT.EVENTS_LOST) {
          lastId = null;   // fell behind the ring: resynchronise and go on
          continue;
        }
        if (e instanceof XmlRpcError && e.kind === 'auth') {
          this.onAuthLost(e);
          return;
        }
        if (e instanceof XmlRpcError && e.kind === 'abort') {
          lastId = null;   // suspect(): check the connection by resynchronising now
          continue;
        }
        lastId = null;
        if (isConnectionError(e)) {
          await this.waitRetry(backoff, signal);
          backoff = Math.min(backoff * 2, BACKOFF_MAX);
        } else {
          // A fault nobody expects from these calls: say so once, then keep trying slowly.
          if (!this.reported) notifyError('Following live updates', e);
          this.reported = true;
          await sleep(BACKOFF_MAX, signal);
        }
      }
    }
  }

  // Show the banner with a countdown until the next try.
  async waitRetry(ms, signal) {
    const until = performance.now() + ms;
    this.wake = new AbortController();
    const wake = this.wake.signal;
    const both = new AbortController();
    const stop = () => both.abort();
    signal.addEventListener('abort', stop, {once: true});
    wake.addEventListener('abort', stop, {once: true});
    while (!both.signal.aborted) {
      const left = Math.ceil((until - performance.now()) / 1000);
      if (left <= 0) break;
      this.setLost(true, `Next try in ${left} s.`);
      await sleep(Math.min(1000, until - performance.now()), both.signal);
    }
    if (!signal.aborted) this.setLost(true, 'Trying now…');
    signal.removeEventListener('abort', stop);
  }
}
