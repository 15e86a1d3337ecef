#!/bin/bash
# xm-test save/02_save_badparm_neg: `xm save -x` reports Error:, not a stack dump.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output save -x
[ "$status" != 0 ] || FAIL "xm save returned bad status, expected non 0, status is: $status"
[ "$(str_find "$output" Traceback)" != 0 ] || FAIL "xm save returned a stack dump, expected nice error message"
neg_expect_at_start "Error:" "xm save"
