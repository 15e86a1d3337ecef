#!/bin/bash
# xm-test block-destroy/02_block-destroy_rtblock_pos: attach phy:/dev/ram0 as xvda1 at run
# time, then detach it; the guest's /proc/partitions follows.
. "$(dirname "$0")/../../lib/xmtest.sh"

# /dev/ram0, /dev/ram1 of xm-test's dom0: regular files in the case's temp dir
# (lib/xmtest.sh: xmtest_ramdisk), given as phy: like the originals.
ram0=$(xmtest_ramdisk ram0) || exit

name=$(xmtest_name)
xmtest_create "$name" || FAIL "Unable to create domain"

block_attach "$name" "phy:$ram0" xvda1
guest_partitions "$name" xvda1
[[ "$guest_output" == *xvda1* ]] || FAIL "Failed to verify that block dev is attached"

block_detach "$name" xvda1
guest_partitions "$name" '!xvda1'
xm_status_output shutdown "$name"

[[ "$guest_output" != *xvda1* ]] || FAIL "block-detach failed to detach block device"
