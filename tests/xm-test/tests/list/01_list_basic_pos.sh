#!/bin/bash
# xm-test list/01_list_basic_pos: `xm list` succeeds and shows Domain-0.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output list
[ "$status" = 0 ] || FAIL "xm list returned invalid $status != 0"
[[ "$output" == *Domain-0* ]] || FAIL "xm list did not show Domain-0"
