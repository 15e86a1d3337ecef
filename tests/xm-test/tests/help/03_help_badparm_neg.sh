#!/bin/bash
# xm-test help/03_help_badparm_neg: `xm -x` starts its output with Error:.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output -x
[ "$(str_find "$output" "Error:")" = 0 ] || FAIL "xm failed to report error for bad arg"
