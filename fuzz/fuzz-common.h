/*
 * Helpers shared by the codec fuzz targets: failing loudly, checking the error contract of
 * a refused document, and the decoders (default limits, tight limit profiles selected by
 * the input's first byte, and a generous one for re-decoding round trips).
 */
#ifndef XEND_FUZZ_COMMON_H
#define XEND_FUZZ_COMMON_H

#include "xmlrpc/codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Inputs starting with a byte below this select a tight-limit profile. */
#define FUZZ_PROFILE_COUNT 8

/* Print "fuzz: property violated: why" and the last reported error, then abort(). */
void fuzz_fail(const char *why) __attribute__((noreturn));

/* After a decode returned -1: an error must have been reported, and allocated (whether
 * the decoder left anything in its output arguments) must be false. */
void fuzz_check_failure(bool allocated);

/* The decoder for this input: a tight profile when the first byte is below
 * FUZZ_PROFILE_COUNT (then *data and *size skip that byte), else the default one.
 * Decoders are created on first use and reused for the whole run (borrowed). */
xmlrpc_decoder *fuzz_decoder_select(const uint8_t **data, size_t *size);

/* A decoder without size or element limits (default depth), for re-decoding what the
 * encoder produced from an accepted document: escaping makes it bigger. Borrowed. */
xmlrpc_decoder *fuzz_decoder_roundtrip(void);

#endif
