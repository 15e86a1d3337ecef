#!/bin/bash
# xm-test info/01_info_basic_pos: `xm info` succeeds.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output info
[ "$status" = 0 ] || FAIL "xm info returned invalid $status != 0"
