#!/bin/bash
# xm-test block-destroy/03_block-destroy_nonexist_neg: `xm block-detach 9999 769` (no such
# domain) reports Error:.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output block-detach 9999 769
[ "$status" != 0 ] || FAIL "xm block-detach returned invalid $status != 0"
[ "$(str_find "$output" "Error:")" -ge 0 ] || FAIL "xm block-detach failed to report error for non-existent domain"
