/*
 * Unit tests of the QEMU command line (qemu_argv_build and the device JSON builders in
 * hv/qemu/qemu_priv.h), on defs parsed from domain XML: the whole vector of a minimal
 * guest, escaping (a name with commas cannot add an option; a path with a comma stays one
 * JSON string), memory, vCPUs, kernel and boot order, every disk bus with its refusals and
 * exact error codes, NIC models and types, extra serial ports, reboot and panic actions,
 * incoming modes, and PCI slots (assign, free, remove, format, strict parse).
 *
 * Then, when qemu-system-x86_64 is installed, the vector is run for real (TCG, -S) with
 * the test's own pre-bound sockets as fds 3 and 4, and QMP must show the name "a,b", the
 * disk, the NIC and their PCI addresses. QEMU is always killed by its pid.
 */
#include "check-error.h"
#include "check.h"
#include "hv/qemu/qemu_priv.h"
#include "util/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define UUID "a1b2c3d4-e5f6-4789-8abc-def012345678"

/* A def from pieces of domain XML: os children, top-level elements, devices. */
static domain_def *def_make(const char *os, const char *top, const char *devices)
{
    char *xml = xasprintf("<domain type='kvm'><name>t</name><uuid>" UUID "</uuid>"
                          "<memory unit='MiB'>128</memory><vcpu>1</vcpu>"
                          "<os><type>hvm</type>%s</os>%s<devices>%s</devices></domain>",
                          os ? os : "", top ? top : "", devices ? devices : "");
    xend_error_reset();
    domain_def *def = domain_xml_parse(xml, strlen(xml), NULL);
    CHECK_MSG(def != NULL, "parse: %s\n%s", xend_error_last()->message, xml);
    free(xml);
    return def;
}

static qemu_argv_opts opts_default(void)
{
    qemu_argv_opts o = {.binary = "/usr/bin/qemu-system-x86_64",
                        .accel = "tcg",
                        .qmp_fd = 3,
                        .serial_fd = 4,
                        .incoming_fd = -1,
                        .serial_log = "/run/x/serial.log",
                        .pidfile = "/run/x/qemu.pid"};
    return o;
}

/* The vector joined by newlines (caller frees), or NULL if the build failed. */
static char *build(const domain_def *def, const qemu_argv_opts *o)
{
    qemu_strv sv = {NULL, 0, 0};
    xend_error_reset();
    if (qemu_argv_build(def, o, &sv) < 0) {
        CHECK_MSG(sv.n == 0, "a failed build appended %zu arguments", sv.n);
        qemu_strv_free(&sv);
        return NULL;
    }
    CHECK(sv.v && sv.v[sv.n] == NULL);
    xbuf b = XBUF_INIT;
    for (size_t i = 0; i < sv.n; i++)
        xbuf_printf(&b, "%s%s", i ? "\n" : "", sv.v[i]);
    qemu_strv_free(&sv);
    return xbuf_steal(&b, NULL);
}

static char *build_default(const domain_def *def)
{
    qemu_argv_opts o = opts_default();
    return build(def, &o);
}

/* "\nOPT\nVALUE\n" occurs in the joined vector. */
static int has_pair(const char *argv, const char *opt, const char *value)
{
    if (!argv)
        return 0;
    char *needle = xasprintf("\n%s\n%s\n", opt, value);
    char *hay = xasprintf("\n%s\n", argv);
    int found = strstr(hay, needle) != NULL;
    free(needle);
    free(hay);
    return found;
}

#define CHECK_PAIR(argv, opt, value)                                                               \
    CHECK_MSG(has_pair((argv), (opt), (value)), "no \"%s %s\" in:\n%s", (opt), (value),            \
              (argv) ? (argv) : "(null)")
#define CHECK_NO_OPT(argv, opt)                                                                    \
    CHECK_MSG((argv) && !strstr((argv), "\n" opt "\n"), "\"%s\" present in:\n%s", (opt),           \
              (argv) ? (argv) : "(null)")

static size_t count_str(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_minimal_exact(void)
{
    const char *xml = "<domain type='kvm'><name>basic</name><uuid>" UUID "</uuid>"
                      "<memory unit='KiB'>100000</memory><vcpu current='1'>4</vcpu>"
                      "<os><type>hvm</type></os></domain>";
    domain_def *def = domain_xml_parse(xml, strlen(xml), NULL);
    CHECK(def != NULL);
    if (!def)
        return;
    char *argv = build_default(def);
    const char *want =
        "/usr/bin/qemu-system-x86_64\n"
        "-name\nguest=basic,debug-threads=on\n"
        "-uuid\n" UUID "\n"
        "-nodefaults\n-no-user-config\n-display\nnone\n-msg\ntimestamp=on\n"
        "-machine\npc,accel=tcg\n"
        "-m\n98\n"
        "-smp\n1,maxcpus=4\n"
        "-S\n-no-shutdown\n-action\npanic=pause\n"
        "-chardev\nsocket,id=qmp,fd=3,server=on,wait=off\n-mon\nchardev=qmp,mode=control\n"
        "-chardev\nsocket,id=serial0,fd=4,server=on,wait=off,logfile=/run/x/serial.log,"
        "logappend=off\n"
        "-serial\nchardev:serial0\n"
        "-device\n{\"driver\":\"virtio-balloon-pci\",\"id\":\"balloon0\",\"bus\":\"pci.0\","
        "\"addr\":\"0x2\"}\n"
        "-device\n{\"driver\":\"pvpanic-pci\",\"id\":\"panic0\",\"bus\":\"pci.0\","
        "\"addr\":\"0x3\"}\n"
        "-pidfile\n/run/x/qemu.pid";
    CHECK_STREQ(argv, want);
    free(argv);

    /* KVM adds the host CPU; the machine and accelerator follow the options. */
    qemu_argv_opts o = opts_default();
    o.accel = "kvm";
    free(def->os.machine);
    def->os.machine = xstrdup("pc-i440fx-7.2");
    argv = build(def, &o);
    CHECK_PAIR(argv, "-machine", "pc-i440fx-7.2,accel=kvm");
    CHECK_PAIR(argv, "-cpu", "host");
    free(argv);
    domain_def_free(def);
}

static void test_escape(void)
{
    char *s = qemu_opt_escape("a,b,,c");
    CHECK_STREQ(s, "a,,b,,,,c");
    free(s);
    s = qemu_opt_escape("");
    CHECK_STREQ(s, "");
    free(s);
    s = qemu_opt_escape("plain");
    CHECK_STREQ(s, "plain");
    free(s);

    domain_def *def = def_make(NULL, NULL, NULL);
    if (!def)
        return;
    free(def->name);
    def->name = xstrdup("a,b");
    qemu_argv_opts o = opts_default();
    o.serial_log = "/run/x,y/serial.log";
    char *argv = build(def, &o);
    CHECK_PAIR(argv, "-name", "guest=a,,b,debug-threads=on");
    CHECK_PAIR(argv, "-chardev",
               "socket,id=serial0,fd=4,server=on,wait=off,logfile=/run/x,,y/serial.log,"
               "logappend=off");
    free(argv);
    /* A name that tries to add an option stays inside the guest= value. */
    free(def->name);
    def->name = xstrdup("x,debug-threads=off,process=evil");
    argv = build(def, &o);
    CHECK_PAIR(argv, "-name", "guest=x,,debug-threads=off,,process=evil,debug-threads=on");
    free(argv);
    domain_def_free(def);
}

static void test_memory_cpus_kernel(void)
{
    domain_def *def = def_make(NULL, "<maxMemory slots='4' unit='KiB'>1048577</maxMemory>", NULL);
    if (!def)
        return;
    def->memory_kib = 131073; /* one KiB over 128 MiB: rounded up */
    def->current_memory_kib = 131073;
    def->vcpus = 8;
    def->vcpus_current = 2;
    char *argv = build_default(def);
    CHECK_PAIR(argv, "-m", "129,slots=4,maxmem=1025M");
    CHECK_PAIR(argv, "-smp", "2,maxcpus=8");
    CHECK_NO_OPT(argv, "-cpu");
    free(argv);
    domain_def_free(def);

    def = def_make("<kernel>/boot/vm,linuz</kernel><initrd>/boot/init rd.gz</initrd>"
                   "<cmdline>console=ttyS0 opt=a,b quiet</cmdline>"
                   "<boot dev='cdrom'/>",
                   NULL, NULL);
    if (!def)
        return;
    argv = build_default(def);
    CHECK_PAIR(argv, "-kernel", "/boot/vm,linuz");
    CHECK_PAIR(argv, "-initrd", "/boot/init rd.gz");
    CHECK_PAIR(argv, "-append", "console=ttyS0 opt=a,b quiet");
    CHECK_NO_OPT(argv, "-boot");
    free(argv);
    /* An initrd without a kernel cannot be honoured. */
    free(def->os.kernel);
    def->os.kernel = NULL;
    CHECK(build_default(def) == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "needs a kernel");
    domain_def_free(def);

    def = def_make("<boot dev='cdrom'/><boot dev='hd'/><boot dev='network'/><boot dev='fd'/>", NULL,
                   NULL);
    if (!def)
        return;
    argv = build_default(def);
    CHECK_PAIR(argv, "-boot", "order=dcna");
    free(argv);
    def->os.nboot = 3;
    def->os.boot[2] = DOMAIN_BOOT_CDROM; /* a repeat counts once */
    argv = build_default(def);
    CHECK_PAIR(argv, "-boot", "order=dc");
    free(argv);
    domain_def_free(def);
}

static void test_machine_arch(void)
{
    static const struct {
        const char *type;
        int code;
        const char *msg;
    } cases[] = {
        {"<type machine='q35'>hvm</type>", XEND_ERR_UNSUPPORTED, "root ports"},
        {"<type machine='pc-q35-7.2'>hvm</type>", XEND_ERR_UNSUPPORTED, "q35"},
        {"<type machine='isapc'>hvm</type>", XEND_ERR_UNSUPPORTED, "machine type 'isapc'"},
        {"<type arch='aarch64'>hvm</type>", XEND_ERR_UNSUPPORTED, "architecture 'aarch64'"},
        {"<type arch='i686'>hvm</type>", XEND_ERR_UNSUPPORTED, "x86_64 only"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *xml = xasprintf("<domain type='kvm'><name>m</name><memory>65536</memory>"
                              "<os>%s</os></domain>",
                              cases[i].type);
        domain_def *def = domain_xml_parse(xml, strlen(xml), NULL);
        CHECK_MSG(def != NULL, "%s", xml);
        if (def) {
            char *argv = build_default(def);
            CHECK_MSG(argv == NULL, "%s built", cases[i].type);
            free(argv);
            CHECK_ERROR(cases[i].code, cases[i].msg);
        }
        domain_def_free(def);
        free(xml);
    }
    domain_def *def = def_make(NULL, NULL, NULL);
    if (def) {
        free(def->os.arch);
        def->os.arch = xstrdup("x86_64");
        char *argv = build_default(def);
        CHECK_PAIR(argv, "-machine", "pc,accel=tcg");
        free(argv);
    }
    domain_def_free(def);
}

static void test_actions_incoming(void)
{
    static const struct {
        const char *reboot;
        bool shutdown;
    } acts[] = {
        {"destroy", true}, {"restart", false}, {"rename-restart", false}, {"preserve", true}};
    for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
        char *top = xasprintf("<on_reboot>%s</on_reboot>", acts[i].reboot);
        domain_def *def = def_make(NULL, top, NULL);
        free(top);
        if (!def)
            continue;
        char *argv = build_default(def);
        CHECK_PAIR(argv, "-action", "panic=pause");
        CHECK_MSG(has_pair(argv, "-action", "reboot=shutdown") == acts[i].shutdown, "on_reboot %s",
                  acts[i].reboot);
        CHECK(count_str(argv, "\n-S\n") == 1 && count_str(argv, "\n-no-shutdown\n") == 1);
        free(argv);
        domain_def_free(def);
    }

    domain_def *def = def_make(NULL, NULL, NULL);
    if (!def)
        return;
    qemu_argv_opts o = opts_default();
    o.incoming_fd = 7;
    o.incoming_defer = true; /* an image to restore wins */
    o.sandbox = true;
    o.runas = "xend-qemu";
    o.pidfile = "/run/x,y/qemu.pid";
    char *argv = build(def, &o);
    CHECK_PAIR(argv, "-incoming", "fd:7");
    /* QEMU's setuid for -runas comes after the sandbox: elevateprivileges=deny kills it. */
    CHECK_PAIR(argv, "-sandbox", "on,obsolete=deny,spawn=deny,resourcecontrol=deny");
    CHECK_PAIR(argv, "-runas", "xend-qemu");
    CHECK_PAIR(argv, "-pidfile", "/run/x,y/qemu.pid");
    CHECK(count_str(argv, "-incoming") == 1);
    free(argv);
    o.incoming_fd = -1;
    argv = build(def, &o);
    CHECK_PAIR(argv, "-incoming", "defer");
    free(argv);
    o.incoming_defer = false;
    o.sandbox = false;
    o.runas = NULL;
    argv = build(def, &o);
    CHECK_NO_OPT(argv, "-incoming");
    CHECK_NO_OPT(argv, "-sandbox");
    CHECK_NO_OPT(argv, "-runas");
    free(argv);
    domain_def_free(def);
}

static void test_disks(void)
{
    domain_def *def =
        def_make(NULL, NULL,
                 "<disk type='file' device='disk'><driver type='qcow2'/>"
                 "<source file='/srv/a,b/disk one.qcow2'/><target dev='vda' bus='virtio'/></disk>"
                 "<disk type='block' device='disk'><source dev='/dev/vg/x'/>"
                 "<target dev='xvda' bus='xen'/><readonly/></disk>"
                 "<disk type='file' device='disk'><source file='/srv/ide.img'/>"
                 "<target dev='hdb' bus='ide'/><shareable/></disk>"
                 "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/></disk>"
                 "<disk type='file' device='cdrom'><source file='/srv/x.iso'/>"
                 "<target dev='hdd' bus='ide'/></disk>"
                 "<disk type='file' device='disk'><source file='/srv/s.img'/>"
                 "<target dev='sda' bus='scsi'/></disk>"
                 "<disk type='file' device='cdrom'><source file='/srv/s.iso'/>"
                 "<target dev='sdab' bus='scsi'/></disk>");
    if (!def)
        return;
    char *argv = build_default(def);
    CHECK_PAIR(argv, "-blockdev",
               "{\"driver\":\"qcow2\",\"node-name\":\"fmt-vda\",\"read-only\":false,\"file\":{"
               "\"driver\":\"file\",\"node-name\":\"file-vda\",\"filename\":\"/srv/a,b/disk "
               "one.qcow2\",\"read-only\":false}}");
    CHECK_PAIR(argv, "-device",
               "{\"driver\":\"virtio-blk-pci\",\"id\":\"disk-vda\",\"drive\":\"fmt-vda\","
               "\"serial\":\"vda\",\"bus\":\"pci.0\",\"addr\":\"0x5\"}");
    CHECK_PAIR(argv, "-blockdev",
               "{\"driver\":\"raw\",\"node-name\":\"fmt-xvda\",\"read-only\":true,\"file\":{"
               "\"driver\":\"host_device\",\"node-name\":\"file-xvda\",\"filename\":\"/dev/vg/"
               "x\",\"read-only\":true}}");
    CHECK_PAIR(argv, "-device",
               "{\"driver\":\"virtio-blk-pci\",\"id\":\"disk-xvda\",\"drive\":\"fmt-xvda\","
               "\"serial\":\"xvda\",\"bus\":\"pci.0\",\"addr\":\"0x6\"}");
    CHECK_PAIR(argv, "-device",
               "{\"driver\":\"ide-hd\",\"id\":\"disk-hdb\",\"drive\":\"fmt-hdb\",\"bus\":"
               "\"ide.0\",\"unit\":1,\"share-rw\":true}");
    /* An empty cdrom: a device with no drive and no block node. */
    CHECK_PAIR(argv, "-device",
               "{\"driver\":\"ide-cd\",\"id\":\"disk-hdc\",\"bus\":\"ide.1\",\"unit\":0}");
    CHECK(!strstr(argv ? argv : "", "fmt-hdc"));
    CHECK_PAIR(argv, "-blockdev",
               "{\"driver\":\"raw\",\"node-name\":\"fmt-hdd\",\"read-only\":true,\"file\":{"
               "\"driver\":\"file\",\"node-name\":\"file-hdd\",\"filename\":\"/srv/x.iso\","
               "\"read-only\":true}}");
    CHECK_PAIR(argv, "-device",
               "{\"driver\":\"ide-cd\",\"id\":\"disk-hdd\",\"drive\":\"fmt-hdd\",\"bus\":"
               "\"ide.1\",\"unit\":1}");
    CHECK_PAIR(argv, "-device",
               "{\"driver\":\"virtio-scsi-pci\",\"id\":\"scsi0\",\"bus\":\"pci.0\",\"addr\":"
               "\"0x4\"}");
    CHECK(count_str(argv, "virtio-scsi-pci") == 1);
    CHECK_PAIR(argv, "-device",
               "{\"driver\":\"scsi-hd\",\"id\":\"disk-sda\",\"drive\":\"fmt-sda\",\"bus\":"
               "\"scsi0.0\",\"scsi-id\":0,\"lun\":0}");
    CHECK_PAIR(argv, "-device",
               "{\"driver\":\"scsi-cd\",\"id\":\"disk-sdab\",\"drive\":\"fmt-sdab\",\"bus\":"
               "\"scsi0.0\",\"scsi-id\":27,\"lun\":0}");
    CHECK(count_str(argv, "\n-blockdev\n") == 6);
    /* Each block node comes before the device that uses it. */
    const char *b = argv ? strstr(argv, "\"node-name\":\"fmt-sda\"") : NULL;
    const char *d = argv ? strstr(argv, "\"id\":\"disk-sda\"") : NULL;
    CHECK(b && d && b < d);
    free(argv);
    CHECK(qemu_disk_is_pci(&def->disks[0]) && qemu_disk_is_pci(&def->disks[1]));
    CHECK(!qemu_disk_is_pci(&def->disks[2]) && !qemu_disk_is_pci(&def->disks[5]));
    domain_def_free(def);

    /* What the driver refuses, with the code that says whose fault it is. */
    static const struct {
        const char *disk;
        int code;
        const char *msg;
    } bad[] = {
        {"<disk type='file' device='disk'><source file='/x'/><target dev='sdb' bus='sata'/>"
         "</disk>",
         XEND_ERR_UNSUPPORTED, "cannot attach a sata disk (bus sata)"},
        {"<disk type='file' device='disk'><source file='/x'/><target dev='sdb' bus='usb'/>"
         "</disk>",
         XEND_ERR_UNSUPPORTED, "use virtio, ide or scsi"},
        {"<disk type='file' device='cdrom'><source file='/x'/><target dev='vdb' "
         "bus='virtio'/></disk>",
         XEND_ERR_CONFIG_INVALID, "a cdrom needs bus ide or scsi"},
        {"<disk type='file' device='disk'><source file='/x'/><target dev='hde' bus='ide'/>"
         "</disk>",
         XEND_ERR_CONFIG_INVALID, "hda, hdb, hdc or hdd"},
        {"<disk type='file' device='disk'><source file='/x'/><target dev='vdb' bus='ide'/>"
         "</disk>",
         XEND_ERR_CONFIG_INVALID, "disk 'vdb'"},
        {"<disk type='file' device='disk'><source file='/x'/><target dev='hda' bus='ide'/>"
         "<readonly/></disk>",
         XEND_ERR_CONFIG_INVALID, "cannot be read-only"},
        {"<disk type='file' device='disk'><source file='/x'/><target dev='sdzz' "
         "bus='scsi'/></disk>",
         XEND_ERR_CONFIG_INVALID, "sda to sdiv"},
        {"<disk type='file' device='disk'><source file='/x'/><target dev='vd1' "
         "bus='scsi'/></disk>",
         XEND_ERR_CONFIG_INVALID, "sda to sdiv"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        def = def_make(NULL, NULL, bad[i].disk);
        if (!def)
            continue;
        argv = build_default(def);
        CHECK_MSG(argv == NULL, "built: %s", bad[i].disk);
        free(argv);
        CHECK_ERROR(bad[i].code, bad[i].msg);
        domain_def_free(def);
    }

    /* The JSON builders on their own: no slot, no address; an empty cdrom has no node. */
    domain_disk disk = {.type = DOMAIN_DISK_FILE,
                        .device = DOMAIN_DISK_DISK,
                        .format = DOMAIN_DISK_RAW,
                        .source = "/srv/d.img",
                        .target = "vdc",
                        .bus = DOMAIN_BUS_VIRTIO,
                        .shareable = true};
    json_object *j = qemu_disk_device_json(&disk, 0);
    CHECK_STREQ(j ? json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN) : NULL,
                "{\"driver\":\"virtio-blk-pci\",\"id\":\"disk-vdc\",\"drive\":\"fmt-vdc\","
                "\"serial\":\"vdc\",\"bus\":\"pci.0\",\"share-rw\":true}");
    json_object_put(j);
    xend_error_reset();
    CHECK(qemu_disk_device_json(&disk, 32) == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "PCI slot 32");
    disk.device = DOMAIN_DISK_CDROM;
    disk.source = NULL;
    disk.bus = DOMAIN_BUS_IDE;
    disk.target = "hda";
    xend_error_reset();
    CHECK(qemu_disk_blockdev_json(&disk) == NULL);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "empty cdrom");
}

static void test_disk_ids(void)
{
    domain_disk d = {.target = "vda"};
    char dev[40], file[40], fmt[40];
    qemu_disk_ids(&d, dev, file, fmt);
    CHECK_STREQ(dev, "disk-vda");
    CHECK_STREQ(file, "file-vda");
    CHECK_STREQ(fmt, "fmt-vda");
    /* 26 characters still fit a node name after "file-" (31 at most). */
    d.target = "abcdefghijklmnopqrstuvwxyz";
    qemu_disk_ids(&d, dev, file, fmt);
    CHECK_STREQ(file, "file-abcdefghijklmnopqrstuvwxyz");
    /* Longer ones are shortened with a hash: stable, distinct, never like a real target. */
    d.target = "abcdefghijklmnopqrstuvwxyz_1";
    qemu_disk_ids(&d, dev, file, fmt);
    char dev2[40], file2[40], fmt2[40];
    qemu_disk_ids(&d, dev2, file2, fmt2);
    CHECK_STREQ(file, file2);
    CHECK(strlen(file) == 31 && strncmp(file, "file-abcdefghijklmnopq-", 23) == 0);
    CHECK(strncmp(dev, "disk-abcdefghijklmnopq-", 23) == 0);
    CHECK(strncmp(fmt, "fmt-abcdefghijklmnopq-", 22) == 0);
    d.target = "abcdefghijklmnopqrstuvwxyz_2";
    qemu_disk_ids(&d, dev2, file2, fmt2);
    CHECK(strcmp(file, file2) != 0);
    /* Characters QEMU ids cannot hold never reach them. */
    d.target = "a,b";
    qemu_disk_ids(&d, dev, file, fmt);
    CHECK(strncmp(dev, "disk-a_b-", 9) == 0 && strlen(dev) == 17);

    domain_nic n = {.mac = {0x52, 0x54, 0x00, 0xab, 0x0c, 0xff}};
    char ndev[40], net[40];
    qemu_nic_ids(&n, ndev, net);
    CHECK_STREQ(ndev, "nic-525400ab0cff");
    CHECK_STREQ(net, "net-525400ab0cff");
}

static void test_nics(void)
{
    domain_def *def = def_make(NULL, NULL,
                               "<interface type='user'><mac address='52:54:00:aa:bb:01'/>"
                               "</interface>"
                               "<interface type='bridge'><mac address='52:54:00:aa:bb:02'/>"
                               "<source bridge='br0'/><model type='e1000'/></interface>"
                               "<interface type='user'><mac address='52:54:00:aa:bb:03'/>"
                               "<model type='rtl8139'/></interface>"
                               "<interface type='user'><mac address='52:54:00:aa:bb:04'/>"
                               "<model type='ne2k_pci'/></interface>"
                               "<interface type='user'><mac address='52:54:00:aa:bb:05'/>"
                               "<model type='virtio'/></interface>");
    if (!def)
        return;
    char *argv = build_default(def);
    CHECK_PAIR(argv, "-netdev", "{\"type\":\"user\",\"id\":\"net-525400aabb01\"}");
    CHECK_PAIR(argv, "-device",
               "{\"driver\":\"virtio-net-pci\",\"id\":\"nic-525400aabb01\",\"netdev\":\"net-"
               "525400aabb01\",\"mac\":\"52:54:00:aa:bb:01\",\"bus\":\"pci.0\",\"addr\":"
               "\"0x5\"}");
    CHECK_PAIR(argv, "-netdev", "{\"type\":\"bridge\",\"id\":\"net-525400aabb02\",\"br\":\"br0\"}");
    CHECK_PAIR(argv, "-device",
               "{\"driver\":\"e1000\",\"id\":\"nic-525400aabb02\",\"netdev\":\"net-525400aabb02\","
               "\"mac\":\"52:54:00:aa:bb:02\",\"bus\":\"pci.0\",\"addr\":\"0x6\"}");
    CHECK(has_pair(argv, "-device",
                   "{\"driver\":\"rtl8139\",\"id\":\"nic-525400aabb03\",\"netdev\":\"net-"
                   "525400aabb03\",\"mac\":\"52:54:00:aa:bb:03\",\"bus\":\"pci.0\",\"addr\":"
                   "\"0x7\"}"));
    CHECK(count_str(argv, "\"driver\":\"ne2k_pci\"") == 1);
    CHECK(count_str(argv, "\"driver\":\"virtio-net-pci\"") == 2);
    CHECK(count_str(argv, "\n-netdev\n") == 5);
    free(argv);
    domain_def_free(def);

    def = def_make(NULL, NULL,
                   "<interface type='bridge'><mac address='52:54:00:aa:bb:01'/>"
                   "<source bridge='br0'/></interface>");
    if (def) {
        /* The bridge helper is an exec, which the sandbox punishes with SIGSYS. */
        qemu_argv_opts o = opts_default();
        o.sandbox = true;
        CHECK(build(def, &o) == NULL);
        CHECK_ERROR(XEND_ERR_UNSUPPORTED, "interface 52:54:00:aa:bb:01 of type bridge", "sandbox");
    }
    domain_def_free(def);
    def = def_make(NULL, NULL,
                   "<interface type='user'><mac address='52:54:00:aa:bb:01'/>"
                   "<model type='pcnet'/></interface>");
    if (def) {
        CHECK(build_default(def) == NULL);
        CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "model 'pcnet'", "virtio, e1000, rtl8139");
    }
    domain_def_free(def);
    def = def_make(NULL, NULL,
                   "<interface type='network'><mac address='52:54:00:aa:bb:01'/>"
                   "<source network='default'/></interface>");
    if (def) {
        CHECK(build_default(def) == NULL);
        CHECK_ERROR(XEND_ERR_UNSUPPORTED, "supports interface types user and bridge",
                    "network 'default'");
    }
    domain_def_free(def);
}

static void test_serials(void)
{
    domain_def *def = def_make(NULL, NULL,
                               "<serial type='pty'><target port='0'/></serial>"
                               "<console type='pty'><target port='0'/></console>"
                               "<serial type='file'><source path='/var/log/a,b.log'/>"
                               "<target port='1'/></serial>"
                               "<serial type='null'><target port='3'/></serial>"
                               "<serial type='unix'><source path='/run/s,1.sock'/>"
                               "<target port='2'/></serial>"
                               "<console type='file'><source path='/var/log/a,b.log'/>"
                               "<target port='1'/></console>");
    if (!def)
        return;
    char *argv = build_default(def);
    CHECK_PAIR(argv, "-chardev", "file,id=serial1,path=/var/log/a,,b.log");
    CHECK_PAIR(argv, "-chardev", "socket,id=serial2,path=/run/s,,1.sock,server=on,wait=off");
    CHECK_PAIR(argv, "-chardev", "null,id=serial3");
    const char *s0 = argv ? strstr(argv, "chardev:serial0") : NULL;
    const char *s1 = argv ? strstr(argv, "chardev:serial1") : NULL;
    const char *s2 = argv ? strstr(argv, "chardev:serial2") : NULL;
    const char *s3 = argv ? strstr(argv, "chardev:serial3") : NULL;
    CHECK(s0 && s1 && s2 && s3 && s0 < s1 && s1 < s2 && s2 < s3);
    CHECK(count_str(argv, "\n-serial\n") == 4);
    free(argv);
    domain_def_free(def);

    def = def_make(NULL, NULL, "<serial type='pty'><target port='1'/></serial>");
    if (def) {
        argv = build_default(def);
        CHECK_PAIR(argv, "-chardev", "pty,id=serial1");
        free(argv);
    }
    domain_def_free(def);

    static const struct {
        const char *devs, *msg;
    } bad[] = {
        {"<serial type='null'><target port='1'/></serial><serial type='null'>"
         "<target port='3'/></serial>",
         "port 2 is missing"},
        {"<serial type='null'><target port='2'/></serial>", "port 1 is missing"},
        {"<serial type='null'><target port='4'/></serial>", "four serial ports"},
        {"<serial type='null'><target port='1'/></serial><console type='pty'>"
         "<target port='1'/></console>",
         "defined twice"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        def = def_make(NULL, NULL, bad[i].devs);
        if (!def)
            continue;
        CHECK(build_default(def) == NULL);
        CHECK_ERROR(XEND_ERR_CONFIG_INVALID, bad[i].msg);
        domain_def_free(def);
    }
}

static void add_disk(domain_def *def, const char *target, domain_disk_bus bus)
{
    domain_disk d = {.type = DOMAIN_DISK_FILE,
                     .device = DOMAIN_DISK_DISK,
                     .source = "/srv/x.img",
                     .target = (char *)target,
                     .bus = bus};
    domain_def_add_disk(def, &d);
}

static void add_nic(domain_def *def, uint8_t last)
{
    domain_nic n = {.type = DOMAIN_NIC_USER, .mac = {0x52, 0x54, 0, 0, 0, last}};
    domain_def_add_nic(def, &n);
}

static void check_format(const qemu_slots *s, const domain_def *def, const char *want)
{
    char *t = qemu_slots_format(s, def);
    CHECK_STREQ(t, want);
    qemu_slots ps;
    memset(&ps, 0xee, sizeof(ps));
    CHECK_MSG(qemu_slots_parse(&ps, t) == 0, "parse \"%s\"", t);
    CHECK(memcmp(ps.disk, s->disk, def->ndisks) == 0 && memcmp(ps.nic, s->nic, def->nnics) == 0);
    CHECK(ps.disk[def->ndisks < 64 ? def->ndisks : 63] == 0 || def->ndisks == 64);
    free(t);
}

static void test_slots(void)
{
    domain_def *def = def_make(NULL, NULL, NULL);
    if (!def)
        return;
    qemu_slots s;
    memset(&s, 0, sizeof(s));
    CHECK_INTEQ(qemu_slots_assign(&s, def), 0);
    check_format(&s, def, "d=;n=");
    add_disk(def, "vda", DOMAIN_BUS_VIRTIO);
    add_disk(def, "hda", DOMAIN_BUS_IDE);
    add_disk(def, "vdb", DOMAIN_BUS_VIRTIO);
    add_nic(def, 1);
    add_nic(def, 2);
    s.nic[1] = 9;   /* kept from an earlier run */
    s.disk[1] = 12; /* an IDE disk holds none */
    CHECK_INTEQ(qemu_slots_assign(&s, def), 0);
    check_format(&s, def, "d=5,0,6;n=7,9");
    CHECK_INTEQ(qemu_slots_free(&s, def), 8);

    /* The slots land in the command line. */
    qemu_argv_opts o = opts_default();
    o.slots = &s;
    char *argv = build(def, &o);
    CHECK(count_str(argv, "\"id\":\"nic-525400000002\",\"netdev\":\"net-525400000002\",\"mac\":"
                          "\"52:54:00:00:00:02\",\"bus\":\"pci.0\",\"addr\":\"0x9\"") == 1);
    CHECK(count_str(argv, "\"serial\":\"vdb\",\"bus\":\"pci.0\",\"addr\":\"0x6\"") == 1);
    free(argv);

    /* Detach vda: the others keep their slots, the freed one is reused first. */
    qemu_slots_remove_disk(&s, 0, def->ndisks);
    domain_def_remove_disk(def, 0);
    check_format(&s, def, "d=0,6;n=7,9");
    CHECK_INTEQ(qemu_slots_free(&s, def), 5);
    qemu_slots_remove_nic(&s, 0, def->nnics);
    domain_def_remove_nic(def, 0);
    check_format(&s, def, "d=0,6;n=9");
    qemu_slots_remove_nic(&s, 5, def->nnics); /* out of range: nothing */
    check_format(&s, def, "d=0,6;n=9");
    add_disk(def, "vdc", DOMAIN_BUS_VIRTIO);
    CHECK_INTEQ(qemu_slots_assign(&s, def), 0);
    check_format(&s, def, "d=0,6,5;n=9");

    /* 27 slots for disks and NICs together. */
    char target[8];
    for (int i = 0; def->ndisks < 26; i++) {
        snprintf(target, sizeof(target), "vdx%c", 'a' + i);
        add_disk(def, target, DOMAIN_BUS_VIRTIO);
    }
    CHECK_INTEQ(qemu_slots_assign(&s, def), 0); /* 25 virtio disks and a NIC */
    CHECK_INTEQ(qemu_slots_free(&s, def), 31);
    add_disk(def, "vdz", DOMAIN_BUS_VIRTIO);
    CHECK_INTEQ(qemu_slots_assign(&s, def), 0);
    xend_error_reset();
    CHECK_INTEQ(qemu_slots_free(&s, def), -1);
    CHECK_ERROR(XEND_ERR_LIMIT, "domain 't': no free PCI slot", "27 devices at most");
    add_disk(def, "vdzz", DOMAIN_BUS_VIRTIO);
    xend_error_reset();
    CHECK_INTEQ(qemu_slots_assign(&s, def), -1);
    CHECK_ERROR(XEND_ERR_LIMIT, "no free PCI slot for disk vdzz (27 devices at most)");
    domain_def_remove_disk(def, def->ndisks - 1);
    add_nic(def, 3);
    xend_error_reset();
    CHECK_INTEQ(qemu_slots_assign(&s, def), -1);
    CHECK_ERROR(XEND_ERR_LIMIT, "no free PCI slot for interface 52:54:00:00:00:03");
    domain_def_free(def);

    /* Strict parsing: anything but what format writes is refused, s left alone. */
    static const char *const bad[] = {
        "",        "d=",       "n=",       "d=5",       "d=5;n",    "d=5;n=;",
        "d=4;n=",  "d=32;n=",  "d=05;n=",  "d=00;n=",   "d=5,5;n=", "d=5;n=5",
        "d=5,;n=", "d=,5;n=",  "d=5;n=6;", "d=5;n=6\n", " d=5;n=6", "d=5 ;n=",
        "d=-5;n=", "d=100;n=", "x=5;n=6",  "d=5;d=6",   "d=a;n=",   "d=1;n="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&s, 0x11, sizeof(s));
        CHECK_MSG(qemu_slots_parse(&s, bad[i]) == -1, "parsed \"%s\"", bad[i]);
        CHECK(s.disk[0] == 0x11 && s.nic[0] == 0x11);
    }
    CHECK_INTEQ(qemu_slots_parse(&s, NULL), -1);
    /* Bounded: 64 disks and 32 NICs at most. */
    xbuf b = XBUF_INIT;
    xbuf_adds(&b, "d=");
    for (int i = 0; i < 64; i++)
        xbuf_adds(&b, i ? ",0" : "0");
    xbuf_adds(&b, ";n=");
    CHECK_INTEQ(qemu_slots_parse(&s, b.data), 0);
    xbuf_reset(&b);
    xbuf_adds(&b, "d=");
    for (int i = 0; i < 65; i++)
        xbuf_adds(&b, i ? ",0" : "0");
    xbuf_adds(&b, ";n=");
    CHECK_INTEQ(qemu_slots_parse(&s, b.data), -1);
    xbuf_reset(&b);
    xbuf_adds(&b, "d=;n=");
    for (int i = 0; i < 33; i++)
        xbuf_adds(&b, i ? ",0" : "0");
    CHECK_INTEQ(qemu_slots_parse(&s, b.data), -1);
    xbuf_clear(&b);
    CHECK_INTEQ(qemu_slots_parse(&s, "d=0,31,5;n=0,30"), 0);
    CHECK(s.disk[0] == 0 && s.disk[1] == 31 && s.disk[2] == 5 && s.disk[3] == 0);
    CHECK(s.nic[0] == 0 && s.nic[1] == 30 && s.nic[2] == 0);
}

/* ---- the real QEMU ---- */

static char *find_qemu(void)
{
    const char *path = getenv("PATH");
    char *copy = xstrdup(path ? path : "/usr/bin:/bin");
    char *found = NULL, *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
        char *p = xasprintf("%s/qemu-system-x86_64", dir);
        if (access(p, X_OK) == 0)
            found = p;
        else
            free(p);
    }
    free(copy);
    return found;
}

static int listen_unix(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(a.sun_path))
        return -1;
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

typedef struct {
    int fd;
    xbuf in;
} qmp_conn;

/* The next JSON line that is not an event (30 s bound; NULL on EOF or timeout). */
static json_object *qmp_read(qmp_conn *q)
{
    for (;;) {
        char *nl = q->in.len ? memchr(q->in.data, '\n', q->in.len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - q->in.data) + 1;
            char *line = xstrndup(q->in.data, n);
            memmove(q->in.data, q->in.data + n, q->in.len - n);
            q->in.len -= n;
            q->in.data[q->in.len] = '\0';
            json_object *o = json_tokener_parse(line);
            free(line);
            if (o && json_object_object_get_ex(o, "event", NULL)) {
                json_object_put(o);
                continue;
            }
            return o;
        }
        struct pollfd p = {.fd = q->fd, .events = POLLIN};
        if (poll(&p, 1, 30000) <= 0)
            return NULL;
        char buf[4096];
        ssize_t r = read(q->fd, buf, sizeof(buf));
        if (r <= 0)
            return NULL;
        xbuf_add(&q->in, buf, (size_t)r);
    }
}

/* The "return" member of the reply to cmd (a new reference), or NULL. */
static json_object *qmp_cmd(qmp_conn *q, const char *cmd)
{
    /* One send, no SIGPIPE: QEMU acts on "quit" at its closing brace and may be gone
     * before anything after it arrives. */
    char *line = xasprintf("%s\n", cmd);
    size_t n = strlen(line);
    bool sent = send(q->fd, line, n, MSG_NOSIGNAL) == (ssize_t)n;
    free(line);
    if (!sent)
        return NULL;
    json_object *o = qmp_read(q), *ret = NULL;
    if (o && json_object_object_get_ex(o, "return", &ret))
        json_object_get(ret);
    else
        fprintf(stderr, "QMP %s -> %s\n", cmd, o ? json_object_to_json_string(o) : "(nothing)");
    json_object_put(o);
    return ret;
}

static bool list_has_name(json_object *list, const char *name)
{
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
        json_object *e = json_object_array_get_idx(list, i), *v;
        if (json_object_object_get_ex(e, "name", &v) &&
            strcmp(json_object_get_string(v), name) == 0)
            return true;
    }
    return false;
}

static void reap(pid_t pid)
{
    /* quit normally ends QEMU within milliseconds; the bound only guards a hang. */
    for (int i = 0; i < 1000; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void run_real(const char *qemu, const char *dir)
{
    char *disk = xasprintf("%s/disk,1.img", dir);
    char *qmp_path = xasprintf("%s/qmp.sock", dir);
    char *ser_path = xasprintf("%s/serial.sock", dir);
    char *log = xasprintf("%s/serial,0.log", dir);
    char *pidfile = xasprintf("%s/qemu,pid", dir);
    char *errlog = xasprintf("%s/stderr.log", dir);
    char *ser1 = xasprintf("%s/serial,1.log", dir);
    int dfd = open(disk, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    CHECK(dfd >= 0 && ftruncate(dfd, 1 << 20) == 0);
    if (dfd >= 0)
        close(dfd);

    char *devices = xasprintf("<disk type='file' device='disk'><source file='%s'/>"
                              "<target dev='vda' bus='virtio'/></disk>"
                              "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/>"
                              "</disk>"
                              "<interface type='user'><mac address='52:54:00:12:34:56'/>"
                              "</interface>"
                              "<serial type='file'><source path='%s'/><target port='1'/>"
                              "</serial>",
                              disk, ser1);
    domain_def *def = def_make(NULL, NULL, devices);
    free(devices);
    int lq = listen_unix(qmp_path), ls = listen_unix(ser_path);
    CHECK(lq >= 0 && ls >= 0);
    qemu_strv sv = {NULL, 0, 0};
    qemu_argv_opts o = opts_default();
    o.binary = qemu;
    o.serial_log = log;
    o.pidfile = pidfile;
    if (def) {
        free(def->name);
        def->name = xstrdup("a,b");
    }
    pid_t pid = -1;
    if (def && lq >= 0 && ls >= 0 && qemu_argv_build(def, &o, &sv) == 0) {
        /* Out of the way of 3 and 4 first, so neither dup2 clobbers the other. */
        int hq = fcntl(lq, F_DUPFD_CLOEXEC, 10), hs = fcntl(ls, F_DUPFD_CLOEXEC, 10);
        fflush(NULL);
        pid = fork();
        if (pid == 0) {
            int e = open(errlog, O_CREAT | O_WRONLY | O_TRUNC, 0600);
            int nul = open("/dev/null", O_RDWR);
            if (e < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(e, 1) < 0 || dup2(e, 2) < 0 ||
                dup2(hq, 3) < 0 || dup2(hs, 4) < 0)
                _exit(127);
            execv(qemu, sv.v);
            _exit(127);
        }
        close(hq);
        close(hs);
    }
    CHECK(pid > 0);
    if (lq >= 0)
        close(lq);
    if (ls >= 0)
        close(ls);

    qmp_conn q = {connect_unix(qmp_path), XBUF_INIT};
    json_object *greeting = q.fd >= 0 ? qmp_read(&q) : NULL;
    CHECK_MSG(greeting && json_object_object_get_ex(greeting, "QMP", NULL),
              "no QMP greeting; QEMU said:\n%s", errlog);
    json_object_put(greeting);
    if (pid > 0 && q.fd >= 0) {
        json_object *r = qmp_cmd(&q, "{\"execute\":\"qmp_capabilities\"}");
        CHECK(r != NULL);
        json_object_put(r);

        r = qmp_cmd(&q, "{\"execute\":\"query-name\"}");
        json_object *v = NULL;
        CHECK(r && json_object_object_get_ex(r, "name", &v));
        CHECK_STREQ(v ? json_object_get_string(v) : NULL, "a,b");
        json_object_put(r);

        r = qmp_cmd(&q, "{\"execute\":\"query-block\"}");
        bool vda = false, hdc = false;
        for (size_t i = 0; r && i < json_object_array_length(r); i++) {
            json_object *e = json_object_array_get_idx(r, i), *qdev, *ins, *node, *file;
            if (!json_object_object_get_ex(e, "qdev", &qdev))
                continue;
            const char *qd = json_object_get_string(qdev);
            if (strcmp(qd, "/machine/peripheral/disk-vda/virtio-backend") == 0 &&
                json_object_object_get_ex(e, "inserted", &ins) &&
                json_object_object_get_ex(ins, "node-name", &node) &&
                json_object_object_get_ex(ins, "file", &file)) {
                CHECK_STREQ(json_object_get_string(node), "fmt-vda");
                CHECK_STREQ(json_object_get_string(file), disk);
                vda = true;
            }
            if (strcmp(qd, "disk-hdc") == 0 || strcmp(qd, "/machine/peripheral/disk-hdc") == 0)
                hdc = !json_object_object_get_ex(e, "inserted", NULL);
        }
        CHECK_MSG(vda, "query-block: %s", r ? json_object_to_json_string(r) : "(nothing)");
        CHECK_MSG(hdc, "query-block: %s", r ? json_object_to_json_string(r) : "(nothing)");
        json_object_put(r);

        r = qmp_cmd(&q, "{\"execute\":\"qom-list\",\"arguments\":{\"path\":"
                        "\"/machine/peripheral\"}}");
        CHECK(list_has_name(r, "disk-vda") && list_has_name(r, "disk-hdc"));
        CHECK(list_has_name(r, "nic-525400123456"));
        CHECK(list_has_name(r, "balloon0") && list_has_name(r, "panic0"));
        json_object_put(r);

        /* PCI addresses as the slots said: devfn = slot << 3. */
        r = qmp_cmd(&q, "{\"execute\":\"qom-get\",\"arguments\":{\"path\":"
                        "\"/machine/peripheral/nic-525400123456\",\"property\":\"addr\"}}");
        CHECK_INTEQ(r ? json_object_get_int(r) : -1, 6 << 3);
        json_object_put(r);
        r = qmp_cmd(&q, "{\"execute\":\"qom-get\",\"arguments\":{\"path\":"
                        "\"/machine/peripheral/nic-525400123456\",\"property\":\"mac\"}}");
        CHECK_STREQ(r ? json_object_get_string(r) : NULL, "52:54:00:12:34:56");
        json_object_put(r);
        r = qmp_cmd(&q, "{\"execute\":\"qom-get\",\"arguments\":{\"path\":"
                        "\"/machine/peripheral/disk-vda\",\"property\":\"addr\"}}");
        CHECK_INTEQ(r ? json_object_get_int(r) : -1, 5 << 3);
        json_object_put(r);

        /* The console socket answers, and both logs sit at their paths with commas. */
        int sfd = connect_unix(ser_path);
        CHECK(sfd >= 0);
        if (sfd >= 0)
            close(sfd);
        struct stat st;
        CHECK_MSG(stat(log, &st) == 0, "no console log at %s", log);
        CHECK_MSG(stat(ser1, &st) == 0, "no serial port 1 file at %s", ser1);
        FILE *pf = fopen(pidfile, "r");
        long got = -1;
        CHECK(pf && fscanf(pf, "%ld", &got) == 1);
        CHECK_INTEQ(got, pid);
        if (pf)
            fclose(pf);

        r = qmp_cmd(&q, "{\"execute\":\"quit\"}");
        json_object_put(r);
    }
    if (q.fd >= 0)
        close(q.fd);
    xbuf_clear(&q.in);
    if (pid > 0)
        reap(pid);
    if (check_failed) {
        FILE *f = fopen(errlog, "r");
        char line[512];
        while (f && fgets(line, sizeof(line), f))
            fprintf(stderr, "qemu: %s", line);
        if (f)
            fclose(f);
    }
    qemu_strv_free(&sv);
    domain_def_free(def);
    const char *files[] = {disk, qmp_path, ser_path, log, pidfile, errlog, ser1};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        unlink(files[i]);
        free((char *)files[i]);
    }
}

static void test_real_qemu(void)
{
    char *qemu = find_qemu();
    if (!qemu) {
        printf("qemu-system-x86_64 not found: real-QEMU check skipped\n");
        return;
    }
    char dir[] = "/tmp/xend-qemu-argv,XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK_MSG(0, "mkdtemp: %s", strerror(errno));
        free(qemu);
        return;
    }
    run_real(qemu, dir);
    CHECK(rmdir(dir) == 0);
    free(qemu);
}

int main(void)
{
    test_minimal_exact();
    test_escape();
    test_memory_cpus_kernel();
    test_machine_arch();
    test_actions_incoming();
    test_disks();
    test_disk_ids();
    test_nics();
    test_serials();
    test_slots();
    test_real_qemu();
    return check_summary("qemu-argv");
}
