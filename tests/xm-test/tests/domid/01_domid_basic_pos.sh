#!/bin/bash
# xm-test domid/01_domid_basic_pos: `xm domid Domain-0` prints exactly 0.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output domid Domain-0
[ "$status" = 0 ] || FAIL "xm domid returned invalid $status != 0"
[ "$output" = 0 ] || FAIL "xm domid Domain-0 printed '$output', not 0"
