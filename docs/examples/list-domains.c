/*
 * list-domains: the smallest complete libxend program. It connects to a xend (the URI given
 * as its argument, or the one libxend finds: $XM_SERVER, the xm config file, the local
 * socket), calls domain.list through its typed function and prints each domain's name, id,
 * state and memory, as `xm list` would. Errors are printed once, from xend_last_error, and
 * make it exit 1.
 *
 * Build against an installed libxend:
 *   cc -o list-domains list-domains.c $(pkg-config --cflags --libs xend)
 * usage: list-domains [URI]      e.g. unix:///run/xend/xend.sock, ssh://root@host/
 */
#include <xend/xend.h> /* also brings <xend/xmlrpc/value.h>, the values of results */

#include <inttypes.h>
#include <stdio.h>

/* A struct member of the type wanted, or NULL: results come from the network, so check. */
static const xmlrpc_value *member(const xmlrpc_value *st, const char *name, xmlrpc_type type)
{
    const xmlrpc_value *v = xmlrpc_struct_get(st, name);
    return v && v->type == type ? v : NULL;
}

static int64_t member_int(const xmlrpc_value *st, const char *name)
{
    const xmlrpc_value *v = xmlrpc_struct_get(st, name);
    return v && (v->type == XMLRPC_INT || v->type == XMLRPC_I8) ? v->u.i : -1;
}

int main(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: %s [URI]\n", argv[0]);
        return 2;
    }
    /* NULL lets libxend find the daemon the way xm does. */
    xend_conn *conn = xend_open(argc == 2 ? argv[1] : NULL);
    if (!conn) {
        fprintf(stderr, "list-domains: %s\n", xend_last_error(NULL)->message);
        return 1;
    }

    xmlrpc_value *domains = NULL; /* ours to free */
    if (xend_domain_list(conn, NULL, &domains) < 0) {
        const xend_client_error *e = xend_last_error(conn);
        fprintf(stderr, "list-domains: %s (%s)\n", e->message, e->name);
        xend_close(conn);
        return 1;
    }

    printf("%-32s %5s %-10s %9s\n", "Name", "ID", "State", "Mem(MiB)");
    for (size_t i = 0; i < xmlrpc_array_size(domains); i++) {
        const xmlrpc_value *d = xmlrpc_array_get(domains, i); /* borrowed from domains */
        const xmlrpc_value *name = member(d, "name", XMLRPC_STRING);
        const xmlrpc_value *state = member(d, "state", XMLRPC_STRING);
        int64_t id = member_int(d, "id");
        int64_t kib = member_int(d, "memory");
        char idtext[24] = "-"; /* a domain that is not running has no id */
        if (id >= 0)
            snprintf(idtext, sizeof(idtext), "%" PRId64, id);
        printf("%-32s %5s %-10s %9" PRId64 "\n", name ? name->u.s.ptr : "?", idtext,
               state ? state->u.s.ptr : "?", kib >= 0 ? kib / 1024 : 0);
    }

    xmlrpc_value_free(domains);
    xend_close(conn);
    return 0;
}
