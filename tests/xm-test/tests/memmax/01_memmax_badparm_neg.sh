#!/bin/bash
# xm-test memmax/01_memmax_badparm_neg: `xm mem-max` and `xm mem-max 6666` report Error:.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output mem-max
[ "$status" != 0 ] || FAIL "xm memmax returned invalid $status == 0"
[ "$(str_find "$output" "Error:")" -ge 0 ] || FAIL "xm memmax failed to report error for missing arg"

xm_status_output mem-max 6666
[ "$status" != 0 ] || FAIL "xm memmax returned invalid $status == 0"
[ "$(str_find "$output" "Error:")" -ge 0 ] || FAIL "xm memmax failed to report error for bad arg"
