#!/bin/bash
# xm-test block-destroy/05_block-destroy_byname_pos: a disk from the config (phy:/dev/ram0 as
# hda1) is detached by name (`xm block-detach D hda1`); the guest no longer shows it. On QEMU
# hda1 is xvda1 (lib/driver.sh: xmtest_vdev).
. "$(dirname "$0")/../../lib/xmtest.sh"

# /dev/ram0, /dev/ram1 of xm-test's dom0: regular files in the case's temp dir
# (lib/xmtest.sh: xmtest_ramdisk), given as phy: like the originals.
ram0=$(xmtest_ramdisk ram0) || exit

name=$(xmtest_name)
vdev=$(xmtest_vdev hda1)
xmtest_create "$name" "disk = ['phy:$ram0,hda1,w']" || FAIL "Unable to create domain"

guest_partitions "$name" "$vdev"
[[ "$guest_output" == *"$vdev"* ]] || FAIL "block device isn't attached; can't detach!"

xm_status_output block-detach "$name" "$vdev"
[ "$status" = 0 ] || FAIL "block-detach returned invalid $status != 0"

guest_partitions "$name" "!$vdev"
xm_status_output shutdown "$name"

[[ "$guest_output" != *"$vdev"* ]] || FAIL "domU reported block device still connected!"
