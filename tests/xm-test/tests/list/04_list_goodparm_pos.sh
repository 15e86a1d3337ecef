#!/bin/bash
# xm-test list/04_list_goodparm_pos: `xm list NAME` of a running domain succeeds and shows it.
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"

xm_status_output list "$name"
[ "$status" = 0 ] || FAIL "xm list returned invalid $status != 0"
[[ "$output" == *"$name"* ]] || FAIL "xm list $name did not show the domain"

xm_status_output shutdown "$name"
