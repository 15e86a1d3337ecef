# xm-test: everything that depends on the hypervisor driver the suite runs against, in one
# place. Sourced by runtest.sh (daemon set-up) and by lib/xmtest.sh (what the guests can do).
#
#   XMTEST_DRIVER=test  the built-in simulated host (default): a private xend with
#                       `driver = test`, dummy kernel and ramdisk files, and the simulated
#                       busybox-like shell on every guest console.
#   XMTEST_DRIVER=qemu  real guests: XMTEST_KERNEL and XMTEST_RAMDISK must name a kernel and
#                       a busybox initramfs (see /work/shared/reference/qemu.md) whose
#                       console runs a root shell.
#
# Knobs (each may be preset in the environment to override the driver's default):
#   XMTEST_HOST_CONFIG_TEXT  lines of the simulated host's host_config (test only)
#   XMTEST_BOOT_TIMEOUT      seconds guest.py waits for a first shell prompt
#   XMTEST_CONSOLE_TIMEOUT   seconds guest.py waits for one command (XmConsole's 30)
#   XMTEST_GUEST_FS          1 if the guest can mkfs/mount/write files on a disk
#   XMTEST_GUEST_JOBS        1 if the guest shell runs background jobs and gzip
#   XMTEST_DISK_DIR          where stand-ins for /dev/ram0, /dev/ram1 are created
#                            (default: the test's own temp dir)

XMTEST_DRIVER=${XMTEST_DRIVER:-test}
case "$XMTEST_DRIVER" in
test)
    XMTEST_HOST_CONFIG_TEXT=${XMTEST_HOST_CONFIG_TEXT:-"cpus = 4
memory_mib = 4096"}
    XMTEST_BOOT_TIMEOUT=${XMTEST_BOOT_TIMEOUT:-30}
    XMTEST_CONSOLE_TIMEOUT=${XMTEST_CONSOLE_TIMEOUT:-30}
    # The simulated guest's shell has no filesystems, no job control and no gzip.
    XMTEST_GUEST_FS=${XMTEST_GUEST_FS:-0}
    XMTEST_GUEST_JOBS=${XMTEST_GUEST_JOBS:-0}
    ;;
qemu)
    XMTEST_HOST_CONFIG_TEXT=${XMTEST_HOST_CONFIG_TEXT:-}
    XMTEST_BOOT_TIMEOUT=${XMTEST_BOOT_TIMEOUT:-180}
    XMTEST_CONSOLE_TIMEOUT=${XMTEST_CONSOLE_TIMEOUT:-30}
    XMTEST_GUEST_FS=${XMTEST_GUEST_FS:-1}
    XMTEST_GUEST_JOBS=${XMTEST_GUEST_JOBS:-1}
    ;;
*)
    echo "xm-test: unknown XMTEST_DRIVER '$XMTEST_DRIVER' (test or qemu)" >&2
    return 1 2>/dev/null || exit 1
    ;;
esac
export XMTEST_DRIVER XMTEST_BOOT_TIMEOUT XMTEST_CONSOLE_TIMEOUT XMTEST_GUEST_FS \
       XMTEST_GUEST_JOBS

# Lines added to the private daemon's xend.conf (runtest.sh writes the rest).
xmtest_driver_daemon_config() {
    echo "driver = $XMTEST_DRIVER"
    if [ -n "$XMTEST_HOST_CONFIG_TEXT" ]; then
        printf '%s\n' "$XMTEST_HOST_CONFIG_TEXT" > "$1/host.conf"
        echo "host_config = $1/host.conf"
    fi
}

# Kernel and ramdisk for XmTestDomain. The simulated host never reads them, so small files
# do; real guests need the caller's.
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
