#!/bin/bash
# xm-test create/08_create_mem128_pos: a domain created with memory = 128 runs (xm domid)
# and `xm list` shows between 126 and 128 MiB for it.
. "$(dirname "$0")/../../lib/xmtest.sh"

mem=$(getInfo free_memory)
[ "${mem:-0}" -ge 128 ] || SKIP "This test needs 128 MB of free memory (${mem:-0} MB avail)"

name=$(xmtest_name)
xmtest_create "$name" "memory = 128" || FAIL "$output"

isDomainRunning "$name" || FAIL "Failed to verify that a 128MB domain started"

got=$(getDomMem "$name")
if ! [[ "$got" =~ ^[0-9]+$ ]] || [ "$got" -lt 126 ] || [ "$got" -gt 128 ]; then
    FAIL "Started domain with 128MB, but it got ${got:-no} MB"
fi

xm_status_output shutdown "$name"
