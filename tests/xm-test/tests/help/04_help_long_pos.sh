#!/bin/bash
# xm-test help/04_help_long_pos: `xm help --long` lists every subcommand under
# "xm full list of subcommands:".
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output help --long
[[ "$output" == *"xm full list of subcommands:"* ]] || FAIL "xm help --long: didn't see the full list"
