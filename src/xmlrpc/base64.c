/*
 * base64 codec for XML-RPC's <base64> (see base64.h). Hand-written because it is 80 lines
 * and we need strictness the usual helpers do not give (reject bad padding and characters,
 * accept folded lines).
 */
#include "base64.h"

#include "util/alloc.h"

#include <stdlib.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void base64_encode(xbuf *out, const unsigned char *data, size_t len)
{
    xbuf_reserve(out, (len + 2) / 3 * 4);
    char *p = out->data + out->len;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 | data[i + 2];
        *p++ = b64_alphabet[v >> 18];
        *p++ = b64_alphabet[(v >> 12) & 63];
        *p++ = b64_alphabet[(v >> 6) & 63];
        *p++ = b64_alphabet[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)data[i] << 16 | (i + 1 < len ? (unsigned)data[i + 1] << 8 : 0);
        *p++ = b64_alphabet[v >> 18];
        *p++ = b64_alphabet[(v >> 12) & 63];
        *p++ = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        *p++ = '=';
    }
    out->len = (size_t)(p - out->data);
    out->data[out->len] = '\0';
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long base64_decode(const char *text, size_t len, char **out)
{
    char *buf = xmalloc(len / 4 * 3 + 4);
    size_t n = 0, pad = 0;
    unsigned acc = 0, count = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        int v = b64_value(c);
        if (v < 0 || pad)
            goto bad; /* bad character, or data after padding */
        acc = acc << 6 | (unsigned)v;
        if (++count == 4) {
            buf[n++] = (char)(acc >> 16);
            buf[n++] = (char)(acc >> 8);
            buf[n++] = (char)acc;
            acc = 0;
            count = 0;
        }
    }
    /* count is the number of leftover sextets: 0 (padding must be absent), 2 or 3. */
    if (count == 1 || (count == 0 && pad) || (count && pad && count + pad != 4) || pad > 2)
        goto bad;
    if (count == 2) {
        if (acc & 0xf)
            goto bad; /* non-canonical trailing bits */
        buf[n++] = (char)(acc >> 4);
    } else if (count == 3) {
        if (acc & 0x3)
            goto bad;
        buf[n++] = (char)(acc >> 10);
        buf[n++] = (char)(acc >> 2);
    }
    buf[n] = '\0';
    *out = buf;
    return (long)n;
bad:
    free(buf);
    return -1;
}
