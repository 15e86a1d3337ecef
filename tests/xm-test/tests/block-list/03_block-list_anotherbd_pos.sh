#!/bin/bash
# xm-test block-list/03_block-list_anotherbd_pos: a config disk (xvda1) plus one attached at
# run time (phy:/dev/ram1 as xvda2): block-list shows 51713 and 51714, the guest both disks.
. "$(dirname "$0")/../../lib/xmtest.sh"

# /dev/ram0, /dev/ram1 of xm-test's dom0: regular files in the case's temp dir
# (lib/xmtest.sh: xmtest_ramdisk), given as phy: like the originals.
ram0=$(xmtest_ramdisk ram0) || exit
ram1=$(xmtest_ramdisk ram1) || exit

name=$(xmtest_name)
xmtest_create "$name" "disk = ['phy:$ram0,xvda1,w']" || FAIL "Unable to create domain"
id=$(domid "$name")

xm_status_output block-list "$id"
[ "$status" = 0 ] || FAIL "Fail to list block device"

xm_status_output block-attach "$id" "phy:$ram1" xvda2 w
[ "$status" = 0 ] || FAIL "Fail to attach block device"

xm_status_output block-list "$id"
[ "$status" = 0 ] || FAIL "xm block-list returned bad status, expected 0, status is $status"
[[ "$output" == *51713* && "$output" == *51714* ]] || FAIL "Fail to list all block devices after attaching another block device"

guest_partitions "$name" xvda1 xvda2
xm_status_output shutdown "$name"
[[ "$guest_output" == *xvda1* && "$guest_output" == *xvda2* ]] || FAIL "Failed to verify that block dev is attached on DomainU"
