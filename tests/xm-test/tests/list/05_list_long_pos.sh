#!/bin/bash
# xm-test list/05_list_long_pos: `xm list --long` succeeds and prints (domain ...) sxps with
# (domid 0), without a Traceback.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output list --long
[ "$status" = 0 ] || FAIL "xm list --long returned invalid $status != 0"
[[ "$output" == *"(domain"* ]] || FAIL "long listing missing any (domain ...) root!"
[[ "$output" == *"(domid 0)"* ]] || FAIL "long listing missing (domid 0)!"
[[ "$output" != *Traceback* ]] || FAIL "long listing generated a Traceback!"
