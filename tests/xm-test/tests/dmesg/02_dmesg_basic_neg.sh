#!/bin/bash
# xm-test dmesg/02_dmesg_basic_neg: `xm dmesg -x` reports Error:.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output dmesg -x
neg_expect_at_start "Error:" "xm dmesg"
