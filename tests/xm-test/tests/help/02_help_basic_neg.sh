#!/bin/bash
# xm-test help/02_help_basic_neg: `xm` alone starts its output with a Usage: message.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output
[ "$(str_find "$output" "Usage:")" = 0 ] || FAIL "xm: didn't display usage when given no arguments"
