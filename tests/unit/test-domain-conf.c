/*
 * Unit tests of the domain model (conf/domain_conf.h): defaults, deep copy and equality,
 * device arrays and lookups, the enum spellings, UUIDs and MACs, the name rules, CPU
 * lists, and every check of domain_def_validate with the message a user sees.
 */
#include "check-error.h"
#include "check.h"
#include "conf/domain_conf.h"
#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A valid def with two disks, two NICs and a serial port, built in code. */
static domain_def *sample(void)
{
    domain_def *def = domain_def_new();
    def->name = xstrdup("vm1");
    def->virt_type = xstrdup("kvm");
    domain_disk disk = {.type = DOMAIN_DISK_FILE, .source = "/img/a.qcow2", .target = "vda",
                        .format = DOMAIN_DISK_QCOW2};
    domain_def_add_disk(def, &disk);
    disk = (domain_disk){.type = DOMAIN_DISK_FILE, .device = DOMAIN_DISK_CDROM, .target = "hdc",
                         .bus = DOMAIN_BUS_IDE, .readonly = true};
    domain_def_add_disk(def, &disk);
    domain_nic nic = {.type = DOMAIN_NIC_BRIDGE, .source = "br0",
                      .mac = {0x52, 0x54, 0x00, 0x01, 0x02, 0x03}, .model = "virtio"};
    domain_def_add_nic(def, &nic);
    nic = (domain_nic){.type = DOMAIN_NIC_USER, .mac = {0x52, 0x54, 0x00, 0x0a, 0x0b, 0x0c}};
    domain_def_add_nic(def, &nic);
    def->chrs = xcalloc(1, sizeof(*def->chrs));
    def->chrs[0] = (domain_chr){.type = DOMAIN_CHR_FILE, .path = xstrdup("/log/s0")};
    def->nchrs = 1;
    return def;
}

static void test_defaults(void)
{
    domain_def *def = domain_def_new();
    CHECK_INTEQ(def->memory_kib, 128 * 1024);
    CHECK_INTEQ(def->current_memory_kib, 128 * 1024);
    CHECK_INTEQ(def->max_memory_kib, 0);
    CHECK_INTEQ(def->vcpus, 1);
    CHECK_INTEQ(def->vcpus_current, 1);
    CHECK_STREQ(def->os.type, "hvm");
    CHECK_INTEQ(def->on_poweroff, DOMAIN_ACTION_DESTROY);
    CHECK_INTEQ(def->on_reboot, DOMAIN_ACTION_RESTART);
    CHECK_INTEQ(def->on_crash, DOMAIN_ACTION_DESTROY);
    CHECK(def->acpi && !def->apic && !def->pae);
    CHECK(def->name == NULL && def->ndisks == 0 && def->nnics == 0 && def->nchrs == 0);
    CHECK_INTEQ(def->uuid[6] >> 4, 4);
    /* Without a name it is not valid yet; with one it is. */
    xend_error_reset();
    CHECK_INTEQ(domain_def_validate(def), -1);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "has no name");
    def->name = xstrdup("fresh");
    CHECK_INTEQ(domain_def_validate(def), 0);
    domain_def *other = domain_def_new();
    CHECK(memcmp(def->uuid, other->uuid, 16) != 0);
    domain_def_free(other);
    domain_def_free(def);
    domain_def_free(NULL);
}

static void test_copy_equal(void)
{
    domain_def *def = sample();
    def->title = xstrdup("Title");
    def->os.extra = xml_node_new("loader");
    xml_node_set_attr(def->os.extra, "type", "pflash");
    def->extra = xml_node_new("clock");
    def->extra->next = xml_node_new("cpu");
    def->disks[0].extra = xml_node_new("address");
    CHECK_INTEQ(domain_def_validate(def), 0);

    domain_def *copy = domain_def_copy(def);
    CHECK(domain_def_equal(def, copy));
    CHECK(copy->disks != def->disks && copy->disks[0].source != def->disks[0].source);
    CHECK(copy->extra != def->extra && copy->extra->next != NULL);

    /* Every kind of difference is seen. */
    free(copy->disks[0].source);
    copy->disks[0].source = xstrdup("/img/b.qcow2");
    CHECK(!domain_def_equal(def, copy));
    domain_def_free(copy);

    copy = domain_def_copy(def);
    xml_node_set_attr(copy->os.extra, "type", "rom");
    CHECK(!domain_def_equal(def, copy));
    domain_def_free(copy);

    copy = domain_def_copy(def);
    copy->extra->next->line = 99; /* lines do not matter */
    CHECK(domain_def_equal(def, copy));
    xml_node_free(copy->extra->next);
    copy->extra->next = NULL;
    CHECK(!domain_def_equal(def, copy));
    domain_def_free(copy);

    copy = domain_def_copy(def);
    copy->nics[1].mac[5] ^= 2;
    CHECK(!domain_def_equal(def, copy));
    domain_def_free(copy);

    copy = domain_def_copy(def);
    copy->chrs[0].port = 1;
    CHECK(!domain_def_equal(def, copy));
    domain_def_free(copy);

    copy = domain_def_copy(def);
    free(copy->title);
    copy->title = NULL;
    CHECK(!domain_def_equal(def, copy));
    CHECK(!domain_def_equal(def, NULL));
    CHECK(domain_def_equal(NULL, NULL));
    domain_def_free(copy);
    domain_def_free(def);
}

static void test_devices(void)
{
    domain_def *def = sample();
    CHECK_INTEQ(domain_def_find_disk(def, "vda"), 0);
    CHECK_INTEQ(domain_def_find_disk(def, "hdc"), 1);
    CHECK_INTEQ(domain_def_find_disk(def, "vdb"), -1);
    CHECK_INTEQ(domain_def_find_disk(def, NULL), -1);

    domain_disk extra = {.source = "/img/c.raw", .target = "vdb"};
    extra.extra = xml_node_new("serial");
    CHECK_INTEQ(domain_def_add_disk(def, &extra), 2);
    xml_node_free(extra.extra); /* add copies */
    CHECK(def->disks[2].extra && strcmp(def->disks[2].extra->name, "serial") == 0);
    domain_def_remove_disk(def, 0);
    CHECK_INTEQ(def->ndisks, 2);
    CHECK_INTEQ(domain_def_find_disk(def, "vdb"), 1);
    CHECK_INTEQ(domain_def_find_disk(def, "vda"), -1);
    domain_def_remove_disk(def, 7); /* out of range: nothing happens */
    CHECK_INTEQ(def->ndisks, 2);

    CHECK_INTEQ(domain_def_find_nic(def, "52:54:00:0a:0b:0c"), 1);
    CHECK_INTEQ(domain_def_find_nic(def, "52:54:00:0A:0B:0C"), 1);
    CHECK_INTEQ(domain_def_find_nic(def, "52:54:00:ff:ff:ff"), -1);
    CHECK_INTEQ(domain_def_find_nic(def, "0"), 0);
    CHECK_INTEQ(domain_def_find_nic(def, "1"), 1);
    CHECK_INTEQ(domain_def_find_nic(def, "2"), -1);
    CHECK_INTEQ(domain_def_find_nic(def, "1x"), -1);
    CHECK_INTEQ(domain_def_find_nic(def, "-1"), -1);
    CHECK_INTEQ(domain_def_find_nic(def, ""), -1);
    CHECK_INTEQ(domain_def_find_nic(def, "99999999999999999999999"), -1);
    domain_def_remove_nic(def, 0);
    CHECK_INTEQ(def->nnics, 1);
    CHECK_INTEQ(domain_def_find_nic(def, "52:54:00:0a:0b:0c"), 0);

    domain_nic n2;
    domain_nic_copy(&n2, &def->nics[0]);
    CHECK(memcmp(n2.mac, def->nics[0].mac, 6) == 0);
    domain_nic_clear(&n2);
    CHECK(n2.source == NULL && n2.model == NULL);
    domain_disk d2;
    domain_disk_copy(&d2, &def->disks[1]);
    CHECK_STREQ(d2.target, "vdb");
    CHECK(d2.target != def->disks[1].target);
    domain_disk_clear(&d2);
    domain_chr c2 = {.path = xstrdup("/x")};
    domain_chr_clear(&c2);
    CHECK(c2.path == NULL);
    domain_disk_clear(NULL);
    domain_nic_clear(NULL);
    domain_chr_clear(NULL);
    domain_def_free(def);
}

static void test_enums(void)
{
    static const char *const actions[] = {"destroy", "restart", "preserve", "rename-restart"};
    for (int i = 0; i < DOMAIN_ACTION_LAST; i++) {
        CHECK_STREQ(domain_action_name((domain_action)i), actions[i]);
        CHECK_INTEQ(domain_action_parse(actions[i]), i);
    }
    CHECK(domain_action_name(DOMAIN_ACTION_LAST) == NULL);
    CHECK_INTEQ(domain_action_parse("coredump-destroy"), -1);
    CHECK_INTEQ(domain_action_parse("Destroy"), -1);
    CHECK_INTEQ(domain_action_parse(NULL), -1);

    CHECK_STREQ(domain_disk_type_name(DOMAIN_DISK_BLOCK), "block");
    CHECK_INTEQ(domain_disk_type_parse("file"), DOMAIN_DISK_FILE);
    CHECK_INTEQ(domain_disk_type_parse("network"), -1);
    CHECK_STREQ(domain_disk_device_name(DOMAIN_DISK_CDROM), "cdrom");
    CHECK_INTEQ(domain_disk_device_parse("disk"), DOMAIN_DISK_DISK);
    CHECK_INTEQ(domain_disk_device_parse("floppy"), -1);
    CHECK_STREQ(domain_disk_format_name(DOMAIN_DISK_QCOW2), "qcow2");
    CHECK_INTEQ(domain_disk_format_parse("raw"), DOMAIN_DISK_RAW);
    CHECK_INTEQ(domain_disk_format_parse("vmdk"), -1);
    static const char *const buses[] = {"virtio", "ide", "scsi", "sata", "xen", "usb"};
    for (int i = 0; i < DOMAIN_BUS_LAST; i++) {
        CHECK_STREQ(domain_disk_bus_name((domain_disk_bus)i), buses[i]);
        CHECK_INTEQ(domain_disk_bus_parse(buses[i]), i);
    }
    CHECK_STREQ(domain_nic_type_name(DOMAIN_NIC_BRIDGE), "bridge");
    CHECK_INTEQ(domain_nic_type_parse("network"), DOMAIN_NIC_NETWORK);
    CHECK_INTEQ(domain_nic_type_parse("user"), DOMAIN_NIC_USER);
    CHECK_INTEQ(domain_nic_type_parse("direct"), -1);
    CHECK_STREQ(domain_chr_type_name(DOMAIN_CHR_PTY), "pty");
    CHECK_INTEQ(domain_chr_type_parse("unix"), DOMAIN_CHR_UNIX);
    CHECK_INTEQ(domain_chr_type_parse("null"), DOMAIN_CHR_NULL);
    CHECK_INTEQ(domain_chr_type_parse("tcp"), -1);
    static const char *const boots[] = {"hd", "cdrom", "network", "fd"};
    for (int i = 0; i < DOMAIN_BOOT_LAST; i++) {
        CHECK_STREQ(domain_boot_dev_name((domain_boot_dev)i), boots[i]);
        CHECK_INTEQ(domain_boot_dev_parse(boots[i]), i);
    }
    CHECK(domain_boot_dev_name((domain_boot_dev)-1) == NULL);
    CHECK(domain_os_type_known("hvm") && domain_os_type_known("linux"));
    CHECK(!domain_os_type_known("exe") && !domain_os_type_known(NULL));
}

static void test_uuid_mac(void)
{
    uint8_t u[16], v[16];
    char s[37];
    CHECK_INTEQ(domain_uuid_parse("6B2C3A94-5D1E-4F0A-9C8B-7E6D5F4A3B21", u), 0);
    domain_uuid_format(u, s);
    CHECK_STREQ(s, "6b2c3a94-5d1e-4f0a-9c8b-7e6d5f4a3b21");
    CHECK_INTEQ(domain_uuid_parse("6b2c3a945d1e4f0a9c8b7e6d5f4a3b21", v), 0);
    CHECK(memcmp(u, v, 16) == 0);
    static const char *const bad[] = {
        "", "6b2c3a94-5d1e-4f0a-9c8b-7e6d5f4a3b2", "6b2c3a94-5d1e-4f0a-9c8b-7e6d5f4a3b211",
        "6b2c3a945-d1e-4f0a-9c8b-7e6d5f4a3b21", "6b2c3a94-5d1e-4f0a-9c8b-7e6d5f4a3bg1",
        "6b2c3a94x5d1e-4f0a-9c8b-7e6d5f4a3b21", " 6b2c3a945d1e4f0a9c8b7e6d5f4a3b2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(v, 0xaa, 16);
        xend_error_reset();
        CHECK_MSG(domain_uuid_parse(bad[i], v) == -1, "'%s' accepted", bad[i]);
        CHECK_ERROR(XEND_ERR_INVALID_ARG, "is not a UUID");
        CHECK(v[0] == 0xaa); /* untouched on failure */
    }
    domain_uuid_generate(u);
    domain_uuid_generate(v);
    CHECK(memcmp(u, v, 16) != 0);
    CHECK_INTEQ(u[6] >> 4, 4);
    CHECK_INTEQ(u[8] >> 6, 2);

    uint8_t m[6];
    char ms[18];
    CHECK_INTEQ(domain_mac_parse("52:54:00:AB:cd:0F", m), 0);
    domain_mac_format(m, ms);
    CHECK_STREQ(ms, "52:54:00:ab:cd:0f");
    static const char *const badmac[] = {"52:54:00:ab:cd", "52:54:00:ab:cd:0f:", "52-54-00-ab-cd-0f",
                                         "52:54:00:ab:cd:0g", "5254.00ab.cd0f", ""};
    for (size_t i = 0; i < sizeof(badmac) / sizeof(badmac[0]); i++) {
        xend_error_reset();
        CHECK_MSG(domain_mac_parse(badmac[i], m) == -1, "'%s' accepted", badmac[i]);
        CHECK_ERROR(XEND_ERR_INVALID_ARG, "is not a MAC address");
    }
    uint8_t g1[6], g2[6];
    domain_mac_generate(g1);
    domain_mac_generate(g2);
    CHECK(g1[0] == 0x52 && g1[1] == 0x54 && g1[2] == 0x00);
    CHECK(memcmp(g1, g2, 6) != 0);
}

static void test_names(void)
{
    static const char *const good[] = {"vm1", "a", "web-01.example.com", "x_y:z+w", "1a", "a.",
                                       "x123456789012345678901234567890123456789012345678901234567890123"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        xend_error_reset();
        CHECK_MSG(domain_name_check(good[i]) == 0, "'%s' refused: %s", good[i],
                  xend_error_last()->message);
    }
    static const struct {
        const char *name, *why;
    } bad[] = {
        {"", "empty"},
        {"01234567890123456789012345678901234567890123456789012345678901234", "at most 64"},
        {"my vm", "space"},
        {"a/b", "contains '/'"},
        {"caf\xc3\xa9", "non-ASCII"},
        {".", "must not start with '.'"},
        {"..", "must not start with '.'"},
        {".hidden", "must not start with '.'"},
        {"-x", "must not start with '-'"},
        {"42", "all digits"},
        {"6b2c3a94-5d1e-4f0a-9c8b-7e6d5f4a3b21", "UUID"},
        {"6b2c3a945d1e4f0a9c8b7e6d5f4a3b21", "UUID"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        xend_error_reset();
        CHECK_MSG(domain_name_check(bad[i].name) == -1, "'%s' accepted", bad[i].name);
        CHECK_ERROR(XEND_ERR_INVALID_NAME, bad[i].why);
    }
    xend_error_reset();
    CHECK_INTEQ(domain_name_check(NULL), -1);
    CHECK_ERROR(XEND_ERR_INVALID_NAME, "empty");
}

static void test_cpulist(void)
{
    uint8_t bm[4];
    CHECK_INTEQ(domain_cpulist_parse("0-3,^2,5", 32, bm), 4);
    CHECK_INTEQ(bm[0], 0x2b); /* 0,1,3,5 */
    char *s = domain_cpulist_format(bm, 32);
    CHECK_STREQ(s, "0-1,3,5");
    free(s);
    CHECK_INTEQ(domain_cpulist_parse(" 7 , 30-31 ,^31", 32, bm), 2);
    s = domain_cpulist_format(bm, 32);
    CHECK_STREQ(s, "7,30");
    free(s);
    CHECK_INTEQ(domain_cpulist_parse("0-31", 32, bm), 32);
    s = domain_cpulist_format(bm, 32);
    CHECK_STREQ(s, "0-31");
    free(s);
    CHECK_INTEQ(domain_cpulist_parse("3,^3", 32, bm), 0);
    s = domain_cpulist_format(bm, 32);
    CHECK_STREQ(s, "");
    free(s);
    static const struct {
        const char *s, *why;
    } bad[] = {
        {"", "empty"},       {"   ", "empty"},        {"4-2", "runs backwards"},
        {"a", "CPU number"}, {"1,,2", "CPU number"},  {"1-", "CPU number"},
        {"32", "0..31"},     {"0-40", "out of range"}, {"99999999999", "out of range"},
        {"1;2", "unexpected ';'"}, {"^", "CPU number"}, {"-1", "CPU number"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        xend_error_reset();
        CHECK_MSG(domain_cpulist_parse(bad[i].s, 32, bm) == -1, "'%s' accepted", bad[i].s);
        CHECK_ERROR(XEND_ERR_INVALID_ARG, bad[i].why);
    }
}

/* Apply a change to a valid def; validation must fail with code and message. */
static void expect_invalid(void (*change)(domain_def *), int code, const char *msg)
{
    domain_def *def = sample();
    change(def);
    xend_error_reset();
    CHECK_INTEQ(domain_def_validate(def), -1);
    CHECK_ERROR(code, msg);
    domain_def_free(def);
}

static void set_memory_zero(domain_def *d) { d->memory_kib = 0; }
static void set_current_over(domain_def *d)
{
    d->memory_kib = 1024 * 1024;
    d->current_memory_kib = 2048 * 1024;
}
static void set_current_over_kib(domain_def *d) { d->current_memory_kib = d->memory_kib + 1; }
static void set_current_zero(domain_def *d) { d->current_memory_kib = 0; }
static void set_memory_huge(domain_def *d) { d->memory_kib = d->current_memory_kib = DOMAIN_MEMORY_MAX_KIB + 1; }
static void set_max_under(domain_def *d) { d->max_memory_kib = 1024; }
static void set_slots_alone(domain_def *d) { d->max_memory_slots = 4; }
static void set_vcpus_zero(domain_def *d) { d->vcpus = 0; }
static void set_vcpus_many(domain_def *d) { d->vcpus = d->vcpus_current = 300; }
static void set_vcpus_current(domain_def *d)
{
    d->vcpus = 2;
    d->vcpus_current = 3;
}
static void set_cpuset_bad(domain_def *d) { d->cpuset = xstrdup("0-3,x"); }
static void set_cpuset_empty(domain_def *d) { d->cpuset = xstrdup("1,^1"); }
static void set_name_bad(domain_def *d)
{
    free(d->name);
    d->name = xstrdup("42");
}
static void set_dup_target(domain_def *d)
{
    free(d->disks[1].target);
    d->disks[1].target = xstrdup("vda");
}
static void set_dup_mac(domain_def *d) { memcpy(d->nics[1].mac, d->nics[0].mac, 6); }
static void set_no_source(domain_def *d) { d->disks[1].device = DOMAIN_DISK_DISK; }
static void set_no_target(domain_def *d)
{
    free(d->disks[0].target);
    d->disks[0].target = NULL;
}
static void set_multicast(domain_def *d) { d->nics[0].mac[0] = 0x01; }
static void set_bridge_none(domain_def *d)
{
    free(d->nics[0].source);
    d->nics[0].source = NULL;
}
static void set_bridge_long(domain_def *d)
{
    free(d->nics[0].source);
    d->nics[0].source = xstrdup("a-very-long-bridge");
}
static void set_user_source(domain_def *d) { d->nics[1].source = xstrdup("br1"); }
static void set_model_bad(domain_def *d)
{
    free(d->nics[0].model);
    d->nics[0].model = xstrdup("virtio,x=1");
}
static void set_chr_nopath(domain_def *d)
{
    free(d->chrs[0].path);
    d->chrs[0].path = NULL;
}
static void set_chr_port(domain_def *d) { d->chrs[0].port = 256; }
static void set_title_nl(domain_def *d) { d->title = xstrdup("two\nlines"); }
static void set_desc_utf8(domain_def *d) { d->description = xstrdup("bad \xc3\x28 utf8"); }
static void set_desc_ctrl(domain_def *d) { d->description = xstrdup("bell\a"); }
static void set_os_type(domain_def *d)
{
    free(d->os.type);
    d->os.type = xstrdup("exe");
}
static void set_arch_bad(domain_def *d) { d->os.arch = xstrdup("x86 64"); }
static void set_boot_many(domain_def *d) { d->os.nboot = 5; }
static void set_too_many_disks(domain_def *d)
{
    for (int i = 0; i < DOMAIN_DISKS_MAX; i++) {
        char t[16];
        snprintf(t, sizeof(t), "xvd%d", i);
        domain_disk disk = {.source = "/x", .target = t};
        domain_def_add_disk(d, &disk);
    }
}
static void set_long_kernel(domain_def *d)
{
    d->os.kernel = xmalloc(DOMAIN_TEXT_MAX + 2);
    memset(d->os.kernel, 'k', DOMAIN_TEXT_MAX + 1);
    d->os.kernel[DOMAIN_TEXT_MAX + 1] = '\0';
}
static void set_action_bad(domain_def *d) { d->on_crash = DOMAIN_ACTION_LAST; }
static void set_type_bad(domain_def *d)
{
    free(d->virt_type);
    d->virt_type = xstrdup("kvm qemu");
}

static void test_validate(void)
{
    domain_def *def = sample();
    CHECK_INTEQ(domain_def_validate(def), 0);
    def->cpuset = xstrdup("0-3,^2");
    def->max_memory_kib = def->memory_kib * 2;
    def->max_memory_slots = 16;
    def->description = xstrdup("multi\nline\tdescription \xe2\x82\xac");
    CHECK_INTEQ(domain_def_validate(def), 0);
    domain_def_free(def);

    expect_invalid(set_memory_zero, XEND_ERR_CONFIG_INVALID, "memory must be greater than 0");
    expect_invalid(set_current_over, XEND_ERR_CONFIG_INVALID,
                   "currentMemory (2048 MiB) exceeds memory (1024 MiB)");
    expect_invalid(set_current_over_kib, XEND_ERR_CONFIG_INVALID,
                   "currentMemory (131073 KiB) exceeds memory (131072 KiB)");
    expect_invalid(set_current_zero, XEND_ERR_CONFIG_INVALID, "currentMemory must be greater than 0");
    expect_invalid(set_memory_huge, XEND_ERR_CONFIG_INVALID, "16 TiB");
    expect_invalid(set_max_under, XEND_ERR_CONFIG_INVALID, "maxMemory (1 MiB) is less than memory (128 MiB)");
    expect_invalid(set_slots_alone, XEND_ERR_CONFIG_INVALID, "without maxMemory");
    expect_invalid(set_vcpus_zero, XEND_ERR_CONFIG_INVALID, "vcpu count must be at least 1");
    expect_invalid(set_vcpus_many, XEND_ERR_CONFIG_INVALID, "vcpu count (300) exceeds the limit of 256");
    expect_invalid(set_vcpus_current, XEND_ERR_CONFIG_INVALID,
                   "current vcpu count (3) exceeds vcpu count (2)");
    expect_invalid(set_cpuset_bad, XEND_ERR_CONFIG_INVALID, "cpuset '0-3,x'");
    expect_invalid(set_cpuset_empty, XEND_ERR_CONFIG_INVALID, "selects no CPU");
    expect_invalid(set_name_bad, XEND_ERR_INVALID_NAME, "all digits");
    expect_invalid(set_dup_target, XEND_ERR_CONFIG_INVALID, "disk target 'vda' is used twice");
    expect_invalid(set_dup_mac, XEND_ERR_CONFIG_INVALID,
                   "MAC address 52:54:00:01:02:03 is used by two interfaces");
    expect_invalid(set_no_source, XEND_ERR_CONFIG_INVALID,
                   "disk 'hdc' has no source path (only a cdrom may be empty)");
    expect_invalid(set_no_target, XEND_ERR_CONFIG_INVALID, "a disk has no target");
    expect_invalid(set_multicast, XEND_ERR_CONFIG_INVALID, "multicast");
    expect_invalid(set_bridge_none, XEND_ERR_CONFIG_INVALID, "type 'bridge' names no bridge");
    expect_invalid(set_bridge_long, XEND_ERR_CONFIG_INVALID, "1 to 15 characters");
    expect_invalid(set_user_source, XEND_ERR_CONFIG_INVALID, "type 'user' takes no network");
    expect_invalid(set_model_bad, XEND_ERR_CONFIG_INVALID, "interface model 'virtio,x=1'");
    expect_invalid(set_chr_nopath, XEND_ERR_CONFIG_INVALID, "serial device of type 'file' needs a path");
    expect_invalid(set_chr_port, XEND_ERR_CONFIG_INVALID, "serial port 256 is out of range");
    expect_invalid(set_title_nl, XEND_ERR_CONFIG_INVALID, "title contains the character U+000A");
    expect_invalid(set_desc_utf8, XEND_ERR_CONFIG_INVALID, "description is not valid UTF-8");
    expect_invalid(set_desc_ctrl, XEND_ERR_CONFIG_INVALID, "description contains the character U+0007");
    expect_invalid(set_os_type, XEND_ERR_CONFIG_INVALID, "os type 'exe' is not supported");
    expect_invalid(set_arch_bad, XEND_ERR_CONFIG_INVALID, "os arch 'x86 64'");
    expect_invalid(set_boot_many, XEND_ERR_CONFIG_INVALID, "at most 4 boot devices");
    expect_invalid(set_too_many_disks, XEND_ERR_CONFIG_INVALID, "66 disks exceed the limit of 64");
    expect_invalid(set_long_kernel, XEND_ERR_CONFIG_INVALID, "kernel path is 4097 bytes long");
    expect_invalid(set_action_bad, XEND_ERR_CONFIG_INVALID, "lifecycle action");
    expect_invalid(set_type_bad, XEND_ERR_CONFIG_INVALID, "domain type 'kvm qemu'");

    /* The device checks alone. */
    domain_disk cdrom = {.device = DOMAIN_DISK_CDROM, .target = "hdc"};
    CHECK_INTEQ(domain_disk_validate(&cdrom), 0);
    domain_disk badt = {.source = "/x", .target = "vd/a"};
    xend_error_reset();
    CHECK_INTEQ(domain_disk_validate(&badt), -1);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "disk target 'vd/a'");
    domain_nic net = {.type = DOMAIN_NIC_NETWORK, .source = "default"};
    CHECK_INTEQ(domain_nic_validate(&net), 0);
}

static void test_warnings(void)
{
    domain_warnings w = {NULL, 0};
    domain_warnings_add(&w, "line %d: <%s> is kept", 3, "clock");
    domain_warnings_add(&w, "second");
    CHECK_INTEQ(w.n, 2);
    CHECK_STREQ(w.items[0], "line 3: <clock> is kept");
    domain_warnings_clear(&w);
    CHECK(w.n == 0 && w.items == NULL);
    domain_warnings_add(NULL, "ignored");
    domain_warnings_clear(NULL);
}

int main(void)
{
    test_defaults();
    test_copy_equal();
    test_devices();
    test_enums();
    test_uuid_mac();
    test_names();
    test_cpulist();
    test_validate();
    test_warnings();
    return check_summary("domain-conf");
}
