#!/bin/bash
# xm-test domid/02_domid_basic_neg: `xm domid` of a name no domain has reports an Error.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output domid non_existent_domain
[ "$status" != 0 ] || FAIL "domid(non_existent_domain) returned invalid: $status != 0"
[[ "$output" == *Error* ]] || FAIL "domid(non_existent_domain) failed to report error for invalid name"
