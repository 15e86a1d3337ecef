#!/bin/bash
# xm-test console/01_console_badopt_neg: `xm console -x` reports an Error.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output console -x
neg_expect_at_start "Error" "xm console"
