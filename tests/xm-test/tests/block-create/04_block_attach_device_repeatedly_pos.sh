#!/bin/bash
# xm-test block-create/04_block_attach_device_repeatedly_pos: the first
# `xm block-attach D phy:ram1 xvda1 w` succeeds, the nine repeats must fail; xvda1 stays in
# the guest's /proc/partitions throughout.
# xmtest-timeout: 400
. "$(dirname "$0")/../../lib/xmtest.sh"

# /dev/ram0, /dev/ram1 of xm-test's dom0: regular files in the case's temp dir
# (lib/xmtest.sh: xmtest_ramdisk), given as phy: like the originals.
ram1=$(xmtest_ramdisk ram1) || exit

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
guest_run "$name" "ls" || FAIL "$guest_error"

for i in $(seq 0 9); do
    xm_status_output block-attach "$name" "phy:$ram1" xvda1 w
    if [ "$i" = 0 ] && [ "$status" != 0 ]; then
        FAIL "xm block attach returned invalid $status != 0"
    fi
    if [ "$i" -gt 0 ] && [ "$status" = 0 ]; then
        FAIL "xm block-attach (repeat) returned invalid $status > 0"
    fi
    guest_partitions "$name" xvda1
    [[ "$guest_output" == *xvda1* ]] || FAIL "Device is not actually attached to domU"
done

xm_status_output shutdown "$name"
