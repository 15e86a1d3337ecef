/*
 * Unit tests of the domain store (store/domain_store.h) on real directories: directories
 * created, configs saved and loaded back equal (compared as formatted XML), the header
 * comment, modes, autostart symlinks, status files, managed-save paths, bad files set
 * aside (renamed, contents kept, the rest still loaded, load still returns 0), leftover
 * temp files removed, stale markers removed, rename moving every file (and undoing itself
 * when a step fails, via an injected rename() failure), names such as "../x" refused
 * before any path exists, and 10,000 configs loaded (the time is printed, not asserted).
 */
#include "check.h"

#include "store/domain_store.h"
#include "util/alloc.h"
#include "util/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MANY 10000

/* rename() fails with EIO for a destination ending in this suffix, when set. The store
 * links the util library statically, so its rename() calls land here. */
static const char *fail_rename_suffix;

int rename(const char *from, const char *to)
{
    size_t n = fail_rename_suffix ? strlen(fail_rename_suffix) : 0, len = strlen(to);
    if (n && len >= n && strcmp(to + len - n, fail_rename_suffix) == 0) {
        errno = EIO;
        return -1;
    }
    return renameat(AT_FDCWD, from, AT_FDCWD, to);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    xbuf b = XBUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        xbuf_add(&b, chunk, n);
    fclose(f);
    if (!b.data)
        return xstrdup("");
    return xbuf_steal(&b, NULL);
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static bool exists(const char *fmt, const char *a, const char *b)
{
    char path[1024];
    snprintf(path, sizeof(path), fmt, a, b);
    struct stat sb;
    return lstat(path, &sb) == 0;
}

static int mode_of(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

/* Entries of dir whose names start with prefix; the first one's name goes to first. */
static int count_prefix(const char *dir, const char *prefix, char *first, size_t firstlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
            if (n == 0 && first)
                snprintf(first, firstlen, "%s/%s", dir, de->d_name);
            n++;
        }
    }
    closedir(d);
    return n;
}

static char *format_def(const domain_def *def)
{
    xbuf b = XBUF_INIT;
    domain_xml_format(def, &b, 0);
    return xbuf_steal(&b, NULL);
}

/* What a load delivered. */
typedef struct {
    domain_def *defs[16];
    bool autostart[16];
    size_t n;
    size_t overflow;
} loaded;

static void collect(void *opaque, domain_def *def, bool autostart)
{
    loaded *l = opaque;
    if (l->n < 16) {
        l->autostart[l->n] = autostart;
        l->defs[l->n++] = def;
    } else {
        l->overflow++;
        domain_def_free(def);
    }
}

static void loaded_clear(loaded *l)
{
    for (size_t i = 0; i < l->n; i++)
        domain_def_free(l->defs[i]);
    memset(l, 0, sizeof(*l));
}

static long loaded_find(const loaded *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->defs[i]->name, name) == 0)
            return (long)i;
    return -1;
}

static domain_def *make_def(const char *name)
{
    domain_def *def = domain_def_new();
    def->name = xstrdup(name);
    return def;
}

struct paths {
    char base[256];
    char cfg[512], autostart[600], save[512], run[512];
};

static domain_def *defs[3];

static void test_save_load(domain_store *st, const struct paths *p)
{
    defs[0] = make_def("alpha");
    defs[1] = make_def("beta");
    defs[1]->memory_kib = defs[1]->current_memory_kib = 512 * 1024;
    defs[1]->vcpus = defs[1]->vcpus_current = 2;
    defs[1]->title = xstrdup("the <second> & \"best\"");
    domain_disk disk = {0};
    disk.type = DOMAIN_DISK_FILE;
    disk.device = DOMAIN_DISK_DISK;
    disk.format = DOMAIN_DISK_QCOW2;
    disk.source = "/var/lib/xend/images/beta.qcow2";
    disk.target = "vda";
    disk.bus = DOMAIN_BUS_VIRTIO;
    domain_def_add_disk(defs[1], &disk);
    defs[2] = make_def("gamma.1");
    defs[2]->description = xstrdup("line one\nline two: <markup> & 'quotes'");

    for (int i = 0; i < 3; i++)
        CHECK_INTEQ(domain_store_save_config(st, defs[i]), 0);

    char path[1024];
    snprintf(path, sizeof(path), "%s/beta.xml", p->cfg);
    CHECK_INTEQ(mode_of(path), 0600);
    char *text = slurp(path);
    static const char header[] = "<!--\nWARNING: THIS IS AN AUTO-GENERATED FILE. Changes will "
                                 "be overwritten; use 'xm' or the\nAPI to edit this domain.\n"
                                 "-->\n<domain";
    CHECK(text && strncmp(text, header, strlen(header)) == 0);
    CHECK_CONTAINS(text, "<name>beta</name>");
    CHECK_CONTAINS(text, "beta.qcow2");
    free(text);
    CHECK(!exists("%s/beta.xml.new%s", p->cfg, ""));

    loaded l = {0};
    xend_error_reset();
    CHECK_INTEQ(domain_store_load_configs(st, collect, &l), 0);
    CHECK_INTEQ(xend_error_last()->code, 0);
    CHECK_INTEQ(l.n, 3);
    /* Name order, each equal to what was saved, none autostarted. */
    const char *order[3] = {"alpha", "beta", "gamma.1"};
    for (size_t i = 0; i < l.n && i < 3; i++) {
        CHECK_STREQ(l.defs[i]->name, order[i]);
        char *want = format_def(defs[i]), *got = format_def(l.defs[i]);
        CHECK_STREQ(got, want);
        free(want);
        free(got);
        CHECK(memcmp(l.defs[i]->uuid, defs[i]->uuid, 16) == 0);
        CHECK(!l.autostart[i]);
    }
    CHECK(l.n >= 2 && l.defs[1]->memory_kib == 512 * 1024 && l.defs[1]->ndisks == 1);
    loaded_clear(&l);

    /* Saving again replaces. */
    defs[1]->memory_kib = defs[1]->current_memory_kib = 1024 * 1024;
    CHECK_INTEQ(domain_store_save_config(st, defs[1]), 0);
    CHECK_INTEQ(domain_store_load_configs(st, collect, &l), 0);
    long i = loaded_find(&l, "beta");
    CHECK(i >= 0 && l.defs[i]->memory_kib == 1024 * 1024);
    loaded_clear(&l);

    /* An invalid def is refused before anything is written. */
    domain_def *bad = make_def("badmem");
    bad->memory_kib = 0;
    xend_error_reset();
    CHECK_INTEQ(domain_store_save_config(st, bad), -1);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_CONFIG_INVALID);
    CHECK(!exists("%s/badmem.xml%s", p->cfg, ""));
    CHECK(!exists("%s/badmem.xml.new%s", p->cfg, ""));
    domain_def_free(bad);
}

static void test_autostart(domain_store *st, const struct paths *p)
{
    CHECK(!domain_store_get_autostart(st, "beta"));
    CHECK_INTEQ(domain_store_set_autostart(st, "beta", true), 0);
    CHECK(domain_store_get_autostart(st, "beta"));
    CHECK(!domain_store_get_autostart(st, "alpha"));
    char link[1024], target[256];
    snprintf(link, sizeof(link), "%s/beta.xml", p->autostart);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    target[n > 0 ? n : 0] = '\0';
    CHECK_STREQ(target, "../beta.xml");
    /* The link resolves to the config. */
    char *via = slurp(link);
    CHECK_CONTAINS(via, "<name>beta</name>");
    free(via);
    /* Idempotent. */
    CHECK_INTEQ(domain_store_set_autostart(st, "beta", true), 0);
    CHECK(!exists("%s/beta.xml.new%s", p->autostart, ""));

    loaded l = {0};
    CHECK_INTEQ(domain_store_load_configs(st, collect, &l), 0);
    CHECK_INTEQ(l.n, 3);
    for (size_t i = 0; i < l.n; i++)
        CHECK_INTEQ(l.autostart[i], strcmp(l.defs[i]->name, "beta") == 0);
    loaded_clear(&l);

    CHECK_INTEQ(domain_store_set_autostart(st, "beta", false), 0);
    CHECK(!domain_store_get_autostart(st, "beta"));
    CHECK(!exists("%s/beta.xml%s", p->autostart, ""));
    CHECK_INTEQ(domain_store_set_autostart(st, "beta", false), 0);

    /* Only a persistent domain can autostart. */
    xend_error_reset();
    CHECK_INTEQ(domain_store_set_autostart(st, "nosuch", true), -1);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_OPERATION_INVALID);
    CHECK_CONTAINS(xend_error_last()->message, "nosuch");
    CHECK(!exists("%s/nosuch.xml%s", p->autostart, ""));

    /* delete_config takes the marker with it. */
    domain_def *tmp = make_def("temp");
    CHECK_INTEQ(domain_store_save_config(st, tmp), 0);
    CHECK_INTEQ(domain_store_set_autostart(st, "temp", true), 0);
    CHECK_INTEQ(domain_store_delete_config(st, "temp"), 0);
    CHECK(!exists("%s/temp.xml%s", p->cfg, ""));
    CHECK(!exists("%s/temp.xml%s", p->autostart, ""));
    CHECK(!domain_store_get_autostart(st, "temp"));
    CHECK_INTEQ(domain_store_delete_config(st, "temp"), 0); /* already gone: fine */
    domain_def_free(tmp);
}

typedef struct {
    char names[8][64];
    xml_node *roots[8];
    size_t n;
} statuses;

static void collect_status(void *opaque, const char *name, xml_node *status)
{
    statuses *s = opaque;
    if (s->n < 8) {
        snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
        s->roots[s->n++] = status;
    } else {
        xml_node_free(status);
    }
}

static void statuses_clear(statuses *s)
{
    for (size_t i = 0; i < s->n; i++)
        xml_node_free(s->roots[i]);
    memset(s, 0, sizeof(*s));
}

static void test_status(domain_store *st, const struct paths *p)
{
    CHECK_STREQ(domain_store_run_dir(st), p->run);
    xml_node *ds = xml_node_new("domstatus");
    xml_node_set_attr(ds, "state", "running");
    xml_node_set_attr(ds, "pid", "1234");
    xml_node *mon = xml_node_new_child(ds, "monitor", NULL);
    xml_node_set_attr(mon, "path", "/run/xend/alpha/monitor.sock");
    CHECK_INTEQ(domain_store_save_status(st, "alpha", ds), 0);
    char path[1024];
    snprintf(path, sizeof(path), "%s/alpha.status", p->run);
    CHECK_INTEQ(mode_of(path), 0600);
    CHECK(!exists("%s/alpha.status.new%s", p->run, ""));

    /* Garbage, a leftover temp file and a file with an invalid name beside it. */
    snprintf(path, sizeof(path), "%s/broken.status", p->run);
    spit(path, "<domstatus state='running'><monitor");
    snprintf(path, sizeof(path), "%s/alpha.status.new", p->run);
    spit(path, "<half");
    snprintf(path, sizeof(path), "%s/-bad.status", p->run);
    spit(path, "<domstatus/>");

    statuses s = {0};
    xend_error_reset();
    CHECK_INTEQ(domain_store_load_status(st, collect_status, &s), 0);
    CHECK_INTEQ(xend_error_last()->code, 0);
    CHECK_INTEQ(s.n, 1);
    CHECK_STREQ(s.names[0], "alpha");
    xml_node *root = s.roots[0];
    CHECK(root && strcmp(root->name, "domstatus") == 0);
    CHECK_STREQ(root ? xml_node_attr(root, "pid") : NULL, "1234");
    xml_node *m = root ? xml_node_child(root, "monitor") : NULL;
    CHECK_STREQ(m ? xml_node_attr(m, "path") : NULL, "/run/xend/alpha/monitor.sock");
    statuses_clear(&s);

    char aside[1024];
    CHECK_INTEQ(count_prefix(p->run, "broken.status.corrupt-", aside, sizeof(aside)), 1);
    char *kept = slurp(aside);
    CHECK_STREQ(kept, "<domstatus state='running'><monitor");
    free(kept);
    CHECK(!exists("%s/broken.status%s", p->run, ""));
    CHECK(!exists("%s/alpha.status.new%s", p->run, ""));
    CHECK(exists("%s/-bad.status%s", p->run, ""));

    CHECK_INTEQ(domain_store_delete_status(st, "alpha"), 0);
    CHECK(!exists("%s/alpha.status%s", p->run, ""));
    CHECK_INTEQ(domain_store_load_status(st, collect_status, &s), 0);
    CHECK_INTEQ(s.n, 0);
    xml_node_free(ds);
}

static void test_corrupt(domain_store *st, const struct paths *p)
{
    char path[1024];
    /* Truncated XML. */
    snprintf(path, sizeof(path), "%s/broken.xml", p->cfg);
    spit(path, "<domain type='test'><name>broken</name><memory>");
    /* Valid, but the file name says something else. */
    domain_def *other = make_def("other");
    char *xml = format_def(other);
    snprintf(path, sizeof(path), "%s/mismatch.xml", p->cfg);
    spit(path, xml);
    free(xml);
    domain_def_free(other);
    /* Valid, its own name, but beta's UUID ("zdup" sorts after "beta", so beta wins). */
    domain_def *dup = make_def("zdup");
    memcpy(dup->uuid, defs[1]->uuid, 16);
    xml = format_def(dup);
    snprintf(path, sizeof(path), "%s/zdup.xml", p->cfg);
    spit(path, xml);
    free(xml);
    domain_def_free(dup);
    /* A temp file of an interrupted write; a name that is not a domain name; other files. */
    snprintf(path, sizeof(path), "%s/alpha.xml.new", p->cfg);
    spit(path, "<domain><name>alpha</name>");
    snprintf(path, sizeof(path), "%s/123.xml", p->cfg);
    spit(path, "<domain/>");
    snprintf(path, sizeof(path), "%s/notes.txt", p->cfg);
    spit(path, "admin notes");
    /* Markers: one for the broken config, one for a config that does not exist. */
    snprintf(path, sizeof(path), "%s/broken.xml", p->autostart);
    CHECK_INTEQ(symlink("../broken.xml", path), 0);
    snprintf(path, sizeof(path), "%s/ghost.xml", p->autostart);
    CHECK_INTEQ(symlink("../ghost.xml", path), 0);
    CHECK_INTEQ(domain_store_set_autostart(st, "alpha", true), 0);

    loaded l = {0};
    xend_error_reset();
    CHECK_INTEQ(domain_store_load_configs(st, collect, &l), 0);
    CHECK_INTEQ(xend_error_last()->code, 0);
    CHECK_INTEQ(l.n, 3);
    CHECK(loaded_find(&l, "alpha") >= 0);
    CHECK(loaded_find(&l, "beta") >= 0);
    CHECK(loaded_find(&l, "gamma.1") >= 0);
    long a = loaded_find(&l, "alpha");
    CHECK(a >= 0 && l.autostart[a]);
    loaded_clear(&l);

    char aside[1024];
    CHECK_INTEQ(count_prefix(p->cfg, "broken.xml.corrupt-", aside, sizeof(aside)), 1);
    char *kept = slurp(aside);
    CHECK_STREQ(kept, "<domain type='test'><name>broken</name><memory>");
    free(kept);
    /* The suffix is the epoch: within a minute of now. */
    const char *epoch = strrchr(aside, '-');
    long long when = epoch ? atoll(epoch + 1) : 0;
    CHECK(when > 0 && llabs(when - (long long)time(NULL)) < 60);
    CHECK_INTEQ(count_prefix(p->cfg, "mismatch.xml.corrupt-", NULL, 0), 1);
    CHECK_INTEQ(count_prefix(p->cfg, "zdup.xml.corrupt-", NULL, 0), 1);
    CHECK(!exists("%s/broken.xml%s", p->cfg, ""));
    CHECK(!exists("%s/mismatch.xml%s", p->cfg, ""));
    CHECK(!exists("%s/zdup.xml%s", p->cfg, ""));
    CHECK(!exists("%s/alpha.xml.new%s", p->cfg, ""));
    CHECK(exists("%s/123.xml%s", p->cfg, ""));
    CHECK(exists("%s/notes.txt%s", p->cfg, ""));
    CHECK(!exists("%s/broken.xml%s", p->autostart, ""));
    CHECK(!exists("%s/ghost.xml%s", p->autostart, ""));
    CHECK(exists("%s/alpha.xml%s", p->autostart, ""));

    /* A second bad file of the same name in the same second does not replace the first. */
    snprintf(path, sizeof(path), "%s/broken.xml", p->cfg);
    spit(path, "second");
    CHECK_INTEQ(domain_store_load_configs(st, collect, &l), 0);
    CHECK_INTEQ(l.n, 3);
    loaded_clear(&l);
    CHECK_INTEQ(count_prefix(p->cfg, "broken.xml.corrupt-", NULL, 0), 2);

    /* A load of a directory that cannot be read fails as a whole. */
    domain_store *gone = domain_store_open(p->cfg, p->save, p->run);
    char moved[1100];
    snprintf(moved, sizeof(moved), "%s.moved", p->cfg);
    CHECK_INTEQ(renameat(AT_FDCWD, p->cfg, AT_FDCWD, moved), 0);
    xend_error_reset();
    CHECK_INTEQ(domain_store_load_configs(gone, collect, &l), -1);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_SYSTEM);
    CHECK_INTEQ(l.n, 0);
    CHECK_INTEQ(renameat(AT_FDCWD, moved, AT_FDCWD, p->cfg), 0);
    domain_store_free(gone);
}

static void test_rename(domain_store *st, const struct paths *p)
{
    /* beta: config, autostart marker, save image, status file. */
    CHECK_INTEQ(domain_store_set_autostart(st, "beta", true), 0);
    char *save = domain_store_save_path(st, "beta");
    char want[1024];
    snprintf(want, sizeof(want), "%s/beta.save", p->save);
    CHECK_STREQ(save, want);
    CHECK(!domain_store_has_save(st, "beta"));
    spit(save, "image data");
    CHECK(domain_store_has_save(st, "beta"));
    free(save);
    xml_node *ds = xml_node_new("domstatus");
    xml_node_set_attr(ds, "state", "paused");
    CHECK_INTEQ(domain_store_save_status(st, "beta", ds), 0);

    /* A failing step is undone: the status move fails, so the save image comes back and
     * the new config and marker disappear. */
    fail_rename_suffix = "/delta.status";
    xend_error_reset();
    CHECK_INTEQ(domain_store_rename(st, "beta", "delta"), -1);
    fail_rename_suffix = NULL;
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_SYSTEM);
    CHECK_CONTAINS(xend_error_last()->message, "delta.status");
    CHECK(exists("%s/beta.xml%s", p->cfg, ""));
    CHECK(!exists("%s/delta.xml%s", p->cfg, ""));
    CHECK(exists("%s/beta.xml%s", p->autostart, ""));
    CHECK(!exists("%s/delta.xml%s", p->autostart, ""));
    CHECK(exists("%s/beta.save%s", p->save, ""));
    CHECK(!exists("%s/delta.save%s", p->save, ""));
    CHECK(exists("%s/beta.status%s", p->run, ""));

    CHECK_INTEQ(domain_store_rename(st, "beta", "delta"), 0);
    CHECK(!exists("%s/beta.xml%s", p->cfg, ""));
    CHECK(!exists("%s/beta.xml%s", p->autostart, ""));
    CHECK(!exists("%s/beta.save%s", p->save, ""));
    CHECK(!exists("%s/beta.status%s", p->run, ""));
    CHECK(!domain_store_has_save(st, "beta"));
    CHECK(domain_store_has_save(st, "delta"));
    char path[1024];
    snprintf(path, sizeof(path), "%s/delta.save", p->save);
    char *img = slurp(path);
    CHECK_STREQ(img, "image data");
    free(img);
    snprintf(path, sizeof(path), "%s/delta.xml", p->cfg);
    char *text = slurp(path);
    CHECK_CONTAINS(text, "<name>delta</name>");
    CHECK_CONTAINS(text, "WARNING: THIS IS AN AUTO-GENERATED FILE");
    free(text);
    snprintf(path, sizeof(path), "%s/delta.xml", p->autostart);
    char target[256];
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    target[n > 0 ? n : 0] = '\0';
    CHECK_STREQ(target, "../delta.xml");
    CHECK(domain_store_get_autostart(st, "delta"));
    CHECK(!domain_store_get_autostart(st, "beta"));

    loaded l = {0};
    CHECK_INTEQ(domain_store_load_configs(st, collect, &l), 0);
    CHECK_INTEQ(l.n, 3);
    CHECK(loaded_find(&l, "beta") < 0);
    long i = loaded_find(&l, "delta");
    CHECK(i >= 0 && l.autostart[i]);
    /* The same domain: only the name changed. */
    CHECK(i >= 0 && memcmp(l.defs[i]->uuid, defs[1]->uuid, 16) == 0);
    CHECK(i >= 0 && l.defs[i]->ndisks == 1);
    loaded_clear(&l);
    statuses s = {0};
    CHECK_INTEQ(domain_store_load_status(st, collect_status, &s), 0);
    CHECK_INTEQ(s.n, 1);
    CHECK_STREQ(s.names[0], "delta");
    CHECK_STREQ(s.n ? xml_node_attr(s.roots[0], "state") : NULL, "paused");
    statuses_clear(&s);

    /* Onto a name that has files: refused, nothing moved. */
    xend_error_reset();
    CHECK_INTEQ(domain_store_rename(st, "delta", "alpha"), -1);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_DOMAIN_EXISTS);
    CHECK(exists("%s/delta.xml%s", p->cfg, ""));
    CHECK(exists("%s/delta.save%s", p->save, ""));
    /* A status file alone also claims the name. */
    CHECK_INTEQ(domain_store_save_status(st, "epsilon", ds), 0);
    xend_error_reset();
    CHECK_INTEQ(domain_store_rename(st, "delta", "epsilon"), -1);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_DOMAIN_EXISTS);
    /* A domain with only a status file (transient, running) can be renamed. */
    CHECK_INTEQ(domain_store_rename(st, "epsilon", "zeta"), 0);
    CHECK(!exists("%s/epsilon.status%s", p->run, ""));
    CHECK(exists("%s/zeta.status%s", p->run, ""));
    CHECK(!exists("%s/zeta.xml%s", p->cfg, ""));
    CHECK_INTEQ(domain_store_delete_status(st, "zeta"), 0);
    /* Nothing to rename. */
    xend_error_reset();
    CHECK_INTEQ(domain_store_rename(st, "nosuch", "other"), -1);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_NO_DOMAIN);
    /* To itself: nothing to do. */
    CHECK_INTEQ(domain_store_rename(st, "delta", "delta"), 0);
    CHECK(exists("%s/delta.xml%s", p->cfg, ""));

    CHECK_INTEQ(domain_store_delete_save(st, "delta"), 0);
    CHECK(!domain_store_has_save(st, "delta"));
    CHECK_INTEQ(domain_store_delete_save(st, "delta"), 0);
    CHECK_INTEQ(domain_store_delete_status(st, "delta"), 0);
    xml_node_free(ds);
}

static void test_bad_names(domain_store *st, const struct paths *p)
{
    /* Where a path built from "../x" would land: beside each directory. Two of those files
     * exist, so a missing check would show as has_save() true or a changed file. */
    char path[1024];
    snprintf(path, sizeof(path), "%s/etc/xend/x.xml", p->base);
    spit(path, "<domain/>");
    snprintf(path, sizeof(path), "%s/lib/x.save", p->base);
    spit(path, "image");

    const char *bad[] = {"../x", "a/b", "", ".", "..", "-x", "x\n", "/etc/passwd", "123"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *name = bad[i];
        xend_error_reset();
        CHECK(domain_store_save_path(st, name) == NULL);
        CHECK_INTEQ(xend_error_last()->code, XEND_ERR_INVALID_NAME);
        CHECK(!domain_store_has_save(st, name));
        CHECK(!domain_store_get_autostart(st, name));
        xend_error_reset();
        CHECK_INTEQ(domain_store_delete_save(st, name), -1);
        CHECK_INTEQ(xend_error_last()->code, XEND_ERR_INVALID_NAME);
        CHECK_INTEQ(domain_store_set_autostart(st, name, true), -1);
        CHECK_INTEQ(domain_store_set_autostart(st, name, false), -1);
        CHECK_INTEQ(domain_store_delete_config(st, name), -1);
        CHECK_INTEQ(domain_store_delete_status(st, name), -1);
        xml_node *ds = xml_node_new("domstatus");
        xend_error_reset();
        CHECK_INTEQ(domain_store_save_status(st, name, ds), -1);
        CHECK_INTEQ(xend_error_last()->code, XEND_ERR_INVALID_NAME);
        xml_node_free(ds);
        xend_error_reset();
        CHECK_INTEQ(domain_store_rename(st, "alpha", name), -1);
        CHECK_INTEQ(xend_error_last()->code, XEND_ERR_INVALID_NAME);
        CHECK_INTEQ(domain_store_rename(st, name, "newname"), -1);
        CHECK_INTEQ(xend_error_last()->code, XEND_ERR_INVALID_NAME);
        domain_def *def = make_def("placeholder");
        free(def->name);
        def->name = xstrdup(name);
        xend_error_reset();
        CHECK_INTEQ(domain_store_save_config(st, def), -1);
        CHECK_INTEQ(xend_error_last()->code, XEND_ERR_INVALID_NAME);
        domain_def_free(def);
    }
    /* The files outside are untouched, and nothing new appeared. */
    snprintf(path, sizeof(path), "%s/etc/xend/x.xml", p->base);
    char *s = slurp(path);
    CHECK_STREQ(s, "<domain/>");
    free(s);
    unlink(path);
    snprintf(path, sizeof(path), "%s/lib/x.save", p->base);
    CHECK(exists("%s%s", path, ""));
    unlink(path);
    CHECK(!exists("%s/etc/xend/x.xml.new%s", p->base, ""));
    CHECK(!exists("%s/x.xml%s", p->cfg, ""));
    CHECK(!exists("%s/run/x.status%s", p->base, ""));
    CHECK(exists("%s/alpha.xml%s", p->cfg, ""));
}

struct many_state {
    size_t n;
    size_t names_ok;
};

static void count_many(void *opaque, domain_def *def, bool autostart)
{
    struct many_state *m = opaque;
    char want[32];
    snprintf(want, sizeof(want), "vm%05zu", m->n);
    /* Sorted by name, so the n-th delivered is vm<n>. */
    if (strcmp(def->name, want) == 0 && autostart == (m->n % 100 == 0))
        m->names_ok++;
    m->n++;
    domain_def_free(def);
}

static void test_many(const struct paths *p)
{
    char cfg[600], save[600], run[600];
    snprintf(cfg, sizeof(cfg), "%s/many/etc", p->base);
    snprintf(save, sizeof(save), "%s/many/save", p->base);
    snprintf(run, sizeof(run), "%s/many/run", p->base);
    domain_store *st = domain_store_open(cfg, save, run);
    CHECK(st != NULL);
    if (!st)
        return;
    /* Written directly (no fsync per file) so the test measures loading, not disk syncs. */
    domain_def *def = make_def("vm00000");
    domain_disk disk = {0};
    disk.type = DOMAIN_DISK_FILE;
    disk.source = "/var/lib/xend/images/disk.img";
    disk.target = "vda";
    domain_def_add_disk(def, &disk);
    for (size_t i = 0; i < MANY; i++) {
        free(def->name);
        def->name = xasprintf("vm%05zu", i);
        domain_uuid_generate(def->uuid);
        xbuf b = XBUF_INIT;
        xbuf_adds(&b, "<!-- generated by test-store -->\n");
        domain_xml_format(def, &b, 0);
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s.xml", cfg, def->name);
        FILE *f = fopen(path, "w");
        if (f) {
            fwrite(b.data, 1, b.len, f);
            fclose(f);
        }
        xbuf_clear(&b);
        if (i % 100 == 0) {
            snprintf(path, sizeof(path), "%s/autostart/%s.xml", cfg, def->name);
            char target[64];
            snprintf(target, sizeof(target), "../%s.xml", def->name);
            if (symlink(target, path) < 0)
                perror(path);
        }
    }
    domain_def_free(def);

    struct many_state m = {0, 0};
    /* Wall time, and CPU time, which a busy machine (parallel tests) disturbs less. */
    struct timespec t0, t1, c0, c1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    CHECK_INTEQ(domain_store_load_configs(st, count_many, &m), 0);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    double cpu = (double)(c1.tv_sec - c0.tv_sec) * 1e3 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e6;
    CHECK_INTEQ(m.n, MANY);
    CHECK_INTEQ(m.names_ok, MANY);
    printf("store: loaded %d configs in %.1f ms (%.1f us each; %.1f ms of CPU)\n", MANY, ms,
           ms * 1e3 / MANY, cpu);
    domain_store_free(st);
}

int main(void)
{
    struct paths p;
    const char *tmp = getenv("TMPDIR");
    snprintf(p.base, sizeof(p.base), "%s/xend-test-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(p.base)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(p.cfg, sizeof(p.cfg), "%s/etc/xend/domains", p.base);
    snprintf(p.autostart, sizeof(p.autostart), "%s/autostart", p.cfg);
    snprintf(p.save, sizeof(p.save), "%s/lib/save", p.base);
    snprintf(p.run, sizeof(p.run), "%s/run/xend", p.base);

    /* Opening creates every directory, private to the daemon. */
    domain_store *st = domain_store_open(p.cfg, p.save, p.run);
    CHECK(st != NULL);
    if (!st)
        return check_summary("store");
    CHECK_INTEQ(mode_of(p.cfg), 0700);
    CHECK_INTEQ(mode_of(p.autostart), 0700);
    CHECK_INTEQ(mode_of(p.save), 0700);
    CHECK_INTEQ(mode_of(p.run), 0700);

    test_save_load(st, &p);
    test_autostart(st, &p);
    test_status(st, &p);
    test_corrupt(st, &p);
    test_rename(st, &p);
    test_bad_names(st, &p);
    test_many(&p);

    /* A directory that cannot be created (a file is in the way). */
    char blocked[600];
    snprintf(blocked, sizeof(blocked), "%s/etc/xend/domains/alpha.xml/sub", p.base);
    xend_error_reset();
    CHECK(domain_store_open(blocked, p.save, p.run) == NULL);
    CHECK_INTEQ(xend_error_last()->code, XEND_ERR_SYSTEM);

    for (int i = 0; i < 3; i++)
        domain_def_free(defs[i]);
    domain_store_free(st);
    rm_rf(p.base);
    CHECK(!exists("%s%s", p.base, ""));
    return check_summary("store");
}
