#!/bin/bash
# xm-test network-attach/02_network_attach_detach_pos: attach a network interface, then
# `xm network-detach D 0` removes it from network-list and from the guest.
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
guest_run "$name" "ls" || FAIL "$guest_error"

network_attach "$name"
network_detach "$name" 0

xm_status_output shutdown "$name"
