// The web page's XML-RPC client: xend's whole API is XML-RPC over POST /RPC2, and this
// module is how the page speaks it, with nothing but the browser (fetch, DOMParser,
// TextEncoder, btoa/atob, AbortController). It follows the daemon's codec
// (src/xmlrpc/{value.h,encode.c,decode.c}) type for type, including the <i8> and <nil/>
// extensions, and is as strict as the daemon: what it sends the daemon accepts, and a reply
// the daemon could not have written is an error, never a half-read value.
//
// Errors: a <fault> is thrown as XmlRpcFault (.code, .faultString); anything else that goes
// wrong between the page and the daemon is an XmlRpcError (.kind, .status). A value that
// XML-RPC cannot carry is refused with a TypeError before anything is sent.

/** A fault returned by the daemon: .code is its numeric code (docs/errors.md). */
export class XmlRpcFault extends Error {
  constructor(code, faultString) {
    super(`${faultString} (fault ${code})`);
    this.name = 'XmlRpcFault';
    this.code = code;
    this.faultString = faultString;
  }
}

/**
 * The call did not produce a reply: .kind is 'network' (no answer), 'timeout', 'abort' (the
 * caller's signal), 'http' (a status other than 200), 'auth' (401: wrong or missing
 * credentials) or 'malformed' (a 200 whose body is not an XML-RPC methodResponse).
 * .status is the HTTP status, 0 when there was no response.
 */
export class XmlRpcError extends Error {
  constructor(message, kind, status = 0) {
    super(message);
    this.name = 'XmlRpcError';
    this.kind = kind;
    this.status = status;
  }
}

const malformed = (why) => new XmlRpcError(`malformed reply: ${why}`, 'malformed', 200);

// ---- wrappers that choose a type the value alone would not ----

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

class I8 {
  constructor(v) { this.value = v; Object.freeze(this); }
}
class Double {
  constructor(v) { this.value = v; Object.freeze(this); }
}

/** Send n (a number, BigInt or decimal string) as <i8>, e.g. a memory size in KiB. */
export function i8(n) {
  let v;
  if (typeof n === 'bigint') v = n;
  else if (typeof n === 'number' && Number.isInteger(n)) v = BigInt(n);
  else if (typeof n === 'string' && /^[+-]?[0-9]+$/.test(n)) v = BigInt(n);
  else throw new TypeError(`i8(): ${String(n)} is not an integer`);
  if (v < INT64_MIN || v > INT64_MAX) throw new TypeError(`i8(): ${v} is out of the 64-bit range`);
  return new I8(v);
}

/** Send n as <double> even when it is integral (a Number alone would become <int>). */
export function double(n) {
  const v = Number(n);
  if (!Number.isFinite(v)) throw new TypeError(`double(): ${String(n)} is not a finite number`);
  return new Double(v);
}

// ---- encoding ----

// Characters XML 1.0 can carry (lone surrogates, U+FFFE and U+FFFF are not among them).
const XML_BAD_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function escapeText(s) {
  const bad = XML_BAD_CHAR.exec(s);
  if (bad) {
    const cp = bad[0].codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw new TypeError(`string holds U+${cp} at index ${bad.index}, which XML cannot carry ` +
                        '(send bytes as a Uint8Array)');
  }
  // CR as a character reference: a raw one would be turned into LF by the parser.
  return s.replace(/[&<>\r]/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;'})[c]);
}

// Plain decimal, as the XML-RPC spec asks (String() would write 1e+21 or 5e-7).
function doubleText(d) {
  if (!Number.isFinite(d)) throw new TypeError(`${d} cannot be sent: XML-RPC has no NaN or infinity`);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(d.toExponential());
  const digits = m[2] + (m[3] || ''), point = Number(m[4]) + 1;
  let text;
  if (point <= 0) text = '0.' + '0'.repeat(-point) + digits;
  else if (point >= digits.length) text = digits + '0'.repeat(point - digits.length) + '.0';
  else text = digits.slice(0, point) + '.' + digits.slice(point);
  return m[1] + text;
}

const pad = (n, w) => String(n).padStart(w, '0');

function bytesToBase64(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

function encodeValue(v, out, ancestors) {
  if (v === null || v === undefined) return out.push('<value><nil/></value>');
  switch (typeof v) {
  case 'string': return out.push('<value><string>', escapeText(v), '</string></value>');
  case 'boolean': return out.push('<value><boolean>', v ? '1' : '0', '</boolean></value>');
  case 'number':
    if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff)
      return out.push('<value><int>', String(v | 0), '</int></value>');
    if (Number.isSafeInteger(v))
      return out.push('<value><i8>', String(v), '</i8></value>');
    return out.push('<value><double>', doubleText(v), '</double></value>');
  case 'bigint': return encodeValue(i8(v), out, ancestors);
  case 'object': break;
  default: throw new TypeError(`a ${typeof v} cannot be sent over XML-RPC`);
  }
  if (v instanceof I8) return out.push('<value><i8>', String(v.value), '</i8></value>');
  if (v instanceof Double) return out.push('<value><double>', doubleText(v.value), '</double></value>');
  if (v instanceof Date) {
    const y = v.getUTCFullYear();
    if (Number.isNaN(y) || y < 0 || y > 9999)
      throw new TypeError('date cannot be written as dateTime.iso8601');
    // The codec's one form, in UTC; milliseconds are dropped.
    return out.push('<value><dateTime.iso8601>',
                    pad(y, 4), pad(v.getUTCMonth() + 1, 2), pad(v.getUTCDate(), 2), 'T',
                    pad(v.getUTCHours(), 2), ':', pad(v.getUTCMinutes(), 2), ':', pad(v.getUTCSeconds(), 2),
                    '</dateTime.iso8601></value>');
  }
  if (v instanceof ArrayBuffer) v = new Uint8Array(v);
  if (ArrayBuffer.isView(v))
    return out.push('<value><base64>', bytesToBase64(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)),
                    '</base64></value>');
  const proto = Object.getPrototypeOf(v);
  const isArray = Array.isArray(v);
  if (!isArray && proto !== Object.prototype && proto !== null)
    throw new TypeError(`a ${v.constructor?.name || 'non-plain object'} cannot be sent over XML-RPC`);
  if (ancestors.has(v)) throw new TypeError('a value that contains itself cannot be sent');
  ancestors.add(v);
  if (isArray) {
    out.push('<value><array><data>');
    for (const item of v) encodeValue(item, out, ancestors);
    out.push('</data></array></value>');
  } else {
    out.push('<value><struct>');
    for (const key of Object.keys(v)) {
      out.push('<member><name>', escapeText(key), '</name>');
      encodeValue(v[key], out, ancestors);
      out.push('</member>');
    }
    out.push('</struct></value>');
  }
  ancestors.delete(v);
}

/** The methodCall document for method(params...). Throws TypeError for a value it cannot carry. */
export function encodeCall(method, params = []) {
  // The daemon's rule for method names; checked here so a typo fails before the round trip.
  if (typeof method !== 'string' || !/^[A-Za-z0-9_.:/]{1,256}$/.test(method))
    throw new TypeError(`invalid method name ${JSON.stringify(method)}`);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>\n<methodCall><methodName>', method,
               '</methodName><params>'];
  const ancestors = new Set();
  for (const p of params) {
    out.push('<param>');
    encodeValue(p, out, ancestors);
    out.push('</param>');
  }
  out.push('</params></methodCall>\n');
  return out.join('');
}

// ---- decoding ----

const XML_SPACE = /^[ \t\r\n]*$/;

// The element children of el, refusing text beside them (layout whitespace aside). Comments
// and processing instructions are skipped, as the daemon's parser does.
function elements(el) {
  const kids = [];
  for (const n of el.childNodes) {
    if (n.nodeType === Node.ELEMENT_NODE) kids.push(n);
    else if ((n.nodeType === Node.TEXT_NODE || n.nodeType === Node.CDATA_SECTION_NODE) &&
             !XML_SPACE.test(n.data))
      throw malformed(`unexpected text inside <${el.tagName}>`);
  }
  return kids;
}

function only(el, tag) {
  const kids = elements(el);
  if (kids.length !== 1 || kids[0].tagName !== tag)
    throw malformed(`<${el.tagName}> must hold exactly one <${tag}>`);
  return kids[0];
}

// Text of an element that may hold no elements (a scalar, <name>, an untyped <value>).
function leafText(el) {
  for (const n of el.childNodes)
    if (n.nodeType === Node.ELEMENT_NODE) throw malformed(`<${n.tagName}> inside <${el.tagName}>`);
  return el.textContent;
}

function decodeInteger(text, tag, min, max) {
  if (!/^[+-]?[0-9]+$/.test(text)) throw malformed(`<${tag}> '${text.slice(0, 40)}' is not an integer`);
  const v = BigInt(text);
  if (v < min || v > max) throw malformed(`<${tag}> ${text} is out of range`);
  // Numbers are what the page computes with; a BigInt only where a Number would round.
  return Number.isSafeInteger(Number(v)) ? Number(v) : v;
}

function decodeDateTime(text) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(text);
  const [y, mo, d, h, mi, s] = m ? m.slice(1).map(Number) : [];
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const mdays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  // The daemon's checks (second 60 included: a leap second, which Date rolls over).
  if (!m || !mdays || d < 1 || d > mdays || h > 23 || mi > 59 || s > 60)
    throw malformed(`<dateTime.iso8601> '${text.slice(0, 40)}' is not a valid YYYYMMDDTHH:MM:SS`);
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); // not Date.UTC(), which maps years 0..99 to 1900..1999
  date.setUTCHours(h, mi, s, 0);
  return date;
}

function decodeBase64(text) {
  const b64 = text.replace(/[ \t\r\n]+/g, '');
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(b64))
    throw malformed('<base64> content is not valid base64');
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

function decodeValue(valueEl) {
  if (valueEl.childElementCount === 0) return valueEl.textContent; // untyped: a string
  const kids = elements(valueEl);
  if (kids.length !== 1) throw malformed('<value> must hold one typed element');
  const el = kids[0], tag = el.tagName;
  switch (tag) {
  case 'int': case 'i4':
    return decodeInteger(leafText(el), tag, -0x80000000n, 0x7fffffffn);
  case 'i8': case 'ex:i8':
    return decodeInteger(leafText(el), tag, INT64_MIN, INT64_MAX);
  case 'boolean': {
    const t = leafText(el);
    if (t !== '0' && t !== '1') throw malformed(`<boolean> '${t.slice(0, 40)}' is not 0 or 1`);
    return t === '1';
  }
  case 'double': {
    const t = leafText(el);
    const d = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(t) ? Number(t) : NaN;
    if (!Number.isFinite(d)) throw malformed(`<double> '${t.slice(0, 40)}' is not a finite decimal number`);
    return d;
  }
  case 'string': return leafText(el);
  case 'dateTime.iso8601': return decodeDateTime(leafText(el));
  case 'base64': return decodeBase64(leafText(el));
  case 'nil': case 'ex:nil':
    if (!XML_SPACE.test(leafText(el))) throw malformed('<nil/> must be empty');
    return null;
  case 'array':
    return elements(only(el, 'data')).map((v) => {
      if (v.tagName !== 'value') throw malformed(`<${v.tagName}> inside <data>`);
      return decodeValue(v);
    });
  case 'struct': {
    const obj = {};
    for (const member of elements(el)) {
      const parts = member.tagName === 'member' ? elements(member) : [];
      const nameEl = parts.find((p) => p.tagName === 'name');
      const value = parts.find((p) => p.tagName === 'value');
      if (parts.length !== 2 || !nameEl || !value)
        throw malformed('<struct> members need one <name> and one <value>');
      const name = leafText(nameEl);
      if (Object.hasOwn(obj, name)) throw malformed(`struct has duplicate member '${name.slice(0, 40)}'`);
      // defineProperty, not assignment: a member named __proto__ stays an ordinary member.
      Object.defineProperty(obj, name,
                            {value: decodeValue(value), enumerable: true, writable: true, configurable: true});
    }
    return obj;
  }
  default:
    throw malformed(`unknown element <${tag}>`);
  }
}

/** The result of a methodResponse document; throws XmlRpcFault for a fault, XmlRpcError for the rest. */
export function decodeResponse(text) {
  if (typeof text !== 'string') throw malformed('not text');
  // Refused before parsing, so no entity it declares is ever expanded. The daemon writes no
  // CDATA or comments, so "<!DOCTYPE" can only be a declaration.
  if (text.includes('<!DOCTYPE')) throw malformed('a DOCTYPE is not allowed');
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) throw malformed('not well-formed XML');
  const root = doc.documentElement;
  if (root.tagName !== 'methodResponse') throw malformed(`<${root.tagName}> instead of <methodResponse>`);
  const kids = elements(root);
  if (kids.length === 1 && kids[0].tagName === 'params')
    return decodeValue(only(only(kids[0], 'param'), 'value'));
  if (kids.length === 1 && kids[0].tagName === 'fault') {
    const f = decodeValue(only(kids[0], 'value'));
    if (f === null || typeof f !== 'object' || Object.keys(f).length !== 2 ||
        !Number.isInteger(f.faultCode) || typeof f.faultString !== 'string')
      throw malformed('<fault> must hold a struct of faultCode (int) and faultString (string)');
    throw new XmlRpcFault(f.faultCode, f.faultString);
  }
  throw malformed('<methodResponse> must hold one <params> or one <fault>');
}

// ---- the client ----

function basicAuth(user, password) {
  const bytes = new TextEncoder().encode(`${user}:${password ?? ''}`);
  return 'Basic ' + bytesToBase64(bytes);
}

// The message of a non-200 reply: the daemon's one-line text/plain body ("401 Unauthorized:
// ..."), or the status alone when the body is something else (an HTML or XML error page).
function httpMessage(resp, body) {
  const type = resp.headers.get('Content-Type') || '';
  const line = body.trim().split(/\r?\n/)[0].trim();
  if (/^text\/plain\b/i.test(type) && line && !line.startsWith('<'))
    return line.length > 300 ? line.slice(0, 300) + '…' : line;
  return `HTTP ${resp.status}${resp.statusText ? ' ' + resp.statusText : ''}`;
}

export class XmlRpcClient {
  /**
   * url: the API endpoint (same origin: '/RPC2'). user/password: HTTP Basic credentials.
   * timeoutMs: default limit of one call, from request to last byte of the reply (0: none).
   */
  constructor(url = '/RPC2', {user, password, timeoutMs = 30000} = {}) {
    this.url = url;
    this.timeoutMs = timeoutMs;
    this.setCredentials(user, password);
  }

  /** Credentials of the calls that follow; a null/undefined user sends none. */
  setCredentials(user, password) {
    if (user != null && String(user).includes(':')) throw new TypeError('a user name cannot contain ":"');
    this.authorization = user == null ? null : basicAuth(String(user), password);
  }

  call(method, ...params) {
    return this.callWith({}, method, ...params);
  }

  /** call() with options: timeoutMs (this call's limit; event.next long polls need more than
   *  their own timeout_ms) and signal (an AbortSignal that cancels the call). */
  async callWith({timeoutMs = this.timeoutMs, signal} = {}, method, ...params) {
    const body = encodeCall(method, params);
    const headers = {'Content-Type': 'text/xml', 'X-Xend-Client': 'web'};
    // X-Xend-Client makes the daemon answer a 401 with a challenge the browser does not know,
    // so a wrong password reaches the page instead of the browser's own login dialog.
    if (this.authorization) headers.Authorization = this.authorization;

    const ctl = new AbortController();
    let timedOut = false;
    const timer = timeoutMs > 0 ? setTimeout(() => { timedOut = true; ctl.abort(); }, timeoutMs) : 0;
    const onAbort = () => ctl.abort();
    if (signal?.aborted) ctl.abort();
    else signal?.addEventListener('abort', onAbort, {once: true});
    // Which failure an abort was, for the two places (request, reading the body) it can hit.
    const failure = (err) => {
      if (timedOut) return new XmlRpcError(`${method}: no reply within ${timeoutMs / 1000} s`, 'timeout');
      if (signal?.aborted) return new XmlRpcError(`${method}: cancelled`, 'abort');
      return new XmlRpcError(`${method}: cannot reach the server (${err.message})`, 'network');
    };
    try {
      let resp, text;
      try {
        resp = await fetch(this.url, {method: 'POST', headers, body, credentials: 'omit',
                                      cache: 'no-store', signal: ctl.signal});
        text = await resp.text();
      } catch (err) {
        throw failure(err);
      }
      if (resp.status !== 200)
        throw new XmlRpcError(httpMessage(resp, text), resp.status === 401 ? 'auth' : 'http', resp.status);
      return decodeResponse(text);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Several calls in one request (system.multicall): calls is [[method, [params...]], ...].
   * Resolves to one entry per call, its result or an XmlRpcFault (returned, not thrown: one
   * failing call does not hide the others). options as for callWith.
   */
  async multicall(calls, options = {}) {
    const arg = calls.map(([methodName, params = []]) => {
      encodeCall(methodName); // the method-name check of a single call
      if (!Array.isArray(params))
        throw new TypeError(`multicall: the params of ${methodName} are not an array`);
      return {methodName, params};
    });
    const results = await this.callWith(options, 'system.multicall', arg);
    if (!Array.isArray(results) || results.length !== calls.length)
      throw malformed('system.multicall returned a different number of results');
    return results.map((r) => {
      if (Array.isArray(r) && r.length === 1) return r[0];
      if (r && typeof r === 'object' && Number.isInteger(r.faultCode) && typeof r.faultString === 'string')
        return new XmlRpcFault(r.faultCode, r.faultString);
      throw malformed('a system.multicall entry is neither [result] nor a fault');
    });
  }
}
