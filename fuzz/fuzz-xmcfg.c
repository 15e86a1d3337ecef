/*
 * libFuzzer target for xm domain config files. Every input is read with xmcfg_parse_vars;
 * a refusal must have reported an error. Accepted variables go through xmcfg_to_def; a
 * refused def must have reported an error too. An accepted def is written with
 * xmcfg_format, and that text must parse (xmcfg_parse) to an equal def whose format is the
 * same text again. Any violation aborts.
 *
 * An input whose first line starts with "#!" (a comment to the parser) also supplies
 * VAR=VAL overrides: the rest of that line split at spaces, so the override path is
 * fuzzed as well.
 */
#include "conf/xmcfg.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_XMCFG_MAX_OVERRIDES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_xmcfg_fail(const char *why, const char *text)
{
    const xend_error *err = xend_error_last();
    fprintf(stderr, "fuzz: property violated: %s\n", why);
    if (err->code)
        fprintf(stderr, "fuzz: last error: %d: %s\n", err->code, err->message);
    if (text)
        fprintf(stderr, "fuzz: config:\n%s\n", text);
    abort();
}

static void fuzz_xmcfg_check_refusal(void)
{
    const xend_error *err = xend_error_last();
    if (err->code == 0 || err->message[0] == '\0')
        fuzz_xmcfg_fail("a refusal reported no error", NULL);
}

/* Overrides from a leading "#!VAR=VAL VAR=VAL" line; returns their number. */
static size_t fuzz_xmcfg_overrides(const uint8_t *data, size_t size, char *line, const char **ov)
{
    if (size < 2 || data[0] != '#' || data[1] != '!')
        return 0;
    size_t len = 2;
    while (len < size && len < 512 && data[len] != '\n')
        len++;
    memcpy(line, data + 2, len - 2);
    line[len - 2] = '\0';
    size_t n = 0;
    for (char *save = NULL, *tok = strtok_r(line, " ", &save); tok && n < FUZZ_XMCFG_MAX_OVERRIDES;
         tok = strtok_r(NULL, " ", &save))
        ov[n++] = tok;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char line[512];
    const char *ov[FUZZ_XMCFG_MAX_OVERRIDES];
    size_t nov = fuzz_xmcfg_overrides(data, size, line, ov);

    xend_error_reset();
    xmlrpc_value *vars = xmcfg_parse_vars((const char *)data, size, "fuzz.cfg", ov, nov);
    if (!vars) {
        fuzz_xmcfg_check_refusal();
        return 0;
    }
    if (vars->type != XMLRPC_STRUCT)
        fuzz_xmcfg_fail("xmcfg_parse_vars returned something other than a struct", NULL);
    domain_warnings w = {0};
    xend_error_reset();
    domain_def *def = xmcfg_to_def(vars, "fuzz.cfg", &w);
    xmlrpc_value_free(vars);
    domain_warnings_clear(&w);
    if (!def) {
        fuzz_xmcfg_check_refusal();
        return 0;
    }

    xbuf first = XBUF_INIT, second = XBUF_INIT;
    xmcfg_format(def, &first);
    xend_error_reset();
    domain_def *back = xmcfg_parse(first.data, first.len, "fuzz.cfg", NULL, 0, &w);
    domain_warnings_clear(&w);
    if (!back)
        fuzz_xmcfg_fail("xmcfg_format wrote a config xmcfg_parse refuses", first.data);
    if (!domain_def_equal(def, back))
        fuzz_xmcfg_fail("the def changed in the format/parse round trip", first.data);
    xmcfg_format(back, &second);
    if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0)
        fuzz_xmcfg_fail("formatting is not stable: format(parse(format(x))) != format(x)",
                        first.data);
    xbuf_clear(&first);
    xbuf_clear(&second);
    domain_def_free(back);
    domain_def_free(def);
    return 0;
}
