#!/bin/bash
# xm-test memset/04_memset_smallmem_pos: `xm mem-set D 15` succeeds and the guest's console
# then neither dies nor runs away (8 KiB limit). 15 MiB is XMTEST_BALLOON_MIN of the
# simulated host; a real Linux guest panics below ~72 MiB ("System is deadlocked on
# memory", measured at 64 and 56), so on QEMU the target is 72 (lib/driver.sh).
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
guest_run "$name" "ls" || FAIL "$guest_error"

small=$XMTEST_BALLOON_MIN
xm_status_output mem-set "$name" "$small"
[ "$status" = 0 ] || FAIL "xm mem-set $name $small returned invalid $status != 0"

if ! XMTEST_RUNAWAY_LIMIT=8192 guest_run "$name" "ls"; then
    xm_status_output destroy "$name"
    if [[ "$guest_error" == *RUNAWAY* ]]; then
        FAIL "Bug #380: I crashed the console system"
    fi
    FAIL "$guest_error"
fi

xm_status_output destroy "$name"
