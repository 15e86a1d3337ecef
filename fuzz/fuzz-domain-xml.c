/*
 * libFuzzer target for domain XML (domain_xml_parse and the device documents of
 * domain_xml_parse_device). Every input is parsed as a domain. A refusal must have reported
 * an error (CONFIG_INVALID or INVALID_NAME) and added no warnings; ASan's leak check sees
 * anything left allocated. An accepted def must validate, copy to an equal def, and
 * round-trip: format, parse again (must succeed, equal def), format again (identical
 * bytes). The same input is also parsed as a <disk>/<interface> device document, whose
 * formatted form must parse again and format to the same bytes. Any violation aborts.
 */
#include "conf/domain_conf.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *why, const char *doc) __attribute__((noreturn));
static void fuzz_fail(const char *why, const char *doc)
{
    const xend_error *err = xend_error_last();
    fprintf(stderr, "fuzz: property violated: %s\n", why);
    if (err->code)
        fprintf(stderr, "fuzz: last error: %d: %s\n", err->code, err->message);
    if (doc)
        fprintf(stderr, "fuzz: document:\n%s\n", doc);
    abort();
}

static void fuzz_check_refusal(const domain_warnings *w)
{
    int code = xend_error_last()->code;
    if (code != XEND_ERR_CONFIG_INVALID && code != XEND_ERR_INVALID_NAME)
        fuzz_fail("a refused document did not report CONFIG_INVALID or INVALID_NAME", NULL);
    if (!xend_error_last()->message[0])
        fuzz_fail("a refused document reported an empty message", NULL);
    if (w && w->n)
        fuzz_fail("a refused document left warnings behind", NULL);
}

static void fuzz_domain_roundtrip(const domain_def *def)
{
    xbuf first = XBUF_INIT, second = XBUF_INIT;

    xend_error_reset();
    if (domain_def_validate(def) < 0)
        fuzz_fail("domain_xml_parse returned a def that does not validate", NULL);
    domain_def *copy = domain_def_copy(def);
    if (!domain_def_equal(def, copy))
        fuzz_fail("domain_def_copy result differs from its source", NULL);
    domain_def_free(copy);

    domain_xml_format(def, &first, 0);
    domain_warnings w = {NULL, 0};
    xend_error_reset();
    domain_def *again = domain_xml_parse(first.data, first.len, &w);
    if (!again)
        fuzz_fail("the formatted domain does not parse", first.data);
    for (size_t i = 0; i < w.n; i++)
        if (!strstr(w.items[i], "is kept but not used by xend"))
            fuzz_fail("the formatted domain has something xend ignores", first.data);
    domain_warnings_clear(&w);
    if (!domain_def_equal(def, again))
        fuzz_fail("parse(format(def)) differs from def", first.data);
    domain_xml_format(again, &second, 0);
    if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0)
        fuzz_fail("formatting is not stable: format(parse(format(x))) != format(x)", first.data);

    domain_def_free(again);
    xbuf_clear(&first);
    xbuf_clear(&second);
}

static void fuzz_device(const char *text, size_t size)
{
    domain_disk disk, disk2;
    domain_nic nic, nic2;
    const char *kind = NULL, *kind2 = NULL;
    xend_error_reset();
    if (domain_xml_parse_device(text, size, &disk, &nic, &kind) < 0) {
        fuzz_check_refusal(NULL);
        return;
    }
    bool is_disk = kind && strcmp(kind, "disk") == 0;
    if (!is_disk && (!kind || strcmp(kind, "interface") != 0))
        fuzz_fail("domain_xml_parse_device succeeded without a kind", NULL);
    xbuf first = XBUF_INIT, second = XBUF_INIT;
    if (is_disk)
        domain_xml_format_disk(&disk, &first, 0);
    else
        domain_xml_format_nic(&nic, &first, 0);
    xend_error_reset();
    if (domain_xml_parse_device(first.data, first.len, &disk2, &nic2, &kind2) < 0)
        fuzz_fail("the formatted device does not parse", first.data);
    if (strcmp(kind, kind2) != 0)
        fuzz_fail("the formatted device changed kind", first.data);
    if (is_disk) {
        domain_xml_format_disk(&disk2, &second, 0);
        domain_disk_clear(&disk);
        domain_disk_clear(&disk2);
    } else {
        domain_xml_format_nic(&nic2, &second, 0);
        domain_nic_clear(&nic);
        domain_nic_clear(&nic2);
    }
    if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0)
        fuzz_fail("device formatting is not stable", first.data);
    xbuf_clear(&first);
    xbuf_clear(&second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    domain_warnings w = {NULL, 0};

    xend_error_reset();
    domain_def *def = domain_xml_parse(text, size, &w);
    if (!def) {
        fuzz_check_refusal(&w);
    } else {
        fuzz_domain_roundtrip(def);
        domain_def_free(def);
    }
    domain_warnings_clear(&w);
    fuzz_device(text, size);
    return 0;
}
