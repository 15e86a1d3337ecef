#!/bin/bash
# xm-test pause/01_pause_basic_pos: after `xm pause D` the guest's console must not answer;
# `xm unpause D` succeeds.
# xmtest-timeout: 400
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
guest_run "$name" "ls" || FAIL "$guest_error"

xm_status_output pause "$name"
[ "$status" = 0 ] || FAIL "xm pause returned invalid $status != 0"

if guest_run "$name" "ls"; then
    FAIL "console attached to supposedly paused domain"
fi

xm_status_output unpause "$name"
[ "$status" = 0 ] || FAIL "xm unpause returned invalid $status != 0"

xm_status_output shutdown "$name"
