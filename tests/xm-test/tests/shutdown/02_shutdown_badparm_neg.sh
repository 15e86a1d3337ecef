#!/bin/bash
# xm-test shutdown/02_shutdown_badparm_neg: `xm shutdown -x D` reports Error:.
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"

xm_status_output shutdown -x "$name"
s=$status o=$output
xm_status_output shutdown "$name"
status=$s output=$o
neg_expect_anywhere "Error:" "xm shutdown"
