#!/bin/bash
# xm-test create/09_create_mem256_pos: a domain created with memory = 256 runs (xm domid)
# and `xm list` shows between 254 and 256 MiB for it.
. "$(dirname "$0")/../../lib/xmtest.sh"

mem=$(getInfo free_memory)
[ "${mem:-0}" -ge 256 ] || SKIP "This test needs 256 MB of free memory (${mem:-0} MB avail)"

name=$(xmtest_name)
xmtest_create "$name" "memory = 256" || FAIL "$output"

isDomainRunning "$name" || FAIL "Failed to verify that a 256MB domain started"

got=$(getDomMem "$name")
if ! [[ "$got" =~ ^[0-9]+$ ]] || [ "$got" -lt 254 ] || [ "$got" -gt 256 ]; then
    FAIL "Started domain with 256MB, but it got ${got:-no} MB"
fi

xm_status_output shutdown "$name"
