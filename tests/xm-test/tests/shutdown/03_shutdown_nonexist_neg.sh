#!/bin/bash
# xm-test shutdown/03_shutdown_nonexist_neg: `xm shutdown 9999` (no such domain) reports
# Error:.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output shutdown 9999
neg_expect_anywhere "Error:" "xm shutdown"
