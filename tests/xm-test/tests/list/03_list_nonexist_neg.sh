#!/bin/bash
# xm-test list/03_list_nonexist_neg: `xm list 6666` (no such domain) reports Error:.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output list 6666
neg_expect_at_start "Error:" "xm list"
