#!/bin/bash
# xm-test memset/03_memset_random_pos: 10 to 50 random mem-set targets within 10 MiB steps
# (never above the start size nor below the domain's safe minimum of 32 MiB); after each,
# `xm list` and the guest agree with the target.
# xmtest-timeout: 600
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"

times=$((10 + RANDOM % 41))
guest_mem "$name"
origmem=$GUEST_MEM
currmem=$origmem
minsafe=32   # XmTestDomain.minSafeMem()

for i in $(seq 0 $((times - 1))); do
    amt=$((RANDOM % 21 - 10))
    target=$((currmem + amt))
    [ "$target" -ge "$minsafe" ] || continue
    [ "$target" -le "$origmem" ] || continue
    echo "[$i/$times] Current: $currmem Target: $target"

    xm_status_output mem-set "$name" "$target"
    [ "$status" = 0 ] || FAIL "mem-set from $currmem to $target failed"

    guest_mem "$name"
    domUmem=$GUEST_MEM
    currmem=$target
    actual=$(getDomInfo "$name" Mem)
    [ "$actual" = "$currmem" ] || FAIL "Expected $currmem MB, xm reported $actual MB"
    [ "$domUmem" = "$currmem" ] || FAIL "Expected $currmem MB, domU reported $domUmem MB"
done
