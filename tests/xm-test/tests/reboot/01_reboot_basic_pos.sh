#!/bin/bash
# xm-test reboot/01_reboot_basic_pos: `xm reboot D` succeeds; afterwards the console answers
# and `uptime` shows less than 2 minutes.
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"

guest_mark_boot "$name"

xm_status_output reboot "$name"
[ "$status" = 0 ] || FAIL "xm reboot returned $status != 0"

# xm-test slept 15 s for the reboot; here: poll (up to 15 s) until the console answers from
# the rebooted guest (lib/xmtest.sh: wait_rebooted).
wait_rebooted "$name" 15 || FAIL "The domain's console did not answer from a rebooted guest within 15 s ($guest_error)"
guest_run "$name" "uptime" || FAIL "$guest_error"

xm_status_output destroy "$name"

if [[ "$guest_output" =~ ^[^up]*up\ ([0-9]+) ]]; then
    [ "${BASH_REMATCH[1]}" -le 1 ] || FAIL "Uptime too large (${BASH_REMATCH[1]} > 1 minutes); domain didn't reboot"
else
    FAIL "Invalid uptime string: $guest_output"
fi
