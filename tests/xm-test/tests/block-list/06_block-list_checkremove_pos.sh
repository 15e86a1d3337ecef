#!/bin/bash
# xm-test block-list/06_block-list_checkremove_pos: block-list is empty, shows 51713 after
# attaching xvda1, 51713 and 51714 after xvda2, only 51714 after detaching 51713, and is
# empty again after detaching 51714.
. "$(dirname "$0")/../../lib/xmtest.sh"

# /dev/ram0, /dev/ram1 of xm-test's dom0: regular files in the case's temp dir
# (lib/xmtest.sh: xmtest_ramdisk), given as phy: like the originals.
ram0=$(xmtest_ramdisk ram0) || exit
ram1=$(xmtest_ramdisk ram1) || exit

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
guest_run "$name" "true" || FAIL "$guest_error"

xm_status_output block-list "$name"
[ "$status" = 0 ] || FAIL "block-list returned !0 when no devices attached"
[ -z "$output" ] || FAIL "block-list without devices reported something!"

xm_status_output block-attach "$name" "phy:$ram0" xvda1 w
[ "$status" = 0 ] || FAIL "Unable to attach $ram0->xvda1"
xm_status_output block-list "$name"
[ "$status" = 0 ] || FAIL "block-list failed"
[[ "$output" == *51713* ]] || FAIL "block-list didn't show the block device I just attached!"

xm_status_output block-attach "$name" "phy:$ram1" xvda2 w
[ "$status" = 0 ] || FAIL "Unable to attach $ram1->xvda2"
xm_status_output block-list "$name"
[ "$status" = 0 ] || FAIL "block-list failed"
[[ "$output" == *51714* ]] || FAIL "block-list didn't show the other block device I just attached!"

xm_status_output block-detach "$name" 51713
[ "$status" = 0 ] || FAIL "block-destroy of xvda1 failed"
xm_status_output block-list "$name"
[ "$status" = 0 ] || FAIL "block-list failed after detaching a device"
[[ "$output" != *51713* ]] || FAIL "xvda1 still shown in block-list after detach!"
[[ "$output" == *51714* ]] || FAIL "xvda2 not shown after detach of xvda1!"

xm_status_output block-detach "$name" 51714
[ "$status" = 0 ] || FAIL "block-destroy of xvda2 failed"
xm_status_output block-list "$name"
[ "$status" = 0 ] || FAIL "block-list failed after detaching another device"
[[ "$output" != *51714* ]] || FAIL "xvda2 still shown in block-list after detach!"
[ -z "$output" ] || FAIL "block-list still shows something after all devices detached!"
