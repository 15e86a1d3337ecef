#!/bin/bash
# xm-test block-create/12_block_attach_shared_domU: a second domain with write access to the
# disk a running domain writes (phy:/dev/ram0 as hda1, mode w) must not start (Bug #331).
. "$(dirname "$0")/../../lib/xmtest.sh"

# /dev/ram0, /dev/ram1 of xm-test's dom0: regular files in the case's temp dir
# (lib/xmtest.sh: xmtest_ramdisk), given as phy: like the originals.
ram0=$(xmtest_ramdisk ram0) || exit

dom1=$(xmtest_name)
dom2=$dom1-2
xmtest_create "$dom1" "disk = ['phy:$ram0,hda1,w']" || FAIL "Unable to start domain"

if xmtest_create "$dom2" "disk = ['phy:$ram0,hda1,w']"; then
    FAIL "Bug #331: Started a DomU with write access to an in-use block device"
fi
