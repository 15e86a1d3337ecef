#!/bin/bash
# xm-test restore/03_restore_badfilename_neg: restoring a file that does not exist reports
# Error:, not a stack dump.
. "$(dirname "$0")/../../lib/xmtest.sh"

# /tmp/NON_EXIST of xm-test: a name in the case's (fresh) temp dir, sure not to exist.
xm_status_output restore "$XMTEST_TMP/NON_EXIST"
neg_expect_anywhere "Error:" "xm restore"
