/* The web page: xend serves the files of web/ (embedded at build time, web_assets.h) on
 * its HTTP listeners with GET and HEAD, the API staying at POST /RPC2. The files are
 * public (they are the page's code, the same for everyone, and carry no data), so they are
 * served without credentials; what the page shows comes from API calls, which need them.
 * Every reply carries a strict Content-Security-Policy (scripts, styles and connections to
 * this origin only, no inline code, no framing), a strong ETag so a browser revalidates
 * cheaply (Cache-Control: no-cache: a daemon upgrade changes the files under the same
 * names), and nosniff. Nothing here touches the file system: a path is only ever looked
 * up in the table, so no URL, however encoded, reaches a file on disk. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "server_priv.h"
#include "web_assets.h"

static const char *const server_web_csp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

/* The asset for a URL path; "/" is the page itself. NULL if there is none. */
static const web_asset *server_web_find(const char *url)
{
    if (strcmp(url, "/") == 0)
        url = "/index.html";
    size_t lo = 0, hi = web_assets_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(url, web_assets[mid].path);
        if (c == 0)
            return &web_assets[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* Does an If-None-Match list ("a", W/"b", or *) name etag? Weak comparison, as RFC 9110
 * asks for If-None-Match. */
static bool server_web_etag_matches(const char *list, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        const char *end = p;
        if (*end == '"') {
            end = strchr(end + 1, '"');
            if (!end)
                return false;
            end++;
        } else {
            while (*end && *end != ',')
                end++;
        }
        if ((size_t)(end - p) == elen && strncmp(p, etag, elen) == 0)
            return true;
        p = end;
    }
    return false;
}

enum MHD_Result server_web_reply(struct MHD_Connection *c, const char *url)
{
    const web_asset *a = server_web_find(url);
    if (!a)
        return server_reply_error(c, MHD_HTTP_NOT_FOUND, false,
                                  "no such page: the web page is at /, the XML-RPC endpoint "
                                  "is POST /RPC2");
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_IF_NONE_MATCH);
    bool fresh = inm && server_web_etag_matches(inm, a->etag);
    /* MHD leaves the body out of a HEAD reply itself and keeps its Content-Length. */
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        fresh ? 0 : a->len, fresh ? NULL : (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    server_response_headers(resp, a->content_type);
    MHD_add_response_header(resp, "Content-Security-Policy", server_web_csp);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, a->etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    enum MHD_Result ret =
        MHD_queue_response(c, fresh ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}
