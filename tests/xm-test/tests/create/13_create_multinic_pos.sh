#!/bin/bash
# xm-test create/13_create_multinic_pos: ten times, create a domain with a network interface
# (XmTestNetDomain), check that its console answers, destroy it.
# xmtest-timeout: 600
. "$(dirname "$0")/../../lib/xmtest.sh"

MAX_NICS=10
for i in $(seq 0 $((MAX_NICS - 1))); do
    name=$(xmtest_name)
    # XmTestNetDomain added one vif with an address from xm-test's IP pool; there is no
    # pool here, so the vif takes the server's defaults (vif = [''] in xm's syntax).
    xmtest_create "$name" "vif = ['']" || FAIL "($i nics) $output"
    guest_run "$name" "ls" || FAIL "($i nics) Console didn't respond: probably crashed!"
    xm_status_output destroy "$name"
done
