#!/bin/bash
# xm-test create/12_create_concurrent_stress_pos: five 32 MiB domains each run
# `gzip -c </dev/zero >/dev/null &` for 60 s and must still answer on their consoles. A real
# kernel needs more than 32 MiB: XMTEST_MIN_MEM (72 on QEMU).
# xmtest-timeout: 600
. "$(dirname "$0")/../../lib/xmtest.sh"

# The load needs a guest shell with background jobs and gzip: a real busybox guest (QEMU)
# has both, the simulated host's shell neither (lib/driver.sh: XMTEST_GUEST_JOBS).
[ "$XMTEST_GUEST_JOBS" = 1 ] || SKIP "needs a guest with background jobs and gzip (driver $XMTEST_DRIVER has none)"

DOMS=5
MEM=32
[ "$XMTEST_MIN_MEM" -le "$MEM" ] || MEM=$XMTEST_MIN_MEM
[ "$XMTEST_MAX_GUESTS" -ge "$DOMS" ] || SKIP "needs $DOMS guests at once; the driver allows $XMTEST_MAX_GUESTS (XMTEST_MAX_GUESTS)"
DUR=60

domains=()
for i in $(seq 0 $((DOMS - 1))); do
    name=$(xmtest_name)
    xmtest_create "$name" "memory = $MEM" || FAIL "Failed to start $name"
    guest_run "$name" "true" || FAIL "$guest_error"
    domains+=("$name")
done

for d in "${domains[@]}"; do
    # guest_run appends "; echo XMTEST-RC=$?", and "&;" is not valid sh: end with true.
    guest_run "$d" "gzip -c </dev/zero >/dev/null & true" || FAIL "$guest_error"
done

echo "Waiting $DUR seconds..."
sleep $DUR

for d in "${domains[@]}"; do
    guest_run "$d" "ls" || FAIL "Domain $d didn't survive! ($guest_error)"
    [ "$guest_status" = 0 ] || FAIL "Domain $d didn't survive!"
done
