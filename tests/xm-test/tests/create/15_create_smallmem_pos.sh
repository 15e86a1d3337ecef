#!/bin/bash
# xm-test create/15_create_smallmem_pos: a 32 MiB domain (extra = "mem=32M") starts and its
# console answers without running away. 32 MiB is XMTEST_MIN_MEM of the simulated host; the
# QEMU test guest's kernel needs 72 (lib/driver.sh), the least it boots with.
. "$(dirname "$0")/../../lib/xmtest.sh"

MEM=$XMTEST_MIN_MEM
name=$(xmtest_name)
xmtest_create "$name" "memory = $MEM" "extra = \"mem=${MEM}M\"" || FAIL "Unable to start a domain with $MEM MB"

if ! guest_run "$name" "ls"; then
    if [[ "$guest_error" == *RUNAWAY* ]]; then
        FAIL "Bug #380: Starting a console with $MEM MB crashed the console daemon"
    else
        FAIL "Starting a console with $MEM MB failed: domain dies immediately!"
    fi
fi

xm_status_output destroy "$name"
