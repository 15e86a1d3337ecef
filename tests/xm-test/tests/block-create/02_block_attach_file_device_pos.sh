#!/bin/bash
# xm-test block-create/02_block_attach_file_device_pos: `xm block-attach D file:/dev/ram1
# xvda1 w`; xvda1 shows in the guest's /proc/partitions.
. "$(dirname "$0")/../../lib/xmtest.sh"

# /dev/ram1 of xm-test's dom0: a regular file in the case's temp dir, attached as file:.
ram1=$(xmtest_ramdisk_file ram1)

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
guest_run "$name" "ls" || FAIL "$guest_error"

block_attach "$name" "file:$ram1" xvda1

guest_partitions "$name" xvda1
xm_status_output shutdown "$name"

[[ "$guest_output" == *xvda1* ]] || FAIL "Device is not actually connected to the domU"
