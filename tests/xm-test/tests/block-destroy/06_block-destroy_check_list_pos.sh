#!/bin/bash
# xm-test block-destroy/06_block-destroy_check_list_pos: after `xm block-attach D
# phy:/dev/ram0 xvda1 w` both `xm block-list D` (51713) and `xm list --long D` show xvda1;
# after `xm block-detach D xvda1` neither does.
. "$(dirname "$0")/../../lib/xmtest.sh"

# /dev/ram0, /dev/ram1 of xm-test's dom0: regular files in the case's temp dir
# (lib/xmtest.sh: xmtest_ramdisk), given as phy: like the originals.
ram0=$(xmtest_ramdisk ram0) || exit

checkBlockList() {
    xm_status_output block-list "$name"
    [ "$status" = 0 ] || FAIL "block-list failed"
    [[ "$output" == *51713* ]]
}

checkXmLongList() {
    xm_status_output list --long "$name"
    [ "$status" = 0 ] || FAIL "xm list --long <dom> failed"
    [[ "$output" == *xvda1* ]]
}

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
# A Xen backend let a device go whatever the guest did; a real guest must be up to release
# a disk (ACPI eject under QEMU), so wait for its shell first.
guest_run "$name" "true" || FAIL "$guest_error"

xm_status_output block-attach "$name" "phy:$ram0" xvda1 w
[ "$status" = 0 ] || FAIL "block-attach failed"

checkBlockList || FAIL "block-list does not show that xvda1 was attached"
checkXmLongList || FAIL "xm long list does not show that xvda1 was attached"

xm_status_output block-detach "$name" xvda1
[ "$status" = 0 ] || FAIL "block-detach failed"

# xm-test slept 2 s here; poll (up to 10 s) until block-list drops the device.
gone() { ! checkBlockList; }
poll_until 10 gone || FAIL "block-list does not show that xvda1 was removed"
! checkXmLongList || FAIL "xm long list does not show that xvda1 was removed"
