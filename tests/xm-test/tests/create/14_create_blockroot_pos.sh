#!/bin/bash
# xm-test create/14_create_blockroot_pos: boot with the ramdisk image as the root disk
# (root = /dev/hda1, disk = file:<ramdisk>,hda1,w); 'ls' must succeed.
. "$(dirname "$0")/../../lib/xmtest.sh"

xmtest_create 14_create_blockroot "root = \"/dev/hda1\"" "disk = [\"file:$XMTEST_RAMDISK,hda1,w\"]" || FAIL "$output"

guest_run 14_create_blockroot "ls" || FAIL "$guest_error"
[ "$guest_status" = 0 ] || FAIL "DomU 'ls' failed"
