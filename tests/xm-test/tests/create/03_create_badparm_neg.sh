#!/bin/bash
# xm-test create/03_create_badparm_neg: `xm create -x` (an unknown option) must print
# Error: first.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output create -x
[ "$(str_find "$output" "Error:")" = 0 ] || FAIL "xm create failed to report error on bad arg"
