/*
 * TLS for https:// URIs (GnuTLS): the trust anchors of a connection (a CA file, or the
 * system's trust store), the client session over an already connected non-blocking socket,
 * and the send/recv that conn.c uses in place of send(2)/recv(2). The server certificate is
 * always verified, host name included, during the handshake: there is deliberately no way
 * to skip it. Every failure becomes one message that says what to do about it.
 */
#include "lib_priv.h"

#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* A CA bundle is a few hundred KiB at most (a whole system store is ~200 KiB). */
#define LIB_TLS_CA_MAX (4u << 20)

struct lib_tls_creds {
    gnutls_certificate_credentials_t cred;
    char *ca_file; /* NULL: the system trust store */
    char *origin;  /* where ca_file was named ("XEND_CA_FILE", "ca_file of F") */
};

struct lib_tls {
    gnutls_session_t session;
    int fd;
    int sys_errno;    /* errno of the last failed send/recv underneath GnuTLS */
    bool established; /* the handshake completed: there is a session to close */
};

/* GnuTLS's text for the last failure that has no errno of its own (mapped to EPROTO).
 * gnutls_strerror returns static strings, so keeping the pointer is safe. */
static __thread const char *lib_tls_why;

const char *lib_tls_strerror(int errnum)
{
    if (errnum == EPROTO && lib_tls_why)
        return lib_tls_why;
    return strerror(errnum);
}

/* ---- credentials ---- */

lib_tls_creds *lib_tls_creds_new(const char *ca_file, const char *origin)
{
    lib_tls_creds *cr = xcalloc(1, sizeof(*cr));
    int r = gnutls_certificate_allocate_credentials(&cr->cred);
    if (r < 0) {
        xend_error_report(XEND_ERR_SYSTEM, "cannot set up TLS: %s", gnutls_strerror(r));
        free(cr);
        return NULL;
    }
    if (!ca_file) {
        /* Zero anchors is not an error here: verification then fails with the hint to set
         * ca_file, which is the useful message. */
        r = gnutls_certificate_set_x509_system_trust(cr->cred);
        if (r < 0 && r != GNUTLS_E_UNIMPLEMENTED_FEATURE) {
            xend_error_report(XEND_ERR_SYSTEM,
                              "cannot load the system's trusted certificates: %s (set ca_file "
                              "or XEND_CA_FILE)",
                              gnutls_strerror(r));
            lib_tls_creds_free(cr);
            return NULL;
        }
        return cr;
    }
    cr->ca_file = xstrdup(ca_file);
    cr->origin = xstrdup(origin ? origin : "CA file");
    size_t len;
    char *text = xend_file_read(ca_file, LIB_TLS_CA_MAX, &len);
    if (!text) {
        char msg[sizeof(((xend_error *)0)->message)];
        snprintf(msg, sizeof(msg), "%s", xend_error_last()->message);
        xend_error_report(xend_error_last()->code, "cannot use the CA file %s (named by %s): %s",
                          ca_file, cr->origin, msg);
        lib_tls_creds_free(cr);
        return NULL;
    }
    gnutls_datum_t d = {(unsigned char *)text, (unsigned)len};
    r = gnutls_certificate_set_x509_trust_mem(cr->cred, &d, GNUTLS_X509_FMT_PEM);
    free(text);
    if (r <= 0) {
        xend_error_report(XEND_ERR_CONFIG_INVALID,
                          "the CA file %s (named by %s) holds no usable PEM certificate%s%s",
                          ca_file, cr->origin, r < 0 ? ": " : "", r < 0 ? gnutls_strerror(r) : "");
        lib_tls_creds_free(cr);
        return NULL;
    }
    return cr;
}

void lib_tls_creds_free(lib_tls_creds *cr)
{
    if (!cr)
        return;
    if (cr->cred)
        gnutls_certificate_free_credentials(cr->cred);
    free(cr->ca_file);
    free(cr->origin);
    free(cr);
}

/* ---- the transport under GnuTLS ---- */

/* Our own push and pull, so that SIGPIPE never fires (MSG_NOSIGNAL) and the errno of a
 * failure survives until conn.c decides whether a dropped kept-alive socket may be
 * retried (EPIPE, ECONNRESET). */
static ssize_t lib_tls_push(gnutls_transport_ptr_t p, const void *buf, size_t len)
{
    lib_tls *t = p;
    ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);
    if (n < 0) {
        t->sys_errno = errno;
        gnutls_transport_set_errno(t->session, errno);
    }
    return n;
}

static ssize_t lib_tls_pull(gnutls_transport_ptr_t p, void *buf, size_t len)
{
    lib_tls *t = p;
    ssize_t n = recv(t->fd, buf, len, 0);
    if (n < 0) {
        t->sys_errno = errno;
        gnutls_transport_set_errno(t->session, errno);
    }
    return n;
}

/* GnuTLS asks this (TLS 1.3 post-handshake messages) whether data can be read within ms.
 * The default would poll the transport pointer as if it were an fd. */
static int lib_tls_pull_timeout(gnutls_transport_ptr_t p, unsigned int ms)
{
    lib_tls *t = p;
    struct pollfd pfd = {.fd = t->fd, .events = POLLIN};
    int r;
    do
        r = poll(&pfd, 1,
                 ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)(ms > 1000000 ? 1000000 : ms));
    while (r < 0 && errno == EINTR);
    if (r < 0)
        gnutls_transport_set_errno(t->session, errno);
    return r;
}

/* errno for a GnuTLS error code: EAGAIN and EINTR to wait or retry, ECONNRESET for a peer
 * gone without close_notify, the transport's own errno, else EPROTO (text in
 * lib_tls_strerror). */
static int lib_tls_errno(lib_tls *t, int r)
{
    switch (r) {
    case GNUTLS_E_AGAIN:
        return EAGAIN;
    case GNUTLS_E_INTERRUPTED:
        return EINTR;
    case GNUTLS_E_PREMATURE_TERMINATION:
        return ECONNRESET;
    case GNUTLS_E_PUSH_ERROR:
    case GNUTLS_E_PULL_ERROR:
        if (t->sys_errno)
            return t->sys_errno;
        break;
    default:
        break;
    }
    lib_tls_why = gnutls_strerror(r);
    return EPROTO;
}

/* ---- the handshake ---- */

/* "host:port" as a user would write it ([v6]:port), for messages. */
static void lib_tls_peer(char *out, size_t outlen, const char *host, const char *port)
{
    snprintf(out, outlen, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
}

static bool lib_tls_is_ip(const char *host)
{
    unsigned char a[16];
    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

/* The reasons a verification status holds, in words; what GnuTLS itself prints for any
 * other bit. */
static void lib_tls_report_untrusted(const lib_tls_creds *cr, gnutls_session_t s, const char *uri,
                                     const char *peer, const char *host)
{
    unsigned status = gnutls_session_get_verify_cert_status(s);
    char why[768] = "";
    size_t len = 0;
    unsigned rest = status & ~(unsigned)GNUTLS_CERT_INVALID;
    static const struct {
        unsigned bit;
        const char *text;
    } known[] = {
        {GNUTLS_CERT_EXPIRED, "it has expired"},
        {GNUTLS_CERT_NOT_ACTIVATED, "it is not valid yet"},
        {GNUTLS_CERT_REVOKED, "it has been revoked"},
        {GNUTLS_CERT_INSECURE_ALGORITHM, "it is signed with an insecure algorithm"},
        {GNUTLS_CERT_SIGNATURE_FAILURE, "its signature is invalid"},
    };

#define LIB_WHY(...)                                                                               \
    do {                                                                                           \
        if (len < sizeof(why))                                                                     \
            len += (size_t)snprintf(why + len, sizeof(why) - len, "%s", len ? "; " : "");          \
        if (len < sizeof(why))                                                                     \
            len += (size_t)snprintf(why + len, sizeof(why) - len, __VA_ARGS__);                    \
    } while (0)

    if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) {
        if (cr->ca_file)
            LIB_WHY(
                "signed by an unknown authority (not among the certificates of %s, named by %s)",
                cr->ca_file, cr->origin);
        else
            LIB_WHY("signed by an unknown authority (set ca_file or XEND_CA_FILE)");
        rest &= ~(unsigned)GNUTLS_CERT_SIGNER_NOT_FOUND;
    }
    if (status & GNUTLS_CERT_UNEXPECTED_OWNER) {
        LIB_WHY("it is not valid for the host name '%s' (connect with a name or address the "
                "certificate holds)",
                host);
        rest &= ~(unsigned)GNUTLS_CERT_UNEXPECTED_OWNER;
    }
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (status & known[i].bit) {
            LIB_WHY("%s", known[i].text);
            rest &= ~known[i].bit;
        }
    }
    if (rest || !len) {
        gnutls_datum_t out = {NULL, 0};
        if (gnutls_certificate_verification_status_print(rest ? rest : status, GNUTLS_CRT_X509,
                                                         &out, 0) == 0 &&
            out.data) {
            /* GnuTLS's sentences end with ". "; one trailing space is noise here. */
            int n = (int)out.size;
            while (n > 0 && (out.data[n - 1] == ' ' || out.data[n - 1] == '\0'))
                n--;
            LIB_WHY("%.*s", n, (const char *)out.data);
            gnutls_free(out.data);
        } else {
            LIB_WHY("verification status 0x%x", status);
        }
    }
#undef LIB_WHY
    xend_error_report(XEND_ERR_SYSTEM,
                      "Unable to connect to xend at %s: the certificate of %s is not trusted: %s",
                      uri, peer, why);
}

/* GnuTLS's sentence for r without its final period (a hint may follow). */
static int lib_tls_text_len(const char *text)
{
    size_t n = strlen(text);
    return (int)(n > 0 && text[n - 1] == '.' ? n - 1 : n);
}

static void lib_tls_report_failed(gnutls_session_t s, int r, int sys_errno, const char *uri,
                                  const char *peer)
{
    static const char not_tls[] = " (is it a TLS listener? A daemon with tcp_tls = no is "
                                  "reached with http://)";
    if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
        xend_error_report(XEND_ERR_SYSTEM,
                          "Unable to connect to xend at %s: %s refused the TLS handshake "
                          "(alert: %s)",
                          uri, peer, gnutls_alert_get_name(gnutls_alert_get(s)));
    else if (r == GNUTLS_E_PREMATURE_TERMINATION ||
             ((r == GNUTLS_E_PULL_ERROR || r == GNUTLS_E_PUSH_ERROR) &&
              (sys_errno == ECONNRESET || sys_errno == EPIPE)))
        xend_error_report(XEND_ERR_SYSTEM,
                          "Unable to connect to xend at %s: %s closed the connection during "
                          "the TLS handshake%s",
                          uri, peer, not_tls);
    else if (r == GNUTLS_E_PULL_ERROR || r == GNUTLS_E_PUSH_ERROR)
        xend_error_report(XEND_ERR_SYSTEM,
                          "Unable to connect to xend at %s: the TLS handshake with %s failed: %s",
                          uri, peer, strerror(sys_errno ? sys_errno : EIO));
    else if (r == GNUTLS_E_UNEXPECTED_PACKET_LENGTH || r == GNUTLS_E_UNEXPECTED_PACKET ||
             r == GNUTLS_E_UNSUPPORTED_VERSION_PACKET || r == GNUTLS_E_RECORD_OVERFLOW)
        xend_error_report(XEND_ERR_SYSTEM,
                          "Unable to connect to xend at %s: the TLS handshake with %s failed: "
                          "%.*s%s",
                          uri, peer, lib_tls_text_len(gnutls_strerror(r)), gnutls_strerror(r),
                          not_tls);
    else
        xend_error_report(XEND_ERR_SYSTEM,
                          "Unable to connect to xend at %s: the TLS handshake with %s failed: %s",
                          uri, peer, gnutls_strerror(r));
}

lib_tls *lib_tls_open(const lib_tls_creds *cr, int fd, const char *host, const char *port,
                      const char *uri, const struct timespec *deadline)
{
    char peer[320];
    lib_tls_peer(peer, sizeof(peer), host, port);
    lib_tls *t = xcalloc(1, sizeof(*t));
    t->fd = fd;
    int r = gnutls_init(&t->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
    if (r < 0) {
        free(t);
        xend_error_report(XEND_ERR_SYSTEM, "cannot set up TLS for %s: %s", uri, gnutls_strerror(r));
        return NULL;
    }
    if ((r = gnutls_set_default_priority(t->session)) < 0 ||
        (r = gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE, cr->cred)) < 0 ||
        /* SNI carries names only (RFC 6066); an address is still verified below. */
        (!lib_tls_is_ip(host) &&
         (r = gnutls_server_name_set(t->session, GNUTLS_NAME_DNS, host, strlen(host))) < 0)) {
        xend_error_report(XEND_ERR_SYSTEM, "cannot set up TLS for %s: %s", uri, gnutls_strerror(r));
        lib_tls_close(t);
        return NULL;
    }
    /* The chain and the host name are checked inside the handshake, which fails with
     * GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR unless both are right. */
    gnutls_session_set_verify_cert(t->session, host, 0);
    gnutls_transport_set_ptr(t->session, t);
    gnutls_transport_set_push_function(t->session, lib_tls_push);
    gnutls_transport_set_pull_function(t->session, lib_tls_pull);
    gnutls_transport_set_pull_timeout_function(t->session, lib_tls_pull_timeout);

    for (;;) {
        t->sys_errno = 0;
        r = gnutls_handshake(t->session);
        if (r == 0) {
            t->established = true;
            return t;
        }
        if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
            short ev = gnutls_record_get_direction(t->session) ? POLLOUT : POLLIN;
            if (lib_fd_wait(fd, ev, deadline) == 0)
                continue;
            if (errno == ETIMEDOUT)
                xend_error_report(XEND_ERR_SYSTEM,
                                  "Unable to connect to xend at %s: the TLS handshake with %s "
                                  "did not complete within %d ms",
                                  uri, peer, LIB_CONNECT_TIMEOUT_MS);
            else
                xend_error_report_errno(XEND_ERR_SYSTEM, errno,
                                        "Unable to connect to xend at %s: the TLS handshake "
                                        "with %s failed",
                                        uri, peer);
            break;
        }
        if (!gnutls_error_is_fatal(r))
            continue; /* a warning alert: the handshake goes on */
        if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
            lib_tls_report_untrusted(cr, t->session, uri, peer, host);
        else
            lib_tls_report_failed(t->session, r, t->sys_errno, uri, peer);
        break;
    }
    lib_tls_close(t);
    return NULL;
}

/* ---- records ---- */

ssize_t lib_tls_send(lib_tls *t, const void *buf, size_t len)
{
    t->sys_errno = 0;
    ssize_t n = gnutls_record_send(t->session, buf, len);
    if (n >= 0)
        return n;
    errno = lib_tls_errno(t, (int)n);
    return -1;
}

ssize_t lib_tls_recv(lib_tls *t, void *buf, size_t len)
{
    for (;;) {
        t->sys_errno = 0;
        ssize_t n = gnutls_record_recv(t->session, buf, len);
        if (n >= 0)
            return n; /* 0: the server's close_notify */
        /* A TLS 1.2 renegotiation request or a warning alert: libxend does not
         * renegotiate (xend never asks); read on. */
        if (n == GNUTLS_E_REHANDSHAKE ||
            (n != GNUTLS_E_AGAIN && n != GNUTLS_E_INTERRUPTED && !gnutls_error_is_fatal((int)n)))
            continue;
        errno = lib_tls_errno(t, (int)n);
        return -1;
    }
}

bool lib_tls_pending(const lib_tls *t)
{
    return gnutls_record_check_pending(t->session) > 0;
}

short lib_tls_events(const lib_tls *t)
{
    return gnutls_record_get_direction(t->session) ? POLLOUT : POLLIN;
}

void lib_tls_close(lib_tls *t)
{
    if (!t)
        return;
    /* close_notify, without waiting for the server's (the socket is closed next): a
     * failure here changes nothing. */
    if (t->established)
        gnutls_bye(t->session, GNUTLS_SHUT_WR);
    if (t->session)
        gnutls_deinit(t->session);
    free(t);
}
