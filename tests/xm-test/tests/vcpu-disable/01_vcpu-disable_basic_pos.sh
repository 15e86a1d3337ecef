#!/bin/bash
# xm-test vcpu-disable/01_vcpu-disable_basic_pos: a 2-VCPU domain; `xm vcpu-set D 1` takes
# VCPU 1 offline (CPU column '-' in xm vcpu-list) within 10 s, `xm vcpu-set D 2` brings it
# back.
. "$(dirname "$0")/../../lib/xmtest.sh"

if [ "$(smpConcurrencyLevel)" -le 1 ]; then
    SKIP "Host not capable of running test"
fi

# safecmd: retry a command up to 10 times, a second apart, until it succeeds.
safecmd() {
    local i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        xm_status_output "$@"
        [ "$status" = 0 ] && return 0
        sleep 1
    done
}

name=$(xmtest_name)
xmtest_create "$name" "vcpus = 2" || FAIL "$output"

safecmd vcpu-set "$name" 1
[ "$status" = 0 ] || FAIL "\"xm vcpu-set $name 1\" returned invalid $status != 0"

vcpu1_off() { getVcpuInfo "$name"; [ "${VCPU_CPU[1]:-}" = None ]; }
poll_until 10 vcpu1_off || FAIL "failed to disable VCPU1 (CPU '${VCPU_CPU[1]:-}')"

safecmd vcpu-set "$name" 2
[ "$status" = 0 ] || FAIL "\"xm vcpu-set $name 2\" returned invalid $status != 0"

vcpu1_on() { getVcpuInfo "$name"; [ -n "${VCPU_CPU[1]:-}" ] && [ "${VCPU_CPU[1]}" != None ]; }
poll_until 10 vcpu1_on || FAIL "failed to enable VCPU1 again"

xm_status_output destroy "$name"
