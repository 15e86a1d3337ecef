/*
 * Internals of the simulated host ("test" driver) shared by its files:
 *   test_driver.c         the host: config, node info, dmesg, memory accounting, the timer
 *                         thread, and the hv_test_driver table
 *   test_driver_domain.c  lifecycle: start/restore, shutdown, destroy, pause, save, migrate
 *                         (also to this daemon itself), a boot that panics for want of
 *                         memory, status file and re-attach
 *   test_driver_live.c    live changes and reads: memory, vCPUs, pinning, hot-plug,
 *                         console, sysrq, stats
 *   test_driver_image.c   the simulated guest state as key/value pairs and the save image
 *   test_driver_shell.c   the guest's shell on its serial console (domain.console_write)
 *   test_driver_shell_fs.c  the files that shell shows (/proc, /sys, /etc), derived from
 *                         the live domain
 *
 * The image and shell files use only util/, conf/ enums and xmlrpc/base64, so they
 * are unit-tested and fuzzed without the API layer.
 *
 * Locking: the driver mutex (test_drv.lock) guards the memory counter, the host console
 * and the timer queue. It nests inside a domain's object lock (object lock -> driver lock)
 * and is never held while taking an object lock or calling into the API.
 */
#ifndef XEND_HV_TEST_DRIVER_PRIV_H
#define XEND_HV_TEST_DRIVER_PRIV_H

/* LOCAL WORKAROUND: api/domain.h uses xmlrpc_value without including its header, and
 * api/driver.h includes api/domain.h before xmlrpc/value.h; include it first. */
#include "xmlrpc/value.h"

#include "api/driver.h"
#include "util/buf.h"
#include "util/ring.h"
#include "util/hash.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TEST_DRV_RING_MAX (64u << 10) /* host dmesg and each guest console */
#define TEST_DRV_CPUS_MAX 256         /* hv_vcpu_info.affinity holds 256 bits */
#define TEST_DRV_AFFINITY_BYTES 32
/* Serialised guest state: the console takes at most 88 KiB, the shell 45, the vCPUs 25. */
#define TEST_DRV_STATE_MAX (256u << 10)

/* ---- test_driver_shell.c: the guest's shell on its serial console ---- */

#define TEST_DRV_SHELL_LINE_MAX 4096       /* a tty line; input beyond it is dropped */
#define TEST_DRV_SHELL_TYPEAHEAD_MAX 8192  /* typed but not yet read by the guest */
#define TEST_DRV_SHELL_VARS_MAX 64         /* shell variables */
#define TEST_DRV_SHELL_NAME_MAX 64         /* bytes of a variable name */
#define TEST_DRV_SHELL_VALUE_MAX 4096      /* bytes of a variable's value */
#define TEST_DRV_SHELL_VARS_BYTES (16u << 10) /* all names and values together */
#define TEST_DRV_SHELL_OUTPUT_MAX (64u << 10) /* console output of one test_drv_shell_run */
#define TEST_DRV_SHELL_PROMPT "/ # "

typedef struct {
    char *name;
    char *value;
    bool exported;
} test_drv_shell_var;

/* The guest's end of its console: the tty's input (typeahead not yet read, the line being
 * edited) and the shell's variables and last exit status. Part of the guest state (save
 * images, migration, the status file); a reboot or a fresh start begins with a zeroed one.
 * Owns its arrays. */
typedef struct {
    test_drv_shell_var *vars; /* in the order they were first set */
    size_t nvars;
    size_t var_bytes;         /* names and values together */
    unsigned status;          /* $?, 0..255 */
    char *line;               /* the line being typed; holds '\n' inside an open quote */
    size_t line_len;
    char *typeahead;          /* typed while the guest did not run, or beyond one run's
                                 output bound: read before anything typed later */
    size_t typeahead_len;
    bool erasing;             /* echo only (not saved): inside a \erased/ run */
} test_drv_shell;

typedef struct {
    const char *name; /* the guest's device name, e.g. "xvda1" */
    uint64_t kib;     /* size; 0 when unknown or no medium */
} test_drv_shell_disk;

/* What the guest sees of itself when a command runs; filled by the driver from the live
 * domain for each run, borrowed by the shell. */
typedef struct {
    const char *hostname; /* the domain name */
    const char *cpu_model;
    const char *arch;
    unsigned mhz;
    unsigned vcpus_online;
    uint64_t memory_kib;     /* current allocation (the balloon) */
    uint64_t max_memory_kib; /* what it boots with; the difference is ballooned out */
    const test_drv_shell_disk *disks;
    size_t ndisks;
    const uint8_t (*macs)[6]; /* one per NIC, eth0 first */
    size_t nnics;
    uint64_t uptime_ns;           /* since the guest last booted */
    int64_t now_s;                /* wall clock, epoch seconds */
    const xring *console; /* the kernel's messages, for dmesg */
} test_drv_shell_view;

void test_drv_shell_clear(test_drv_shell *sh); /* frees members; a fresh shell after */
/* Deep copy into dst, which is overwritten (not freed first). */
void test_drv_shell_copy(test_drv_shell *dst, const test_drv_shell *src);
/* Set (add or replace) a variable; exported is or-ed into an existing one's flag. 0, or -1
 * with *why (static text) when the name is not [A-Za-z_][A-Za-z0-9_]* of at most
 * TEST_DRV_SHELL_NAME_MAX bytes, the value holds a NUL or is too long, or the count or
 * size bounds would be exceeded. */
int test_drv_shell_var_set(test_drv_shell *sh, const char *name, const char *value, size_t len,
                           bool exported, const char **why);
const test_drv_shell_var *test_drv_shell_var_get(const test_drv_shell *sh, const char *name);
/* Restore the tty buffers: -1 with *why when too long or holding a NUL. */
int test_drv_shell_line_set(test_drv_shell *sh, const char *line, size_t len, const char **why);
int test_drv_shell_typeahead_set(test_drv_shell *sh, const char *data, size_t len,
                                 const char **why);

/* Type at the console: append data to the typeahead (NUL bytes are taken and dropped).
 * Returns the bytes accepted (fewer than len when the typeahead is full). */
size_t test_drv_shell_type(test_drv_shell *sh, const char *data, size_t len);
/* The guest reads its typeahead: echo as a serial tty does (control characters as ^X,
 * erasures as \erased/), run each completed line and print the prompt, appending all of
 * it to out. Stops reading, leaving the rest typed ahead, once the run has printed half of
 * TEST_DRV_SHELL_OUTPUT_MAX; output past all of it is dropped (prompts excepted). Returns
 * the number of lines run (0: the guest state changed only by echo). */
unsigned test_drv_shell_run(test_drv_shell *sh, const test_drv_shell_view *view, xbuf *out);

/* ---- test_driver_shell_fs.c: the files the guest's shell shows ---- */

typedef enum { TEST_DRV_FS_NONE, TEST_DRV_FS_FILE, TEST_DRV_FS_DIR } test_drv_fs_kind;

/* path resolved against "/" (the shell's working directory): "." and ".." applied, slashes
 * collapsed. false when the result would not fit in cap bytes. */
bool test_drv_fs_path(const char *path, char *out, size_t cap);
/* What an absolute, resolved path is. With out: a file's contents, or a directory's entry
 * names (sorted, each followed by '\n'), are appended. */
test_drv_fs_kind test_drv_fs_lookup(const test_drv_shell_view *v, const char *path, xbuf *out);
/* Linux's device numbers of a disk named like "xvda1" (xvd 202, hd 3/22/..., sd 8/65...,
 * vd 254); false for a name Linux would not give a disk. */
bool test_drv_fs_devnum(const char *name, unsigned *major, unsigned *minor);
/* How the guest uses total KiB: used by the kernel and programs, and page cache (free,
 * /proc/meminfo). */
void test_drv_fs_memory_split(uint64_t total, uint64_t *used, uint64_t *cache);

/* ---- test_driver_image.c: guest state and save images ---- */

enum {
    TEST_DRV_IO_RD_BYTES,
    TEST_DRV_IO_WR_BYTES,
    TEST_DRV_IO_RD_REQS,
    TEST_DRV_IO_WR_REQS,
    TEST_DRV_IO_RX_BYTES,
    TEST_DRV_IO_TX_BYTES,
    TEST_DRV_IO_RX_PACKETS,
    TEST_DRV_IO_TX_PACKETS,
    TEST_DRV_IO_LAST
};

/* Everything a simulated guest is, beyond its domain XML: what a save image, a migration
 * stream and the status file carry. Owns its arrays and console copy. */
typedef struct {
    uint64_t balloon_kib;
    unsigned nvcpus;       /* entries in vcpu_ns and affinity (the domain's max vCPUs) */
    unsigned vcpus_online; /* vCPUs 0..online-1 are online */
    uint64_t *vcpu_ns;
    uint8_t (*affinity)[TEST_DRV_AFFINITY_BYTES];
    uint64_t io[TEST_DRV_IO_LAST];
    uint64_t console_base; /* absolute offset of console[0] */
    char *console;
    size_t console_len;
    uint64_t uptime_ns;    /* the guest kernel's clock (console timestamps) */
    int64_t taken_ms;      /* epoch ms when this snapshot was taken */
    test_drv_shell shell;  /* the console's tty and shell */
    bool shutdown_pending; /* status file only: a shutdown/reboot is under way */
    hv_shutdown_mode shutdown_mode;
    int64_t shutdown_due_ms; /* epoch ms it completes */
    uint64_t boot_panic_ns;  /* booted with too little memory: the guest uptime at which
                                its kernel panics, or once boot_panicked at which the
                                crash is reported; 0: none */
    bool boot_panicked;
    unsigned seen;           /* parser bookkeeping: keys already set */
} test_drv_state;

/* "poweroff", "reboot", "halt": the spelling in events, state and status files. */
const char *test_drv_mode_name(hv_shutdown_mode mode);

/* Size the vCPU tables (zeroed); any previous tables are freed. */
void test_drv_state_vcpus(test_drv_state *st, unsigned nvcpus);
void test_drv_state_clear(test_drv_state *st); /* frees members; st is reusable */

/* The pairs, in a fixed order ("vcpu" repeats once per vCPU). */
void test_drv_state_emit(const test_drv_state *st,
                         void (*fn)(void *opaque, const char *key, const char *value),
                         void *opaque);
/* Parse one pair into st. what and line (0 = none) name the source in errors: -1 with
 * CONFIG_INVALID reported on an unknown or repeated key or a bad value. */
int test_drv_state_set(test_drv_state *st, const char *key, const char *value, const char *what,
                       unsigned line);
/* After the last pair: required keys present and values consistent. 0 / -1 reported. */
int test_drv_state_finish(test_drv_state *st, const char *what);

/* The text form, "key=value\n" lines, used by save images and migration. parse starts
 * from a cleared st, and leaves it cleared on failure. */
void test_drv_state_format(const test_drv_state *st, xbuf *out);
int test_drv_state_parse(test_drv_state *st, const char *text, size_t len, const char *what);

/* Save images: "XENDSAVE 1\n", "xml N\n", N bytes of domain XML, "state M\n", M bytes of
 * state text, "end\n". */
#define TEST_DRV_IMAGE_MAGIC "XENDSAVE 1\n"

typedef struct {
    char *xml; /* NUL-terminated */
    size_t xml_len;
    char *state; /* NUL-terminated */
    size_t state_len;
} test_drv_image;

/* A save image being written. What is at path stays as it was until the image is complete:
 * it is written to a new temporary file next to path and renamed over it at the end. A path
 * that exists and is not a regular file (a FIFO, a device such as /dev/full) is written in
 * place and never removed. */
typedef struct {
    char *path; /* the name asked for */
    char *tmp;  /* the temporary file; NULL when path is written in place */
    int fd;
} test_drv_image_target;

/* Open t for path: a new temporary file (O_EXCL, mode 0600) in path's directory, or path
 * itself when it is not a regular file (a FIFO without a reader fails at once). 0, or -1
 * with SYSTEM or NO_SPACE reported (naming path) and nothing to discard. */
int test_drv_image_create(const char *path, test_drv_image_target *t);
/* Write the whole image, fsync it, rename it over path and fsync the directory. Finishes t
 * either way (on failure the temporary file is removed, path untouched). 0, or -1 with
 * NO_SPACE (ENOSPC/EDQUOT) or SYSTEM reported. */
int test_drv_image_write(test_drv_image_target *t, const char *xml, size_t xml_len,
                         const char *state, size_t state_len);
/* Give up on t before test_drv_image_write (a failed or aborted save): close it and remove
 * the temporary file; path is not touched. */
void test_drv_image_discard(test_drv_image_target *t);
/* Read and check an image. 0, or -1 with CONFIG_INVALID ("'p' is not a xend save image",
 * not a regular file, truncated, oversized) or SYSTEM reported; opening a FIFO put at path
 * does not block. The caller clears img. */
int test_drv_image_read(const char *path, test_drv_image *img);
void test_drv_image_clear(test_drv_image *img);

/* ---- test_driver.c: the host ---- */

typedef struct test_drv_timer test_drv_timer;

typedef struct {
    api_ctx *ctx;

    /* Host configuration: fixed after open. */
    unsigned cpus, mhz;
    uint64_t memory_kib, host_domain_kib;
    char model[64];
    char arch[16];
    unsigned shutdown_ms, reboot_ms, save_ms_per_gib;
    unsigned guest_min_mib; /* a guest booting with less panics (out of memory) */
    char *boot_console; /* NULL if not configured */
    uint64_t open_ns;   /* monotonic time of open (Domain-0's cpu time) */

    pthread_mutex_t lock; /* everything below */
    pthread_cond_t cond;  /* CLOCK_MONOTONIC; wakes the timer thread */
    uint64_t used_kib;    /* current memory of every active guest */
    uint64_t next_incarnation;
    xring dmesg;
    test_drv_timer *timers; /* sorted by due time */
    xhash *boot_panics;     /* uuid -> consecutive out-of-memory panics at boot, as
                               (uintptr_t); bounds on_crash=restart */
    bool stop;
    pthread_t thread;
    bool thread_started;
} test_drv;

/* A running guest: dom->priv while the domain is active, NULL otherwise. */
typedef struct {
    uint64_t incarnation; /* unique per start; stale timers compare it */
    uint64_t charged_kib; /* counted in test_drv.used_kib */
    unsigned nvcpus;      /* size of the vCPU tables (def->vcpus at start) */
    unsigned online;      /* vCPUs 0..online-1 are online */
    uint64_t *vcpu_ns;    /* cpu time per vCPU up to since_ns */
    uint8_t (*affinity)[TEST_DRV_AFFINITY_BYTES];
    uint64_t cpu_ns;               /* sum of vcpu_ns */
    uint64_t io[TEST_DRV_IO_LAST]; /* counters up to since_ns */
    bool clock_running;            /* guest executes: cpu time and I/O advance */
    uint64_t since_ns;             /* monotonic time the counters were last brought forward */
    uint64_t boot_ns;              /* monotonic time the guest clock was last set */
    uint64_t uptime_base_ns;       /* guest clock at boot_ns (console timestamps) */
    xring console;
    test_drv_shell shell;          /* what reads the console's input */

    uint64_t shutdown_seq; /* bumped by every request and cancel: stale timers check */
    bool shutdown_pending;
    hv_shutdown_mode shutdown_mode;
    uint64_t shutdown_due_ns; /* monotonic */
    uint64_t boot_panic_ns;   /* booted with too little memory: the guest uptime at which
                                 the kernel panics, or once boot_panicked (it spins) at
                                 which the hypervisor reports the crash; 0: it booted
                                 normally. No shell reads the console meanwhile
                                 (userspace never starts). */
    bool boot_panicked;
} test_drv_dom;

/* The timer seq of a pending boot panic (shutdown requests count up from 0). */
#define TEST_DRV_TIMER_PANIC UINT64_MAX

test_drv *test_drv_get(api_ctx *ctx);
uint64_t test_drv_now_ns(void);  /* CLOCK_MONOTONIC */
int64_t test_drv_epoch_ms(void); /* CLOCK_REALTIME */

/* Memory accounting. reserve fails with INSUFFICIENT_MEMORY:
 * "cannot <verb> 'web': needs 512 MiB, 300 MiB free". */
int test_drv_mem_reserve(test_drv *drv, uint64_t kib, const char *verb, const char *name);
void test_drv_mem_release(test_drv *drv, uint64_t kib);
/* Append "(XEN) <text>\n" to the host console. */
void test_drv_dmesg(test_drv *drv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t test_drv_incarnation_next(test_drv *drv);
/* Domain-0's simulated cpu time at monotonic time now. */
uint64_t test_drv_host_cpu_ns(const test_drv *drv, uint64_t now);

/* Timers: at due_ns the timer thread calls test_drv_timer_fire. The queue holds a reference
 * to dom until the timer fires or is cancelled. Object lock of dom held by the callers. */
void test_drv_timer_add(test_drv *drv, domain_obj *dom, uint64_t incarnation, uint64_t seq,
                        uint64_t due_ns);
void test_drv_timer_cancel(test_drv *drv, uint64_t incarnation);

/* ---- test_driver_domain.c ---- */

/* Called by the timer thread, no lock held, with its reference to dom. */
void test_drv_timer_fire(test_drv *drv, domain_obj *dom, uint64_t incarnation, uint64_t seq);

/* Bring the cpu time and I/O counters forward to now. */
void test_drv_dom_settle(test_drv_dom *p, const domain_def *def, uint64_t now);
void test_drv_dom_clock(test_drv_dom *p, const domain_def *def, bool running);
/* The counters as they would be after settling at now, without changing p. */
uint64_t test_drv_dom_cpu_ns(const test_drv_dom *p, uint64_t now);
uint64_t test_drv_dom_vcpu_ns(const test_drv_dom *p, unsigned vcpu, uint64_t now);
void test_drv_dom_io(const test_drv_dom *p, const domain_def *def, uint64_t now,
                     uint64_t io[TEST_DRV_IO_LAST]);
/* A guest console line with a kernel timestamp ("[    1.234567] text"). */
void test_drv_dom_klog(test_drv_dom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Boot the guest's kernel (a fresh start or a reboot in place): print the boot messages
 * of def to the console. With less memory than the host's guest_min_mib the kernel stops
 * short of userspace and a boot panic is armed (test_drv_dom_panic_arm). Object lock
 * held. */
void test_drv_dom_boot(test_drv *drv, domain_obj *dom, test_drv_dom *p);
/* Queue the timer of a pending boot panic when the guest executes (call again whenever
 * its clock starts, or after cancelling its timers). */
void test_drv_dom_panic_arm(test_drv *drv, domain_obj *dom, test_drv_dom *p);
/* The guest is gone: cancel its timers, give back its memory, log it on the host console,
 * free dom->priv (set to NULL) and call api_domain_stopped(reason). Object lock + job. */
void test_drv_dom_stop(api_ctx *ctx, domain_obj *dom, domain_reason reason, const char *why,
                      bool final);
/* Reboot in place (console, state RUNNING/REBOOTED), or stop per on_reboot. */
void test_drv_dom_reboot(api_ctx *ctx, domain_obj *dom);
/* Crash the guest: CRASHED/PANICKED, then api_domain_stopped(CRASHED) (which applies
 * on_crash). */
void test_drv_dom_crash(api_ctx *ctx, domain_obj *dom);
/* Report OPERATION_INVALID "domain 'x' is not running" and return NULL when dom has no
 * running guest. */
test_drv_dom *test_drv_dom_get(domain_obj *dom);

int test_drv_domain_start(api_ctx *ctx, domain_obj *dom, const char *restore_path, bool paused);
int test_drv_domain_shutdown(api_ctx *ctx, domain_obj *dom, hv_shutdown_mode mode);
int test_drv_domain_destroy(api_ctx *ctx, domain_obj *dom);
int test_drv_domain_pause(api_ctx *ctx, domain_obj *dom);
int test_drv_domain_unpause(api_ctx *ctx, domain_obj *dom);
int test_drv_domain_save(api_ctx *ctx, domain_obj *dom, const char *path);
domain_def *test_drv_save_image_def(void *priv, const char *path);
int test_drv_domain_migrate(api_ctx *ctx, domain_obj *dom, const char *uri, bool live);
int test_drv_domain_migrate_incoming(api_ctx *ctx, domain_obj *dom, const void *state, size_t len,
                                     bool paused);
int test_drv_domain_relocate(api_ctx *ctx, domain_obj *dom, bool live);
void test_drv_domain_status_format(api_ctx *ctx, domain_obj *dom, xml_node *driver_node);
int test_drv_domain_reattach(api_ctx *ctx, domain_obj *dom, const xml_node *driver_node);
void test_drv_domain_priv_free(void *priv);

/* ---- test_driver_live.c ---- */

int test_drv_domain_set_memory(api_ctx *ctx, domain_obj *dom, uint64_t kib);
int test_drv_domain_set_vcpus(api_ctx *ctx, domain_obj *dom, unsigned n);
int test_drv_domain_vcpu_info(api_ctx *ctx, domain_obj *dom, hv_vcpu_info *out, unsigned max);
int test_drv_domain_pin_vcpu(api_ctx *ctx, domain_obj *dom, unsigned vcpu, const uint8_t *cpumap,
                             unsigned maxcpus);
int test_drv_domain_attach_disk(api_ctx *ctx, domain_obj *dom, const domain_disk *disk);
int test_drv_domain_detach_disk(api_ctx *ctx, domain_obj *dom, size_t index);
int test_drv_domain_attach_nic(api_ctx *ctx, domain_obj *dom, const domain_nic *nic);
int test_drv_domain_detach_nic(api_ctx *ctx, domain_obj *dom, size_t index);
int test_drv_domain_console_read(api_ctx *ctx, domain_obj *dom, uint64_t offset, size_t max,
                                 xbuf *out, uint64_t *next, uint64_t *start);
int test_drv_domain_console_write(api_ctx *ctx, domain_obj *dom, const char *data, size_t len,
                                  size_t *accepted);
/* The guest reads what was typed at its console when it is executing (its clock runs):
 * echo, command output and prompts go to the console. Returns the lines run (the caller
 * writes the status file when it wants them kept across a daemon restart). */
unsigned test_drv_dom_console_drain(test_drv *drv, domain_obj *dom, test_drv_dom *p);
int test_drv_domain_sysrq(api_ctx *ctx, domain_obj *dom, char key);
int test_drv_domain_stats(api_ctx *ctx, domain_obj *dom, hv_domain_stats *out);
uint64_t test_drv_domain_cpu_time(api_ctx *ctx, domain_obj *dom);

#endif
