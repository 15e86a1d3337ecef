#!/bin/bash
# xm-test create/06_create_mem_neg: a domain with memory = 0 must not start, nor one with
# more memory than the host has (total_memory + 100).
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
if xmtest_create "$name" "memory = 0"; then
    xm_status_output shutdown "$name"
    FAIL "xm create let me create a domain with 0 memory"
fi

mem=$(getInfo total_memory)
[[ "$mem" =~ ^[0-9]+$ ]] || FAIL "xm info has no numeric total_memory: '$mem'"
extreme_mem=$((mem + 100))
name=$(xmtest_name)
if xmtest_create "$name" "memory = $extreme_mem"; then
    xm_status_output shutdown "$name"
    FAIL "xm create let me create a domain with mem > sys_mem"
fi
