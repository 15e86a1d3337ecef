/*
 * libFuzzer target for the S-expression text syntax and the domain sxp model. Every input
 * is parsed; a refusal must have reported an error. An accepted value is formatted both
 * compact and pretty: each form must parse back to an equal value, and formatting that
 * again must give the same bytes. When the value is a (vm ...) or (domain ...) that
 * domain_sxp_parse accepts, the def is written with domain_sxp_format and read back: the
 * second parse must succeed and give an equal def (the round-trip property of the domain
 * sxp). Any violation aborts.
 */
#include "conf/domain_sxp.h"
#include "conf/sxp.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_sxp_fail(const char *why, const char *text)
{
    const xend_error *err = xend_error_last();
    fprintf(stderr, "fuzz: property violated: %s\n", why);
    if (err->code)
        fprintf(stderr, "fuzz: last error: %d: %s\n", err->code, err->message);
    if (text)
        fprintf(stderr, "fuzz: text:\n%s\n", text);
    abort();
}

static void fuzz_sxp_check_refusal(void)
{
    const xend_error *err = xend_error_last();
    if (err->code == 0 || err->message[0] == '\0')
        fuzz_sxp_fail("a refusal reported no error", NULL);
}

static void fuzz_sxp_roundtrip(const xmlrpc_value *v, bool pretty)
{
    xbuf first = XBUF_INIT, second = XBUF_INIT;
    xend_error_reset();
    if (sxp_format(v, &first, pretty) < 0)
        fuzz_sxp_fail("sxp_format refused a parsed value", NULL);
    xmlrpc_value *again = sxp_parse(first.data, first.len, "roundtrip");
    if (!again)
        fuzz_sxp_fail("the formatted text does not parse", first.data);
    if (!xmlrpc_value_equal(v, again))
        fuzz_sxp_fail("the value changed in the round trip", first.data);
    if (sxp_format(again, &second, pretty) < 0)
        fuzz_sxp_fail("sxp_format refused its own round trip", first.data);
    if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0)
        fuzz_sxp_fail("formatting is not stable: format(parse(format(x))) != format(x)",
                      first.data);
    xmlrpc_value_free(again);
    xbuf_clear(&first);
    xbuf_clear(&second);
}

static void fuzz_sxp_domain(const xmlrpc_value *v)
{
    xend_error_reset();
    domain_def *def = domain_sxp_parse(v);
    if (!def) {
        fuzz_sxp_check_refusal();
        return;
    }
    xmlrpc_value *out = domain_sxp_format(def, NULL);
    xend_error_reset();
    domain_def *back = domain_sxp_parse(out);
    if (!back || !domain_def_equal(def, back)) {
        xbuf b = XBUF_INIT;
        sxp_format(out, &b, true);
        fuzz_sxp_fail(back ? "the def changed in the domain sxp round trip"
                           : "domain_sxp_format wrote what domain_sxp_parse refuses",
                      b.data);
    }
    domain_def_free(back);
    xmlrpc_value_free(out);
    domain_def_free(def);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xend_error_reset();
    xmlrpc_value *v = sxp_parse((const char *)data, size, "fuzz");
    if (!v) {
        fuzz_sxp_check_refusal();
        return 0;
    }
    if (v->type != XMLRPC_ARRAY && v->type != XMLRPC_STRING)
        fuzz_sxp_fail("sxp_parse returned something other than a list or an atom", NULL);
    fuzz_sxp_roundtrip(v, false);
    fuzz_sxp_roundtrip(v, true);
    fuzz_sxp_domain(v);
    xmlrpc_value_free(v);
    return 0;
}
