#!/bin/bash
# xm-test block-list/02_block-list_attachbd_pos: attach phy:/dev/ram0 as xvda1 at run time;
# `xm block-list <id>` then shows 51713 and the guest sees xvda1.
. "$(dirname "$0")/../../lib/xmtest.sh"

# /dev/ram0, /dev/ram1 of xm-test's dom0: regular files in the case's temp dir
# (lib/xmtest.sh: xmtest_ramdisk), given as phy: like the originals.
ram0=$(xmtest_ramdisk ram0) || exit

name=$(xmtest_name)
xmtest_create "$name" || FAIL "Unable to create domain"
id=$(domid "$name")

xm_status_output block-attach "$id" "phy:$ram0" xvda1 w
[ "$status" = 0 ] || FAIL "Fail to attach block device"

xm_status_output block-list "$id"
[ "$status" = 0 ] || FAIL "xm block-list returned bad status, expected 0, status is $status"
[[ "$output" == *51713* ]] || FAIL "Fail to list block device"

guest_partitions "$name" xvda1
xm_status_output shutdown "$name"
[[ "$guest_output" == *xvda1* ]] || FAIL "Failed to verify that block dev is attached on DomainU"
