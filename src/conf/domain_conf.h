/*
 * The domain model: what xend knows about a virtual machine's configuration, independent
 * of format. Domain XML (domain_xml.c, the libvirt subset), xm python-syntax configs
 * (xmcfg.c) and S-expressions (domain_sxp.c) all parse into and format from this one
 * structure, and validation lives here so every format gets the same checks.
 *
 * Ownership: a domain_def owns every string, array and kept XML node it points to;
 * domain_def_free releases all of it. Device structs inside the arrays are owned by the
 * def; functions that take a device "by value" copy it.
 */
#ifndef XEND_CONF_DOMAIN_CONF_H
#define XEND_CONF_DOMAIN_CONF_H

#include "conf/xml.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DOMAIN_NAME_MAX 64      /* bytes */
#define DOMAIN_VCPUS_MAX 256
#define DOMAIN_DISKS_MAX 64
#define DOMAIN_NICS_MAX 32
#define DOMAIN_CHARS_MAX 8      /* serial + console entries */
#define DOMAIN_TEXT_MAX 4096    /* title, description, cmdline, paths */
#define DOMAIN_MEMORY_MAX_KIB (16ULL << 30) /* 16 TiB: sanity ceiling before host limits */

typedef enum {
    DOMAIN_ACTION_DESTROY,
    DOMAIN_ACTION_RESTART,
    DOMAIN_ACTION_PRESERVE,
    DOMAIN_ACTION_RENAME_RESTART,
    DOMAIN_ACTION_LAST
} domain_action;

typedef enum { DOMAIN_DISK_FILE, DOMAIN_DISK_BLOCK, DOMAIN_DISK_TYPE_LAST } domain_disk_type;
typedef enum { DOMAIN_DISK_DISK, DOMAIN_DISK_CDROM, DOMAIN_DISK_DEVICE_LAST } domain_disk_device;
typedef enum { DOMAIN_DISK_RAW, DOMAIN_DISK_QCOW2, DOMAIN_DISK_FORMAT_LAST } domain_disk_format;
typedef enum {
    DOMAIN_BUS_VIRTIO,
    DOMAIN_BUS_IDE,
    DOMAIN_BUS_SCSI,
    DOMAIN_BUS_SATA,
    DOMAIN_BUS_XEN,
    DOMAIN_BUS_USB,
    DOMAIN_BUS_LAST
} domain_disk_bus;

typedef enum { DOMAIN_NIC_USER, DOMAIN_NIC_NETWORK, DOMAIN_NIC_BRIDGE, DOMAIN_NIC_TYPE_LAST } domain_nic_type;

typedef enum {
    DOMAIN_CHR_PTY,
    DOMAIN_CHR_FILE,
    DOMAIN_CHR_UNIX,
    DOMAIN_CHR_NULL,
    DOMAIN_CHR_TYPE_LAST
} domain_chr_type;

typedef enum { DOMAIN_BOOT_HD, DOMAIN_BOOT_CDROM, DOMAIN_BOOT_NETWORK, DOMAIN_BOOT_FD, DOMAIN_BOOT_LAST } domain_boot_dev;

typedef struct {
    domain_disk_type type;
    domain_disk_device device;
    domain_disk_format format;
    char *source;       /* path; NULL only for an empty cdrom */
    char *target;       /* guest device name, e.g. "vda", "hda", "xvda1"; unique per domain */
    domain_disk_bus bus;
    bool readonly;
    bool shareable;
    xml_node *extra;    /* unknown child elements kept verbatim (sibling list) */
} domain_disk;

typedef struct {
    domain_nic_type type;
    char *source;       /* network or bridge name; NULL for user */
    uint8_t mac[6];     /* always set: generated (52:54:00:xx:xx:xx) when the config has none */
    char *model;        /* "virtio", "e1000", "rtl8139"...; NULL = driver default */
    xml_node *extra;
} domain_nic;

typedef struct {
    bool console;       /* <console> rather than <serial> */
    domain_chr_type type;
    char *path;         /* file or unix socket path; NULL for pty/null */
    int port;           /* <target port='N'/>, 0 by default */
    xml_node *extra;
} domain_chr;

typedef struct domain_def {
    char *virt_type;          /* <domain type=...>: "test", "kvm", "qemu", "xen" */
    char *name;
    uint8_t uuid[16];         /* generated when the config has none */
    char *title;              /* NULL if absent */
    char *description;

    uint64_t memory_kib;          /* <memory>: boot/maximum balloon size */
    uint64_t current_memory_kib;  /* <currentMemory>: balloon target; <= memory_kib */
    uint64_t max_memory_kib;      /* <maxMemory>: hotplug ceiling; 0 = absent */
    unsigned max_memory_slots;    /* <maxMemory slots=...>; 0 = absent (needs max_memory_kib) */

    unsigned vcpus;           /* <vcpu>N</vcpu>: maximum */
    unsigned vcpus_current;   /* <vcpu current=...>; == vcpus when absent */
    char *cpuset;             /* <vcpu cpuset=...> as written (validated); NULL = any */

    struct {
        char *type;           /* "hvm", "linux", "xen" */
        char *arch;           /* NULL = host arch */
        char *machine;
        char *kernel, *initrd, *cmdline;
        domain_boot_dev boot[4];
        size_t nboot;
        xml_node *extra;
    } os;

    bool acpi;                /* <features><acpi/></features> */
    bool apic;
    bool pae;
    xml_node *features_extra; /* other <features> children, verbatim */

    domain_action on_poweroff, on_reboot, on_crash;

    domain_disk *disks;
    size_t ndisks;
    domain_nic *nics;
    size_t nnics;
    domain_chr *chrs;         /* serial and console entries, in document order */
    size_t nchrs;

    xml_node *devices_extra;  /* unknown <devices> children (graphics, video...), verbatim */
    xml_node *extra;          /* unknown top-level elements, verbatim */
} domain_def;

/* A warning collected while parsing: something kept but not acted on. */
typedef struct {
    char **items;   /* "line 12: <graphics> is kept but not used by xend" */
    size_t n;
} domain_warnings;
void domain_warnings_add(domain_warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void domain_warnings_clear(domain_warnings *w);

/* A new def with defaults: memory 128 MiB, 1 vcpu, os type "hvm", actions destroy/restart/
 * destroy, random uuid, acpi on. Caller frees with domain_def_free. */
domain_def *domain_def_new(void);
void domain_def_free(domain_def *def);          /* accepts NULL */
domain_def *domain_def_copy(const domain_def *def);

void domain_disk_clear(domain_disk *disk);      /* frees members, not the struct */
void domain_nic_clear(domain_nic *nic);
void domain_chr_clear(domain_chr *chr);
void domain_disk_copy(domain_disk *dst, const domain_disk *src);
void domain_nic_copy(domain_nic *dst, const domain_nic *src);

/* Append a copy of the device; returns its index. */
size_t domain_def_add_disk(domain_def *def, const domain_disk *disk);
size_t domain_def_add_nic(domain_def *def, const domain_nic *nic);
void domain_def_remove_disk(domain_def *def, size_t i);
void domain_def_remove_nic(domain_def *def, size_t i);
/* Index of the disk with that target, or of the NIC with that MAC ("52:54:00:..") or index
 * string ("0"); -1 if none. */
long domain_def_find_disk(const domain_def *def, const char *target);
long domain_def_find_nic(const domain_def *def, const char *mac_or_index);

/* Enum <-> string, the XML spellings ("rename-restart", "block", "cdrom", "qcow2", "virtio",
 * "bridge", "pty", "hd"/"cdrom"/"network"/"fd"). *_parse returns -1 if unknown. */
const char *domain_action_name(domain_action a);
int domain_action_parse(const char *s);
const char *domain_disk_type_name(domain_disk_type t);
int domain_disk_type_parse(const char *s);
const char *domain_disk_device_name(domain_disk_device d);
int domain_disk_device_parse(const char *s);
const char *domain_disk_format_name(domain_disk_format f);
int domain_disk_format_parse(const char *s);
const char *domain_disk_bus_name(domain_disk_bus b);
int domain_disk_bus_parse(const char *s);
const char *domain_nic_type_name(domain_nic_type t);
int domain_nic_type_parse(const char *s);
const char *domain_chr_type_name(domain_chr_type t);
int domain_chr_type_parse(const char *s);
const char *domain_boot_dev_name(domain_boot_dev b);
int domain_boot_dev_parse(const char *s);

/* UUIDs: format as the 36-char lowercase form; parse accepts that form (either case) and
 * the 32-hex form. */
void domain_uuid_format(const uint8_t uuid[16], char out[37]);
int domain_uuid_parse(const char *s, uint8_t uuid[16]);
void domain_uuid_generate(uint8_t uuid[16]);
void domain_mac_format(const uint8_t mac[6], char out[18]);
int domain_mac_parse(const char *s, uint8_t mac[6]);
void domain_mac_generate(uint8_t mac[6]); /* 52:54:00:xx:xx:xx */

/* Name rules: 1..DOMAIN_NAME_MAX bytes of [A-Za-z0-9_.:+-], not "." or "..", not starting
 * with '-' or '.', not all digits (digits mean a domain id), not a UUID. Returns 0 or -1
 * with INVALID_NAME reported naming the rule broken. */
int domain_name_check(const char *name);

/* A CPU list "0-3,^2,5" -> bitmap of at most maxcpus bits (bytes, LSB first). Returns the
 * number of CPUs set, or -1 with INVALID_ARG reported. */
int domain_cpulist_parse(const char *s, unsigned maxcpus, uint8_t *bitmap);
/* Bitmap -> canonical "0-1,3" text (caller frees); "" when empty. */
char *domain_cpulist_format(const uint8_t *bitmap, unsigned maxcpus);

/* Structural checks that need no host knowledge: name, memory > 0 and current <= memory,
 * max >= memory, 1 <= vcpus_current <= vcpus <= DOMAIN_VCPUS_MAX, cpuset, unique disk
 * targets and MACs, a path on every non-cdrom disk, bounded counts. 0, or -1 with
 * CONFIG_INVALID / INVALID_NAME reported. */
int domain_def_validate(const domain_def *def);
/* The per-device part of those checks (for attach): target/source/enums/lengths of a disk;
 * type/source/model/unicast MAC of a NIC. 0, or -1 with CONFIG_INVALID reported. */
int domain_disk_validate(const domain_disk *disk);
int domain_nic_validate(const domain_nic *nic);

/* os.type values xend supports: "hvm", "linux", "xen", "xenpvh". */
bool domain_os_type_known(const char *type);

/* Deep equality of two defs, kept XML included (element line numbers are ignored). */
bool domain_def_equal(const domain_def *a, const domain_def *b);

/* ---- Domain XML (domain_xml.c): the libvirt subset ---- */

/* Parse a <domain> document. Unknown elements are kept (and listed in warnings if w is not
 * NULL); what xend cannot honour safely (hostdev, a disk of type network, an interface of
 * type direct, qemu:commandline...) is refused. Returns a validated def (caller frees) or
 * NULL with CONFIG_INVALID reported naming the element and line. */
domain_def *domain_xml_parse(const char *xml, size_t len, domain_warnings *w);
/* The same from an already parsed <domain> element (status files embed one). */
domain_def *domain_xml_parse_node(const xml_node *root, domain_warnings *w);
/* Format as domain XML; appended to out, indented by indent levels. */
void domain_xml_format(const domain_def *def, xbuf *out, int indent);
/* Parse or format one device element (<disk>, <interface>) for attach/detach.
 * kind receives "disk" or "interface". Returns 0 / -1 with CONFIG_INVALID. */
int domain_xml_parse_device(const char *xml, size_t len, domain_disk *disk, domain_nic *nic,
                            const char **kind);
void domain_xml_format_disk(const domain_disk *disk, xbuf *out, int indent);
void domain_xml_format_nic(const domain_nic *nic, xbuf *out, int indent);

#endif
