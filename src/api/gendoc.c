/*
 * xend-gendoc: writes docs/api.md, docs/errors.md and the API listing from the method and
 * error tables, so the reference can never drift from the code. Run by the build; a test
 * compares its output with the checked-in files and with docs/api-1.0.list.
 *
 * usage: xend-gendoc api-md|errors-md|list
 */
#include "api.h"

#include "config.h"
#include "util/error.h"

#include <stdio.h>
#include <string.h>

/* "struct string|struct string int" -> "struct name(string)" style lines for markdown */
static void print_signatures(const char *name, const char *sig)
{
    const char *p = sig;
    while (*p) {
        const char *end = strchr(p, '|');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char alt[256];
        snprintf(alt, sizeof(alt), "%.*s", (int)len, p);
        char *params = strchr(alt, ' ');
        if (params)
            *params++ = '\0';
        printf("    %s %s(", alt, name);
        if (params) {
            for (char *t = params; *t; t++)
                putchar(*t == ' ' ? ',' : *t);
        }
        printf(")\n");
        p += len;
        if (*p == '|')
            p++;
    }
}

static int gen_api_md(xmlrpc_registry *reg)
{
    size_t n;
    const xmlrpc_method *const *list = xmlrpc_registry_list(reg, &n);
    printf("# xend XML-RPC API reference (API %s)\n\n", XEND_API_VERSION);
    printf("Generated from the method table (`src/api/methods.def`, `src/xmlrpc/dispatch.c`) "
           "by `xend-gendoc api-md`; do not edit by hand.\n\n");
    printf("Every method is called with XML-RPC over HTTP `POST /RPC2` (Content-Type "
           "`text/xml`). Errors are faults whose codes are listed in "
           "[errors.md](errors.md). Access classes: `read` methods only look, `write` "
           "methods change domains, `admin` methods change the daemon or host.\n\n");
    printf("| method | access | since |\n|---|---|---|\n");
    for (size_t i = 0; i < n; i++)
        printf("| `%s` | %s | %s%s%s |\n", list[i]->name,
               xmlrpc_access_name(list[i]->access), list[i]->since,
               list[i]->deprecated ? ", deprecated " : "",
               list[i]->deprecated ? list[i]->deprecated : "");
    for (size_t i = 0; i < n; i++) {
        const xmlrpc_method *m = list[i];
        printf("\n## %s\n\n", m->name);
        printf("```\n");
        print_signatures(m->name, m->signature);
        printf("```\n\n");
        printf("Access: %s. Since API %s.", xmlrpc_access_name(m->access), m->since);
        if (m->deprecated)
            printf(" **Deprecated** since API %s (kept for at least one minor release).",
                   m->deprecated);
        printf("\n\n%s\n", m->help);
    }
    return 0;
}

/* One row of the CIM table; a symbol that is not in the error table is a build failure. */
static int gen_cim_row(const char *cim, const char *sym, const char *note,
                       const xend_error_info *t, size_t n)
{
    if (!sym[0]) {
        printf("| %s | — | %s |\n", cim, note);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(t[i].name, sym) == 0) {
            printf("| %s | %d `%s` | %s |\n", cim, t[i].code, sym, note);
            return 0;
        }
    }
    fprintf(stderr, "xend-gendoc: cim_errors.def: %s maps to unknown error %s\n", cim, sym);
    return -1;
}

static int gen_errors_md(void)
{
    size_t n;
    const xend_error_info *t = xend_error_table(&n);
    printf("# xend fault codes\n\n");
    printf("Generated from the error table (`src/util/errors.def`) by `xend-gendoc errors-md`; "
           "do not edit by hand.\n\n");
    printf("A fault is `{faultCode: int, faultString: string}`. Negative codes are the XML-RPC "
           "fault-interoperability codes for protocol errors; positive codes are API errors. "
           "Codes are stable: they are never renumbered or reused. Scripts should act on "
           "`faultCode`; `faultString` is for people.\n\n");
    printf("| code | name | meaning |\n|---|---|---|\n");
    for (size_t i = 0; i < n; i++)
        printf("| %d | `%s` | %s |\n", t[i].code, t[i].name, t[i].doc);

    printf("\n## The CIM providers' error list\n\n"
           "Generated from `src/api/cim_errors.def`. Each error the CIM consumers know maps to "
           "the fault a client gets, or says why it does not apply.\n\n");
    printf("| CIM error | xend fault | note |\n|---|---|---|\n");
#define XEND_CIM(cim, sym, note)                                                           \
    if (gen_cim_row(#cim, sym, note, t, n) < 0)                                            \
        return -1;
#include "cim_errors.def"
#undef XEND_CIM
    return 0;
}

static int gen_list(xmlrpc_registry *reg)
{
    size_t n;
    const xmlrpc_method *const *list = xmlrpc_registry_list(reg, &n);
    for (size_t i = 0; i < n; i++)
        printf("%s %s\n", list[i]->name, list[i]->signature);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: xend-gendoc api-md|errors-md|list\n");
        return 2;
    }
    xmlrpc_registry *reg = api_registry_new();
    if (!reg) {
        fprintf(stderr, "xend-gendoc: %s\n", xend_error_last()->message);
        return 1;
    }
    int ret;
    if (strcmp(argv[1], "api-md") == 0)
        ret = gen_api_md(reg);
    else if (strcmp(argv[1], "errors-md") == 0)
        ret = gen_errors_md();
    else if (strcmp(argv[1], "list") == 0)
        ret = gen_list(reg);
    else {
        fprintf(stderr, "usage: xend-gendoc api-md|errors-md|list\n");
        ret = 2;
    }
    xmlrpc_registry_free(reg);
    return ret;
}
