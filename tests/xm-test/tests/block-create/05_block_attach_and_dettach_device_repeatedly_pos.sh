#!/bin/bash
# xm-test block-create/05_block_attach_and_dettach_device_repeatedly_pos: ten times attach
# phy:ram1 as xvda1 and detach it; /proc/partitions in the guest follows each step.
# xmtest-timeout: 600
. "$(dirname "$0")/../../lib/xmtest.sh"

# /dev/ram0, /dev/ram1 of xm-test's dom0: regular files in the case's temp dir
# (lib/xmtest.sh: xmtest_ramdisk), given as phy: like the originals.
ram1=$(xmtest_ramdisk ram1) || exit

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
guest_run "$name" "ls" || FAIL "$guest_error"

for i in $(seq 0 9); do
    block_attach "$name" "phy:$ram1" xvda1
    guest_partitions "$name" xvda1
    [[ "$guest_output" == *xvda1* ]] || FAIL "Failed to attach block device: /proc/partitions does not show that!"

    block_detach "$name" xvda1
    guest_partitions "$name" '!xvda1'
    [[ "$guest_output" != *xvda1* ]] || FAIL "Failed to dettach block device: /proc/partitions still showing that!"
done

xm_status_output shutdown "$name"
