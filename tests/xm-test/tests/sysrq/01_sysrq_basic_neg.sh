#!/bin/bash
# xm-test sysrq/01_sysrq_basic_neg: `xm sysrq does_not_exist s` must fail.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output sysrq does_not_exist s
[ "$status" != 0 ] || FAIL "Bad SysRq didn't report error: $status == 0"
