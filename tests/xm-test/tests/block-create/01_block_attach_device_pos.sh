#!/bin/bash
# xm-test block-create/01_block_attach_device_pos: `xm block-attach D phy:ram1 xvda1 w`; the
# device connects and xvda1 shows in the guest's /proc/partitions.
. "$(dirname "$0")/../../lib/xmtest.sh"

# /dev/ram0, /dev/ram1 of xm-test's dom0: regular files in the case's temp dir
# (lib/xmtest.sh: xmtest_ramdisk), given as phy: like the originals.
ram1=$(xmtest_ramdisk ram1) || exit

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
guest_run "$name" "ls" || FAIL "$guest_error"

block_attach "$name" "phy:$ram1" xvda1

guest_partitions "$name" xvda1
xm_status_output shutdown "$name"

[[ "$guest_output" == *xvda1* ]] || FAIL "Device is not actually connected to the domU"
