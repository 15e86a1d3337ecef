#!/bin/bash
# xm-test destroy/06_destroy_dom0_neg: `xm destroy 0` (Domain-0) must fail with an error.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output destroy 0
[ "$status" != 0 ] || FAIL "xm destroy returned bad status, expected non 0, status is: $status"
printf '%s' "$output" | grep -qi error || FAIL "xm destroy returned bad output, expected Error:, output is: $output"
