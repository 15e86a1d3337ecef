#!/bin/bash
# xm-test list/02_list_badparm_neg: `xm list -x` reports Error:.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output list -x
neg_expect_at_start "Error:" "xm list"
