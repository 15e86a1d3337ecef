#!/bin/bash
# xm-test pause/03_pause_badname_neg: `xm pause NOT-EXIST` reports an Error.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output pause NOT-EXIST
neg_expect_at_start "Error" "xm pause"
