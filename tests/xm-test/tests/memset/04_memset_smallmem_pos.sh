#!/bin/bash
# xm-test memset/04_memset_smallmem_pos: `xm mem-set D 15` succeeds and the guest's console
# then neither dies nor runs away (8 KiB limit).
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
guest_run "$name" "ls" || FAIL "$guest_error"

xm_status_output mem-set "$name" 15
[ "$status" = 0 ] || FAIL "xm mem-set $name 15 returned invalid $status != 0"

if ! XMTEST_RUNAWAY_LIMIT=8192 guest_run "$name" "ls"; then
    xm_status_output destroy "$name"
    if [[ "$guest_error" == *RUNAWAY* ]]; then
        FAIL "Bug #380: I crashed the console system"
    fi
    FAIL "$guest_error"
fi

xm_status_output destroy "$name"
