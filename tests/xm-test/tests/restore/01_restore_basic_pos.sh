#!/bin/bash
# xm-test restore/01_restore_basic_pos: set a shell variable in the guest, save the domain,
# restore it: it runs again under the same name and the variable is still set.
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
guest_run "$name" "foo=bar" || FAIL "$guest_error"

# /tmp/test.state of xm-test: the case's temp dir instead.
state=$XMTEST_TMP/test.state
XMTEST_CMD_TIMEOUT=30 xm_status_output save "$name" "$state"
[ "$status" != 124 ] || FAIL "xm save timed out after 30 s"
[ "$status" = 0 ] || FAIL "save command exited $status != 0"

xm_status_output list
! isDomainRunning "$name" || FAIL "Domain still running after save!"

XMTEST_CMD_TIMEOUT=30 xm_status_output restore "$state"
[ "$status" != 124 ] || FAIL "xm restore timed out after 30 s"
[ "$status" = 0 ] || FAIL "restore command exited $status != 0"

isDomainRunning "$name" || FAIL "Restore didn't result in a running $name domain!"

guest_run "$name" "echo \$foo" || FAIL "Restored domain is dead ($guest_error)"
[[ "$guest_output" == *bar* ]] || FAIL "Restored domain lost its state (foo is '$guest_output', not bar)"

xm_status_output shutdown "$name"
