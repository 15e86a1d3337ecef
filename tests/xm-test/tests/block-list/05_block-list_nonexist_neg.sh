#!/bin/bash
# xm-test block-list/05_block-list_nonexist_neg: `xm block-list 9999` (no such domain)
# reports Error:.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output block-list 9999
[ "$status" != 0 ] || FAIL "xm block-list returned invalid $status != 0"
[ "$(str_find "$output" "Error:")" -ge 0 ] || FAIL "xm block-list failed to report error for non-existent domain"
