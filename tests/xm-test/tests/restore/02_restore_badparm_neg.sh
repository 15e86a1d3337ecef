#!/bin/bash
# xm-test restore/02_restore_badparm_neg: `xm restore -x` reports Error:, not a stack dump.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output restore -x
neg_expect_anywhere "Error:" "xm restore"
