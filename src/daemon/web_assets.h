/* The web page's files, embedded into xend at build time by scripts/embed-web from the
 * files under web/ (the generated web_assets.c defines the table). */
#ifndef XEND_DAEMON_WEB_ASSETS_H
#define XEND_DAEMON_WEB_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *path;         /* URL path, "/index.html", "/js/app.js" */
    const char *content_type; /* with charset for text */
    const unsigned char *data;
    size_t len;
    const char *etag; /* strong, quoted: a hash of data */
} web_asset;

/* Sorted by path (the generator walks web/ in order). Static; nothing to free. */
extern const web_asset web_assets[];
extern const size_t web_assets_count;

#endif
