#!/bin/bash
# xm-test block-create/06_block_attach_baddomain_neg: `xm block-attach NOT-EXIST phy:ram1
# xvda1 w` reports an Error.
. "$(dirname "$0")/../../lib/xmtest.sh"

# /dev/ram0, /dev/ram1 of xm-test's dom0: regular files in the case's temp dir
# (lib/xmtest.sh: xmtest_ramdisk), given as phy: like the originals.
ram1=$(xmtest_ramdisk ram1) || exit

xm_status_output block-attach NOT-EXIST "phy:$ram1" xvda1 w
[ "$status" != 0 ] || FAIL "xm block-attach returned bad status, expected non 0, status is: $status"
printf '%s' "$output" | grep -qi error || FAIL "xm block-attach returned bad output, expected Error, output is: $output"
