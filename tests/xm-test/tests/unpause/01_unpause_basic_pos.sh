#!/bin/bash
# xm-test unpause/01_unpause_basic_pos: 100 random `xm pause` / `xm unpause` calls all succeed
# (both are idempotent); after a last unpause the console still answers.
# xmtest-timeout: 600
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
guest_run "$name" "ls" || FAIL "$guest_error"

for i in $(seq 1 100); do
    if [ $((RANDOM % 2)) = 1 ]; then
        xm_status_output pause "$name"
        [ "$status" = 0 ] || FAIL "xm pause returned invalid $status != 0"
    else
        xm_status_output unpause "$name"
        [ "$status" = 0 ] || FAIL "xm unpause returned invalid $status != 0"
    fi
done

xm_status_output unpause "$name"
[ "$status" = 0 ] || FAIL "xm unpause returned invalid $status != 0"

guest_run "$name" "ls" || FAIL "console failed to attach to supposedly unpaused domain ($guest_error)"
[ "$guest_status" = 0 ] || FAIL "console failed to attach to supposedly unpaused domain"

xm_status_output shutdown "$name"
