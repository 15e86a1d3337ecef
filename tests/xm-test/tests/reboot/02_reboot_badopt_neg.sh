#!/bin/bash
# xm-test reboot/02_reboot_badopt_neg: `xm reboot -x D` reports an Error.
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"

xm_status_output reboot -x "$name"
s=$status o=$output
xm_status_output destroy "$name"
status=$s output=$o
neg_expect_anywhere "Error" "xm reboot"
