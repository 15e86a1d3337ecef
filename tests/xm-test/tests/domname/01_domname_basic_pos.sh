#!/bin/bash
# xm-test domname/01_domname_basic_pos: `xm domname 0` prints exactly Domain-0.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output domname 0
[ "$status" = 0 ] || FAIL "xm domname returned invalid $status != 0"
[ "$output" = Domain-0 ] || FAIL "xm domname 0 printed '$output', not Domain-0"
