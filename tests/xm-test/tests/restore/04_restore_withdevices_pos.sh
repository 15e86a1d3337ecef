#!/bin/bash
# xm-test restore/04_restore_withdevices_pos: a domain with two disks (phy:/dev/ram0 as
# hda1, phy:/dev/ram1 as hdb2) and two network interfaces survives save and restore: the
# files written on both disks, its interfaces (lo, eth0, eth1) and its shell state are
# still there.
# xmtest-timeout: 400
. "$(dirname "$0")/../../lib/xmtest.sh"

# /dev/ram0 and /dev/ram1 of xm-test's dom0: regular files in the case's temp dir.
ram0=$(xmtest_ramdisk ram0 16) || exit
ram1=$(xmtest_ramdisk ram1 16) || exit
if [ "$XMTEST_GUEST_FS" = 1 ]; then
    for r in "$ram0" "$ram1"; do
        mke2fs -q -F "$r" >/dev/null 2>&1 || mkfs -t ext2 -F "$r" >/dev/null 2>&1 ||             FAIL "Unable to mkfs $r in dom0"
    done
fi

name=$(xmtest_name)
# xm-test's two vifs had addresses from its IP pool; without one they take the defaults.
xmtest_create "$name" "disk = ['phy:$ram0,hda1,w', 'phy:$ram1,hdb2,w']" "vif = ['', '']" || FAIL "$output"

guest_run "$name" "foo=bar" || FAIL "$guest_error"
if [ "$XMTEST_GUEST_FS" = 1 ]; then
    for d in hda1:/mnt/a hdb2:/mnt/b; do
        # The guest's node: /dev/hda1 on Xen, /dev/vdX on QEMU (lib/xmtest.sh).
        guest_disk_dev "$name" "${d%%:*}"
        guest_run "$name" "mkdir -p ${d#*:} && mount $GUEST_DEV ${d#*:}" || FAIL "$guest_error"
        [ "$guest_status" = 0 ] || FAIL "Unable to mount $GUEST_DEV (${d%%:*})"
        guest_run "$name" "echo bar > ${d#*:}/foo" || FAIL "$guest_error"
        [ "$guest_status" = 0 ] || FAIL "Unable to write to block device ${d%%:*}!"
    done
else
    # The simulated guest has no filesystems (lib/driver.sh: XMTEST_GUEST_FS): the disks
    # are checked through /proc/partitions instead of files on them.
    echo "(guest without filesystems: checking the disks in /proc/partitions only)"
fi

XMTEST_CMD_TIMEOUT=30 xm_status_output save "$name" "$XMTEST_TMP/test.state"
[ "$status" = 0 ] || FAIL "xm save exited with $status != 0"

# xm-test let things settle for 15 s; the save is complete when xm returns.
XMTEST_CMD_TIMEOUT=30 xm_status_output restore "$XMTEST_TMP/test.state"
[ "$status" = 0 ] || FAIL "xm restore exited with $status != 0"

# xm-test's ramdisk shell started in /, where 'ls' shows proc; a login shell may start in
# its home (the QEMU test guest's is /root), so the listing names /.
guest_run "$name" "ls /" || FAIL "$guest_error"
[ "$guest_status" = 0 ] && [[ "$guest_output" == *proc* ]] || FAIL "ls failed on restored domain"

guest_run "$name" "echo \$foo" || FAIL "$guest_error"
[[ "$guest_output" == *bar* ]] || FAIL "Restored domain lost its shell state"

guest_run "$name" "ls /sys/class/net" || FAIL "$guest_error"
for i in lo eth0 eth1; do
    [[ " $(echo $guest_output) " == *" $i "* ]] || FAIL "Interface $i missing after restore ($guest_output)"
done

if [ "$XMTEST_GUEST_FS" = 1 ]; then
    for m in /mnt/a /mnt/b; do
        guest_run "$name" "cat $m/foo" || FAIL "$guest_error"
        [ "$guest_status" = 0 ] && [[ "$guest_output" == *bar* ]] || FAIL "Unable to read from block device ($m)"
    done
else
    guest_partitions "$name"
    [[ "$guest_output" == *"$(xmtest_vdev hda1)"* ]] || FAIL "hda1 missing from /proc/partitions after restore"
    [[ "$guest_output" == *"$(xmtest_vdev hdb2)"* ]] || FAIL "hdb2 missing from /proc/partitions after restore"
fi

xm_status_output destroy "$name"
