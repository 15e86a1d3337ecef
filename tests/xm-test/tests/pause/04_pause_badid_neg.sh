#!/bin/bash
# xm-test pause/04_pause_badid_neg: `xm pause 1246445` (no such id) reports an Error.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output pause 1246445
neg_expect_at_start "Error" "xm pause"
