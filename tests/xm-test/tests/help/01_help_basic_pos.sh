#!/bin/bash
# xm-test help/01_help_basic_pos: `xm help` starts with a Usage: message.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output help
[ "$(str_find "$output" "Usage:")" = 0 ] || FAIL "xm help: didn't see the usage string"
