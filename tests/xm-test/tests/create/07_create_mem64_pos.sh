#!/bin/bash
# xm-test create/07_create_mem64_pos: a domain created with memory = 64 runs (xm domid)
# and `xm list` shows between 62 and 64 MiB for it.
. "$(dirname "$0")/../../lib/xmtest.sh"

mem=$(getInfo free_memory)
[ "${mem:-0}" -ge 64 ] || SKIP "This test needs 64 MB of free memory (${mem:-0} MB avail)"

name=$(xmtest_name)
xmtest_create "$name" "memory = 64" || FAIL "$output"

isDomainRunning "$name" || FAIL "Failed to verify that a 64MB domain started"

got=$(getDomMem "$name")
if ! [[ "$got" =~ ^[0-9]+$ ]] || [ "$got" -lt 62 ] || [ "$got" -gt 64 ]; then
    FAIL "Started domain with 64MB, but it got ${got:-no} MB"
fi

xm_status_output shutdown "$name"
