#!/bin/bash
# xm-test sysrq/03_sysrq_withreboot_pos: after `xm reboot D` has completed, `xm sysrq D s`
# still succeeds and the console answers.
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"

guest_mark_boot "$name"

xm_status_output reboot "$name"
[ "$status" = 0 ] || FAIL "reboot $name failed with $status != 0"

# xm-test slept 20 s for the reboot to finish; here: poll (up to 20 s) until the console
# answers from the rebooted guest (lib/xmtest.sh: wait_rebooted).
wait_rebooted "$name" 20 || FAIL "The domain's console did not answer from a rebooted guest within 20 s ($guest_error)"

xm_status_output sysrq "$name" s
[ "$status" = 0 ] || FAIL "sysrq failed with $status != 0"

guest_run "$name" "dmesg" || FAIL "$guest_error"
