#!/bin/bash
# xm-test network-attach/04_network_attach_baddomain_neg: `xm network-attach NOT-EXIST`
# reports an Error.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output network-attach NOT-EXIST
[ "$status" != 0 ] || FAIL "xm network-attach returned bad status, expected non 0, status is: $status"
[ "$(str_find "$output" Error)" -ge 0 ] || FAIL "xm network-attach returned bad output, expected Error, output is: $output"
