#!/bin/bash
# xm-test destroy/01_destroy_basic_pos: `xm destroy NAME` of a running domain succeeds.
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
# xm-test's ramdisk shell started in /, where 'ls' shows proc; a login shell may start in
# its home (the QEMU test guest's is /root), so the listing names /.
guest_run "$name" "ls /" || FAIL "$guest_error"
[[ "$guest_output" == *proc* ]] || FAIL "'ls' output looks wrong (Didn't see proc)"

xm_status_output destroy "$name"
[ "$status" = 0 ] || FAIL "xm destroy returned invalid $status != 0"
