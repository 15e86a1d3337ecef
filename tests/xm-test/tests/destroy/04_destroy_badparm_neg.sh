#!/bin/bash
# xm-test destroy/04_destroy_badparm_neg: `xm destroy 6666` (no such domain) reports Error:.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output destroy 6666
neg_expect_at_start "Error:" "xm destroy"
