#!/bin/bash
# xm-test create/16_create_smallmem_neg: 16 MiB is below what a guest kernel needs: xm create
# must refuse it with "Error: Domain memory must be at least N KB", or the guest must die
# (its console times out or runs away). A working console is a FAIL. A healthy guest
# answers within seconds (a TCG boot takes 3-6 s), so this case waits 30 s for a prompt
# rather than the driver's generous XMTEST_BOOT_TIMEOUT; it only shortens a wait for a
# failure, so a slow machine cannot make it fail.
# xmtest-timeout: 400
. "$(dirname "$0")/../../lib/xmtest.sh"

MEM=16
name=$(xmtest_name)
if ! xmtest_create "$name" "memory = $MEM" "extra = \"mem=${MEM}M\""; then
    if printf '%s\n' "$output" | grep -Eq '^Error: Domain memory must be at least [0-9]+ KB'; then
        echo "Creating a domain with $MEM MB failed as expected"
        exit 0
    fi
    FAIL "Unable to start a domain with $MEM MB ($output)"
fi

if XMTEST_BOOT_TIMEOUT=30 XMTEST_CONSOLE_TIMEOUT=10 guest_run "$name" "ls"; then
    xm_status_output destroy "$name"
    FAIL "Starting a console with $MEM MB passed, expected test to fail"
fi
if [[ "$guest_error" == *RUNAWAY* ]]; then
    echo "Domain with $MEM MB has runaway console as expected"
else
    echo "Starting a domain with $MEM MB failed as expected"
fi
xm_status_output destroy "$name"
