#!/bin/bash
# xm-test save/03_save_bogusfile_neg: saving to a file in a directory that does not exist
# (/NOWHERE/test.state) reports Error:, not a stack dump.
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"

xm_status_output save "$name" /NOWHERE/test.state
s=$status o=$output
xm_status_output destroy "$name"
status=$s output=$o
neg_expect_anywhere "Error:" "xm save"
