#!/bin/bash
# xm-test domname/02_domname_basic_neg: `xm domname 1492` (no such id) reports an Error.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output domname 1492
[ "$status" != 0 ] || FAIL "domname(1492) returned invalid: $status != 0"
[[ "$output" == *Error* ]] || FAIL "domname(1492) failed to report error for invalid domid"
