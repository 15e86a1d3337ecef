#!/bin/bash
# xm-test destroy/03_destroy_nonexist_neg: `xm destroy -x` (an unknown option) reports Error:.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output destroy -x
neg_expect_at_start "Error:" "xm destroy"
