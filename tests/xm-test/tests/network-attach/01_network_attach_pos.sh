#!/bin/bash
# xm-test network-attach/01_network_attach_pos: `xm network-attach D` gives the guest one
# more eth interface.
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
guest_run "$name" "ls" || FAIL "$guest_error"

network_attach "$name"

xm_status_output shutdown "$name"
