/*
 * libFuzzer target for the <methodCall> decoder. Every input is decoded; a failure must
 * report an error and allocate nothing (ASan's leak check sees the rest). A success is
 * copied, re-encoded with xmlrpc_encode_call and decoded again: the second decode must
 * succeed and give the same method name and an equal parameter array, and encoding that
 * again must give the same bytes (the round-trip property). Any violation aborts.
 *
 * An input whose first byte is below FUZZ_PROFILE_COUNT selects a decoder with tight
 * limits (depth, elements, string and body sizes) and is decoded without that byte, so
 * the limit checks are fuzzed too; every other input uses the default limits.
 */
#include "fuzz-common.h"

#include "util/buf.h"
#include "util/error.h"
#include "xmlrpc/codec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_call_roundtrip(const char *method, const xmlrpc_value *params)
{
    xbuf first = XBUF_INIT, second = XBUF_INIT;
    char *method2 = NULL;
    xmlrpc_value *params2 = NULL;

    xmlrpc_value *copy = xmlrpc_value_copy(params);
    if (!xmlrpc_value_equal(params, copy))
        fuzz_fail("xmlrpc_value_copy result differs from its source");
    xmlrpc_value_free(copy);

    xend_error_reset();
    if (xmlrpc_encode_call(&first, method, params) < 0)
        fuzz_fail("xmlrpc_encode_call refused a decoded call");
    xend_error_reset();
    xmlrpc_decoder *dec = fuzz_decoder_roundtrip();
    if (xmlrpc_decode_call(dec, first.data, first.len, &method2, &params2) < 0) {
        fprintf(stderr, "re-encoded document:\n%.*s\n", (int)first.len, first.data);
        fuzz_fail("the re-encoded call does not decode");
    }
    if (strcmp(method, method2) != 0)
        fuzz_fail("method name changed in the round trip");
    if (!xmlrpc_value_equal(params, params2)) {
        fprintf(stderr, "re-encoded document:\n%.*s\n", (int)first.len, first.data);
        fuzz_fail("parameters changed in the round trip");
    }
    if (xmlrpc_encode_call(&second, method2, params2) < 0)
        fuzz_fail("xmlrpc_encode_call refused its own round trip");
    if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0)
        fuzz_fail("encoding is not stable: encode(decode(encode(x))) != encode(x)");

    free(method2);
    xmlrpc_value_free(params2);
    xbuf_clear(&first);
    xbuf_clear(&second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xmlrpc_decoder *dec = fuzz_decoder_select(&data, &size);
    char *method = NULL;
    xmlrpc_value *params = NULL;

    xend_error_reset();
    if (xmlrpc_decode_call(dec, (const char *)data, size, &method, &params) < 0) {
        fuzz_check_failure(method != NULL || params != NULL);
        return 0;
    }
    if (!method || !params || params->type != XMLRPC_ARRAY)
        fuzz_fail("xmlrpc_decode_call succeeded without a method name and a params array");
    fuzz_call_roundtrip(method, params);
    free(method);
    xmlrpc_value_free(params);
    return 0;
}
