#!/usr/bin/env python3
"""Regenerate the seed corpora under fuzz/corpus/ (committed; run this only to change them).

usage: fuzz/make-corpus.py   (from anywhere; writes next to this script)

Seeds are small on purpose: libFuzzer mutates them, so each one should show one feature or
one hostile construct. A leading byte below 8 selects a tight-limit decoder profile in the
codec targets (see fuzz-common.h); a few seeds carry one.
"""
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
DECL = b'<?xml version="1.0"?>\n'


def call(name, *params, decl=True):
    body = b"<methodCall><methodName>" + name + b"</methodName>"
    if params:
        body += b"<params>" + b"".join(b"<param>" + p + b"</param>" for p in params) + b"</params>"
    body += b"</methodCall>\n"
    return (DECL if decl else b"") + body


def resp(value):
    return DECL + b"<methodResponse><params><param>" + value + b"</param></params></methodResponse>\n"


def fault(code, msg):
    return DECL + (b"<methodResponse><fault><value><struct>"
                   b"<member><name>faultCode</name><value><int>" + code + b"</int></value></member>"
                   b"<member><name>faultString</name><value><string>" + msg +
                   b"</string></value></member></struct></value></fault></methodResponse>\n")


def v(inner):
    return b"<value>" + inner + b"</value>"


def member(name, value):
    return b"<member><name>" + name + b"</name>" + value + b"</member>"


def struct(*members):
    return v(b"<struct>" + b"".join(members) + b"</struct>")


def array(*values):
    return v(b"<array><data>" + b"".join(values) + b"</data></array>")


def vm(i):
    return struct(member(b"name", v(b"<string>vm%d</string>" % i)),
                  member(b"uuid", v(b"<string>4dea22b3-1d52-d8f3-2516-782e98a2%04x</string>" % i)),
                  member(b"state", v(b"<string>running</string>")),
                  member(b"os_type", v(b"<string>hvm</string>")),
                  member(b"id", v(b"<int>%d</int>" % i)),
                  member(b"memory", v(b"<i4>524288</i4>")),
                  member(b"cpu_time", v(b"<double>12.5</double>")),
                  member(b"persistent", v(b"<boolean>1</boolean>")))


def nest(depth, kind):
    x = v(b"<int>1</int>")
    for _ in range(depth):
        x = array(x) if kind == "array" else struct(member(b"a", x))
    return x


BOMB = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                   for i in range(1, 10))
        + b']>\n')

SCALARS = {
    b"int": v(b"<int>42</int>"),
    b"i4-signs": v(b"<i4>-007</i4>"),
    b"int-plus": v(b"<int>+2147483647</int>"),
    b"int-min": v(b"<int>-2147483648</int>"),
    b"i8": v(b"<i8>-9223372036854775808</i8>"),
    b"bool": v(b"<boolean>0</boolean>"),
    b"string": v(b"<string>a &lt;b&gt; &amp; &quot;c&quot; &#x20AC; &#233; \xc3\xa9 \xf0\x9f\x98\x80</string>"),
    b"string-cdata": v(b"<string><![CDATA[<raw> & stuff]]></string>"),
    b"string-ws": v(b"<string>  tab\there\r\nline&#13;&#10;</string>"),
    b"untyped": v(b"plain text"),
    b"empty-value": v(b""),
    b"empty-string": v(b"<string/>"),
    b"double": v(b"<double>-1234.5678</double>"),
    b"double-int": v(b"<double>3</double>"),
    b"datetime": v(b"<dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>"),
    b"base64": v(b"<base64>aGVsbG8g\nd29ybGQ=</base64>"),
    b"base64-empty": v(b"<base64></base64>"),
    b"nil": v(b"<nil/>"),
    b"ex-nil": v(b"<ex:nil/>"),
    b"ex-i8": v(b"<ex:i8>1099511627776</ex:i8>"),
    b"empty-array": array(),
    b"empty-struct": struct(),
    b"nested": struct(member(b"list", array(v(b"<int>1</int>"), v(b"x"), struct(member(b"k", v(b"<nil/>"))))),
                      member(b"empty", v(b"<string></string>"))),
}

NASTY_CALLS = {
    b"doctype": b'<?xml version="1.0"?>\n<!DOCTYPE methodCall SYSTEM "x.dtd">' + call(b"a", decl=False),
    b"entity-bomb": BOMB + call(b"a", v(b"<string>&lol9;</string>"), decl=False),
    b"xxe": (b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
             + call(b"a", v(b"&x;"), decl=False)),
    b"deep-array": call(b"a", nest(70, "array")),
    b"deep-struct": call(b"a", nest(40, "struct")),
    b"invalid-utf8": call(b"a", v(b"<string>\xc3\x28 \xed\xa0\x80 \xff</string>")),
    b"overlong-utf8": call(b"a", v(b"<string>\xc0\xaf</string>")),
    b"truncated": call(b"a", v(b"<string>abc</string>"))[:60],
    b"unknown-element": call(b"a", v(b"<float>1.5</float>")),
    b"dup-member": call(b"a", struct(member(b"x", v(b"1")), member(b"x", v(b"2")))),
    b"int-overflow": call(b"a", v(b"<int>2147483648</int>")),
    b"i8-overflow": call(b"a", v(b"<i8>9223372036854775808</i8>")),
    b"double-exp": call(b"a", v(b"<double>1e10</double>")),
    b"double-nan": call(b"a", v(b"<double>NaN</double>")),
    b"double-huge": call(b"a", v(b"<double>" + b"9" * 400 + b".0</double>")),
    b"int-space": call(b"a", v(b"<int> 1</int>")),
    b"bool-2": call(b"a", v(b"<boolean>2</boolean>")),
    b"bad-base64": call(b"a", v(b"<base64>!!!=</base64>")),
    b"bad-datetime": call(b"a", v(b"<dateTime.iso8601>19981317T25:61:61</dateTime.iso8601>")),
    b"two-names": b"<methodCall><methodName>a</methodName><methodName>b</methodName></methodCall>",
    b"no-name": b"<methodCall><params/></methodCall>",
    b"bad-name": call(b"a b<&amp;>"),
    b"two-values": call(b"a", v(b"<int>1</int>") + v(b"<int>2</int>")),
    b"two-types": call(b"a", v(b"<int>1</int><string>x</string>")),
    b"control-char": call(b"a", v(b"<string>&#1;</string>")),
    b"fffe": call(b"a", v(b"<string>&#xFFFE;</string>")),
    b"nul-byte": call(b"a", v(b"<string>a\x00b</string>")),
    b"encoding-latin1": b'<?xml version="1.0" encoding="ISO-8859-1"?>' + call(b"a", v(b"caf\xe9"), decl=False),
    b"encoding-utf16": b'<?xml version="1.0" encoding="UTF-16"?>' + call(b"a", decl=False),
    b"bom": b"\xef\xbb\xbf" + call(b"a"),
    b"comment-pi": b"<?xml version='1.0'?><!-- c --><?pi x?>" + call(b"a", v(b"<!--x-->y"), decl=False),
    b"namespace": b'<methodCall xmlns="urn:x"><methodName>a</methodName></methodCall>',
    b"attributes": b'<methodCall id="1"><methodName>a</methodName><params><param><value type="x">1</value></param></params></methodCall>',
    b"trailing-garbage": call(b"a") + b"<x/>",
    b"response-as-call": resp(v(b"<int>1</int>")),
    b"member-no-value": call(b"a", v(b"<struct><member><name>x</name></member></struct>")),
    b"array-no-data": call(b"a", v(b"<array></array>")),
    b"text-between": call(b"a", v(b"<array>junk<data>more<value>1</value></data></array>")),
}


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gen_calls():
    t = "fuzz-decode-call"
    for k, val in SCALARS.items():
        write(t, "call-" + k.decode(), call(b"echo", val))
    write(t, "call-noparams", call(b"daemon.version"))
    write(t, "call-emptyparams", b"<methodCall><methodName>system.listMethods</methodName><params></params></methodCall>")
    write(t, "call-many-types", call(b"validator1.manyTypesTest", SCALARS[b"int"], SCALARS[b"bool"],
                                     SCALARS[b"string"], SCALARS[b"double"], SCALARS[b"datetime"],
                                     SCALARS[b"base64"]))
    write(t, "call-multicall", call(b"system.multicall", array(
        struct(member(b"methodName", v(b"daemon.version")), member(b"params", array())),
        struct(member(b"methodName", v(b"system.methodHelp")), member(b"params", array(v(b"daemon.version")))))))
    write(t, "call-vmlist-arg", call(b"vm.define", array(*[vm(i) for i in range(3)])))
    write(t, "call-whitespace", b"<?xml version='1.0'?>\n<methodCall>\n  <methodName>a.b</methodName>\n"
                                b"  <params>\n    <param>\n      <value><int>1</int></value>\n    </param>\n"
                                b"  </params>\n</methodCall>\n")
    for k, val in NASTY_CALLS.items():
        write(t, "bad-" + k.decode(), val)
    # Tight-limit profiles (first byte < 8).
    write(t, "limits0-nested", b"\x00" + call(b"a", SCALARS[b"nested"]))
    write(t, "limits2-string", b"\x02" + call(b"a", SCALARS[b"string"]))
    write(t, "limits5-deep", b"\x05" + call(b"a", nest(9, "array")))
    write(t, "limits7-multicall", b"\x07" + call(b"system.multicall", array(struct(
        member(b"methodName", v(b"x")), member(b"params", array(v(b"<int>1</int>")))))))


def gen_responses():
    t = "fuzz-decode-response"
    for k, val in SCALARS.items():
        write(t, "resp-" + k.decode(), resp(val))
    write(t, "resp-vmlist", resp(array(*[vm(i) for i in range(10)])))
    write(t, "resp-version", resp(struct(member(b"product", v(b"<string>xend</string>")),
                                         member(b"version", v(b"<string>0.1.0</string>")),
                                         member(b"api", v(b"<string>1.0</string>")),
                                         member(b"api_major", v(b"<int>1</int>")),
                                         member(b"api_minor", v(b"<int>0</int>")),
                                         member(b"drivers", array(v(b"<string>test</string>"))))))
    write(t, "resp-multicall", resp(array(array(v(b"<int>1</int>")), struct(
        member(b"faultCode", v(b"<int>-32601</int>")), member(b"faultString", v(b"<string>no</string>"))))))
    write(t, "fault", fault(b"3", b"domain &apos;x&apos; does not exist"))
    write(t, "fault-negative", fault(b"-32700", b"not well formed"))
    write(t, "fault-untyped", DECL + b"<methodResponse><fault><value><struct><member><name>faultString</name>"
                              b"<value>oops</value></member><member><name>faultCode</name><value><i4>2</i4>"
                              b"</value></member></struct></value></fault></methodResponse>")
    bad = {
        b"fault-extra-member": DECL + b"<methodResponse><fault><value><struct>"
            + member(b"faultCode", v(b"<int>1</int>")) + member(b"faultString", v(b"x"))
            + member(b"extra", v(b"y")) + b"</struct></value></fault></methodResponse>",
        b"fault-string-code": fault(b"abc", b"x"),
        b"fault-missing": DECL + b"<methodResponse><fault><value><struct>"
            + member(b"faultCode", v(b"<int>1</int>")) + b"</struct></value></fault></methodResponse>",
        b"fault-not-struct": DECL + b"<methodResponse><fault><value><int>1</int></value></fault></methodResponse>",
        b"params-and-fault": DECL + b"<methodResponse><params><param>" + v(b"1")
            + b"</param></params><fault>" + v(b"x") + b"</fault></methodResponse>",
        b"empty-params": DECL + b"<methodResponse><params></params></methodResponse>",
        b"two-params": DECL + b"<methodResponse><params><param>" + v(b"1") + b"</param><param>"
            + v(b"2") + b"</param></params></methodResponse>",
        b"empty": b"",
        b"call-as-response": call(b"a"),
        b"doctype": b"<!DOCTYPE methodResponse>" + resp(v(b"1"))[len(DECL):],
        b"entity-bomb": BOMB + resp(v(b"&lol9;"))[len(DECL):],
        b"deep": resp(nest(80, "array")),
        b"invalid-utf8": resp(v(b"<string>\xe2\x82</string>")),
        b"truncated": resp(array(*[vm(i) for i in range(2)]))[:400],
    }
    for k, val in bad.items():
        write(t, "bad-" + k.decode(), val)
    write(t, "limits1-vmlist", b"\x01" + resp(array(vm(1))))
    write(t, "limits3-fault", b"\x03" + fault(b"1", b"x" * 40))
    write(t, "limits6-nested", b"\x06" + resp(SCALARS[b"nested"]))


def http(body, method=b"POST", path=b"/RPC2", headers=None, version=b"HTTP/1.1", length=True, eol=b"\r\n"):
    h = [method + b" " + path + b" " + version]
    hdrs = headers if headers is not None else [b"Host: localhost", b"User-Agent: fuzz",
                                                b"Content-Type: text/xml"]
    h += hdrs
    if length:
        h.append(b"Content-Length: %d" % len(body))
    return eol.join(h) + eol + eol + body


def chunked(body, size=16):
    out = b""
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def gen_http():
    t = "fuzz-http"
    ver = call(b"daemon.version")
    std = [b"Host: localhost", b"Content-Type: text/xml"]
    write(t, "version", http(ver))
    write(t, "version-curl", http(ver, headers=[b"Host: localhost", b"Accept: */*",
                                                b"Content-Type: text/xml", b"Expect:"]))
    write(t, "version-python", http(ver, headers=[b"Host: localhost", b"Accept-Encoding: gzip",
                                                  b"Content-Type: text/xml",
                                                  b"User-Agent: Python-xmlrpc/3.11"]))
    write(t, "keepalive-3", http(ver) + http(call(b"system.listMethods")) +
          http(call(b"system.methodHelp", v(b"daemon.version")), headers=std + [b"Connection: close"]))
    write(t, "introspection", http(call(b"system.methodSignature", v(b"daemon.version"))))
    write(t, "multicall", http(call(b"system.multicall", array(
        struct(member(b"methodName", v(b"daemon.version")), member(b"params", array())),
        struct(member(b"methodName", v(b"nope")), member(b"params", array())),
        struct(member(b"methodName", v(b"system.multicall")), member(b"params", array(array())))))))
    write(t, "capabilities", http(call(b"system.getCapabilities")))
    write(t, "unknown-method", http(call(b"no.such.method", v(b"<int>1</int>"))))
    write(t, "bad-params", http(call(b"daemon.version", v(b"<int>1</int>"))))
    write(t, "bad-xml", http(b"<methodCall><methodName>x</methodCall>"))
    write(t, "entity-bomb", http(BOMB + call(b"a", v(b"&lol9;"), decl=False)))
    write(t, "deep", http(call(b"a", nest(30, "array"))))
    write(t, "chunked", http(chunked(ver), headers=std + [b"Transfer-Encoding: chunked"], length=False))
    write(t, "chunked-ext-trailer", http(b"5;ext=1\r\n<?xml\r\n0\r\nX-Trailer: 1\r\n\r\n",
                                         headers=std + [b"Transfer-Encoding: chunked"], length=False))
    write(t, "expect-100", http(ver, headers=std + [b"Expect: 100-continue"]))
    write(t, "expect-bogus", http(ver, headers=std + [b"Expect: 200-ok"]))
    write(t, "http10", http(ver, version=b"HTTP/1.0"))
    write(t, "http10-keepalive", http(ver, version=b"HTTP/1.0", headers=std + [b"Connection: keep-alive"]) +
          http(ver, version=b"HTTP/1.0"))
    write(t, "get", http(b"", method=b"GET", path=b"/", length=False))
    write(t, "head", http(b"", method=b"HEAD"))
    # The web page's files (server_web.c): lookups, conditional GETs, odd paths.
    write(t, "web-script", http(b"", method=b"GET", path=b"/js/app.js", length=False,
                                headers=[b"Host: localhost", b"Accept: */*"]))
    write(t, "web-if-none-match", http(b"", method=b"GET", path=b"/", length=False,
                                       headers=[b"Host: x", b'If-None-Match: W/"a", "b", *']))
    write(t, "web-if-none-match-bad", http(b"", method=b"GET", path=b"/index.html", length=False,
                                           headers=[b"Host: x", b'If-None-Match: "open, W/']))
    write(t, "web-dotdot", http(b"", method=b"GET", path=b"/js/../../etc/passwd?x=1#f",
                                length=False))
    write(t, "web-head-keepalive", http(b"", method=b"HEAD", path=b"/style.css", length=False) +
          http(ver))
    write(t, "web-401-page-client", http(ver, headers=std + [b"X-Xend-Client: web",
                                                             b"Authorization: Basic Zm9vOmJhcg=="]))
    write(t, "options", http(b"", method=b"OPTIONS", path=b"*"))
    write(t, "no-content-type", http(ver, headers=[b"Host: localhost"]))
    write(t, "form-content-type", http(ver, headers=[b"Host: x", b"Content-Type: text/plain"]))
    write(t, "content-type-charset", http(ver, headers=[b"Host: x", b"Content-Type: text/xml; charset=utf-8"]))
    write(t, "no-length", http(ver, length=False))
    write(t, "length-short", http(ver)[:-20])
    write(t, "length-long", http(ver) + b"extra bytes after the body")
    write(t, "length-dup", http(ver, headers=std + [b"Content-Length: 5"]))
    write(t, "length-negative", http(ver, headers=std + [b"Content-Length: -1"], length=False))
    write(t, "length-huge", http(b"", headers=std + [b"Content-Length: 99999999999999999999"], length=False))
    write(t, "length-over-limit", http(b"<", headers=std + [b"Content-Length: 1000000"], length=False))
    write(t, "te-and-cl", http(chunked(ver), headers=std + [b"Transfer-Encoding: chunked"]))
    write(t, "te-gzip", http(ver, headers=std + [b"Transfer-Encoding: gzip"]))
    write(t, "obs-fold", http(ver, headers=[b"Host: x", b"Content-Type:", b" text/xml"]))
    write(t, "bare-lf", http(ver, eol=b"\n"))
    write(t, "lowercase", http(ver, headers=[b"host: x", b"content-type: TEXT/XML"]))
    write(t, "header-big", http(ver, headers=std + [b"X-Big: " + b"a" * 5000]))
    write(t, "header-many", http(ver, headers=std + [b"X-%d: y" % i for i in range(200)]))
    write(t, "header-no-colon", http(ver, headers=std + [b"Broken header line"]))
    write(t, "request-line-junk", b"POST\r\n\r\n")
    write(t, "request-line-long", http(ver, path=b"/" + b"p" * 5000))
    write(t, "http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    write(t, "empty", b"")
    write(t, "nul-in-header", http(ver, headers=std + [b"X-Nul: a\x00b"]))
    write(t, "invalid-utf8-body", http(call(b"a", v(b"\xff\xfe"))))
    # The TCP listener of the target asks for users (fuzz:fuzz is admin, reader:fuzz read);
    # which listener an input reaches depends on the sum of its bytes.
    good = b"Authorization: Basic ZnV6ejpmdXp6"
    write(t, "auth-good", http(ver, headers=std + [good]))
    write(t, "auth-good-write", http(call(b"domain.define", v(b"<x/>")), headers=std + [good]))
    write(t, "auth-reader-write", http(call(b"domain.start", v(b"Domain-0")),
                                       headers=std + [b"Authorization: Basic cmVhZGVyOmZ1eno="]))
    write(t, "auth-wrong", http(ver, headers=std + [b"Authorization: Basic ZnV6ejpub3Bl"]))
    write(t, "auth-not-base64", http(ver, headers=std + [b"Authorization: Basic !!!!"]))
    write(t, "auth-no-colon", http(ver, headers=std + [b"Authorization: Basic ZnV6eg=="]))
    write(t, "auth-bearer", http(ver, headers=std + [b"Authorization: Bearer abc"]))
    write(t, "auth-keepalive-change", http(ver, headers=std + [good]) +
          http(ver, headers=std + [b"Authorization: Basic ZnV6ejpub3Bl"]) + http(ver, headers=std + [good]))
    write(t, "origin-foreign", http(ver, headers=std + [good, b"Origin: https://evil.example"]))
    write(t, "origin-ours", http(ver, headers=std + [good, b"Origin: http://127.0.0.1:8006"]))
    write(t, "origin-ipv6", http(ver, headers=std + [b"Origin: http://[::1]:8006"]))


def main():
    # Only the corpora generated here; the conf targets' seeds (fuzz-domain-xml, fuzz-sxp,
    # fuzz-xmcfg) are hand-written files and stay.
    for t in ("fuzz-decode-call", "fuzz-decode-response", "fuzz-http"):
        shutil.rmtree(os.path.join(HERE, "corpus", t), ignore_errors=True)
    gen_calls()
    gen_responses()
    gen_http()


if __name__ == "__main__":
    main()
