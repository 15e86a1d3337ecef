#!/bin/bash
# xm-test dmesg/01_dmesg_basic_pos: `xm dmesg` succeeds and shows hypervisor lines "(XEN)".
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output dmesg
[ "$status" = 0 ] || FAIL "xm dmesg returned invalid $status != 0"
[[ "$output" == *"(XEN)"* ]] || FAIL "xm dmesg didn't output any (XEN) lines"
