#!/bin/bash
# xm-test _sanity/01_domu_proc: the library and the ramdisk work well enough to start a
# domU and read its /proc. runtest.sh aborts the run if this prints any REASON.
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"

guest_run "$name" "cat /proc/cpuinfo" || FAIL "$guest_error"
[ "$guest_status" = 0 ] || FAIL "Unable to read /proc/cpuinfo"
[[ "$guest_output" == *processor* ]] || FAIL "/proc/cpuinfo looks wrong!"
