/*
 * Reading test data files for the unit tests: tests/data/REL under $XEND_SOURCE_DIR (set by
 * meson), whole, NUL-terminated. NULL if the file cannot be opened. Caller frees.
 */
#ifndef XEND_TESTS_CHECK_DATA_H
#define XEND_TESTS_CHECK_DATA_H

#include "util/alloc.h"
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>

static char *read_data(const char *rel)
{
    const char *src = getenv("XEND_SOURCE_DIR");
    char *path = xasprintf("%s/tests/data/%s", src ? src : ".", rel);
    FILE *f = fopen(path, "rb");
    free(path);
    if (!f)
        return NULL;
    xbuf b = XBUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        xbuf_add(&b, chunk, n);
    fclose(f);
    xbuf_adds(&b, "");
    return xbuf_steal(&b, NULL);
}

#endif
