#!/bin/bash
# xm-test vcpu-pin/01_vcpu-pin_basic_pos: on a host with more than one CPU, `xm vcpu-pin D 0 0`
# puts VCPU 0 on CPU 0 (xm vcpu-list), and `xm vcpu-pin D 0 1` on CPU 1.
. "$(dirname "$0")/../../lib/xmtest.sh"

if [ "$(smpConcurrencyLevel)" -le 1 ]; then
    SKIP "Host not capable of running test"
fi

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"

xm_status_output vcpu-pin "$name" 0 0
[ "$status" = 0 ] || FAIL "xm vcpu-pin returned invalid $status != 0"
getVcpuInfo "$name"
[ "${VCPU_CPU[0]:-}" = 0 ] || FAIL "failed to switch VCPU 0 to CPU 0"

xm_status_output vcpu-pin "$name" 0 1
[ "$status" = 0 ] || FAIL "xm vcpu-pin returned invalid $status != 0"
getVcpuInfo "$name"
[ "${VCPU_CPU[0]:-}" = 1 ] || FAIL "failed to switch VCPU 0 to CPU 1"

xm_status_output shutdown "$name"
