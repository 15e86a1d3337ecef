#!/bin/bash
# xm-test pause/02_pause_badopt_neg: `xm pause -x D` reports an Error.
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"

xm_status_output pause -x "$name"
s=$status o=$output
xm_status_output destroy "$name"
status=$s output=$o
neg_expect_anywhere "Error" "xm pause"
