# xm-test: everything that depends on the hypervisor driver the suite runs against, in one
# place. Sourced by runtest.sh (daemon set-up) and by lib/xmtest.sh (what the guests can do).
#
#   XMTEST_DRIVER=test  the built-in simulated host (default): a private xend with
#                       `driver = test`, dummy kernel and ramdisk files, and the simulated
#                       busybox-like shell on every guest console.
#   XMTEST_DRIVER=qemu  real guests under QEMU (TCG): the test guest of
#                       scripts/make-test-guest (docs/test-guest.md), built on first use into
#                       XEND_TEST_GUEST (default BUILD/tests/guest-image), unless
#                       XMTEST_KERNEL and XMTEST_RAMDISK name another kernel and busybox
#                       initramfs whose ttyS0 console runs a root shell.
#
# Knobs (each may be preset in the environment to override the driver's default):
#   XMTEST_HOST_CONFIG_TEXT  lines of the driver's host_config file (test: the simulated
#                            host; qemu: `accel = tcg`, KVM does not work on this machine)
#   XMTEST_BOOT_TIMEOUT      seconds guest.py waits for a first shell prompt
#   XMTEST_CONSOLE_TIMEOUT   seconds guest.py waits for one command (XmConsole's 30)
#   XMTEST_REBOOT_TIMEOUT    least seconds a case waits for a rebooted guest's console (the
#                            cases' own 15 or 20 s of xm-test are too short for a TCG reboot,
#                            which takes 10-20 s on a busy machine)
#   XMTEST_GUEST_FS          1 if the guest can mkfs/mount/write files on a disk
#   XMTEST_GUEST_JOBS        1 if the guest shell runs background jobs and gzip
#   XMTEST_DISK_DIR          where stand-ins for /dev/ram0, /dev/ram1 are created
#                            (default: the test's own temp dir)
#   XMTEST_PHY_BLOCK         1 if a phy: disk must be a block device (QEMU opens it with
#                            host_device, which refuses a regular file): the stand-ins
#                            are then loop devices over the files
#   XMTEST_DEFAULT_MEM       XmTestDomain's memory in MiB (xm-test: 64; the test guest's
#                            kernel needs at least 72, so 128 on QEMU)
#   XMTEST_MIN_MEM           the least memory a guest boots with (create/15, the concurrent
#                            creates): xm-test's 32 MiB, the test guest's 72 on QEMU
#   XMTEST_SAFE_MEM          XmTestDomain.minSafeMem(): the least a guest may be ballooned
#                            to and keep its shell (memset/03); a real guest's OOM killer
#                            takes acpid at 64 MiB (reference/qemu.md), so 96 on QEMU
#   XMTEST_BALLOON_MIN       the least memory a running guest is ballooned to where xm-test
#                            went below what it needs (memset/04's 15 MiB): a real guest
#                            panics below ~72 MiB ("System is deadlocked on memory"), so 72
#   XMTEST_MAX_GUESTS        how many guests one case may run at once (create/11, 12): 50
#                            as in xm-test; 5 on QEMU (a TCG guest costs ~0.22 GB and a
#                            core while it boots)
#   XMTEST_KERNEL_ARGS       kernel command line every XmTestDomain starts with; a case's
#                            own `extra` is appended to it (QEMU: the serial console)
#   XMTEST_ROOT              XmTestDomain's default root ("" for none)
#   XMTEST_DMESG_TAG         what starts the host console's lines in `xm dmesg`: Xen's
#                            hypervisor wrote "(XEN)"; a QEMU host has no hypervisor
#                            console, and the QEMU driver's ring holds xend's own lines
#                            about the host, "(XEND) [time] ..."
#   XMTEST_VCPU_UNPLUG       1 if `xm vcpu-set` may lower a running guest's vCPUs (QEMU
#                            under TCG refuses by design: an unplug corrupts QEMU 7.2)

XMTEST_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
XMTEST_DRIVER=${XMTEST_DRIVER:-test}
case "$XMTEST_DRIVER" in
test)
    XMTEST_HOST_CONFIG_TEXT=${XMTEST_HOST_CONFIG_TEXT:-"cpus = 4
memory_mib = 4096"}
    XMTEST_BOOT_TIMEOUT=${XMTEST_BOOT_TIMEOUT:-30}
    XMTEST_CONSOLE_TIMEOUT=${XMTEST_CONSOLE_TIMEOUT:-30}
    XMTEST_REBOOT_TIMEOUT=${XMTEST_REBOOT_TIMEOUT:-15}
    # The simulated guest's shell has no filesystems, no job control and no gzip.
    XMTEST_GUEST_FS=${XMTEST_GUEST_FS:-0}
    XMTEST_GUEST_JOBS=${XMTEST_GUEST_JOBS:-0}
    XMTEST_PHY_BLOCK=${XMTEST_PHY_BLOCK:-0}
    XMTEST_DEFAULT_MEM=${XMTEST_DEFAULT_MEM:-64}
    XMTEST_MIN_MEM=${XMTEST_MIN_MEM:-32}
    XMTEST_SAFE_MEM=${XMTEST_SAFE_MEM:-32}
    XMTEST_BALLOON_MIN=${XMTEST_BALLOON_MIN:-15}
    XMTEST_MAX_GUESTS=${XMTEST_MAX_GUESTS:-50}
    XMTEST_KERNEL_ARGS=${XMTEST_KERNEL_ARGS-}
    XMTEST_ROOT=${XMTEST_ROOT-/dev/ram0}
    XMTEST_VCPU_UNPLUG=${XMTEST_VCPU_UNPLUG:-1}
    XMTEST_DMESG_TAG=${XMTEST_DMESG_TAG:-"(XEN)"}
    ;;
qemu)
    XMTEST_HOST_CONFIG_TEXT=${XMTEST_HOST_CONFIG_TEXT:-"accel = tcg"}
    XMTEST_BOOT_TIMEOUT=${XMTEST_BOOT_TIMEOUT:-180}
    XMTEST_CONSOLE_TIMEOUT=${XMTEST_CONSOLE_TIMEOUT:-30}
    XMTEST_REBOOT_TIMEOUT=${XMTEST_REBOOT_TIMEOUT:-60}
    XMTEST_GUEST_FS=${XMTEST_GUEST_FS:-1}
    XMTEST_GUEST_JOBS=${XMTEST_GUEST_JOBS:-1}
    XMTEST_PHY_BLOCK=${XMTEST_PHY_BLOCK:-1}
    XMTEST_DEFAULT_MEM=${XMTEST_DEFAULT_MEM:-128}
    XMTEST_MIN_MEM=${XMTEST_MIN_MEM:-72}
    XMTEST_SAFE_MEM=${XMTEST_SAFE_MEM:-96}
    XMTEST_BALLOON_MIN=${XMTEST_BALLOON_MIN:-72}
    XMTEST_MAX_GUESTS=${XMTEST_MAX_GUESTS:-5}
    # `quiet`: a boot's kernel messages would only slow the console; panic=-1: a panic
    # reboots at once (docs/test-guest.md). With an initramfs no root= is needed.
    XMTEST_KERNEL_ARGS=${XMTEST_KERNEL_ARGS-"console=ttyS0 quiet panic=-1"}
    XMTEST_ROOT=${XMTEST_ROOT-}
    XMTEST_VCPU_UNPLUG=${XMTEST_VCPU_UNPLUG:-0}
    XMTEST_DMESG_TAG=${XMTEST_DMESG_TAG:-"(XEND)"}
    ;;
*)
    echo "xm-test: unknown XMTEST_DRIVER '$XMTEST_DRIVER' (test or qemu)" >&2
    return 1 2>/dev/null || exit 1
    ;;
esac
export XMTEST_DRIVER XMTEST_HOST_CONFIG_TEXT XMTEST_BOOT_TIMEOUT XMTEST_CONSOLE_TIMEOUT \
       XMTEST_REBOOT_TIMEOUT XMTEST_GUEST_FS XMTEST_GUEST_JOBS XMTEST_PHY_BLOCK XMTEST_DEFAULT_MEM \
       XMTEST_MIN_MEM XMTEST_SAFE_MEM XMTEST_BALLOON_MIN XMTEST_MAX_GUESTS XMTEST_KERNEL_ARGS XMTEST_ROOT \
       XMTEST_VCPU_UNPLUG XMTEST_DMESG_TAG

# Lines added to the private daemon's xend.conf (runtest.sh writes the rest).
xmtest_driver_daemon_config() {
    echo "driver = $XMTEST_DRIVER"
    if [ -n "$XMTEST_HOST_CONFIG_TEXT" ]; then
        printf '%s\n' "$XMTEST_HOST_CONFIG_TEXT" > "$1/host.conf"
        echo "host_config = $1/host.conf"
    fi
}

# xmtest_driver_check BUILD_GUESS: before any daemon starts, make sure the driver can run
# here. For QEMU: qemu-system-x86_64 runs, and unless the caller set XMTEST_KERNEL and
# XMTEST_RAMDISK (which must then exist), the test guest is built (cached) into
# XEND_TEST_GUEST and XMTEST_KERNEL and XMTEST_RAMDISK are exported naming it. Returns 0; 77 when the suite cannot run here (QEMU
# missing or not running, or the guest's Debian packages cannot be fetched: make-test-guest's
# exit 3); 1 on any other error (a guest that cannot be built is a failure, not a skip).
# Sets XMTEST_DRIVER_WHY to the reason when it does not return 0. BUILD_GUESS is the build
# directory whose tests/guest-image is the default XEND_TEST_GUEST.
xmtest_driver_check() {
    XMTEST_DRIVER_WHY=
    [ "$XMTEST_DRIVER" = qemu ] || return 0
    local qemu out rc src
    qemu=$(command -v qemu-system-x86_64) || {
        XMTEST_DRIVER_WHY="qemu-system-x86_64 is not installed (scripts/install-deps installs it)"
        return 77
    }
    if ! out=$(timeout 60 "$qemu" -version 2>&1); then
        XMTEST_DRIVER_WHY="qemu-system-x86_64 does not run: $out"
        return 77
    fi
    if [ -n "${XMTEST_KERNEL:-}" ] || [ -n "${XMTEST_RAMDISK:-}" ]; then
        # The caller's own guest: both files, as given.
        if [ ! -s "${XMTEST_KERNEL:-}" ] || [ ! -s "${XMTEST_RAMDISK:-}" ]; then
            XMTEST_DRIVER_WHY="XMTEST_KERNEL ('${XMTEST_KERNEL:-}') and XMTEST_RAMDISK ('${XMTEST_RAMDISK:-}') must both name existing files"
            return 1
        fi
        export XMTEST_KERNEL XMTEST_RAMDISK
        return 0
    fi
    XEND_TEST_GUEST=${XEND_TEST_GUEST:-$1/tests/guest-image}
    src=$(cd "$XMTEST_LIB_DIR/../../.." && pwd)
    out=$("$src/scripts/make-test-guest" "$XEND_TEST_GUEST" 2>&1)
    rc=$?
    if [ "$rc" = 3 ]; then
        XMTEST_DRIVER_WHY="the test guest's Debian packages cannot be fetched: $(printf '%s' "$out" | tail -n 5)"
        return 77
    fi
    if [ "$rc" != 0 ] || [ ! -s "$XEND_TEST_GUEST/vmlinuz" ]; then
        XMTEST_DRIVER_WHY="the test guest cannot be built (make-test-guest exit $rc): $out"
        return 1
    fi
    XMTEST_KERNEL=$XEND_TEST_GUEST/vmlinuz
    XMTEST_RAMDISK=$XEND_TEST_GUEST/initramfs.cpio.gz
    export XEND_TEST_GUEST XMTEST_KERNEL XMTEST_RAMDISK
    return 0
}

# Kernel and ramdisk for XmTestDomain. The simulated host never reads them, so small files
# do; real guests need the test guest (xmtest_driver_check) or the caller's.
xmtest_driver_images() {
    local dir=$1
    if [ "$XMTEST_DRIVER" = test ]; then
        mkdir -p "$dir"
        if [ -z "${XMTEST_KERNEL:-}" ]; then
            XMTEST_KERNEL=$dir/vmlinuz-xmtest
            printf 'xm-test dummy kernel for the simulated host\n' > "$XMTEST_KERNEL"
        fi
        if [ -z "${XMTEST_RAMDISK:-}" ]; then
            # runtest.sh of xm-test wanted an initrd.img larger than 16 KiB.
            XMTEST_RAMDISK=$dir/initrd.img
            head -c 65536 /dev/zero > "$XMTEST_RAMDISK"
        fi
    fi
    if [ -z "${XMTEST_KERNEL:-}" ] || [ -z "${XMTEST_RAMDISK:-}" ]; then
        echo "xm-test: XMTEST_KERNEL and XMTEST_RAMDISK must be set for driver $XMTEST_DRIVER" >&2
        return 1
    fi
    export XMTEST_KERNEL XMTEST_RAMDISK
}

# xmtest_vdev VDEV: the virtual device name to give xm for the Xen name VDEV a case uses.
# The simulated host takes every Xen name. QEMU's IDE disks are whole disks hda-hdd that
# cannot be hot-plugged, so Xen's paravirtual hdaN/sdaN (partitions exported as disks of
# their own) become xvdaN, which the QEMU driver puts on virtio-blk like every xvd disk.
xmtest_vdev() {
    if [ "$XMTEST_DRIVER" = qemu ] && [[ "$1" =~ ^(/dev/)?(hd|sd)([a-z]+[0-9]*)$ ]]; then
        echo "xvd${BASH_REMATCH[3]}"
    else
        echo "$1"
    fi
}

# The guest command whose output stands for /proc/partitions: lines that hold the Xen name
# of every disk the guest sees. A real guest names its virtio disks vda, vdb... in the
# order they were plugged; the QEMU driver gives each the serial number of its target
# (xvda1), so the guest prints "<serial> <its own name>" for each.
xmtest_guest_partitions_cmd() {
    if [ "$XMTEST_DRIVER" = qemu ]; then
        echo 'for d in /sys/block/vd*; do [ -e $d/serial ] && echo $(cat $d/serial) ${d##*/}; done'
    else
        echo 'cat /proc/partitions'
    fi
}

# xmtest_loops_detach DIR: detach every loop device whose backing file is under DIR (the
# stand-ins xmtest_ramdisk made). One a QEMU still holds goes once that QEMU lets it go
# (losetup -d then only marks it autoclear).
xmtest_loops_detach() {
    command -v losetup >/dev/null 2>&1 || return 0
    local dev file
    while read -r dev file; do
        case "$file" in "$1"/*) losetup -d "$dev" 2>/dev/null ;; esac
    done < <(losetup -n -l -O NAME,BACK-FILE 2>/dev/null)
    return 0
}
