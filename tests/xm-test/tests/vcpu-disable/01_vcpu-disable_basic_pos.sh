#!/bin/bash
# xm-test vcpu-disable/01_vcpu-disable_basic_pos: a 2-VCPU domain; `xm vcpu-set D 1` takes
# VCPU 1 offline (CPU column '-' in xm vcpu-list) within 10 s, `xm vcpu-set D 2` brings it
# back.
#
# Where the driver cannot lower a running guest's vCPUs (XMTEST_VCPU_UNPLUG=0: QEMU under
# TCG refuses, since a vCPU unplug corrupts QEMU 7.2), the same two steps run the other way
# round: the domain starts with VCPU 1 offline (vcpu_avail = 1), `xm vcpu-set D 2` must
# bring it online (in xm vcpu-list and in the guest's /proc/cpuinfo), and `xm vcpu-set D 1`
# must then be refused with an Error, leaving VCPU 1 online.
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

vcpu1_off() { getVcpuInfo "$name"; [ "${VCPU_CPU[1]:-}" = None ]; }
vcpu1_on() { getVcpuInfo "$name"; [ -n "${VCPU_CPU[1]:-}" ] && [ "${VCPU_CPU[1]}" != None ]; }

name=$(xmtest_name)
if [ "$XMTEST_VCPU_UNPLUG" = 1 ]; then
    xmtest_create "$name" "vcpus = 2" || FAIL "$output"

    safecmd vcpu-set "$name" 1
    [ "$status" = 0 ] || FAIL "\"xm vcpu-set $name 1\" returned invalid $status != 0"
    poll_until 10 vcpu1_off || FAIL "failed to disable VCPU1 (CPU '${VCPU_CPU[1]:-}')"

    safecmd vcpu-set "$name" 2
    [ "$status" = 0 ] || FAIL "\"xm vcpu-set $name 2\" returned invalid $status != 0"
    poll_until 10 vcpu1_on || FAIL "failed to enable VCPU1 again"
else
    xmtest_create "$name" "vcpus = 2" "vcpu_avail = 1" || FAIL "$output"
    guest_run "$name" "true" || FAIL "$guest_error"
    vcpu1_off || FAIL "VCPU1 is online although vcpu_avail = 1 (CPU '${VCPU_CPU[1]:-}')"

    safecmd vcpu-set "$name" 2
    [ "$status" = 0 ] || FAIL "\"xm vcpu-set $name 2\" returned invalid $status != 0"
    poll_until 10 vcpu1_on || FAIL "failed to enable VCPU1"
    two_online() {
        guest_run "$name" "grep -c ^processor /proc/cpuinfo" || FAIL "$guest_error"
        [ "$guest_output" = 2 ]
    }
    poll_until 10 two_online || FAIL "the guest does not show VCPU1 online ($guest_output processors)"

    xm_status_output vcpu-set "$name" 1
    [ "$status" != 0 ] || FAIL "\"xm vcpu-set $name 1\" lowered the vCPUs of a driver that cannot"
    [ "$(str_find "$output" "Error:")" = 0 ] || FAIL "\"xm vcpu-set $name 1\" was refused without an Error: ($output)"
    vcpu1_on || FAIL "VCPU1 went offline although the vcpu-set was refused"
fi

xm_status_output destroy "$name"
