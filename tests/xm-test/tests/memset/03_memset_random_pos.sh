#!/bin/bash
# xm-test memset/03_memset_random_pos: 10 to 50 random mem-set targets within 10 MiB steps
# (never above the start size nor below the domain's safe minimum, XmTestDomain's 32 MiB or
# the driver's XMTEST_SAFE_MEM: 96 on QEMU, where a real guest's OOM killer strikes at
# 64); after each, `xm list` and the guest agree with the target.
# xmtest-timeout: 600
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"

times=$((10 + RANDOM % 41))
guest_mem "$name"
origmem=$GUEST_MEM
currmem=$origmem
minsafe=$XMTEST_SAFE_MEM   # XmTestDomain.minSafeMem() (lib/driver.sh)

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
