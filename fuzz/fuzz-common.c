/*
 * Shared helpers of the codec fuzz targets (see fuzz-common.h). The decoders live for the
 * whole fuzzing run on purpose: the daemon reuses one decoder per connection, so the
 * reset-between-documents path is what must hold up.
 */
#include "fuzz-common.h"

#include "util/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const xmlrpc_limits fuzz_profiles[FUZZ_PROFILE_COUNT] = {
    /* max_body, max_depth, max_elements, max_string */
    {64, 1, 8, 4},
    {256, 2, 32, 16},
    {4096, 3, 64, 1},
    {4096, 64, 16, 4096},
    {100, 64, 1000, 1000},
    {8192, 8, 100000, 2},
    {1u << 20, 1, 1000, 1u << 20},
    {1u << 20, 4, 50, 32},
};

static xmlrpc_decoder *fuzz_profile_decoders[FUZZ_PROFILE_COUNT];
static xmlrpc_decoder *fuzz_default_decoder;
static xmlrpc_decoder *fuzz_roundtrip_decoder;

void fuzz_fail(const char *why)
{
    const xend_error *err = xend_error_last();
    fprintf(stderr, "fuzz: property violated: %s\n", why);
    if (err->code)
        fprintf(stderr, "fuzz: last error: %d: %s\n", err->code, err->message);
    abort();
}

void fuzz_check_failure(bool allocated)
{
    const xend_error *err = xend_error_last();
    if (err->code == 0)
        fuzz_fail("decode returned -1 without reporting an error");
    if (err->message[0] == '\0')
        fuzz_fail("decode reported an error with an empty message");
    if (allocated)
        fuzz_fail("decode returned -1 but set an output argument");
}

xmlrpc_decoder *fuzz_decoder_select(const uint8_t **data, size_t *size)
{
    if (*size > 0 && (*data)[0] < FUZZ_PROFILE_COUNT) {
        unsigned p = (*data)[0];
        (*data)++;
        (*size)--;
        if (!fuzz_profile_decoders[p])
            fuzz_profile_decoders[p] = xmlrpc_decoder_new(&fuzz_profiles[p]);
        return fuzz_profile_decoders[p];
    }
    if (!fuzz_default_decoder)
        fuzz_default_decoder = xmlrpc_decoder_new(NULL);
    return fuzz_default_decoder;
}

xmlrpc_decoder *fuzz_decoder_roundtrip(void)
{
    if (!fuzz_roundtrip_decoder) {
        xmlrpc_limits lim;
        xmlrpc_limits_default(&lim);
        lim.max_body = SIZE_MAX;
        lim.max_elements = SIZE_MAX;
        lim.max_string = SIZE_MAX;
        fuzz_roundtrip_decoder = xmlrpc_decoder_new(&lim);
    }
    return fuzz_roundtrip_decoder;
}
