#!/bin/bash
# xm-test create/01_create_basic_pos: start a default XmTestDomain, run 'ls' on its console
# (it must show proc), then shut it down.
. "$(dirname "$0")/../../lib/xmtest.sh"

free=$(getInfo free_memory)
[ "${free:-0}" -ge 64 ] || SKIP "This test needs 64 MB of free memory (${free:-0} MB avail)"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"

# xm-test's ramdisk shell started in /, where 'ls' shows proc; a login shell may start in
# its home (the QEMU test guest's is /root), so the listing names /.
guest_run "$name" "ls /" || FAIL "$guest_error"
xm_status_output shutdown "$name"

[[ "$guest_output" == *proc* ]] || FAIL "'ls' output looks wrong (didn't see /proc)"
