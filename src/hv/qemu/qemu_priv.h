/*
 * Internals of the QEMU/KVM driver shared by its files:
 *   qemu_driver.c   the host: config file, probe (binary, version, KVM or TCG), node info,
 *                   the event worker thread, and the hv_qemu_driver table
 *   qemu_process.c  one QEMU process: run directory, pre-bound sockets, spawn, monitor and
 *                   console connection, stop, reap, status file and re-attach
 *   qemu_domain.c   lifecycle: start, shutdown/reboot, destroy, pause, QEMU's events
 *   qemu_live.c     live changes and reads: balloon, vCPUs, pinning, hot-plug, console,
 *                   sysrq, stats
 *   qemu_migrate.c  save/restore images and migration (to another xend or this one)
 *   qemu_argv.c     the command line and the JSON of every device (pure; unit-tested)
 *   qemu_console.c  the always-draining serial console reader and its ring
 *   qemu_monitor.c  the QMP client (qemu_monitor.h)
 *
 * Locking: a domain's object lock and job as api/domain.h says. A job that waits for QEMU
 * (qemu_dom_command, event waits) drops the object lock around the wait. The monitor and
 * console threads never take an object lock: what QEMU reports on its own (SHUTDOWN,
 * RESET, GUEST_PANICKED, the process ending) is queued to the driver's event worker, which
 * takes the object lock and the job like any caller and acts only if the event belongs to
 * the current run of the guest (qemu_dom.incarnation).
 */
#ifndef XEND_HV_QEMU_PRIV_H
#define XEND_HV_QEMU_PRIV_H

#include "xmlrpc/value.h"

#include "api/driver.h"
#include "hv/qemu/qemu_monitor.h"
#include "util/buf.h"
#include "util/ring.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define QEMU_CONSOLE_MAX (64u << 10)  /* console bytes kept in memory per guest */
#define QEMU_MONITOR_TIMEOUT_MS 10000 /* an ordinary QMP command */
#define QEMU_START_TIMEOUT_MS 20000   /* exec -> QMP greeting (TCG under load is slow) */
#define QEMU_PCI_SLOT_BALLOON 2
#define QEMU_PCI_SLOT_PANIC 3
#define QEMU_PCI_SLOT_SCSI 4  /* the virtio-scsi controller, when a disk needs it */
#define QEMU_PCI_SLOT_FIRST 5 /* disks and NICs */
#define QEMU_PCI_SLOT_LAST 31

/* ---- qemu_argv.c ---- */

/* A NULL-terminated argument vector. */
typedef struct {
    char **v;
    size_t n, cap;
} qemu_strv;
void qemu_strv_add(qemu_strv *sv, const char *s);
void qemu_strv_addf(qemu_strv *sv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void qemu_strv_free(qemu_strv *sv);

/* s with every ',' doubled: a value inside a QEMU option list ("-name guest=a,,b").
 * Caller frees. */
char *qemu_opt_escape(const char *s);

/* The PCI slot of every disk and NIC, in the order of def->disks / def->nics; 0 for a
 * device not on its own PCI slot (IDE, SCSI). Kept for the life of the guest and carried
 * in the status file, save images and migrations, because a restored or migrated QEMU must
 * have its devices where the source had them. */
typedef struct {
    uint8_t disk[64]; /* DOMAIN_DISKS_MAX */
    uint8_t nic[32];  /* DOMAIN_NICS_MAX */
} qemu_slots;
/* Give a slot to every PCI device of def that has none (slot 0). 0, or -1 with LIMIT
 * reported ("domain 'x': no free PCI slot for disk vdq (27 devices at most)"). */
int qemu_slots_assign(qemu_slots *s, const domain_def *def);
/* The lowest free slot, or -1 with LIMIT reported. */
int qemu_slots_free(const qemu_slots *s, const domain_def *def);
/* After def lost disk/NIC i: shift the slots down. */
void qemu_slots_remove_disk(qemu_slots *s, size_t i, size_t ndisks_before);
void qemu_slots_remove_nic(qemu_slots *s, size_t i, size_t nnics_before);
/* "d=5,6;n=7" and back (status file, save header). parse: 0 / -1 (nothing reported). */
char *qemu_slots_format(const qemu_slots *s, const domain_def *def);
int qemu_slots_parse(qemu_slots *s, const char *text);

/* Whether a disk is a virtio PCI device (bus virtio or xen, not a cdrom) that can be
 * hot-plugged. */
bool qemu_disk_is_pci(const domain_disk *d);

/* Ids QEMU knows a device by, derived from what identifies it in the domain: disk
 * "disk-<target>" with block nodes "file-<target>" / "fmt-<target>"; NIC "nic-<mac hex>"
 * with netdev "net-<mac hex>". */
void qemu_disk_ids(const domain_disk *d, char dev[40], char file_node[40], char fmt_node[40]);
void qemu_nic_ids(const domain_nic *n, char dev[40], char netdev[40]);

/* JSON of a disk's backend (blockdev-add / -blockdev: a format node over a file node,
 * inline), of its front end (device_add / -device, with addr when slot > 0), and the same
 * for a NIC. New references; NULL with UNSUPPORTED / CONFIG_INVALID reported for what the
 * driver cannot do ("the qemu driver supports interface types user and bridge"). */
json_object *qemu_disk_blockdev_json(const domain_disk *d);
json_object *qemu_disk_device_json(const domain_disk *d, unsigned slot);
json_object *qemu_nic_netdev_json(const domain_nic *n);
json_object *qemu_nic_device_json(const domain_nic *n, unsigned slot);

typedef struct {
    const char *binary; /* qemu-system-x86_64 */
    const char *accel;  /* "kvm" or "tcg" */
    int qmp_fd;         /* listening sockets, as numbered in the child */
    int serial_fd;
    int incoming_fd;        /* >= 0: -incoming fd:N (restore) */
    bool incoming_defer;    /* -incoming defer (migration target) */
    const char *serial_log; /* logfile= of the console */
    const char *pidfile;
    bool sandbox;      /* -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,
                          resourcecontrol=deny */
    const char *runas; /* -runas USER, or NULL */
    const qemu_slots *slots;
} qemu_argv_opts;

/* The whole command line for def (always -S: xend starts the vCPUs with "cont" once the
 * monitor is connected). Appends to out. 0, or -1 with UNSUPPORTED / CONFIG_INVALID
 * reported naming what cannot be run (arch other than x86_64, a sata/usb disk...). */
int qemu_argv_build(const domain_def *def, const qemu_argv_opts *o, qemu_strv *out);

/* ---- qemu_console.c ---- */

typedef struct qemu_console qemu_console;
/* Take over fd (connected to QEMU's serial socket) and drain it on a thread into a ring of
 * QEMU_CONSOLE_MAX bytes. The ring's offsets start at base with seed (len bytes, may be
 * NULL) already in it: a re-attached console continues from the serial log. NULL with
 * SYSTEM reported. */
qemu_console *qemu_console_open(int fd, const char *what, uint64_t base, const char *seed,
                                size_t len);
void qemu_console_close(qemu_console *c); /* joins the thread, closes fd; NULL ok */
/* As hv_driver.domain_console_read. Never fails. */
void qemu_console_read(qemu_console *c, uint64_t offset, size_t max, xbuf *out, uint64_t *next,
                       uint64_t *start);
/* Type bytes at the guest (non-blocking): *accepted = how many the socket took. 0, or -1
 * with HYPERVISOR reported when the console is gone. */
int qemu_console_write(qemu_console *c, const char *data, size_t len, size_t *accepted);
/* Offset after the newest byte. */
uint64_t qemu_console_end(qemu_console *c);
/* Wait at most timeout_ms until text appears in the console at or after offset; returns
 * the offset just after it, or 0 on timeout (for the driver's own guest handshakes and
 * the unit test). */
uint64_t qemu_console_wait(qemu_console *c, uint64_t offset, const char *text, int timeout_ms);

/* ---- qemu_driver.c ---- */

typedef struct qemu_event qemu_event;

typedef struct {
    api_ctx *ctx;
    char *binary; /* absolute path */
    int ver[3];   /* from `binary -version` */
    char version[32];
    bool kvm;            /* accelerator chosen */
    char accel_why[160]; /* "kvm_intel is loaded", "/dev/kvm is kvm_pvm ..., using TCG" */
    bool sandbox;
    char *runas;               /* user QEMU runs as when xend is root, or NULL */
    char *dir;                 /* <run_dir>/qemu: per-domain directories */
    unsigned destroy_grace_ms; /* quit -> SIGTERM -> SIGKILL, each */
    uint64_t incarnations;     /* counter behind qemu_dom.incarnation (under lock) */
    xring log;                 /* the host's console ring (node.dmesg), under lock */

    /* The event worker. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    qemu_event *head, *tail;
    pthread_t thread;
    bool thread_started, stop;
} qemu_drv;

qemu_drv *qemu_drv_get(api_ctx *ctx);
uint64_t qemu_now_ns(void); /* CLOCK_MONOTONIC */
/* A line in the host's console ring (node.dmesg) and the daemon log. */
void qemu_drv_log(qemu_drv *drv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Queue a QEMU event of dom's run `incarnation` for the event worker (takes a reference to
 * dom and a deep copy of data). Called from monitor threads; never blocks on a domain. */
void qemu_drv_queue_event(qemu_drv *drv, domain_obj *dom, uint64_t incarnation, const char *event,
                          json_object *data);
/* The next incarnation number (unique for this daemon's life). */
uint64_t qemu_drv_next_incarnation(qemu_drv *drv);

/* ---- qemu_process.c / qemu_domain.c: one running guest (dom->priv) ---- */

typedef struct qemu_dom {
    uint64_t incarnation; /* which run of the guest (events of older runs are dropped) */
    pid_t pid;
    bool is_child;      /* started by this daemon: waitpid works */
    uint64_t pid_start; /* /proc/PID/stat starttime, to know the pid is still ours */
    char *dir;          /* the run directory of this guest */
    qemu_mon *mon;
    qemu_console *con;
    qemu_slots slots;

    /* What the guest is doing, as far as QEMU has told us. */
    char shutdown_reason[32]; /* reason of the last SHUTDOWN event, "" if none */
    bool quitting;            /* xend asked QEMU to go: its end is expected */
    bool fake_reboot;         /* domain.shutdown(reboot): power down, then reset */
    struct qemu_watch *watch; /* what the monitor callbacks know (freed after mon) */
    uint64_t last_reset_ns;   /* RESET bursts (SeaBIOS resets twice more) count once */
    bool vcpu_unplugged;      /* QEMU 7.2 TCG crashes on a vCPU add after an unplug */
    uint64_t cpu_ns_base;     /* cpu time of earlier QEMU processes of this run (relocate) */
} qemu_dom;

/* Per-domain run directory <drv->dir>/<uuid>; created 0700. Caller frees. alt: the
 * other directory <uuid>.alt, for the second QEMU of a relocation (the two run side by
 * side for a moment; a relocated guest stays in .alt until its next relocation). */
char *qemu_dom_dir(qemu_drv *drv, const domain_obj *dom);
char *qemu_dom_dir_alt(qemu_drv *drv, const domain_obj *dom, bool alt);

/* How a process is to be started. */
typedef struct {
    int incoming_fd; /* -1, or a save image positioned at its migration stream */
    bool incoming_defer;
    bool alt_dir; /* run in qemu_dom_dir_alt(.., true) */
} qemu_launch;

/* Start QEMU for dom->def (object lock + job held; dom->priv must be NULL): run directory,
 * sockets, spawn, wait for QMP, connect monitor and console. The vCPUs stay stopped
 * (prelaunch, or inmigrate with an incoming stream). On success dom->priv is the new
 * qemu_dom (slots taken from *slots if not NULL, else assigned). On failure everything is
 * cleaned up and the fault quotes QEMU's stderr log ("QEMU failed to start: qemu-system-
 * x86_64: -blockdev ...: Could not open '/x': No such file or directory"). */
int qemu_process_start(api_ctx *ctx, domain_obj *dom, const qemu_launch *how,
                       const qemu_slots *slots);
/* The same without touching dom->priv: the new process is returned in *out (for a
 * relocation, where the old process keeps dom->priv until the switch). dom->priv may be
 * set. */
int qemu_process_launch(api_ctx *ctx, domain_obj *dom, const qemu_launch *how,
                        const qemu_slots *slots, qemu_dom **out);
/* Stop the process of p, which is not (or no longer) dom->priv, and free p. */
void qemu_process_stop_detached(api_ctx *ctx, domain_obj *dom, qemu_dom *p);
/* End the process of dom (object lock + job held): "quit" over QMP, then SIGTERM, then
 * SIGKILL, each bounded; reap it; close monitor and console; remove the run directory;
 * free dom->priv (set to NULL). Never fails (a process that cannot be killed is logged). */
void qemu_process_stop(api_ctx *ctx, domain_obj *dom);
/* Close dom's monitor and console, leaving QEMU running (driver close: no callback may
 * run once the driver is gone), except the QEMU of an unfinished incoming migration, which
 * is killed. For api_domain_foreach. */
void qemu_process_disconnect(domain_obj *dom, void *opaque);
/* Last lines of the guest's QEMU stderr log (for faults); caller frees; "" if none. */
char *qemu_process_log_tail(const char *dir, size_t max);

/* Run a QMP command for dom (object lock + job held; the lock is dropped while waiting).
 * As qemu_mon_command; -1 with HYPERVISOR when the guest has no monitor. */
int qemu_dom_command(domain_obj *dom, const char *cmd, json_object *args, json_object **ret,
                     char err_class[64]);
int qemu_dom_command_fd(domain_obj *dom, const char *cmd, json_object *args, int fd,
                        json_object **ret, char err_class[64]);
/* Wait for a monitor event with the object lock dropped (as qemu_mon_event_wait). */
int64_t qemu_dom_event_wait(domain_obj *dom, uint64_t after, const char *event,
                            bool (*match)(json_object *data, void *opaque), void *opaque,
                            int timeout_ms, json_object **data);
/* dom's running guest or NULL with OPERATION_INVALID reported ("domain 'x' is not
 * running"). */
qemu_dom *qemu_dom_get(domain_obj *dom);

/* Status file (driver_node children) and re-attach after a daemon restart. */
void qemu_process_status_format(api_ctx *ctx, domain_obj *dom, xml_node *driver_node);
int qemu_process_reattach(api_ctx *ctx, domain_obj *dom, const xml_node *driver_node);

/* qemu_domain.c: a QEMU event for the current run of dom, on the event worker (object
 * lock + job held). event "EOF" stands for the end of the monitor connection. */
void qemu_domain_handle_event(api_ctx *ctx, domain_obj *dom, const char *event, json_object *data);
/* The guest is gone for reason: stop the process and tell the API (object lock + job). */
void qemu_domain_stopped(api_ctx *ctx, domain_obj *dom, domain_reason reason, bool final);
/* Start the vCPUs after a launch, apply currentMemory and the cpuset, set the state with
 * its event (RUNNING/reason, then PAUSED if paused). */
int qemu_domain_resume_launched(api_ctx *ctx, domain_obj *dom, bool paused,
                                domain_reason running_reason, const char *detail,
                                domain_reason paused_reason);

/* Driver entry points (hv_driver slots) by file. */
int qemu_domain_start(api_ctx *ctx, domain_obj *dom, const char *restore_path, bool paused);
int qemu_domain_shutdown(api_ctx *ctx, domain_obj *dom, hv_shutdown_mode mode);
int qemu_domain_destroy(api_ctx *ctx, domain_obj *dom);
int qemu_domain_pause(api_ctx *ctx, domain_obj *dom);
int qemu_domain_unpause(api_ctx *ctx, domain_obj *dom);
void qemu_domain_priv_free(void *priv);

int qemu_domain_set_memory(api_ctx *ctx, domain_obj *dom, uint64_t kib);
int qemu_domain_set_vcpus(api_ctx *ctx, domain_obj *dom, unsigned n);
int qemu_domain_vcpu_info(api_ctx *ctx, domain_obj *dom, hv_vcpu_info *out, unsigned max);
int qemu_domain_pin_vcpu(api_ctx *ctx, domain_obj *dom, unsigned vcpu, const uint8_t *cpumap,
                         unsigned maxcpus);
/* Pin every vCPU thread to def->cpuset (after a launch); 0 / -1 reported. */
int qemu_domain_apply_cpuset(api_ctx *ctx, domain_obj *dom);
int qemu_domain_attach_disk(api_ctx *ctx, domain_obj *dom, const domain_disk *disk);
int qemu_domain_detach_disk(api_ctx *ctx, domain_obj *dom, size_t index);
int qemu_domain_attach_nic(api_ctx *ctx, domain_obj *dom, const domain_nic *nic);
/* Disk / NIC index of dom->def has left QEMU (device_del completed): free its backend,
 * drop it from def and the slots, post "device"/"removed". Object lock + job held. */
void qemu_domain_disk_gone(api_ctx *ctx, domain_obj *dom, size_t index);
void qemu_domain_nic_gone(api_ctx *ctx, domain_obj *dom, size_t index);
int qemu_domain_detach_nic(api_ctx *ctx, domain_obj *dom, size_t index);
int qemu_domain_console_read(api_ctx *ctx, domain_obj *dom, uint64_t offset, size_t max, xbuf *out,
                             uint64_t *next, uint64_t *start);
int qemu_domain_console_write(api_ctx *ctx, domain_obj *dom, const char *data, size_t len,
                              size_t *accepted);
int qemu_domain_sysrq(api_ctx *ctx, domain_obj *dom, char key);
int qemu_domain_stats(api_ctx *ctx, domain_obj *dom, hv_domain_stats *out);
uint64_t qemu_domain_cpu_time(api_ctx *ctx, domain_obj *dom);

int qemu_domain_save(api_ctx *ctx, domain_obj *dom, const char *path);
/* domain_start with a restore_path: launch QEMU reading the image's migration stream, wait
 * until it is loaded, then qemu_domain_resume_launched (RUNNING/RESTORED "started"/
 * "restored", then PAUSED/USER if paused). */
int qemu_domain_restore(api_ctx *ctx, domain_obj *dom, const char *path, bool paused);
domain_def *qemu_save_image_def(void *priv, const char *path);
/* Open a save image for restore: checks the header against expect (may be NULL), returns
 * the fd positioned at the migration stream with *slots filled, or -1 reported. */
int qemu_save_image_open(const char *path, const domain_def *expect, qemu_slots *slots);
int qemu_domain_migrate(api_ctx *ctx, domain_obj *dom, const char *uri, bool live);
/* Migrations arrive in phases (hv_driver.domain_migrate_prepare/finish); the one-call
 * domain.migrate_receive of the simulated driver is UNSUPPORTED (leave the slot empty). */
int qemu_domain_migrate_incoming(api_ctx *ctx, domain_obj *dom, const void *state, size_t len,
                                 bool paused);
/* Between prepare and finish the waiting QEMU is dom->priv of an inactive domain with
 * quitting set, so that its end (the source gave up) is not taken for a crash. */
int qemu_domain_migrate_prepare(api_ctx *ctx, domain_obj *dom, const void *state, size_t len,
                                const char *listen_host, char **uri);
int qemu_domain_migrate_finish(api_ctx *ctx, domain_obj *dom, bool ok, bool paused,
                               const void *state, size_t len);
int qemu_domain_relocate(api_ctx *ctx, domain_obj *dom, bool live);

#endif
