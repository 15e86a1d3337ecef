#!/bin/bash
# xm-test network-attach/03_network_attach_detach_multiple_pos: ten rounds of attaching a
# network interface and detaching it again (`xm network-detach D <round>`: Xen numbered
# each new vif one higher than the last).
# xmtest-timeout: 600
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
guest_run "$name" "ls" || FAIL "$guest_error"

for i in $(seq 0 9); do
    echo "Attaching $i device"
    network_attach "$name"
    echo "Detaching $i device"
    network_detach "$name" 0
done

xm_status_output shutdown "$name"
