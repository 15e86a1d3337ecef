// Unit tests of the page's XML-RPC client (web/js/xmlrpc.js), in headless chromium through
// playwright-core. No daemon is needed for the main part: page.route() serves the module
// and a blank page from a made-up origin (http://xend.test) and answers POST /RPC2 itself
// (an echo method, faults, a system.multicall, HTTP errors, broken bodies, a dropped
// connection, a server that never answers), checking each request's headers and body.
//
// When XEND_WEB_URL is set (tests/web/run-node.py: a live xend with TLS and users), a few
// round trips then go to the real daemon: daemon.version, system.multicall, a NO_DOMAIN
// fault, an ACCESS_DENIED fault, event.next, a wrong password.
//
// usage: node tests/web/xmlrpc-unit.mjs   (prints one line per check, then "N passed, N failed")
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { env, launchBrowser, newContext, check, step, summary } from './lib/browser.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MODULE_FILE = path.join(HERE, '..', '..', 'web', 'js', 'xmlrpc.js');
const ORIGIN = 'http://xend.test';

const CALL_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<methodCall><methodName>m</methodName><params>';
const CALL_TAIL = '</params></methodCall>\n';
const ALL_BYTES_B64 = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('base64');
const ALL_BYTES = 'Uint8Array.from({length: 256}, (_, i) => i)';

// The test page: the module as window.X, and helpers (window.H) the in-page checks share.
const PAGE = `<!doctype html>
<meta charset="utf-8"><title>xmlrpc.js unit tests</title>
<script type="module">
import * as X from '/js/xmlrpc.js';
const kind = (v) => v === null ? 'null' : Array.isArray(v) ? 'array' : v instanceof Date ? 'date'
  : v instanceof Uint8Array ? 'bytes' : v instanceof X.XmlRpcFault ? 'fault'
  : typeof v !== 'object' ? typeof v
  : Object.getPrototypeOf(v) === Object.prototype ? 'object' : 'object of another prototype';
function show(v) {
  const k = kind(v);
  const s = k === 'bigint' ? v + 'n' : k === 'date' ? 'Date(' + (isNaN(v) ? 'invalid' : v.toISOString()) + ')'
    : k === 'bytes' ? 'bytes[' + Array.from(v).join(',') + ']'
    : k === 'fault' ? 'Fault(' + v.code + ', ' + JSON.stringify(v.faultString) + ')'
    : k === 'array' ? '[' + v.map(show).join(', ') + ']'
    : k === 'object' ? '{' + Object.keys(v).map((n) => JSON.stringify(n) + ': ' + show(v[n])).join(', ') + '}'
    : k === 'undefined' ? 'undefined' : k === 'number' && Object.is(v, -0) ? '-0' : JSON.stringify(v) ?? String(v);
  return s.length > 160 ? s.slice(0, 160) + '...' : s;
}
// true, or where and how a differs from b: types are compared exactly (5 is not 5n).
function same(a, b, at = 'value') {
  const ka = kind(a), kb = kind(b);
  if (ka !== kb) return at + ': ' + ka + ' ' + show(a) + ' instead of ' + kb + ' ' + show(b);
  const diff = () => at + ': ' + show(a) + ' instead of ' + show(b);
  switch (ka) {
  case 'number': return Object.is(a, b) || diff();
  case 'date': return a.getTime() === b.getTime() || diff();
  case 'bytes': return (a.length === b.length && a.every((x, i) => x === b[i])) || diff();
  case 'fault': return (a.code === b.code && a.faultString === b.faultString) || diff();
  case 'array':
    if (a.length !== b.length) return diff();
    for (let i = 0; i < a.length; i++) { const r = same(a[i], b[i], at + '[' + i + ']'); if (r !== true) return r; }
    return true;
  case 'object': {
    const ak = Object.keys(a), bk = Object.keys(b);
    if (JSON.stringify(ak) !== JSON.stringify(bk)) return at + ': members ' + JSON.stringify(ak) + ' instead of ' + JSON.stringify(bk);
    for (const n of ak) { const r = same(a[n], b[n], at + '.' + n); if (r !== true) return r; }
    return true;
  }
  default: return a === b || diff();
  }
}
// The error fn throws or its promise rejects with, or null.
async function error(fn) {
  try { await fn(); } catch (e) { return e; }
  return null;
}
// true if e is an XmlRpcError of that kind and status, else what it is.
function isError(e, kind, status) {
  if (!(e instanceof X.XmlRpcError)) return 'not an XmlRpcError: ' + (e ? e.name + ': ' + e.message : 'no error');
  if (e.kind !== kind || e.status !== status || e.name !== 'XmlRpcError' || !(e instanceof Error))
    return 'kind ' + e.kind + ' status ' + e.status + ' instead of ' + kind + ' ' + status + ' (' + e.message + ')';
  return true;
}
const value = (expr) => new Function('X', 'return (' + expr + ');')(X);
const response = (frag) => '<?xml version="1.0"?>\\n<methodResponse><params><param>' + frag + '</param></params></methodResponse>\\n';
window.X = X;
window.H = { kind, show, same, error, isError, value, response };
window.ready = true;
</script>
`;

// ---- the fake daemon of the route handler ----

const requests = [];   // every POST the page made: {path, method, headers, body}
const hanging = [];    // routes left unanswered (a server that never replies)

const HTTP_ERRORS = {
  401: ['text/plain; charset=utf-8', '401 Unauthorized: wrong user name or password\n',
        { 'WWW-Authenticate': 'XendBasic realm="xend"' }],
  403: ['text/plain; charset=utf-8', '403 Forbidden: Origin https://evil.example is not allowed\n'],
  415: ['text/plain; charset=utf-8', '  415 Unsupported Media Type: Content-Type must be text/xml  \n'],
  500: ['text/plain; charset=utf-8', '500 Internal Server Error: out of memory\nsecond line\n'],
  502: ['text/xml', '<?xml version="1.0"?><methodResponse><fault>oops</fault></methodResponse>'],
  503: ['text/html', '<html><body><h1>Service Unavailable</h1></body></html>'],
};

const xmlText = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const faultXml = (code, msg) => '<?xml version="1.0" encoding="UTF-8"?>\n<methodResponse><fault><value><struct>' +
  `<member><name>faultCode</name><value><int>${code}</int></value></member>` +
  `<member><name>faultString</name><value><string>${xmlText(msg)}</string></value></member>` +
  '</struct></value></fault></methodResponse>\n';
const resultXml = (value) => `<?xml version="1.0" encoding="UTF-8"?>\n<methodResponse><params><param>${value}</param></params></methodResponse>\n`;

// POST /RPC2 of the fake daemon. echo(v) returns v as sent; fault(code, msg) is a fault;
// system.multicall answers each call by its name: ok.* -> [name], fault.* -> fault 3,
// garbage.* -> 5 (neither form), and one result fewer than asked if a call is named 'drop'.
function rpc(body) {
  const method = /<methodName>([^<]*)<\/methodName>/.exec(body)?.[1];
  const params = /<params>.*<\/params>/s.exec(body)?.[0] ?? '';
  if (method === 'echo') return `<?xml version="1.0"?>\n<methodResponse>${params}</methodResponse>\n`;
  if (method === 'fault') {
    const [, code, msg] = /<int>(-?\d+)<\/int>.*<string>(.*)<\/string>/s.exec(params);
    return faultXml(code, msg.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
  }
  if (method === 'system.multicall') {
    const names = [...params.matchAll(/<name>methodName<\/name><value><string>([^<]*)<\/string>/g)].map((m) => m[1]);
    const items = names.map((n) =>
      n.startsWith('ok.') ? `<value><array><data><value><string>${n}</string></value></data></array></value>`
      : n.startsWith('fault.') ? '<value><struct><member><name>faultCode</name><value><int>3</int></value></member>' +
                                 `<member><name>faultString</name><value><string>No domain '${n}'</string></value></member></struct></value>`
      : '<value><int>5</int></value>');
    if (names.includes('drop')) items.pop();
    return resultXml(`<value><array><data>${items.join('')}</data></array></value>`);
  }
  return faultXml(-32601, `no such method ${method}`);
}

// 200 replies whose body is not a methodResponse, by name (POST /raw/NAME).
const RAW = {
  empty: '',
  html: '<!doctype html><html><body>login</body></html>',
  text: 'Service temporarily unavailable',
  truncated: '<?xml version="1.0"?><methodResponse><params><param><value><int>1</int></value>',
};

async function serveFake(route) {
  const req = route.request();
  const url = new URL(req.url());
  if (req.method() === 'GET' && url.pathname === '/')
    return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: PAGE });
  if (req.method() === 'GET' && url.pathname === '/js/xmlrpc.js')
    return route.fulfill({ status: 200, contentType: 'text/javascript; charset=utf-8',
                           body: fs.readFileSync(MODULE_FILE) });
  if (req.method() !== 'POST')
    return route.fulfill({ status: 404, contentType: 'text/plain', body: '404 Not Found\n' });
  requests.push({ path: url.pathname, headers: await req.allHeaders(), body: req.postData() ?? '' });
  const [, what, arg] = url.pathname.split('/');
  if (what === 'RPC2')
    return route.fulfill({ status: 200, contentType: 'text/xml', body: rpc(req.postData() ?? '') });
  if (what === 'status') {
    const [type, body, headers] = HTTP_ERRORS[arg];
    return route.fulfill({ status: Number(arg), contentType: type, body, headers });
  }
  if (what === 'raw') return route.fulfill({ status: 200, contentType: 'text/xml', body: RAW[arg] });
  if (what === 'drop') return route.abort('connectionreset');
  if (what === 'hang') { hanging.push(route); return undefined; }
  return route.fulfill({ status: 404, contentType: 'text/plain', body: '404 Not Found\n' });
}

// ---- the checks ----

// Run an in-page table of checks: fn returns [[name, true | detail], ...].
async function tableChecks(page, fn, arg) {
  const results = await page.evaluate(fn, arg);
  for (const [name, r] of results) check(name, r === true, r);
}

// One in-page check: fn returns true or a detail.
async function pageCheck(page, name, fn, arg) {
  await step(name, async () => {
    const r = await page.evaluate(fn, arg);
    check(name, r === true, r);
  });
}

// [JS expression of a value, the <value> encodeCall writes for it]
const ENCODE = [
  ['"hello"', '<value><string>hello</string></value>'],
  ['""', '<value><string></string></value>'],
  ['"a&b<c>d \\"q\\" \'s\' \\t\\n\\r end"', '<value><string>a&amp;b&lt;c&gt;d "q" \'s\' \t\n&#13; end</string></value>'],
  ['"Grüße, žluťoučký kůň 🐎 日本"', '<value><string>Grüße, žluťoučký kůň 🐎 日本</string></value>'],
  ['"]]>"', '<value><string>]]&gt;</string></value>'],
  ['true', '<value><boolean>1</boolean></value>'],
  ['false', '<value><boolean>0</boolean></value>'],
  ['0', '<value><int>0</int></value>'],
  ['-17', '<value><int>-17</int></value>'],
  ['2147483647', '<value><int>2147483647</int></value>'],
  ['-2147483648', '<value><int>-2147483648</int></value>'],
  ['2147483648', '<value><i8>2147483648</i8></value>'],
  ['-2147483649', '<value><i8>-2147483649</i8></value>'],
  ['Number.MAX_SAFE_INTEGER', '<value><i8>9007199254740991</i8></value>'],
  ['Number.MIN_SAFE_INTEGER', '<value><i8>-9007199254740991</i8></value>'],
  ['2 ** 53', '<value><double>9007199254740992.0</double></value>'],
  ['5n', '<value><i8>5</i8></value>'],
  ['9223372036854775807n', '<value><i8>9223372036854775807</i8></value>'],
  ['-9223372036854775808n', '<value><i8>-9223372036854775808</i8></value>'],
  ['X.i8(5)', '<value><i8>5</i8></value>'],
  ['X.i8(-3n)', '<value><i8>-3</i8></value>'],
  ['X.i8("-9223372036854775808")', '<value><i8>-9223372036854775808</i8></value>'],
  ['X.i8("+42")', '<value><i8>42</i8></value>'],
  ['1.5', '<value><double>1.5</double></value>'],
  ['-0.1', '<value><double>-0.1</double></value>'],
  ['0.1 + 0.2', '<value><double>0.30000000000000004</double></value>'],
  ['1e21', '<value><double>1000000000000000000000.0</double></value>'],
  ['-1.25e22', '<value><double>-12500000000000000000000.0</double></value>'],
  ['5e-7', '<value><double>0.0000005</double></value>'],
  ['1.7976931348623157e308', `<value><double>17976931348623157${'0'.repeat(292)}.0</double></value>`],
  ['5e-324', `<value><double>0.${'0'.repeat(323)}5</double></value>`],
  ['X.double(3)', '<value><double>3.0</double></value>'],
  ['X.double(0)', '<value><double>0.0</double></value>'],
  ['X.double("2.5")', '<value><double>2.5</double></value>'],
  ['new Date(Date.UTC(2024, 1, 29, 13, 5, 9))', '<value><dateTime.iso8601>20240229T13:05:09</dateTime.iso8601></value>'],
  ['new Date(Date.UTC(1999, 11, 31, 23, 59, 59, 999))', '<value><dateTime.iso8601>19991231T23:59:59</dateTime.iso8601></value>'],
  ['new Date("0005-01-02T03:04:05Z")', '<value><dateTime.iso8601>00050102T03:04:05</dateTime.iso8601></value>'],
  ['new Uint8Array([0, 1, 2, 253, 254, 255])', '<value><base64>AAEC/f7/</base64></value>'],
  ['new Uint8Array(0)', '<value><base64></base64></value>'],
  ['new Uint8Array([104, 105]).buffer', '<value><base64>aGk=</base64></value>'],
  ['new Uint8Array([0, 104, 105, 0]).subarray(1, 3)', '<value><base64>aGk=</base64></value>'],
  [ALL_BYTES, `<value><base64>${ALL_BYTES_B64}</base64></value>`],
  ['null', '<value><nil/></value>'],
  ['undefined', '<value><nil/></value>'],
  ['[]', '<value><array><data></data></array></value>'],
  ['{}', '<value><struct></struct></value>'],
  ['[1, "a", [true, {}], null]', '<value><array><data><value><int>1</int></value><value><string>a</string></value>' +
   '<value><array><data><value><boolean>1</boolean></value><value><struct></struct></value></data></array></value>' +
   '<value><nil/></value></data></array></value>'],
  ['{name: "web", memory: 524288, nested: {list: [1.5, null], "a&b": "<x>"}}',
   '<value><struct><member><name>name</name><value><string>web</string></value></member>' +
   '<member><name>memory</name><value><int>524288</int></value></member>' +
   '<member><name>nested</name><value><struct><member><name>list</name><value><array><data>' +
   '<value><double>1.5</double></value><value><nil/></value></data></array></value></member>' +
   '<member><name>a&amp;b</name><value><string>&lt;x&gt;</string></value></member></struct></value></member>' +
   '</struct></value>'],
  ['Object.assign(Object.create(null), {a: 1})', '<value><struct><member><name>a</name><value><int>1</int></value></member></struct></value>'],
  ['JSON.parse(\'{"__proto__": 1}\')', '<value><struct><member><name>__proto__</name><value><int>1</int></value></member></struct></value>'],
  ['(() => { const o = {a: 1}; return [o, o]; })()', '<value><array><data>' +
   '<value><struct><member><name>a</name><value><int>1</int></value></member></struct></value>'.repeat(2) + '</data></array></value>'],
];

// JS expressions encodeCall (or i8()/double()) must refuse with a TypeError.
const REFUSE = [
  'NaN', 'Infinity', '-Infinity', 'X.double(NaN)', 'X.double(Infinity)', 'X.double("x")',
  '"a\\u0000b"', '"bell \\u0007"', '"esc \\u001b"', '"\\u007f ok but \\u0008 not"', '"lone \\uD800 high"', '"lone \\uDC00 low"',
  '"\\uFFFE"', '"\\uFFFF"', '{["key\\u0001"]: 1}',
  '2n ** 63n', '-(2n ** 63n) - 1n', 'X.i8("abc")', 'X.i8(1.5)', 'X.i8(2 ** 63)', 'X.i8("9223372036854775808")',
  '(() => { const a = [1]; a.push(a); return a; })()', '(() => { const o = {}; o.self = {up: o}; return o; })()',
  '() => 1', 'Symbol("s")', 'new Map()', 'new Set()', '/re/', 'new Date(NaN)',
  'new Date(Date.UTC(10000, 0, 1))', 'new Date("-000001-01-01T00:00:00Z")', 'new (class Point { constructor() { this.x = 1; } })()',
];

// [the <value> of a methodResponse, JS expression of what decodeResponse returns]
const DECODE = [
  ['<value><int>42</int></value>', '42'],
  ['<value><i4>-7</i4></value>', '-7'],
  ['<value><int>+5</int></value>', '5'],
  ['<value><int>2147483647</int></value>', '2147483647'],
  ['<value><int>-2147483648</int></value>', '-2147483648'],
  ['<value><i8>2147483648</i8></value>', '2147483648'],
  ['<value><i8>9007199254740991</i8></value>', '9007199254740991'],
  ['<value><i8>-9007199254740991</i8></value>', '-9007199254740991'],
  ['<value><i8>9007199254740992</i8></value>', '9007199254740992n'],
  ['<value><i8>-9007199254740992</i8></value>', '-9007199254740992n'],
  ['<value><i8>9223372036854775807</i8></value>', '9223372036854775807n'],
  ['<value><i8>-9223372036854775808</i8></value>', '-9223372036854775808n'],
  ['<value><ex:i8 xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions">12</ex:i8></value>', '12'],
  ['<value><boolean>1</boolean></value>', 'true'],
  ['<value><boolean>0</boolean></value>', 'false'],
  ['<value><double>1.5</double></value>', '1.5'],
  ['<value><double>-0.25</double></value>', '-0.25'],
  ['<value><double>3</double></value>', '3'],
  ['<value><double>.5</double></value>', '0.5'],
  ['<value><double>1e+100</double></value>', '1e100'],
  ['<value><double>0.30000000000000004</double></value>', '0.1 + 0.2'],
  ['<value><string>hello</string></value>', '"hello"'],
  ['<value><string></string></value>', '""'],
  ['<value><string/></value>', '""'],
  ['<value><string>a &amp; b &lt;c&gt; &quot;q&quot; &apos;s&apos; &#13;&#10;&#x1F40E;</string></value>', '"a & b <c> \\"q\\" \'s\' \\r\\n🐎"'],
  ['<value><string>Grüße, žluťoučký kůň 🐎 日本</string></value>', '"Grüße, žluťoučký kůň 🐎 日本"'],
  ['<value><string><![CDATA[<x>&]]></string></value>', '"<x>&"'],
  ['<value><string>  spaced\t</string></value>', '"  spaced\\t"'],
  ['<value>untyped  text</value>', '"untyped  text"'],
  ['<value></value>', '""'],
  ['<value/>', '""'],
  ['<value><dateTime.iso8601>20240229T13:05:09</dateTime.iso8601></value>', 'new Date(Date.UTC(2024, 1, 29, 13, 5, 9))'],
  ['<value><dateTime.iso8601>00050102T03:04:05</dateTime.iso8601></value>', 'new Date("0005-01-02T03:04:05Z")'],
  ['<value><dateTime.iso8601>20161231T23:59:60</dateTime.iso8601></value>', 'new Date(Date.UTC(2017, 0, 1))'],
  ['<value><base64>aGk=</base64></value>', 'new Uint8Array([104, 105])'],
  ['<value><base64>\n  aG\r\n k=\t\n</base64></value>', 'new Uint8Array([104, 105])'],
  ['<value><base64></base64></value>', 'new Uint8Array(0)'],
  [`<value><base64>${ALL_BYTES_B64.match(/.{1,76}/g).join('\n')}</base64></value>`, ALL_BYTES],
  ['<value><nil/></value>', 'null'],
  ['<value><ex:nil xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions"/></value>', 'null'],
  ['<value><array><data></data></array></value>', '[]'],
  ['<value><struct></struct></value>', '{}'],
  ['<value><array><data><value><int>1</int></value><value>two</value><value><array><data><value><struct>' +
   '<member><name>k</name><value><nil/></value></member></struct></value></data></array></value></data></array></value>',
   '[1, "two", [{k: null}]]'],
  ['<value><struct><member><name>name</name><value><string>web</string></value></member>' +
   '<member><value><int>2</int></value><name>vcpus</name></member>' +
   '<member><name>a &amp; b</name><value><struct><member><name></name><value><boolean>0</boolean></value></member></struct></value></member></struct></value>',
   '{name: "web", vcpus: 2, "a & b": {"": false}}'],
  // Python's xmlrpc.client lays replies out on lines; comments are skipped.
  ['\n  <value>\n    <struct>\n      <member>\n        <name>a</name>\n        <value><int>1</int></value>\n' +
   '      </member>\n      <!-- a comment -->\n    </struct>\n  </value>\n', '{a: 1}'],
];

// Bodies decodeResponse must refuse as malformed: [name, body, what the message says]
const M = (frag) => `<?xml version="1.0"?><methodResponse><params><param>${frag}</param></params></methodResponse>`;
const FAULT = (members) => `<?xml version="1.0"?><methodResponse><fault><value><struct>${members}</struct></value></fault></methodResponse>`;
const MEMBER = (n, v) => `<member><name>${n}</name><value>${v}</value></member>`;
const MALFORMED = [
  ['empty body', ''],
  ['plain text', 'Internal error'],
  ['HTML page', '<html><body><p>hi</p></body></html>'],
  ['not well-formed (parsererror)', M('<value><int>1</int></value>').replace('</params>', ''), /well-formed/],
  ['mismatched tags (parsererror)', M('<value><int>1</string></value>'), /well-formed/],
  ['undeclared entity (parsererror)', M('<value><string>&nbsp;</string></value>'), /well-formed/],
  ['content after the document (parsererror)', M('<value><int>1</int></value>') + '<more/>', /well-formed/],
  ['DOCTYPE with an entity', '<?xml version="1.0"?><!DOCTYPE methodResponse [<!ENTITY x "boom">]>' +
                             M('<value><string>&x;</string></value>').replace('<?xml version="1.0"?>', ''), /DOCTYPE/],
  ['plain DOCTYPE', '<!DOCTYPE methodResponse>' + M('<value><int>1</int></value>').replace('<?xml version="1.0"?>', ''), /DOCTYPE/],
  ['a methodCall', '<?xml version="1.0"?><methodCall><methodName>x</methodName><params></params></methodCall>'],
  ['empty methodResponse', '<methodResponse></methodResponse>'],
  ['no <param>', '<methodResponse><params></params></methodResponse>'],
  ['two <param>s', '<methodResponse><params><param><value>a</value></param><param><value>b</value></param></params></methodResponse>'],
  ['params and fault', '<methodResponse><params><param><value>a</value></param></params><fault><value>x</value></fault></methodResponse>'],
  ['<param> without <value>', '<methodResponse><params><param></param></params></methodResponse>'],
  ['text in <params>', '<methodResponse><params>x<param><value>a</value></param></params></methodResponse>'],
  ['unknown type <float>', M('<value><float>1.5</float></value>')],
  ['unknown element in <struct>', M('<value><struct><item/></struct></value>')],
  ['two typed elements in <value>', M('<value><int>1</int><int>2</int></value>')],
  ['text beside a typed element', M('<value>x<int>1</int></value>')],
  ['element inside <string>', M('<value><string><b>x</b></string></value>')],
  ['<int> with letters', M('<value><int>12a</int></value>')],
  ['<int> with spaces', M('<value><int> 5</int></value>')],
  ['empty <int>', M('<value><int></int></value>')],
  ['<int> 2^31', M('<value><int>2147483648</int></value>')],
  ['<i4> below int32', M('<value><i4>-2147483649</i4></value>')],
  ['<i8> 2^63', M('<value><i8>9223372036854775808</i8></value>')],
  ['<i8> below int64', M('<value><i8>-9223372036854775809</i8></value>')],
  ['<i8> as a decimal', M('<value><i8>1.0</i8></value>')],
  ['<boolean> true', M('<value><boolean>true</boolean></value>')],
  ['<boolean> 2', M('<value><boolean>2</boolean></value>')],
  ['<double> NaN', M('<value><double>NaN</double></value>')],
  ['<double> inf', M('<value><double>inf</double></value>')],
  ['<double> 1e999', M('<value><double>1e999</double></value>')],
  ['<double> 0x10', M('<value><double>0x10</double></value>')],
  ['empty <double>', M('<value><double></double></value>')],
  ['<dateTime> with dashes', M('<value><dateTime.iso8601>2024-02-29T13:05:09</dateTime.iso8601></value>')],
  ['<dateTime> with a zone', M('<value><dateTime.iso8601>20240229T13:05:09Z</dateTime.iso8601></value>')],
  ['<dateTime> 29 Feb of 2023', M('<value><dateTime.iso8601>20230229T00:00:00</dateTime.iso8601></value>')],
  ['<dateTime> month 13', M('<value><dateTime.iso8601>20241301T00:00:00</dateTime.iso8601></value>')],
  ['<dateTime> hour 24', M('<value><dateTime.iso8601>20240101T24:00:00</dateTime.iso8601></value>')],
  ['<dateTime> day 0', M('<value><dateTime.iso8601>20240100T10:00:00</dateTime.iso8601></value>')],
  ['<base64> bad padding', M('<value><base64>a===</base64></value>')],
  ['<base64> missing padding', M('<value><base64>aGk</base64></value>')],
  ['<base64> bad characters', M('<value><base64>aG!k</base64></value>')],
  ['<nil> with text', M('<value><nil>x</nil></value>')],
  ['duplicate struct member', M(`<value><struct>${MEMBER('a', '<int>1</int>')}${MEMBER('a', '<int>2</int>')}</struct></value>`), /duplicate member 'a'/],
  ['member without value', M('<value><struct><member><name>a</name></member></struct></value>')],
  ['member with two names', M('<value><struct><member><name>a</name><name>b</name><value>x</value></member></struct></value>')],
  ['<array> without <data>', M('<value><array><value>x</value></array></value>')],
  ['<data> holding a non-value', M('<value><array><data><int>1</int></data></array></value>')],
  ['bad value deep inside', M(`<value><array><data><value><struct>${MEMBER('x', '<int>x</int>')}</struct></value></data></array></value>`)],
  ['fault without faultString', FAULT(MEMBER('faultCode', '<int>3</int>'))],
  ['fault with a string code', FAULT(MEMBER('faultCode', '<string>3</string>') + MEMBER('faultString', 'x'))],
  ['fault with an extra member', FAULT(MEMBER('faultCode', '<int>3</int>') + MEMBER('faultString', 'x') + MEMBER('more', 'y'))],
  ['fault that is not a struct', '<methodResponse><fault><value><string>oops</string></value></fault></methodResponse>'],
];

async function unitTests(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(ORIGIN + '/');
  const ready = await page.waitForFunction(() => window.ready === true, null, { timeout: 10000 })
    .then(() => true, () => false);
  if (!check('module loads in the page', ready, errors.join('; ') || 'window.ready never set'))
    return;

  // -- encoding, value by value --
  await tableChecks(page, ([table, head, tail]) => table.map(([expr, want]) => {
    let got;
    try { got = X.encodeCall('m', [H.value(expr)]); } catch (e) { return ['encode ' + expr.slice(0, 60), e.name + ': ' + e.message]; }
    const exp = head + '<param>' + want + '</param>' + tail;
    return ['encode ' + expr.slice(0, 60), got === exp || 'got ' + got.slice(head.length, head.length + 300)];
  }), [ENCODE, CALL_HEAD, CALL_TAIL]);

  await pageCheck(page, 'encodeCall: the whole document, several params and none', () => {
    const none = X.encodeCall('daemon.version', []);
    const two = X.encodeCall('domain.set_memory', ['web', 262144]);
    const dflt = X.encodeCall('system.listMethods');
    return (none === '<?xml version="1.0" encoding="UTF-8"?>\n<methodCall><methodName>daemon.version</methodName><params></params></methodCall>\n' &&
            two === '<?xml version="1.0" encoding="UTF-8"?>\n<methodCall><methodName>domain.set_memory</methodName><params>' +
                    '<param><value><string>web</string></value></param><param><value><int>262144</int></value></param></params></methodCall>\n' &&
            dflt.includes('<params></params>')) || [none, two, dflt].join(' | ');
  });

  await tableChecks(page, (table) => table.map((expr) => {
    let err = null;
    try { X.encodeCall('m', [H.value(expr)]); } catch (e) { err = e; }
    return ['refuse ' + expr.slice(0, 60), (err instanceof TypeError) || (err ? err.name + ': ' + err.message : 'encoded without error')];
  }), REFUSE);

  await pageCheck(page, 'refuse bad method names', () => {
    const bad = ['', 'has space', 'a<b', 'x'.repeat(257), 5, null, 'ünicode'];
    const took = bad.filter((m) => { try { X.encodeCall(m, []); return true; } catch (e) { return !(e instanceof TypeError); } });
    return took.length === 0 || 'accepted ' + JSON.stringify(took);
  });

  await pageCheck(page, 'a TypeError names the bad character', () => {
    try { X.encodeCall('m', ['ok\u0001']); } catch (e) { return /U\+0001/.test(e.message) || e.message; }
    return 'no error';
  });

  // -- decoding --
  await tableChecks(page, (table) => table.map(([frag, expr]) => {
    const name = 'decode ' + frag.replace(/\s+/g, ' ').slice(0, 70);
    try { return [name, H.same(X.decodeResponse(H.response(frag)), H.value(expr))]; } catch (e) { return [name, e.name + ': ' + e.message]; }
  }), DECODE);

  await pageCheck(page, 'decode: a member named __proto__ is an own member, the prototype stays', () => {
    const r = X.decodeResponse(H.response('<value><struct><member><name>__proto__</name><value><struct>' +
      '<member><name>polluted</name><value><boolean>1</boolean></value></member></struct></value></member>' +
      '<member><name>constructor</name><value><int>1</int></value></member></struct></value>'));
    return (Object.getPrototypeOf(r) === Object.prototype && Object.hasOwn(r, '__proto__') &&
            r.__proto__.polluted === true && r.polluted === undefined && r.constructor === 1 &&
            ({}).polluted === undefined && JSON.stringify(Object.keys(r)) === '["__proto__","constructor"]') ||
           'got ' + H.show(r) + ', prototype ' + (Object.getPrototypeOf(r) === Object.prototype ? 'Object' : 'other');
  });

  await pageCheck(page, 'decode: structs are plain objects, results fresh each time', () => {
    const text = H.response('<value><struct><member><name>a</name><value><array><data></data></array></value></member></struct></value>');
    const a = X.decodeResponse(text), b = X.decodeResponse(text);
    return (a !== b && a.a !== b.a && a instanceof Object && Array.isArray(a.a)) || 'shared or odd objects';
  });

  await tableChecks(page, (table) => table.map(([name, body, says]) => {
    let err = null;
    try { X.decodeResponse(body); } catch (e) { err = e; }
    const r = H.isError(err, 'malformed', 200);
    if (r !== true) return ['malformed: ' + name, r];
    if (body && err.message.includes(body.slice(0, 30))) return ['malformed: ' + name, 'message holds the raw body: ' + err.message];
    return ['malformed: ' + name, !says || new RegExp(says).test(err.message) || 'message: ' + err.message];
  }), MALFORMED.map(([n, b, re]) => [n, b, re?.source]));

  await pageCheck(page, 'decode: a fault throws XmlRpcFault with code and message', () => {
    let err = null;
    try {
      X.decodeResponse('<?xml version="1.0"?>\n<methodResponse>\n <fault>\n  <value><struct>\n' +
        '   <member><name>faultString</name><value>No domain \'x&amp;y\'</value></member>\n' +
        '   <member><name>faultCode</name><value><i4>3</i4></value></member>\n  </struct></value>\n </fault>\n</methodResponse>\n');
    } catch (e) { err = e; }
    return (err instanceof X.XmlRpcFault && err instanceof Error && !(err instanceof X.XmlRpcError) &&
            err.name === 'XmlRpcFault' && err.code === 3 && err.faultString === "No domain 'x&y'" &&
            err.message === "No domain 'x&y' (fault 3)") ||
           (err ? `${err.name} code ${err.code} faultString ${err.faultString} message ${err.message}` : 'no error');
  });

  // -- the client over (routed) HTTP --
  const user = 'jürgen', password = 'pä:ss wörd ✓';
  await pageCheck(page, 'call: echo of a string', async ([u, p]) => {
    const c = new X.XmlRpcClient('/RPC2', { user: u, password: p });
    const r = await c.call('echo', 'héllo <&>');
    return r === 'héllo <&>' || H.show(r);
  }, [user, password]);
  const req = requests.at(-1);
  check('request: POST to /RPC2', req?.path === '/RPC2', req?.path);
  check('request: Content-Type text/xml', req?.headers['content-type'] === 'text/xml', req?.headers['content-type']);
  check('request: X-Xend-Client web', req?.headers['x-xend-client'] === 'web', req?.headers['x-xend-client']);
  const wantAuth = 'Basic ' + Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
  check('request: Authorization is Basic of the UTF-8 bytes of user:password', req?.headers.authorization === wantAuth,
        `${req?.headers.authorization} instead of ${wantAuth}`);
  check('request: body is the methodCall', req?.body === '<?xml version="1.0" encoding="UTF-8"?>\n<methodCall><methodName>echo' +
        '</methodName><params><param><value><string>héllo &lt;&amp;&gt;</string></value></param></params></methodCall>\n', req?.body);
  check('request: no cookie sent', !('cookie' in (req?.headers ?? {})), req?.headers.cookie);

  await pageCheck(page, 'setCredentials(null): no Authorization; a user with ":" is refused', async () => {
    const c = new X.XmlRpcClient('/RPC2', { user: 'a', password: 'b' });
    c.setCredentials(null);
    await c.call('echo', 1);
    const e = await H.error(() => c.setCredentials('a:b', 'c'));
    return e instanceof TypeError || 'setCredentials("a:b") did not throw a TypeError';
  });
  check('request: no Authorization without a user', !('authorization' in (requests.at(-1)?.headers ?? {})),
        requests.at(-1)?.headers.authorization);

  await pageCheck(page, 'setCredentials changes the header of later calls', async () => {
    const c = new X.XmlRpcClient();
    c.setCredentials('admin', '');
    return (await c.call('echo', true)) === true || 'echo failed';
  });
  check('request: empty password still sent (admin:)', requests.at(-1)?.headers.authorization === 'Basic ' + Buffer.from('admin:').toString('base64'),
        requests.at(-1)?.headers.authorization);

  // Round trips: what the page sends comes back as the same value.
  const ROUNDTRIP = ['"text &<> \\r\\n\\t 🐎"', '""', 'true', 'false', '0', '-2147483648', '2147483647', '2147483648',
    'Number.MAX_SAFE_INTEGER', 'Number.MIN_SAFE_INTEGER', '9223372036854775807n', '-9223372036854775808n', '2n ** 53n',
    '1.5', '-1e-300', '1e300', '0.1 + 0.2', 'new Date(Date.UTC(2038, 0, 19, 3, 14, 8))', ALL_BYTES, 'new Uint8Array(0)',
    'null', '[]', '{}', '[[[]], {a: {b: {c: [1, "x", null]}}}]', 'JSON.parse(\'{"__proto__": {"x": 1}, "": ""}\')',
    '{name: "db", memory: 2 ** 40, cpu_time: 12.5, autostart: false, start_time: new Date(Date.UTC(2024, 5, 1)), devices: [{type: "disk", path: "/var/lib/x.img"}]}'];
  await tableChecks(page, async (table) => {
    const c = new X.XmlRpcClient();
    const out = [];
    for (const expr of table) {
      const name = 'round trip ' + expr.slice(0, 60);
      try {
        const v = H.value(expr);
        const want = typeof v === 'bigint' && Number.isSafeInteger(Number(v)) ? Number(v) : v;
        out.push([name, H.same(await c.call('echo', v), want)]);
      } catch (e) { out.push([name, e.name + ': ' + e.message]); }
    }
    return out;
  }, ROUNDTRIP);

  await pageCheck(page, 'call: a fault is thrown as XmlRpcFault', async () => {
    const e = await H.error(() => new X.XmlRpcClient().call('fault', 42, 'Domain <web> is not running'));
    return (e instanceof X.XmlRpcFault && e.code === 42 && e.faultString === 'Domain <web> is not running' &&
            e.message === 'Domain <web> is not running (fault 42)') || (e ? e.name + ': ' + e.message : 'no error');
  });

  await pageCheck(page, 'multicall: results and faults in order, faults returned not thrown', async () => {
    const r = await new X.XmlRpcClient().multicall([['ok.one', []], ['fault.two', ['x', 1]], ['ok.three']]);
    return H.same(r, ['ok.one', new X.XmlRpcFault(3, "No domain 'fault.two'"), 'ok.three']);
  });
  check('multicall: request is system.multicall of {methodName, params} structs', requests.at(-1)?.body ===
    '<?xml version="1.0" encoding="UTF-8"?>\n<methodCall><methodName>system.multicall</methodName><params><param><value><array><data>' +
    '<value><struct><member><name>methodName</name><value><string>ok.one</string></value></member><member><name>params</name><value><array><data></data></array></value></member></struct></value>' +
    '<value><struct><member><name>methodName</name><value><string>fault.two</string></value></member><member><name>params</name><value><array><data><value><string>x</string></value><value><int>1</int></value></data></array></value></member></struct></value>' +
    '<value><struct><member><name>methodName</name><value><string>ok.three</string></value></member><member><name>params</name><value><array><data></data></array></value></member></struct></value>' +
    '</data></array></value></param></params></methodCall>\n', requests.at(-1)?.body);
  await pageCheck(page, 'multicall: the wrong number of results or an odd entry is malformed', async () => {
    const c = new X.XmlRpcClient();
    const short = await H.error(() => c.multicall([['ok.a'], ['drop']]));
    const odd = await H.error(() => c.multicall([['ok.a'], ['garbage.b']]));
    const a = H.isError(short, 'malformed', 200), b = H.isError(odd, 'malformed', 200);
    return (a === true && b === true) || `short: ${a}; odd: ${b}`;
  });
  await pageCheck(page, 'multicall: bad params refused before sending (TypeError)', async () => {
    const e1 = await H.error(() => new X.XmlRpcClient().multicall([['ok.a', 'notarray']]));
    const e2 = await H.error(() => new X.XmlRpcClient().multicall([['bad name', []]]));
    return (e1 instanceof TypeError && e2 instanceof TypeError) || `${e1} / ${e2}`;
  });

  // -- HTTP errors: kind and status, the daemon's one-line message, never an XML body --
  const HTTP = [[401, 'auth', '401 Unauthorized: wrong user name or password'],
                [403, 'http', '403 Forbidden: Origin https://evil.example is not allowed'],
                [415, 'http', '415 Unsupported Media Type: Content-Type must be text/xml'],
                [500, 'http', '500 Internal Server Error: out of memory'],
                [502, 'http', null], [503, 'http', null]];
  for (const [status, kind, message] of HTTP) {
    await pageCheck(page, `HTTP ${status} -> XmlRpcError ${kind}, ${message ? 'the body\'s first line' : 'no raw body'}`,
      async ([s, k, m]) => {
        const e = await H.error(() => new X.XmlRpcClient('/status/' + s).call('daemon.version'));
        const r = H.isError(e, k, s);
        if (r !== true) return r;
        if (m !== null) return e.message === m || 'message ' + JSON.stringify(e.message);
        return (e.message.startsWith('HTTP ' + s) && !e.message.includes('<')) || 'message ' + JSON.stringify(e.message);
      }, [status, kind, message]);
  }

  for (const name of Object.keys(RAW)) {
    await pageCheck(page, `200 with a ${name} body -> malformed`, async (n) =>
      H.isError(await H.error(() => new X.XmlRpcClient('/raw/' + n).call('daemon.version')), 'malformed', 200), name);
  }

  // -- no reply --
  await pageCheck(page, 'dropped connection -> kind network, status 0', async () =>
    H.isError(await H.error(() => new X.XmlRpcClient('/drop').call('daemon.version')), 'network', 0));
  await pageCheck(page, 'connection refused -> kind network', async () =>
    H.isError(await H.error(() => new X.XmlRpcClient('http://127.0.0.1:9/RPC2').call('daemon.version')), 'network', 0));
  await pageCheck(page, 'callWith timeoutMs -> kind timeout, status 0, in time', async () => {
    const t0 = performance.now();
    const e = await H.error(() => new X.XmlRpcClient('/hang').callWith({ timeoutMs: 300 }, 'event.next', 0, 60000));
    const ms = performance.now() - t0;
    const r = H.isError(e, 'timeout', 0);
    return r !== true ? r : (ms >= 250 && ms < 5000) || `took ${ms} ms`;
  });
  await pageCheck(page, 'constructor timeoutMs is the default limit', async () => {
    const c = new X.XmlRpcClient('/hang', { timeoutMs: 200 });
    return H.isError(await H.error(() => c.call('daemon.version')), 'timeout', 0);
  });
  await pageCheck(page, 'caller\'s AbortSignal -> kind abort, status 0', async () => {
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 100);
    const t0 = performance.now();
    const e = await H.error(() => new X.XmlRpcClient('/hang').callWith({ signal: ctl.signal }, 'daemon.version'));
    const r = H.isError(e, 'abort', 0);
    return r !== true ? r : performance.now() - t0 < 5000 || 'abort took too long';
  });
  const before = requests.length;
  await pageCheck(page, 'an already aborted signal sends nothing', async () => {
    const ctl = new AbortController();
    ctl.abort();
    return H.isError(await H.error(() => new X.XmlRpcClient('/RPC2').callWith({ signal: ctl.signal }, 'echo', 1)), 'abort', 0);
  });
  await pageCheck(page, 'a value that cannot be encoded rejects with TypeError, sends nothing', async () => {
    const e = await H.error(() => new X.XmlRpcClient('/RPC2').call('echo', NaN));
    return e instanceof TypeError || (e ? e.name + ': ' + e.message : 'no error');
  });
  check('nothing sent for the refused calls', requests.length === before, `${requests.length - before} requests`);
}

// ---- against the live daemon ----

async function liveTests(browser) {
  const context = await newContext(browser);
  const page = await context.newPage();
  const base = new URL(env.url);
  // The document and the module come from this tree (so the daemon's static files are not
  // what is tested here); every POST /RPC2 goes to the daemon, from the daemon's origin.
  await page.route(base.href, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: PAGE }));
  await page.route(new URL('/js/xmlrpc.js', base).href, (route) =>
    route.fulfill({ status: 200, contentType: 'text/javascript', body: fs.readFileSync(MODULE_FILE) }));
  const challenges = [];
  page.on('response', async (r) => {
    if (r.status() === 401) challenges.push((await r.allHeaders())['www-authenticate'] ?? '');
  });
  await page.goto(base.href);
  await page.waitForFunction(() => window.ready === true);
  const creds = { user: env.user, password: env.password, ro: env.roUser, roPassword: env.roPassword };

  await pageCheck(page, 'live: daemon.version', async (c) => {
    const v = await new X.XmlRpcClient('/RPC2', c).call('daemon.version');
    return (v.product === 'xend' && v.api === '1.0' && typeof v.api_major === 'number' && Array.isArray(v.drivers)) || H.show(v);
  }, creds);
  await pageCheck(page, 'live: multicall mixes results and a NO_DOMAIN fault', async (c) => {
    const r = await new X.XmlRpcClient('/RPC2', c).multicall([
      ['daemon.version', []], ['domain.lookup', ['no-such-domain-xmlrpc-unit']], ['domain.list', [{ fields: ['name', 'state'] }]]]);
    return (r.length === 3 && r[0].product === 'xend' && r[1] instanceof X.XmlRpcFault && r[1].code === 3 &&
            Array.isArray(r[2]) && r[2].every((d) => typeof d.name === 'string' && typeof d.state === 'string')) || H.show(r);
  }, creds);
  await pageCheck(page, 'live: domain.lookup of a missing name -> XmlRpcFault 3 (NO_DOMAIN)', async (c) => {
    const e = await H.error(() => new X.XmlRpcClient('/RPC2', c).call('domain.lookup', 'no-such-domain-xmlrpc-unit'));
    return (e instanceof X.XmlRpcFault && e.code === 3 && e.faultString.length > 0 && !e.message.includes('<')) ||
           (e ? e.name + ': ' + e.message : 'no error');
  }, creds);
  await pageCheck(page, 'live: event.next long poll with its own timeout', async (c) => {
    const client = new X.XmlRpcClient('/RPC2', c);
    const id = await client.call('event.current_id');
    const t0 = performance.now();
    const r = await client.callWith({ timeoutMs: 10000 }, 'event.next', id, 300);
    return (typeof id === 'number' && Array.isArray(r.events) && typeof r.last_id === 'number' &&
            performance.now() - t0 < 9000) || H.show(r);
  }, creds);
  if (env.roUser) {
    await pageCheck(page, 'live: a read-only user calling a write method -> fault 4 (ACCESS_DENIED)', async (c) => {
      const e = await H.error(() => new X.XmlRpcClient('/RPC2', { user: c.ro, password: c.roPassword })
        .call('domain.pause', 'no-such-domain-xmlrpc-unit'));
      return (e instanceof X.XmlRpcFault && e.code === 4) || (e ? e.name + ': ' + e.message : 'no error');
    }, creds);
  }
  await pageCheck(page, 'live: wrong password -> kind auth, status 401, one-line message', async (c) => {
    const e = await H.error(() => new X.XmlRpcClient('/RPC2', { user: c.user, password: c.password + 'x' }).call('daemon.version'));
    const r = H.isError(e, 'auth', 401);
    return r !== true ? r : (!e.message.includes('\n') && !e.message.includes('<') && e.message.length > 0) || e.message;
  }, creds);
  await pageCheck(page, 'live: no credentials -> kind auth', async () =>
    H.isError(await H.error(() => new X.XmlRpcClient('/RPC2').call('daemon.version')), 'auth', 401));
  check('live: the 401s carry no Basic challenge (no browser login dialog)',
        challenges.length > 0 && challenges.every((c) => !/^\s*basic\b/i.test(c)), challenges);
  await context.close();
}

async function main() {
  let browser;
  try {
    browser = await launchBrowser();
  } catch (e) {
    check('launch chromium', false, e.message);
    summary();
    return;
  }
  try {
    const context = await newContext(browser);
    await context.route(ORIGIN + '/**', serveFake);
    const page = await context.newPage();
    await step('unit tests', () => unitTests(page));
    for (const route of hanging.splice(0))
      await route.abort('timedout').catch(() => {});
    await context.close();
    if (env.url)
      await step('live tests', () => liveTests(browser));
    else
      console.log('# live part skipped (XEND_WEB_URL is not set)');
  } finally {
    await browser.close();
  }
  summary();
}

await main();
