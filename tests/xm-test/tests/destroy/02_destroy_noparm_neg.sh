#!/bin/bash
# xm-test destroy/02_destroy_noparm_neg: `xm destroy` without a domain reports Error:.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output destroy
neg_expect_at_start "Error:" "xm destroy"
