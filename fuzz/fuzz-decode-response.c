/*
 * libFuzzer target for the <methodResponse> decoder, the code every client (libxend, xm,
 * the tests) runs on what a server sends. A refused document must report an error and
 * allocate nothing. An accepted result is re-encoded with xmlrpc_encode_response, an
 * accepted fault with xmlrpc_encode_fault; decoding that must give an equal result (or
 * the same fault code and string), and a second encoding the same bytes. Any violation
 * aborts. The first byte may select tight decoder limits (see fuzz-common.h).
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

static void fuzz_response_encode(xbuf *out, const xmlrpc_response *resp)
{
    xbuf_reset(out);
    if (resp->is_fault) {
        xmlrpc_encode_fault(out, resp->fault_code, resp->fault_string);
        return;
    }
    xend_error_reset();
    if (xmlrpc_encode_response(out, resp->result) < 0)
        fuzz_fail("xmlrpc_encode_response refused a decoded result");
}

static void fuzz_response_roundtrip(const xmlrpc_response *resp)
{
    xbuf first = XBUF_INIT, second = XBUF_INIT;
    xmlrpc_response again;
    memset(&again, 0, sizeof(again));

    fuzz_response_encode(&first, resp);
    xend_error_reset();
    if (xmlrpc_decode_response(fuzz_decoder_roundtrip(), first.data, first.len, &again) < 0) {
        fprintf(stderr, "re-encoded document:\n%.*s\n", (int)first.len, first.data);
        fuzz_fail("the re-encoded response does not decode");
    }
    if (again.is_fault != resp->is_fault)
        fuzz_fail("a fault became a result (or the reverse) in the round trip");
    if (resp->is_fault) {
        if (again.fault_code != resp->fault_code)
            fuzz_fail("fault code changed in the round trip");
        if (!again.fault_string || strcmp(again.fault_string, resp->fault_string) != 0)
            fuzz_fail("fault string changed in the round trip");
    } else if (!xmlrpc_value_equal(resp->result, again.result)) {
        fprintf(stderr, "re-encoded document:\n%.*s\n", (int)first.len, first.data);
        fuzz_fail("result changed in the round trip");
    }
    fuzz_response_encode(&second, &again);
    if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0)
        fuzz_fail("encoding is not stable: encode(decode(encode(x))) != encode(x)");

    xmlrpc_response_clear(&again);
    xbuf_clear(&first);
    xbuf_clear(&second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xmlrpc_decoder *dec = fuzz_decoder_select(&data, &size);
    xmlrpc_response resp;
    memset(&resp, 0, sizeof(resp));

    xend_error_reset();
    if (xmlrpc_decode_response(dec, (const char *)data, size, &resp) < 0) {
        fuzz_check_failure(resp.result != NULL || resp.fault_string != NULL);
        return 0;
    }
    if (resp.is_fault ? (resp.result != NULL || resp.fault_string == NULL)
                      : (resp.result == NULL || resp.fault_string != NULL))
        fuzz_fail("decoded response is neither a clean result nor a clean fault");
    if (!resp.is_fault) {
        xmlrpc_value *copy = xmlrpc_value_copy(resp.result);
        if (!xmlrpc_value_equal(resp.result, copy))
            fuzz_fail("xmlrpc_value_copy result differs from its source");
        xmlrpc_value_free(copy);
    }
    fuzz_response_roundtrip(&resp);
    xmlrpc_response_clear(&resp);
    return 0;
}
