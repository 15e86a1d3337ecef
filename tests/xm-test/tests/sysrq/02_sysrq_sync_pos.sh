#!/bin/bash
# xm-test sysrq/02_sysrq_sync_pos: `xm sysrq D s` succeeds and the guest's dmesg then shows
# the "Emergency Sync" of SysRq s.
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
guest_run "$name" "true" || FAIL "$guest_error"

xm_status_output sysrq "$name" s
[ "$status" = 0 ] || FAIL "Good sysrq failed with: $status != 0"

# "dmesg | grep Emerg" on the guest: the simulated shell has no pipes, so dom0 greps.
guest_run "$name" "dmesg" || FAIL "$guest_error"
xm_status_output shutdown "$name"

[[ "$guest_output" == *Emergency* ]] || FAIL "Sync SysRq not delivered"
