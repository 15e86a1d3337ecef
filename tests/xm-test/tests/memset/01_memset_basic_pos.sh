#!/bin/bash
# xm-test memset/01_memset_basic_pos: `xm mem-set D <current - 1>`; within 10 s both `xm list`
# and the guest's /proc/xen/balloon show the new size.
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
guest_run "$name" "ls" || FAIL "$guest_error"

guest_mem "$name"
origmem=$GUEST_MEM
newmem=$((origmem - 1))

xm_status_output mem-set "$name" "$newmem"
[ "$status" = 0 ] || FAIL "cmd xm mem-set $name $newmem returned invalid $status != 0"

at_newmem() { [ "$(getDomMem "$name")" = "$newmem" ]; }
poll_until 10 at_newmem

mem=$(getDomMem "$name")
[ -n "$mem" ] || FAIL "Failed to get memory amount for domain $name"
[ "$mem" = "$newmem" ] || FAIL "Dom0 failed to verify $newmem MB; got $mem MB"

guest_mem "$name"
domUmem=$GUEST_MEM
[ "$domUmem" = "$newmem" ] || FAIL "DomU reported incorrect memory amount: $domUmem MB"

xm_status_output shutdown "$name"
