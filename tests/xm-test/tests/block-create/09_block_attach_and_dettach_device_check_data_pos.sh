#!/bin/bash
# xm-test block-create/09_block_attach_and_dettach_device_check_data_pos: an ext2 filesystem
# on ram1; ten times: attach it as xvda1, mount it in the guest, check the file written by
# the previous round and write the next, unmount, detach. The data must persist.
# xmtest-timeout: 600
. "$(dirname "$0")/../../lib/xmtest.sh"

# Needs a guest that can mount filesystems (lib/driver.sh: XMTEST_GUEST_FS): a busybox
# guest under QEMU can, the simulated host's shell cannot.
[ "$XMTEST_GUEST_FS" = 1 ] || SKIP "needs a guest that mounts filesystems (driver $XMTEST_DRIVER cannot)"

# /dev/ram0, /dev/ram1 of xm-test's dom0: regular files in the case's temp dir
# (lib/xmtest.sh: xmtest_ramdisk), given as phy: like the originals.
ram1=$(xmtest_ramdisk ram1 16) || exit
mke2fs -q -F "$ram1" >/dev/null 2>&1 || mkfs -t ext2 -F "$ram1" >/dev/null 2>&1 || FAIL "Unable to make a filesystem on $ram1"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
guest_run "$name" "mkdir -p /mnt" || FAIL "$guest_error"

for i in $(seq 0 9); do
    block_attach "$name" "phy:$ram1" xvda1
    # The guest's node for xvda1: /dev/xvda1 on Xen, /dev/vdX on QEMU (lib/xmtest.sh).
    guest_disk_dev "$name" xvda1
    guest_run "$name" "mount $GUEST_DEV /mnt" || FAIL "$guest_error"
    [ "$guest_status" = 0 ] || FAIL "Unable to mount $GUEST_DEV (xvda1, round $i)"
    if [ "$i" -gt 0 ]; then
        guest_run "$name" "cat /mnt/data" || FAIL "$guest_error"
        [ "$guest_status" = 0 ] && [[ "$guest_output" == *"round-$((i - 1))"* ]] ||             FAIL "Data written in round $((i - 1)) did not persist (got '$guest_output')"
    fi
    guest_run "$name" "echo round-$i > /mnt/data" || FAIL "$guest_error"
    [ "$guest_status" = 0 ] || FAIL "Unable to write to the filesystem (round $i)"
    guest_run "$name" "umount /mnt" || FAIL "$guest_error"
    [ "$guest_status" = 0 ] || FAIL "Unable to umount /mnt (round $i)"
    block_detach "$name" xvda1
    # The next round's attach must not find the guest still holding this disk.
    guest_partitions "$name" '!xvda1'
done

xm_status_output shutdown "$name"
