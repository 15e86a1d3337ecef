#!/bin/bash
# xm-test console/02_console_baddom_neg: `xm console 5000` and `xm console NON_EXIST` (no such
# domain, by id and by name) report an Error.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output console 5000
neg_expect_at_start "Error" "xm console 5000"

xm_status_output console NON_EXIST
neg_expect_at_start "Error" "xm console NON_EXIST"
