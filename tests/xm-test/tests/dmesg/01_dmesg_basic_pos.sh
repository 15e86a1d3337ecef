#!/bin/bash
# xm-test dmesg/01_dmesg_basic_pos: `xm dmesg` succeeds and shows hypervisor lines "(XEN)"
# (on QEMU the driver's "(XEND)" lines: lib/driver.sh, XMTEST_DMESG_TAG).
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output dmesg
[ "$status" = 0 ] || FAIL "xm dmesg returned invalid $status != 0"
# "(XEN)" on Xen and the simulated host; the driver's own tag elsewhere (lib/driver.sh:
# XMTEST_DMESG_TAG), at the start of a line.
tagged=no
while IFS= read -r line; do
    [[ "$line" == "$XMTEST_DMESG_TAG "* ]] && tagged=yes
done <<< "$output"
[ "$tagged" = yes ] || FAIL "xm dmesg didn't output any $XMTEST_DMESG_TAG lines"
