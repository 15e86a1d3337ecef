/*
 * The domain store (see domain_store.h): where each domain's files live and how they are
 * written, found again at start-up, and moved. The layout follows libvirt's, so admins
 * find what they expect:
 *
 *   config_dir/NAME.xml                 domain XML, written atomically (util/file.h)
 *   config_dir/autostart/NAME.xml       symlink to ../NAME.xml, as libvirt does: ls -l
 *                                       shows at a glance which config a marker is for
 *   save_dir/NAME.save                  managed-save image (written by the driver)
 *   run_dir/NAME.status                 status XML of a running domain
 *
 * Loading never fails because of one bad file: a config that cannot be read or parsed,
 * whose <name> is not its file name, or whose UUID another loaded config already has, is
 * renamed to FILE.corrupt-<epoch> and logged, and the others load. Nothing is ever deleted
 * except what an interrupted call leaves (never acknowledged to anyone): temp files, the
 * second copy of a config in the middle of a rename (identical but for the name), and
 * autostart markers whose config is gone (so a later domain of the same name cannot start by
 * itself). Which of two duplicates wins is decided by rules, never by directory order.
 *
 * Every path is built by store_path, which checks the name first: a name such as "../x"
 * never becomes part of a path.
 */
#include "domain_store.h"

#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/hash.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STORE_DIR_MODE 0700
#define STORE_FILE_MODE 0600 /* configs can hold paths and secrets: root only */

#define CONFIG_HEADER                                                                              \
    "<!--\n"                                                                                       \
    "WARNING: THIS IS AN AUTO-GENERATED FILE. Changes will be overwritten; use 'xm' or the\n"      \
    "API to edit this domain.\n"                                                                   \
    "-->\n"

#define STATUS_HEADER                                                                              \
    "<!--\n"                                                                                       \
    "WARNING: THIS IS AN AUTO-GENERATED FILE: the state of a running domain, kept by xend\n"       \
    "so that it can re-attach after a restart. Do not edit.\n"                                     \
    "-->\n"

struct domain_store {
    char *config_dir;
    char *autostart_dir;
    char *save_dir;
    char *run_dir;
};

/* dir/NAME+suffix, or NULL with INVALID_NAME reported. The only way this file builds a path
 * from a name. */
static char *store_path(const char *dir, const char *name, const char *suffix)
{
    if (domain_name_check(name) < 0)
        return NULL;
    return xasprintf("%s/%s%s", dir, name, suffix);
}

domain_store *domain_store_open(const char *config_dir, const char *save_dir, const char *run_dir)
{
    domain_store *st = xcalloc(1, sizeof(*st));
    st->config_dir = xstrdup(config_dir);
    st->autostart_dir = xasprintf("%s/autostart", config_dir);
    st->save_dir = xstrdup(save_dir);
    st->run_dir = xstrdup(run_dir);
    if (xend_dir_create(st->config_dir, STORE_DIR_MODE) < 0 ||
        xend_dir_create(st->autostart_dir, STORE_DIR_MODE) < 0 ||
        xend_dir_create(st->save_dir, STORE_DIR_MODE) < 0 ||
        xend_dir_create(st->run_dir, STORE_DIR_MODE) < 0) {
        domain_store_free(st);
        return NULL;
    }
    return st;
}

void domain_store_free(domain_store *st)
{
    if (!st)
        return;
    free(st->config_dir);
    free(st->autostart_dir);
    free(st->save_dir);
    free(st->run_dir);
    free(st);
}

const char *domain_store_run_dir(const domain_store *st)
{
    return st->run_dir;
}

/* ---- Scanning directories ---- */

static int store_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, size_t len, const char *suffix, size_t slen)
{
    return len > slen && memcmp(s + len - slen, suffix, slen) == 0;
}

/* The names NAME for which dir holds "NAME<suffix>", sorted (caller frees each and the
 * array). "NAME<suffix>.new" files are temp files of writes that never completed, so were
 * never acknowledged: they are removed. Files whose NAME is not a valid domain name are
 * left alone with a warning (an admin's backup such as "x.xml~" does not match the suffix
 * and is ignored silently). -1 with SYSTEM reported if dir cannot be read. */
static int store_scan(const char *dir, const char *suffix, char ***out, size_t *nout)
{
    DIR *d = opendir(dir);
    if (!d) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot open directory '%s'", dir);
        return -1;
    }
    XEND_AUTOFREE char *tmp_suffix = xasprintf("%s.new", suffix);
    size_t slen = strlen(suffix), tlen = slen + 4;
    char **names = NULL;
    size_t n = 0, cap = 0;
    bool removed = false;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d))) {
        const char *f = de->d_name;
        size_t flen = strlen(f);
        if (has_suffix(f, flen, tmp_suffix, tlen)) {
            if (unlinkat(dirfd(d), f, 0) == 0) {
                log_info("%s/%s: removed the temp file of an interrupted write", dir, f);
                removed = true;
            } else {
                log_warn("%s/%s: cannot remove leftover temp file: %s", dir, f, strerror(errno));
            }
        } else if (has_suffix(f, flen, suffix, slen)) {
            char *name = xstrndup(f, flen - slen);
            if (domain_name_check(name) < 0) {
                log_warn("%s/%s: ignored: %s", dir, f, xend_error_last()->message);
                xend_error_reset();
                free(name);
            } else {
                names = xgrow(names, &cap, n + 1, sizeof(*names));
                names[n++] = name;
            }
        }
        errno = 0;
    }
    int err = errno;
    closedir(d);
    if (err) {
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        xend_error_report_errno(XEND_ERR_SYSTEM, err, "cannot read directory '%s'", dir);
        return -1;
    }
    /* The removals need not be durable one by one: a temp file that comes back after a
     * crash is removed again next time. */
    if (removed && xend_dir_fsync(dir) < 0) {
        log_warn("%s", xend_error_last()->message);
        xend_error_reset();
    }
    if (n > 1)
        qsort(names, n, sizeof(*names), store_name_cmp);
    *out = names;
    *nout = n;
    return 0;
}

static void store_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Rename a bad file to "path.corrupt-<epoch>" (never over an earlier one) and log why. The
 * reason is taken from the pending error, which is then cleared: it has been dealt with. */
static void store_set_aside(const char *path)
{
    char why[sizeof(xend_error_last()->message)];
    snprintf(why, sizeof(why), "%s", xend_error_last()->message);
    long long now = (long long)time(NULL);
    char *dest = xasprintf("%s.corrupt-%lld", path, now);
    for (unsigned i = 1; xend_file_exists(dest) && i < 1000; i++) {
        free(dest);
        dest = xasprintf("%s.corrupt-%lld.%u", path, now, i);
    }
    if (xend_file_rename(path, dest) < 0)
        log_error("%s: %s; it could not be set aside either: %s", path, why,
                  xend_error_last()->message);
    else
        log_warn("%s: %s; renamed to %s", path, why, dest);
    free(dest);
    xend_error_reset();
}

/* ---- Configs ---- */

int domain_store_save_config(domain_store *st, const domain_def *def)
{
    XEND_AUTOFREE char *path = store_path(st->config_dir, def->name, ".xml");
    if (!path)
        return -1;
    /* Never write what the next start would set aside as corrupt. */
    if (domain_def_validate(def) < 0)
        return -1;
    xbuf b = XBUF_INIT;
    xbuf_adds(&b, CONFIG_HEADER);
    domain_xml_format(def, &b, 0);
    int ret = xend_file_write_atomic(path, b.data, b.len, STORE_FILE_MODE);
    xbuf_clear(&b);
    return ret;
}

int domain_store_delete_config(domain_store *st, const char *name)
{
    XEND_AUTOFREE char *path = store_path(st->config_dir, name, ".xml");
    XEND_AUTOFREE char *link = store_path(st->autostart_dir, name, ".xml");
    if (!path || !link)
        return -1;
    /* Config first: removing it is the undefine. A crash before the marker goes leaves a
     * marker without a config, which the next load removes; the other order would leave
     * the domain defined with its autostart silently switched off. */
    if (xend_file_remove(path) < 0)
        return -1;
    return xend_file_remove(link);
}

/* Read and parse one config; the domain inside must carry the file's name. NULL with the
 * reason reported. */
static domain_def *store_config_read(const char *path, const char *name)
{
    size_t len;
    XEND_AUTOFREE char *text = xend_file_read(path, XML_MAX_DOCUMENT, &len);
    if (!text)
        return NULL;
    domain_def *def = domain_xml_parse(text, len, NULL);
    if (!def)
        return NULL;
    if (strcmp(def->name, name) != 0) {
        xend_error_report(XEND_ERR_CONFIG_INVALID, "the domain in the file is named '%s', not '%s'",
                          def->name, name);
        domain_def_free(def);
        return NULL;
    }
    return def;
}

/* Reading and parsing the configs is most of start-up and each file is independent: a few
 * threads do it into an array (keeping each failure's message), then one pass in name order
 * sets bad files aside, checks uuids and hands the defs over, exactly as a single thread
 * would. */
typedef struct {
    const domain_store *st;
    char **names;
    size_t n, start, step;
    domain_def **defs;
    int *codes;
    char **errors;
} store_load_job;

static void *store_load_worker(void *arg)
{
    store_load_job *job = arg;
    for (size_t i = job->start; i < job->n; i += job->step) {
        XEND_AUTOFREE char *path = xasprintf("%s/%s.xml", job->st->config_dir, job->names[i]);
        xend_error_reset();
        job->defs[i] = store_config_read(path, job->names[i]);
        if (!job->defs[i]) {
            job->codes[i] = xend_error_last()->code;
            job->errors[i] = xstrdup(xend_error_last()->message);
        }
    }
    return NULL;
}

#define STORE_LOAD_THREADS 4
#define STORE_LOAD_PER_THREAD 256 /* fewer files than this are not worth a thread */

static void store_load_all(const domain_store *st, char **names, size_t n, domain_def **defs,
                           int *codes, char **errors)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nthreads = cpus > 0 ? (size_t)cpus : 1;
    if (nthreads > STORE_LOAD_THREADS)
        nthreads = STORE_LOAD_THREADS;
    if (nthreads > n / STORE_LOAD_PER_THREAD)
        nthreads = n / STORE_LOAD_PER_THREAD;
    store_load_job jobs[STORE_LOAD_THREADS];
    pthread_t tids[STORE_LOAD_THREADS];
    size_t started = 0;
    for (size_t t = 1; t < nthreads; t++) {
        jobs[t] = (store_load_job){st, names, n, t, nthreads, defs, codes, errors};
        if (pthread_create(&tids[t], NULL, store_load_worker, &jobs[t]) != 0)
            break;
        started = t;
    }
    /* This thread takes slice 0 and any slice whose thread could not start. */
    size_t step = started + 1;
    jobs[0] = (store_load_job){st, names, n, 0, step, defs, codes, errors};
    store_load_worker(&jobs[0]);
    for (size_t t = 1; t <= started; t++)
        pthread_join(tids[t], NULL);
}

/* ---- Leftovers of an interrupted rename ----
 *
 * Two configs with one UUID are what domain_store_rename leaves when the daemon dies between
 * writing the new config and removing the old one. The rename was never acknowledged, so
 * either name may stay, but the domain's other files must stay with it: the save image and
 * status file move in the middle of a rename, the new marker is created before them and the
 * old one removed after. So the keeper is the config that has a save image or status file,
 * then the one with an autostart marker, then the first by name; at every step of a rename
 * that is the name that holds all of the domain's files.
 */

static int store_dup_rank(const domain_store *st, const char *name, const xhash *autostart)
{
    XEND_AUTOFREE char *save = xasprintf("%s/%s.save", st->save_dir, name);
    XEND_AUTOFREE char *status = xasprintf("%s/%s.status", st->run_dir, name);
    int rank = xhash_get(autostart, name) ? 1 : 0;
    if (xend_file_exists(save) || xend_file_exists(status))
        rank += 2;
    return rank;
}

/* If the config `name` (def) is keep's twin left by an interrupted rename (identical but
 * for the name, and owning no save image or status file), remove it and its marker and
 * return true. Anything else is a real conflict, which the caller sets aside. */
static bool store_rename_leftover(const domain_store *st, const domain_def *keep, const char *name,
                                  domain_def *def)
{
    XEND_AUTOFREE char *save = xasprintf("%s/%s.save", st->save_dir, name);
    XEND_AUTOFREE char *status = xasprintf("%s/%s.status", st->run_dir, name);
    if (xend_file_exists(save) || xend_file_exists(status))
        return false;
    xbuf a = XBUF_INIT, b = XBUF_INIT;
    char *own = def->name;
    def->name = keep->name;
    domain_xml_format(keep, &a, 0);
    domain_xml_format(def, &b, 0);
    def->name = own;
    bool twin = a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
    xbuf_clear(&a);
    xbuf_clear(&b);
    if (!twin)
        return false;

    XEND_AUTOFREE char *cfg = xasprintf("%s/%s.xml", st->config_dir, name);
    XEND_AUTOFREE char *link = xasprintf("%s/%s.xml", st->autostart_dir, name);
    /* Config first, as in an undefine: a marker left alone is removed by the next load. */
    if (xend_file_remove(cfg) < 0 || xend_file_remove(link) < 0) {
        log_warn("%s", xend_error_last()->message);
        xend_error_reset();
        return true; /* not loaded either way; whatever is left goes next time */
    }
    log_info("%s: removed: the other half of an interrupted rename ('%s' is kept)", cfg,
             keep->name);
    return true;
}

int domain_store_load_configs(domain_store *st, domain_store_config_cb cb, void *opaque)
{
    char **names = NULL, **markers = NULL;
    size_t n = 0, nmarkers = 0;
    if (store_scan(st->config_dir, ".xml", &names, &n) < 0)
        return -1;
    /* The markers are read once into a table rather than probed 10,000 times. */
    if (store_scan(st->autostart_dir, ".xml", &markers, &nmarkers) < 0) {
        /* Without the directory nothing autostarts, but every domain still loads. */
        log_warn("%s", xend_error_last()->message);
        xend_error_reset();
    }
    xhash *autostart = xhash_new();
    for (size_t i = 0; i < nmarkers; i++)
        xhash_set(autostart, markers[i], markers[i]);

    domain_def **defs = xcalloc(n ? n : 1, sizeof(*defs));
    int *codes = xcalloc(n ? n : 1, sizeof(*codes));
    char **errors = xcalloc(n ? n : 1, sizeof(*errors));
    store_load_all(st, names, n, defs, codes, errors);

    /* Unreadable files first: they take no part in the choice between duplicates. */
    for (size_t i = 0; i < n; i++) {
        if (defs[i])
            continue;
        XEND_AUTOFREE char *path = xasprintf("%s/%s.xml", st->config_dir, names[i]);
        xend_error_report(codes[i] ? codes[i] : XEND_ERR_INTERNAL, "%s",
                          errors[i] ? errors[i] : "unreadable");
        free(errors[i]);
        store_set_aside(path);
    }

    /* uuid -> 1 + index of the config that keeps it. Only a collision costs file probes. */
    xhash *keeper = xhash_new();
    for (size_t i = 0; i < n; i++) {
        if (!defs[i])
            continue;
        char uuid[37];
        domain_uuid_format(defs[i]->uuid, uuid);
        void *prev = xhash_get(keeper, uuid);
        if (!prev || store_dup_rank(st, names[i], autostart) >
                         store_dup_rank(st, names[(uintptr_t)prev - 1], autostart))
            xhash_set(keeper, uuid, (void *)(uintptr_t)(i + 1));
    }

    xhash *dropped = xhash_new(); /* leftovers of renames: their markers are handled */
    for (size_t i = 0; i < n; i++) {
        if (!defs[i])
            continue;
        char uuid[37];
        domain_uuid_format(defs[i]->uuid, uuid);
        size_t k = (uintptr_t)xhash_get(keeper, uuid) - 1;
        if (k == i)
            continue;
        if (store_rename_leftover(st, defs[k], names[i], defs[i])) {
            xhash_set(dropped, names[i], names[i]);
        } else {
            XEND_AUTOFREE char *path = xasprintf("%s/%s.xml", st->config_dir, names[i]);
            xend_error_report(XEND_ERR_DOMAIN_EXISTS, "its UUID %s is already used by '%s'", uuid,
                              names[k]);
            store_set_aside(path);
        }
        domain_def_free(defs[i]);
        defs[i] = NULL;
    }

    xhash *loaded = xhash_new();
    for (size_t i = 0; i < n; i++) {
        if (!defs[i])
            continue;
        xhash_set(loaded, names[i], names[i]);
        cb(opaque, defs[i], xhash_get(autostart, names[i]) != NULL);
    }

    /* A marker whose config is gone or was set aside would otherwise autostart whatever
     * domain is next defined under that name. Without any config it is what an undefine
     * leaves when the daemon dies between its two steps: routine, not a warning. */
    for (size_t i = 0; i < nmarkers; i++) {
        if (xhash_get(loaded, markers[i]) || xhash_get(dropped, markers[i]))
            continue;
        XEND_AUTOFREE char *link = xasprintf("%s/%s.xml", st->autostart_dir, markers[i]);
        bool had_config = bsearch(&markers[i], names, n, sizeof(*names), store_name_cmp);
        if (xend_file_remove(link) < 0) {
            log_warn("%s", xend_error_last()->message);
            xend_error_reset();
        } else if (had_config) {
            log_warn("%s: removed: domain '%s' has no loadable config", link, markers[i]);
        } else {
            log_info("%s: removed: domain '%s' has no config (an interrupted undefine)", link,
                     markers[i]);
        }
    }
    free(defs);
    free(codes);
    free(errors);
    xhash_free(loaded);
    xhash_free(dropped);
    xhash_free(keeper);
    xhash_free(autostart);
    store_names_free(markers, nmarkers);
    store_names_free(names, n);
    return 0;
}

/* ---- Autostart markers ---- */

int domain_store_set_autostart(domain_store *st, const char *name, bool on)
{
    XEND_AUTOFREE char *link = store_path(st->autostart_dir, name, ".xml");
    if (!link)
        return -1;
    if (!on)
        return xend_file_remove(link);

    XEND_AUTOFREE char *cfg = xasprintf("%s/%s.xml", st->config_dir, name);
    if (!xend_file_exists(cfg)) {
        xend_error_report(XEND_ERR_OPERATION_INVALID,
                          "cannot set autostart for domain '%s': it has no persistent "
                          "configuration",
                          name);
        return -1;
    }
    /* Relative, like libvirt's, so the store can be moved or bind-mounted as a whole. */
    XEND_AUTOFREE char *target = xasprintf("../%s.xml", name);
    char cur[DOMAIN_NAME_MAX + 16];
    ssize_t len = readlink(link, cur, sizeof(cur) - 1);
    if (len > 0) {
        cur[len] = '\0';
        if (strcmp(cur, target) == 0)
            return 0;
    }
    /* symlink() will not replace an existing file: build the link beside it and rename it
     * into place, which is atomic. */
    XEND_AUTOFREE char *tmp = xasprintf("%s.new", link);
    unlink(tmp);
    if (symlink(target, tmp) < 0) {
        xend_error_report_errno(XEND_ERR_SYSTEM, errno, "cannot create '%s'", tmp);
        return -1;
    }
    if (xend_file_rename(tmp, link) < 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

bool domain_store_get_autostart(domain_store *st, const char *name)
{
    XEND_AUTOFREE char *link = store_path(st->autostart_dir, name, ".xml");
    /* Any entry counts (an admin may have linked by absolute path, as libvirt allows). */
    return link && xend_file_exists(link);
}

/* ---- Managed save images ---- */

char *domain_store_save_path(domain_store *st, const char *name)
{
    return store_path(st->save_dir, name, ".save");
}

bool domain_store_has_save(domain_store *st, const char *name)
{
    XEND_AUTOFREE char *path = store_path(st->save_dir, name, ".save");
    return path && xend_file_exists(path);
}

int domain_store_delete_save(domain_store *st, const char *name)
{
    XEND_AUTOFREE char *path = store_path(st->save_dir, name, ".save");
    return path ? xend_file_remove(path) : -1;
}

/* ---- Status files ---- */

int domain_store_save_status_text(domain_store *st, const char *name, const char *xml, size_t len)
{
    XEND_AUTOFREE char *path = store_path(st->run_dir, name, ".status");
    if (!path)
        return -1;
    xbuf b = XBUF_INIT;
    xbuf_adds(&b, STATUS_HEADER);
    xbuf_add(&b, xml, len);
    int ret = xend_file_write_atomic(path, b.data, b.len, STORE_FILE_MODE);
    xbuf_clear(&b);
    return ret;
}

int domain_store_save_status(domain_store *st, const char *name, const xml_node *status)
{
    xbuf b = XBUF_INIT;
    xml_format(status, &b, 0);
    int ret = domain_store_save_status_text(st, name, b.data ? b.data : "", b.len);
    xbuf_clear(&b);
    return ret;
}

int domain_store_delete_status(domain_store *st, const char *name)
{
    XEND_AUTOFREE char *path = store_path(st->run_dir, name, ".status");
    return path ? xend_file_remove(path) : -1;
}

int domain_store_load_status(domain_store *st, domain_store_status_cb cb, void *opaque)
{
    char **names = NULL;
    size_t n = 0;
    if (store_scan(st->run_dir, ".status", &names, &n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        XEND_AUTOFREE char *path = xasprintf("%s/%s.status", st->run_dir, names[i]);
        size_t len;
        XEND_AUTOFREE char *text = xend_file_read(path, XML_MAX_DOCUMENT, &len);
        xml_node *root = text ? xml_parse(text, len, "status XML") : NULL;
        if (!root) {
            store_set_aside(path);
            continue;
        }
        cb(opaque, names[i], root);
    }
    store_names_free(names, n);
    return 0;
}

/* ---- Rename ---- */

/* Report the error saved in e again (after a rollback step may have replaced it). */
static void store_error_restore(const xend_error *e)
{
    xend_error_report(e->code, "%s", e->message);
}

/*
 * The order makes every intermediate state safe to crash in:
 *   1. write NEW.xml (the old config with the new <name>), atomically;
 *   2. create the NEW marker;
 *   3. move the save image, 4. the status file (renames, durable);
 *   5. remove the OLD marker, then OLD.xml.
 * Until step 5 finishes OLD.xml still exists, so a complete config is on disk at every
 * moment. A crash between 1 and 5 leaves two configs with one UUID; the next load keeps the
 * one that holds the domain's other files at that step and removes the other (see
 * store_dup_rank), so the domain comes back wholly renamed or wholly not, never twice.
 * If a step fails, the steps already done are undone (best effort) and the first error is
 * reported. The status file keeps the old name inside its embedded <domain>: the driver
 * rewrites status files, the store only moves them.
 */
int domain_store_rename(domain_store *st, const char *old_name, const char *new_name)
{
    XEND_AUTOFREE char *old_cfg = store_path(st->config_dir, old_name, ".xml");
    XEND_AUTOFREE char *new_cfg = store_path(st->config_dir, new_name, ".xml");
    if (!old_cfg || !new_cfg)
        return -1;
    XEND_AUTOFREE char *old_link = xasprintf("%s/%s.xml", st->autostart_dir, old_name);
    XEND_AUTOFREE char *new_link = xasprintf("%s/%s.xml", st->autostart_dir, new_name);
    XEND_AUTOFREE char *old_save = xasprintf("%s/%s.save", st->save_dir, old_name);
    XEND_AUTOFREE char *new_save = xasprintf("%s/%s.save", st->save_dir, new_name);
    XEND_AUTOFREE char *old_status = xasprintf("%s/%s.status", st->run_dir, old_name);
    XEND_AUTOFREE char *new_status = xasprintf("%s/%s.status", st->run_dir, new_name);
    if (strcmp(old_name, new_name) == 0)
        return 0;

    bool has_cfg = xend_file_exists(old_cfg), has_link = xend_file_exists(old_link);
    bool has_save = xend_file_exists(old_save), has_status = xend_file_exists(old_status);
    if (!has_cfg && !has_save && !has_status) {
        xend_error_report(XEND_ERR_NO_DOMAIN, "domain '%s' has no files in the store", old_name);
        return -1;
    }
    if (xend_file_exists(new_cfg) || xend_file_exists(new_link) || xend_file_exists(new_save) ||
        xend_file_exists(new_status)) {
        xend_error_report(XEND_ERR_DOMAIN_EXISTS,
                          "cannot rename domain '%s' to '%s': the store already has files "
                          "for '%s'",
                          old_name, new_name, new_name);
        return -1;
    }

    xend_error saved;
    bool cfg_done = false, link_done = false, save_done = false;
    if (has_cfg) {
        domain_def *def = store_config_read(old_cfg, old_name);
        if (!def)
            return -1;
        free(def->name);
        def->name = xstrdup(new_name);
        int ret = domain_store_save_config(st, def);
        domain_def_free(def);
        if (ret < 0)
            return -1;
        cfg_done = true;
        /* A marker without a config is stale (the load removes those): only follow it. */
        if (has_link) {
            if (domain_store_set_autostart(st, new_name, true) < 0)
                goto rollback;
            link_done = true;
        }
    }
    if (has_save) {
        if (xend_file_rename(old_save, new_save) < 0)
            goto rollback;
        save_done = true;
    }
    if (has_status && xend_file_rename(old_status, new_status) < 0)
        goto rollback;

    /* Everything already lives under the new name, so the rename has succeeded even if
     * these fail: a leftover old config is a duplicate UUID the next load sets aside, and
     * a leftover marker without its config is removed by that load too. */
    if (has_link && xend_file_remove(old_link) < 0) {
        log_warn("%s", xend_error_last()->message);
        xend_error_reset();
    }
    if (has_cfg && xend_file_remove(old_cfg) < 0) {
        log_warn("%s", xend_error_last()->message);
        xend_error_reset();
    }
    return 0;

rollback:
    saved = *xend_error_last();
    if (save_done && xend_file_rename(new_save, old_save) < 0)
        log_error("rollback of rename: %s", xend_error_last()->message);
    if (link_done && xend_file_remove(new_link) < 0)
        log_error("rollback of rename: %s", xend_error_last()->message);
    if (cfg_done && xend_file_remove(new_cfg) < 0)
        log_error("rollback of rename: %s", xend_error_last()->message);
    store_error_restore(&saved);
    return -1;
}
