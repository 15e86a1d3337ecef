/*
 * Method registry and dispatch (see dispatch.h). Signatures are parsed once when methods
 * are added, so each call costs a binary search and a per-parameter type comparison. The
 * system.* introspection and multicall methods are ordinary entries of every registry,
 * answered from the same table the dispatcher uses.
 */
#include "dispatch.h"

#include "util/alloc.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIG_MAX_PARAMS 16
#define SIG_MAX_ALTS 8
/* "any" in a signature (the compatibility namespace, whose old callers mixed types). */
#define SIG_ANY XMLRPC_TYPE_LAST

typedef struct {
    unsigned nparams;
    xmlrpc_type ret;
    xmlrpc_type params[SIG_MAX_PARAMS];
} signature;

typedef struct {
    const xmlrpc_method *method;
    unsigned nalts;
    signature alts[SIG_MAX_ALTS];
} entry;

struct xmlrpc_registry {
    entry *entries; /* sorted by name */
    size_t n, cap;
    const xmlrpc_method **list; /* sorted view for xmlrpc_registry_list */
    xmlrpc_method *system;      /* our copy of the system.* table (data = registry) */
    xmlrpc_audit_fn audit;      /* see xmlrpc_registry_set_audit; NULL = none */
    void *audit_data;
};

void xmlrpc_registry_set_audit(xmlrpc_registry *reg, xmlrpc_audit_fn fn, void *data)
{
    reg->audit = fn;
    reg->audit_data = data;
}

static const char *const access_names[XMLRPC_ACCESS_LAST] = {"read", "write", "admin"};

const char *xmlrpc_access_name(xmlrpc_access a)
{
    return a < XMLRPC_ACCESS_LAST ? access_names[a] : "unknown";
}

static int parse_signature(const xmlrpc_method *m, entry *e)
{
    const char *p = m->signature;
    e->nalts = 0;
    while (*p) {
        if (e->nalts == SIG_MAX_ALTS)
            goto bad;
        signature *s = &e->alts[e->nalts++];
        s->nparams = 0;
        bool first = true;
        for (;;) {
            while (*p == ' ')
                p++;
            const char *w = p;
            while (*p && *p != ' ' && *p != '|')
                p++;
            if (p == w)
                goto bad;
            char name[32];
            if ((size_t)(p - w) >= sizeof(name))
                goto bad;
            memcpy(name, w, (size_t)(p - w));
            name[p - w] = '\0';
            int t = strcmp(name, "any") == 0 ? (int)SIG_ANY : xmlrpc_type_parse(name);
            if (t < 0)
                goto bad;
            if (first) {
                s->ret = (xmlrpc_type)t;
                first = false;
            } else {
                if (s->nparams == SIG_MAX_PARAMS)
                    goto bad;
                s->params[s->nparams++] = (xmlrpc_type)t;
            }
            while (*p == ' ')
                p++;
            if (*p == '|') {
                p++;
                if (!*p)
                    goto bad; /* a trailing '|' announces an alternative that is missing */
                break;
            }
            if (!*p)
                break;
        }
    }
    if (e->nalts == 0)
        goto bad;
    return 0;
bad:
    xend_error_report(XEND_ERR_INTERNAL, "method %s has a malformed signature '%s'", m->name,
                      m->signature);
    return -1;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->method->name, ((const entry *)b)->method->name);
}

static const entry *registry_lookup(const xmlrpc_registry *reg, const char *name)
{
    size_t lo = 0, hi = reg->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, reg->entries[mid].method->name);
        if (c == 0)
            return &reg->entries[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int xmlrpc_registry_add(xmlrpc_registry *reg, const xmlrpc_method *methods, size_t n)
{
    reg->entries = xgrow(reg->entries, &reg->cap, reg->n + n, sizeof(*reg->entries));
    size_t old_n = reg->n;
    for (size_t i = 0; i < n; i++) {
        entry e = {.method = &methods[i]};
        if (parse_signature(&methods[i], &e) < 0) {
            reg->n = old_n;
            return -1;
        }
        reg->entries[reg->n++] = e;
    }
    /* Sort once; a duplicate name then sits next to its twin. */
    qsort(reg->entries, reg->n, sizeof(*reg->entries), entry_cmp);
    for (size_t i = 1; i < reg->n; i++) {
        if (strcmp(reg->entries[i - 1].method->name, reg->entries[i].method->name) == 0) {
            xend_error_report(XEND_ERR_INTERNAL, "method %s is registered twice",
                              reg->entries[i].method->name);
            /* Take this batch out again; what remains is still sorted. */
            size_t kept = 0;
            for (size_t j = 0; j < reg->n; j++)
                if (reg->entries[j].method < methods || reg->entries[j].method >= methods + n)
                    reg->entries[kept++] = reg->entries[j];
            reg->n = kept;
            return -1;
        }
    }
    free(reg->list);
    reg->list = xmalloc((reg->n ? reg->n : 1) * sizeof(*reg->list));
    for (size_t i = 0; i < reg->n; i++)
        reg->list[i] = reg->entries[i].method;
    return 0;
}

const xmlrpc_method *xmlrpc_registry_find(const xmlrpc_registry *reg, const char *name)
{
    const entry *e = registry_lookup(reg, name);
    return e ? e->method : NULL;
}

const xmlrpc_method *const *xmlrpc_registry_list(const xmlrpc_registry *reg, size_t *n)
{
    *n = reg->n;
    return reg->list;
}

static const char *sig_type_name(xmlrpc_type t)
{
    return t == SIG_ANY ? "any" : xmlrpc_type_name(t);
}

/* "int, string" for messages */
static void signature_params_text(const signature *s, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < s->nparams && off < size; i++)
        off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? ", " : "",
                                sig_type_name(s->params[i]));
    if (s->nparams == 0)
        snprintf(buf, size, "no parameters");
}

static bool type_accepts(xmlrpc_type declared, xmlrpc_type actual)
{
    return declared == actual || declared == SIG_ANY ||
           (declared == XMLRPC_I8 && actual == XMLRPC_INT);
}


/* Check params against the entry's signatures; 0 if one matches, else -1 with
 * INVALID_PARAMS reported naming the parameter. */
static int check_params(const entry *e, const xmlrpc_value *params)
{
    size_t n = params->u.a.n;
    const signature *by_count = NULL;
    for (unsigned a = 0; a < e->nalts; a++) {
        const signature *s = &e->alts[a];
        if (s->nparams != n)
            continue;
        unsigned i;
        for (i = 0; i < s->nparams; i++)
            if (!type_accepts(s->params[i], params->u.a.items[i]->type))
                break;
        if (i == s->nparams)
            return 0;
        if (!by_count)
            by_count = s;
    }
    char want[256];
    if (by_count) {
        for (unsigned i = 0; i < by_count->nparams; i++) {
            xmlrpc_type got = params->u.a.items[i]->type;
            if (!type_accepts(by_count->params[i], got)) {
                signature_params_text(by_count, want, sizeof(want));
                xend_error_report(XEND_ERR_INVALID_PARAMS,
                                  "%s: parameter %u must be %s, not %s (expects %s)",
                                  e->method->name, i + 1, sig_type_name(by_count->params[i]),
                                  xmlrpc_type_name(got), want);
                return -1;
            }
        }
    }
    /* No signature with this many parameters: list the ones that exist. */
    char all[512];
    size_t off = 0;
    all[0] = '\0';
    for (unsigned a = 0; a < e->nalts && off < sizeof(all); a++) {
        signature_params_text(&e->alts[a], want, sizeof(want));
        off += (size_t)snprintf(all + off, sizeof(all) - off, "%s(%s)", a ? " or " : "", want);
    }
    xend_error_report(XEND_ERR_INVALID_PARAMS, "%s: takes %s, but %zu parameter%s given",
                      e->method->name, all, n, n == 1 ? " was" : "s were");
    return -1;
}

xmlrpc_value xmlrpc_deferred_value = {.type = XMLRPC_NIL};

xmlrpc_value *xmlrpc_registry_call(xmlrpc_registry *reg, xmlrpc_caller *caller,
                                   const char *method, const xmlrpc_value *params)
{
    const entry *e = registry_lookup(reg, method);
    if (!e) {
        xend_error_report(XEND_ERR_METHOD_NOT_FOUND,
                          "method '%s' does not exist (system.listMethods lists the methods)",
                          method);
        return NULL;
    }
    bool audited = e->method->access > XMLRPC_ACCESS_READ && reg->audit;
    if (e->method->access > caller->max_access) {
        xend_error_report(XEND_ERR_ACCESS_DENIED,
                          "%s needs %s access; this connection only allows %s access", method,
                          xmlrpc_access_name(e->method->access),
                          xmlrpc_access_name(caller->max_access));
        if (audited)
            reg->audit(reg->audit_data, caller, e->method, params, XEND_ERR_ACCESS_DENIED);
        return NULL;
    }
    if (check_params(e, params) < 0)
        return NULL;
    xend_error_reset();
    xmlrpc_value *v = e->method->fn(caller, params, e->method->data);
    if (!v && xend_error_last()->code == 0)
        xend_error_report(XEND_ERR_INTERNAL, "%s failed without saying why", method);
    if (audited && v != XMLRPC_DEFERRED)
        reg->audit(reg->audit_data, caller, e->method, params, v ? 0 : xend_error_last()->code);
    return v;
}

/* ---- system.* ---- */

static xmlrpc_value *sys_list_methods(xmlrpc_caller *caller, const xmlrpc_value *params,
                                      void *data)
{
    (void)caller;
    (void)params;
    const xmlrpc_registry *reg = data;
    xmlrpc_value *a = xmlrpc_array();
    for (size_t i = 0; i < reg->n; i++)
        xmlrpc_array_append(a, xmlrpc_string(reg->entries[i].method->name));
    return a;
}

static const entry *sys_lookup_param(const xmlrpc_registry *reg, const xmlrpc_value *params)
{
    const char *name = params->u.a.items[0]->u.s.ptr;
    const entry *e = registry_lookup(reg, name);
    if (!e)
        xend_error_report(XEND_ERR_INVALID_ARG, "method '%s' does not exist", name);
    return e;
}

static xmlrpc_value *sys_method_help(xmlrpc_caller *caller, const xmlrpc_value *params,
                                     void *data)
{
    (void)caller;
    const entry *e = sys_lookup_param(data, params);
    if (!e)
        return NULL;
    const xmlrpc_method *m = e->method;
    char *text;
    if (m->deprecated)
        text = xasprintf("%s Since API %s. Deprecated since API %s: it stays for at least "
                         "one minor release.",
                         m->help, m->since, m->deprecated);
    else
        text = xasprintf("%s Since API %s.", m->help, m->since);
    return xmlrpc_string_take(text);
}

static xmlrpc_value *sys_method_signature(xmlrpc_caller *caller, const xmlrpc_value *params,
                                          void *data)
{
    (void)caller;
    const entry *e = sys_lookup_param(data, params);
    if (!e)
        return NULL;
    xmlrpc_value *sigs = xmlrpc_array();
    for (unsigned a = 0; a < e->nalts; a++) {
        xmlrpc_value *s = xmlrpc_array();
        xmlrpc_array_append(s, xmlrpc_string(sig_type_name(e->alts[a].ret)));
        for (unsigned i = 0; i < e->alts[a].nparams; i++)
            xmlrpc_array_append(s, xmlrpc_string(sig_type_name(e->alts[a].params[i])));
        xmlrpc_array_append(sigs, s);
    }
    return sigs;
}

static xmlrpc_value *fault_struct(int code, const char *msg)
{
    xmlrpc_value *f = xmlrpc_struct();
    xmlrpc_struct_set(f, "faultCode", xmlrpc_int(code));
    xmlrpc_struct_set(f, "faultString", xmlrpc_string(msg));
    return f;
}

static xmlrpc_value *sys_multicall(xmlrpc_caller *caller, const xmlrpc_value *params,
                                   void *data)
{
    xmlrpc_registry *reg = data;
    const xmlrpc_value *calls = params->u.a.items[0];
    /* The reply grows with the calls (a methodHelp answers several times its request), so
     * one request body could otherwise buy a reply many times max_body, built in memory. */
    if (calls->u.a.n > XMLRPC_MULTICALL_MAX) {
        xend_error_report(XEND_ERR_LIMIT,
                          "system.multicall: %zu calls in one request, at most %u; split them",
                          calls->u.a.n, XMLRPC_MULTICALL_MAX);
        return NULL;
    }
    xmlrpc_value *results = xmlrpc_array();
    for (size_t i = 0; i < calls->u.a.n; i++) {
        const xmlrpc_value *c = calls->u.a.items[i];
        const xmlrpc_value *name = xmlrpc_struct_get(c, "methodName");
        const xmlrpc_value *args = xmlrpc_struct_get(c, "params");
        xmlrpc_value *r = NULL;
        if (c->type != XMLRPC_STRUCT || !name || name->type != XMLRPC_STRING) {
            xend_error_report(XEND_ERR_INVALID_PARAMS,
                              "system.multicall: call %zu must be a struct with a string "
                              "'methodName'",
                              i + 1);
        } else if (strcmp(name->u.s.ptr, "system.multicall") == 0) {
            xend_error_report(XEND_ERR_INVALID_REQUEST,
                              "system.multicall: call %zu: system.multicall may not be nested",
                              i + 1);
        } else if (args && args->type != XMLRPC_ARRAY) {
            xend_error_report(XEND_ERR_INVALID_PARAMS,
                              "system.multicall: call %zu: 'params' must be an array", i + 1);
        } else {
            xmlrpc_value *empty = args ? NULL : xmlrpc_array();
            /* A call inside a multicall never parks: it answers with what it has now. */
            bool could_defer = caller->can_defer;
            caller->can_defer = false;
            xmlrpc_value *v = xmlrpc_registry_call(reg, caller, name->u.s.ptr,
                                                   args ? args : empty);
            caller->can_defer = could_defer;
            xmlrpc_value_free(empty);
            if (v) {
                r = xmlrpc_array();
                xmlrpc_array_append(r, v);
            }
        }
        if (!r)
            r = fault_struct(xend_error_last()->code, xend_error_last()->message);
        xmlrpc_array_append(results, r);
    }
    return results;
}

static xmlrpc_value *capability(const char *url, int version)
{
    xmlrpc_value *c = xmlrpc_struct();
    xmlrpc_struct_set(c, "specUrl", xmlrpc_string(url));
    xmlrpc_struct_set(c, "specVersion", xmlrpc_int(version));
    return c;
}

static xmlrpc_value *sys_get_capabilities(xmlrpc_caller *caller, const xmlrpc_value *params,
                                          void *data)
{
    (void)caller;
    (void)params;
    (void)data;
    xmlrpc_value *caps = xmlrpc_struct();
    xmlrpc_struct_set(caps, "xmlrpc", capability("http://www.xmlrpc.com/spec", 1));
    xmlrpc_struct_set(caps, "faults_interop",
                      capability("http://xmlrpc-epi.sourceforge.net/specs/rfc.fault_codes.php",
                                 20010516));
    xmlrpc_struct_set(caps, "introspect",
                      capability("http://xmlrpc-c.sourceforge.net/xmlrpc-c/introspection.html",
                                 1));
    xmlrpc_struct_set(caps, "multicall",
                      capability("http://www.xmlrpc.com/discuss/msgReader$1208", 1));
    xmlrpc_struct_set(caps, "nil", capability("http://ontosys.com/xml-rpc/extensions.php",
                                              20010518));
    xmlrpc_struct_set(caps, "i8", capability("http://xmlrpc-c.sourceforge.net/doc/libxmlrpc.html#extensiontype", 1));
    return caps;
}

static const xmlrpc_method system_methods[] = {
    {"system.listMethods", "array", XMLRPC_ACCESS_READ, "1.0", NULL,
     "Return the names of all methods this server offers, sorted.", sys_list_methods, NULL},
    {"system.methodHelp", "string string", XMLRPC_ACCESS_READ, "1.0", NULL,
     "Return the documentation of the named method.", sys_method_help, NULL},
    {"system.methodSignature", "array string", XMLRPC_ACCESS_READ, "1.0", NULL,
     "Return the signatures of the named method: an array of arrays of type names, the "
     "return type first.",
     sys_method_signature, NULL},
    {"system.multicall", "array array", XMLRPC_ACCESS_READ, "1.0", NULL,
     "Run several calls in one request. The parameter is an array of structs {methodName, "
     "params}; the result has one entry per call: a one-element array holding its result, or "
     "a fault struct {faultCode, faultString}. A failing call does not stop the others; "
     "nested system.multicall is refused, and so are more than 1000 calls in one request. Each "
     "call is checked against its own access class.",
     sys_multicall, NULL},
    {"system.getCapabilities", "struct", XMLRPC_ACCESS_READ, "1.0", NULL,
     "Return the specifications this server implements, each as {specUrl, specVersion}: "
     "xmlrpc, faults_interop, introspect, multicall, nil and i8.",
     sys_get_capabilities, NULL},
};

xmlrpc_registry *xmlrpc_registry_new(void)
{
    xmlrpc_registry *reg = xcalloc(1, sizeof(*reg));
    size_t n = sizeof(system_methods) / sizeof(system_methods[0]);
    reg->system = xmalloc(sizeof(system_methods));
    memcpy(reg->system, system_methods, sizeof(system_methods));
    for (size_t i = 0; i < n; i++)
        reg->system[i].data = reg;
    if (xmlrpc_registry_add(reg, reg->system, n) < 0) {
        /* the built-in table is constant; failing here is a bug */
        fprintf(stderr, "xend: %s\n", xend_error_last()->message);
        abort();
    }
    return reg;
}

void xmlrpc_registry_free(xmlrpc_registry *reg)
{
    if (!reg)
        return;
    free(reg->entries);
    free(reg->list);
    free(reg->system);
    free(reg);
}

int xmlrpc_registry_handle(xmlrpc_registry *reg, xmlrpc_decoder *dec, xmlrpc_caller *caller,
                           const char *body, size_t len, xbuf *out)
{
    char *method = NULL;
    xmlrpc_value *params = NULL, *result = NULL;
    xbuf_reset(out);
    xend_error_reset();
    caller->deferred = false;
    bool encoded = false;
    if (xmlrpc_decode_call(dec, body, len, &method, &params) == 0) {
        result = xmlrpc_registry_call(reg, caller, method, params);
        if (result == XMLRPC_DEFERRED && caller->can_defer) {
            xmlrpc_value_free(params);
            free(method);
            caller->deferred = true;
            return 0;
        }
        if (result == XMLRPC_DEFERRED) {
            result = NULL;
            xend_error_report(XEND_ERR_INTERNAL, "%s deferred on a transport that cannot wait",
                              method);
        }
        if (result) {
            bool ok = xmlrpc_encode_response_take(out, result) == 0;
            result = NULL;
            if (ok)
                encoded = true;
            else
                xbuf_reset(out);
        }
    }
    int code = 0;
    if (!encoded) {
        const xend_error *err = xend_error_last();
        code = err->code ? err->code : XEND_ERR_INTERNAL;
        if (code == XEND_ERR_INTERNAL && caller->trace_ok && err->trace[0]) {
            char *msg = xasprintf("%s\nserver trace:\n%s", err->message, err->trace);
            xmlrpc_encode_fault(out, code, msg);
            free(msg);
        } else {
            xmlrpc_encode_fault(out, code, err->code ? err->message : "internal error");
        }
    }
    xmlrpc_value_free(result);
    xmlrpc_value_free(params);
    free(method);
    return code;
}
