/*
 * xend-genstubs: writes libxend's typed functions from the method table, so that every
 * method of API 1.x has a C function and none can drift from the table. Built as a native
 * tool and run by the build (src/lib/xend/meson.build), it includes src/api/methods.def with
 * its own XEND_METHOD (as xend-gendoc does) and writes:
 *   xend-methods.h  the installed prototypes, each with the method's help and ownership;
 *   xend-methods.c  their bodies: an argument list handed to lib_stub_call (stubs.c);
 *   libxend.map     the linker version script: the names of libxend.sym plus the stubs.
 * The Xend 3.x namespace (xend.*) and domain.migrate_receive/_prepare/_finish (daemon to
 * daemon) get none.
 *
 * usage: xend-genstubs LIBXEND.SYM OUT.h OUT.c OUT.map
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *c_name, *wire, *sig, *access, *since, *help;
} gen_method;

static const gen_method gen_methods[] = {
#define XEND_METHOD(c_name, wire, sig, access, since, help)                                    \
    {#c_name, wire, sig, #access, since, help},
#include "api/methods.def"
#undef XEND_METHOD
};

/* Parameter names of the prototypes (the table has types only), and for an optional
 * trailing scalar, which the typed function always sends, the value that means the
 * method's default (from its help and handler). A method missing here still gets a
 * function, with parameters named arg1, arg2... */
static const struct {
    const char *c_name;
    const char *names; /* space-separated, one per parameter of the longest signature */
    const char *dflt;  /* what to pass for the optional scalar's default, or NULL */
} gen_params[] = {
    {"domain_list", "filter", NULL},
    {"domain_lookup", "dom", NULL},
    {"domain_define", "xml", NULL},
    {"domain_undefine", "dom flags", NULL},
    {"domain_create", "xml flags", NULL},
    {"domain_start", "dom paused", "0 to start it running (the default)"},
    {"domain_shutdown", "dom", NULL},
    {"domain_reboot", "dom", NULL},
    {"domain_destroy", "dom", NULL},
    {"domain_pause", "dom", NULL},
    {"domain_unpause", "dom", NULL},
    {"domain_save", "dom path", NULL},
    {"domain_restore", "path paused", "0 to start it running (the default)"},
    {"domain_suspend", "dom", NULL},
    {"domain_resume", "dom paused", "0 to resume it running (the default)"},
    {"domain_get_xml", "dom persistent",
     "0 for the live definition of an active domain (the default)"},
    {"domain_set_memory", "dom kib", NULL},
    {"domain_set_max_memory", "dom kib", NULL},
    {"domain_set_vcpus", "dom vcpus", NULL},
    {"domain_vcpu_info", "dom", NULL},
    {"domain_pin_vcpu", "dom vcpu cpus", NULL},
    {"domain_attach_device", "dom xml flags", NULL},
    {"domain_detach_device", "dom device flags", NULL},
    {"domain_devices", "dom", NULL},
    {"domain_console_read", "dom offset", "0 to read from the start (the default)"},
    {"domain_console_write", "dom data", NULL},
    {"domain_sysrq", "dom key", NULL},
    {"domain_convert", "config to options", NULL},
    {"domain_rename", "dom new_name", NULL},
    {"domain_set_autostart", "dom autostart", NULL},
    {"domain_stats", "dom", NULL},
    {"domain_job_info", "dom", NULL},
    {"domain_job_abort", "dom", NULL},
    {"domain_migrate", "dom dest_uri live", "0 for a non-live migration (the default)"},
    {"node_dmesg", "clear", "0 to leave the ring as it is (the default; 1 needs write "
                            "access)"},
    {"node_log", "lines", "0 for every line kept (the default)"},
    {"event_next", "since timeout_ms", "0 to return at once (the default)"},
};

/* Names the hand-written API uses: a method whose function would clash fails the build. */
static const char *const gen_reserved[] = {
    "open", "close", "call", "call_value", "set_timeout", "last_error", "set_credentials",
};

#define GEN_MAX_PARAMS 16
#define GEN_MAX_ALTS 8

typedef struct {
    char ret[32];
    char params[GEN_MAX_PARAMS][32];
    size_t n;
} gen_alt;

typedef struct {
    gen_alt alts[GEN_MAX_ALTS];
    size_t n_alts;
    size_t longest;     /* index of the (first) longest alternative */
    unsigned arities;   /* bit k: an alternative that is a prefix of the longest has k params */
    size_t required;    /* the shortest such alternative's length */
    char names[GEN_MAX_PARAMS][32];
    const char *dflt;
} gen_sig;

static int gen_fail(const gen_method *m, const char *why)
{
    fprintf(stderr, "xend-genstubs: %s (%s): %s\n", m->wire, m->sig, why);
    return -1;
}

static int gen_sig_parse(const gen_method *m, gen_sig *s)
{
    memset(s, 0, sizeof(*s));
    const char *p = m->sig;
    while (*p) {
        if (s->n_alts == GEN_MAX_ALTS)
            return gen_fail(m, "too many alternatives");
        gen_alt *a = &s->alts[s->n_alts++];
        size_t words = 0;
        while (*p && *p != '|') {
            size_t len = strcspn(p, " |");
            if (len == 0 || len >= sizeof(a->ret))
                return gen_fail(m, "bad type name");
            if (words == 0) {
                memcpy(a->ret, p, len);
            } else {
                if (a->n == GEN_MAX_PARAMS)
                    return gen_fail(m, "too many parameters");
                memcpy(a->params[a->n++], p, len);
            }
            words++;
            p += len;
            if (*p == ' ')
                p++;
        }
        if (*p == '|')
            p++;
    }
    if (s->n_alts == 0)
        return gen_fail(m, "empty signature");
    for (size_t i = 1; i < s->n_alts; i++)
        if (s->alts[i].n > s->alts[s->longest].n)
            s->longest = i;
    const gen_alt *lg = &s->alts[s->longest];
    s->required = lg->n;
    for (size_t i = 0; i < s->n_alts; i++) {
        const gen_alt *a = &s->alts[i];
        bool prefix = strcmp(a->ret, lg->ret) == 0;
        for (size_t k = 0; prefix && k < a->n; k++)
            prefix = strcmp(a->params[k], lg->params[k]) == 0;
        if (prefix) {
            s->arities |= 1u << a->n;
            if (a->n < s->required)
                s->required = a->n;
        }
    }
    for (size_t k = 0; k < lg->n; k++)
        snprintf(s->names[k], sizeof(s->names[k]), "arg%zu", k + 1);
    for (size_t i = 0; i < sizeof(gen_params) / sizeof(gen_params[0]); i++) {
        if (strcmp(gen_params[i].c_name, m->c_name) != 0)
            continue;
        const char *n = gen_params[i].names;
        for (size_t k = 0; k < lg->n && *n; k++) {
            size_t len = strcspn(n, " ");
            snprintf(s->names[k], sizeof(s->names[k]), "%.*s", (int)len, n);
            n += len;
            while (*n == ' ')
                n++;
        }
        s->dflt = gen_params[i].dflt;
    }
    return 0;
}

static bool gen_is_v1(const gen_method *m)
{
    /* Daemon-to-daemon calls of a migration are not for clients. */
    return strncmp(m->wire, "xend.", 5) != 0 && strcmp(m->wire, "domain.migrate_receive") != 0 &&
           strcmp(m->wire, "domain.migrate_prepare") != 0 &&
           strcmp(m->wire, "domain.migrate_finish") != 0;
}

static bool gen_is_pointer(const char *type)
{
    return strcmp(type, "int") != 0 && strcmp(type, "i4") != 0 && strcmp(type, "i8") != 0 &&
           strcmp(type, "boolean") != 0 && strcmp(type, "double") != 0;
}

/* The C declaration of one parameter. */
static void gen_param_decl(FILE *f, const char *type, const char *name)
{
    if (strcmp(type, "string") == 0)
        fprintf(f, "const char *%s", name);
    else if (strcmp(type, "int") == 0 || strcmp(type, "i4") == 0 || strcmp(type, "boolean") == 0)
        fprintf(f, "int %s", name);
    else if (strcmp(type, "i8") == 0)
        fprintf(f, "int64_t %s", name);
    else if (strcmp(type, "double") == 0)
        fprintf(f, "double %s", name);
    else if (strcmp(type, "base64") == 0)
        fprintf(f, "const void *%s, size_t %s_len", name, name);
    else
        fprintf(f, "const xmlrpc_value *%s", name);
}

static const char *gen_result_decl(const char *ret)
{
    if (strcmp(ret, "boolean") == 0)
        return "int *result";
    if (strcmp(ret, "string") == 0)
        return "char **result";
    if (strcmp(ret, "int") == 0 || strcmp(ret, "i4") == 0 || strcmp(ret, "i8") == 0)
        return "int64_t *result";
    return "xmlrpc_value **result";
}

static const char *gen_result_kind(const char *ret)
{
    if (strcmp(ret, "boolean") == 0)
        return "LIB_RESULT_BOOL";
    if (strcmp(ret, "string") == 0)
        return "LIB_RESULT_STRING";
    if (strcmp(ret, "int") == 0 || strcmp(ret, "i4") == 0 || strcmp(ret, "i8") == 0)
        return "LIB_RESULT_INT";
    if (strcmp(ret, "struct") == 0)
        return "LIB_RESULT_STRUCT";
    if (strcmp(ret, "array") == 0)
        return "LIB_RESULT_ARRAY";
    return "LIB_RESULT_ANY";
}

static const char *gen_result_doc(const char *ret)
{
    if (strcmp(ret, "boolean") == 0)
        return "result: NULL, or receives the boolean as 0 or 1 (0 on failure).";
    if (strcmp(ret, "string") == 0)
        return "result: NULL, or receives the string, which the caller frees with free() "
               "(NULL on failure).";
    if (strcmp(ret, "int") == 0 || strcmp(ret, "i4") == 0 || strcmp(ret, "i8") == 0)
        return "result: NULL, or receives the integer (0 on failure).";
    if (strcmp(ret, "struct") == 0)
        return "result: NULL to discard it, or receives the struct, which the caller frees with "
               "xmlrpc_value_free (NULL on failure).";
    if (strcmp(ret, "array") == 0)
        return "result: NULL to discard it, or receives the array, which the caller frees with "
               "xmlrpc_value_free (NULL on failure).";
    return "result: NULL to discard it, or receives the value, which the caller frees with "
           "xmlrpc_value_free (NULL on failure).";
}

/* Write text as comment lines " * ..." of at most 92 columns ("*" "/" in text is broken up);
 * with last set, the final line closes the comment. */
static void gen_comment_wrap_end(FILE *f, const char *text, bool last)
{
    const size_t width = 88;
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t len = strlen(p), cut = len;
        if (len > width) {
            cut = width;
            while (cut > 0 && p[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = strcspn(p, " ");
        }
        fputs(" *", f);
        if (cut)
            fputc(' ', f);
        for (size_t i = 0; i < cut; i++) {
            fputc(p[i], f);
            if (p[i] == '*' && i + 1 < len && p[i + 1] == '/')
                fputc(' ', f);
        }
        p += cut;
        while (*p == ' ')
            p++;
        fputs(last && !*p ? " */\n" : "\n", f);
    }
}

static void gen_comment_wrap(FILE *f, const char *text)
{
    gen_comment_wrap_end(f, text, false);
}

static void gen_prototype(FILE *f, const gen_method *m, const gen_sig *s, bool decl)
{
    const gen_alt *lg = &s->alts[s->longest];
    fprintf(f, "int xend_%s(xend_conn *conn", m->c_name);
    for (size_t k = 0; k < lg->n; k++) {
        fputs(", ", f);
        gen_param_decl(f, lg->params[k], s->names[k]);
    }
    fprintf(f, ", %s)%s\n", gen_result_decl(lg->ret), decl ? ";" : "");
}

static void gen_header_method(FILE *f, const gen_method *m, const gen_sig *s)
{
    const gen_alt *lg = &s->alts[s->longest];
    char line[512];
    char access[16];
    size_t i = 0;
    for (; m->access[i] && i + 1 < sizeof(access); i++)
        access[i] = (char)(m->access[i] >= 'A' && m->access[i] <= 'Z' ? m->access[i] + 32
                                                                      : m->access[i]);
    access[i] = '\0';
    fprintf(f, "/* %s (access %s, since API %s)\n *\n", m->wire, access, m->since);
    gen_comment_wrap(f, m->help);
    fputs(" *\n", f);
    for (i = 0; i < s->n_alts; i++) {
        const gen_alt *a = &s->alts[i];
        int len = snprintf(line, sizeof(line), "XML-RPC: %s %s(", a->ret, m->wire);
        for (size_t k = 0; k < a->n && len > 0 && (size_t)len < sizeof(line); k++)
            len += snprintf(line + len, sizeof(line) - (size_t)len, "%s%s %s", k ? ", " : "",
                            a->params[k], k < lg->n ? s->names[k] : "");
        if (len > 0 && (size_t)len < sizeof(line))
            snprintf(line + len, sizeof(line) - (size_t)len, ")%s",
                     s->arities >> a->n & 1u ? "" : " (not reachable here: use xend_call)");
        gen_comment_wrap(f, line);
    }
    for (size_t k = s->required; k < lg->n; k++) {
        if (gen_is_pointer(lg->params[k]) && (s->arities >> k & 1u))
            snprintf(line, sizeof(line), "%s: optional; NULL calls the method without it%s.",
                     s->names[k], k + 1 < lg->n ? " and the arguments after it" : "");
        else if (!gen_is_pointer(lg->params[k]))
            snprintf(line, sizeof(line), "%s: optional in the protocol, always sent here; pass %s.",
                     s->names[k], s->dflt ? s->dflt : "the default the help above gives");
        else
            continue;
        gen_comment_wrap(f, line);
    }
    bool pointers = false;
    for (size_t k = 0; k < lg->n; k++)
        pointers = pointers || gen_is_pointer(lg->params[k]);
    if (pointers)
        gen_comment_wrap(f, "Pointer arguments stay the caller's (the call copies what it "
                            "sends).");
    gen_comment_wrap(f, gen_result_doc(lg->ret));
    gen_comment_wrap_end(f, "Returns 0, or -1 with the fault or transport error in "
                            "xend_last_error(conn).", true);
    gen_prototype(f, m, s, true);
    fputc('\n', f);
}

static const char *gen_arg_kind(const char *type)
{
    if (strcmp(type, "string") == 0)
        return "LIB_ARG_STRING";
    if (strcmp(type, "int") == 0 || strcmp(type, "i4") == 0)
        return "LIB_ARG_INT";
    if (strcmp(type, "i8") == 0)
        return "LIB_ARG_I8";
    if (strcmp(type, "boolean") == 0)
        return "LIB_ARG_BOOL";
    if (strcmp(type, "double") == 0)
        return "LIB_ARG_DOUBLE";
    if (strcmp(type, "base64") == 0)
        return "LIB_ARG_BASE64";
    return "LIB_ARG_VALUE";
}

static void gen_body(FILE *f, const gen_method *m, const gen_sig *s)
{
    const gen_alt *lg = &s->alts[s->longest];
    gen_prototype(f, m, s, false);
    fputs("{\n", f);
    if (lg->n > 0) {
        fputs("    const lib_arg args[] = {\n", f);
        for (size_t k = 0; k < lg->n; k++) {
            const char *kind = gen_arg_kind(lg->params[k]), *n = s->names[k];
            fprintf(f, "        {%s, \"%s\", ", kind, n);
            if (strcmp(kind, "LIB_ARG_STRING") == 0)
                fprintf(f, "{.s = %s}},\n", n);
            else if (strcmp(kind, "LIB_ARG_DOUBLE") == 0)
                fprintf(f, "{.d = %s}},\n", n);
            else if (strcmp(kind, "LIB_ARG_BASE64") == 0)
                fprintf(f, "{.b = {%s, %s_len}}},\n", n, n);
            else if (strcmp(kind, "LIB_ARG_VALUE") == 0)
                fprintf(f, "{.v = %s}},\n", n);
            else
                fprintf(f, "{.i = %s}},\n", n);
        }
        fputs("    };\n", f);
    }
    fprintf(f, "    return lib_stub_call(conn, \"%s\", %s, %zu, 0x%xu, %s, result);\n}\n\n",
            m->wire, lg->n ? "args" : "NULL", lg->n, s->arities, gen_result_kind(lg->ret));
}

static int gen_map(FILE *f, const char *sym_path)
{
    FILE *in = fopen(sym_path, "r");
    if (!in) {
        perror(sym_path);
        return -1;
    }
    const char *base = strrchr(sym_path, '/');
    fprintf(f, "/* libxend's exported symbols, generated by xend-genstubs from %s and the method "
               "table. */\nXEND_0.1 {\n  global:\n", base ? base + 1 : sym_path);
    char line[256];
    while (fgets(line, sizeof(line), in)) {
        char *p = line + strspn(line, " \t");
        p[strcspn(p, " \t\r\n#")] = '\0';
        if (*p)
            fprintf(f, "    %s;\n", p);
    }
    fclose(in);
    for (size_t i = 0; i < sizeof(gen_methods) / sizeof(gen_methods[0]); i++)
        if (gen_is_v1(&gen_methods[i]))
            fprintf(f, "    xend_%s;\n", gen_methods[i].c_name);
    fputs("  local:\n    *;\n};\n", f);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: xend-genstubs LIBXEND.SYM OUT.h OUT.c OUT.map\n");
        return 2;
    }
    size_t n = sizeof(gen_methods) / sizeof(gen_methods[0]);
    gen_sig *sigs = calloc(n, sizeof(*sigs));
    if (!sigs)
        return 1;
    for (size_t i = 0; i < n; i++) {
        if (!gen_is_v1(&gen_methods[i]))
            continue;
        if (gen_sig_parse(&gen_methods[i], &sigs[i]) < 0)
            return 1;
        for (size_t r = 0; r < sizeof(gen_reserved) / sizeof(gen_reserved[0]); r++) {
            if (strcmp(gen_methods[i].c_name, gen_reserved[r]) == 0 ||
                strncmp(gen_methods[i].c_name, "client_config_", 14) == 0) {
                gen_fail(&gen_methods[i], "its function name is taken by libxend's own API");
                return 1;
            }
        }
    }

    FILE *h = fopen(argv[2], "w"), *c = fopen(argv[3], "w"), *map = fopen(argv[4], "w");
    if (!h || !c || !map) {
        perror("xend-genstubs: cannot create an output file");
        return 1;
    }
    fputs("/*\n"
          " * libxend's typed functions: one for every method of xend's API 1.x, generated from\n"
          " * the method table (src/api/methods.def) by xend-genstubs. Do not edit; include\n"
          " * <xend/xend.h>, which includes this file.\n"
          " *\n"
          " * Every function is named xend_ plus the method name with '.' as '_', takes the\n"
          " * parameters of the method's longest signature (string: const char *, int and\n"
          " * boolean: int, i8: int64_t, double: double, base64: pointer and length, struct and\n"
          " * array: const xmlrpc_value *, borrowed), and returns 0, or -1 with the reason in\n"
          " * xend_last_error(conn). Results: boolean in an int, int and i8 in an int64_t,\n"
          " * string in a malloc'd char * (free with free()), anything else in an xmlrpc_value\n"
          " * the caller frees with xmlrpc_value_free. A NULL result pointer discards it.\n"
          " * The Xend 3.x compatibility calls (xend.*) have no typed functions: use xend_call.\n"
          " */\n"
          "#ifndef XEND_XEND_METHODS_H\n#define XEND_XEND_METHODS_H\n\n"
          "#ifndef XEND_XEND_H\n#error \"include <xend/xend.h>, not <xend/xend-methods.h>\"\n"
          "#endif\n\n#include <stddef.h>\n#include <stdint.h>\n\n"
          "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
          h);
    fputs("/*\n * libxend's typed functions, generated from src/api/methods.def by xend-genstubs: "
          "do not edit.\n * Each one describes its arguments; lib_stub_call (stubs.c) does the "
          "rest.\n */\n#include \"lib/lib_priv.h\"\n\n",
          c);
    for (size_t i = 0; i < n; i++) {
        if (!gen_is_v1(&gen_methods[i]))
            continue;
        gen_header_method(h, &gen_methods[i], &sigs[i]);
        gen_body(c, &gen_methods[i], &sigs[i]);
    }
    fputs("#ifdef __cplusplus\n}\n#endif\n\n#endif\n", h);
    int rc = gen_map(map, argv[1]);
    free(sigs);
    if (fclose(h) != 0 || fclose(c) != 0 || fclose(map) != 0 || rc < 0) {
        perror("xend-genstubs: cannot write an output file");
        return 1;
    }
    return 0;
}
