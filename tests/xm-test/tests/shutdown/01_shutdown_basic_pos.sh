#!/bin/bash
# xm-test shutdown/01_shutdown_basic_pos: `xm shutdown D` succeeds and the domain is gone
# soon after (xm-test looked after 10 s; here: polled for up to 10 s).
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
guest_run "$name" "ls /bin" || FAIL "$guest_error"

xm_status_output shutdown "$name"
[ "$status" = 0 ] || FAIL "good xm shutdown exited with bad $status != 0"

gone() { ! isDomainRunning "$name"; }
if ! poll_until 10 gone; then
    xm_status_output list
    if isDomainRunning "$name"; then
        FAIL "Guest domain failed to shutdown"
    else
        FAIL "I had to run an xm list to update xend state!"
    fi
fi
