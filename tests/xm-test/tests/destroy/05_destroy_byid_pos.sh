#!/bin/bash
# xm-test destroy/05_destroy_byid_pos: `xm destroy <id>` succeeds.
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
id=$(domid "$name")
[ "$id" != -1 ] || FAIL "xm domid $name failed after create"

xm_status_output destroy "$id"
[ "$status" = 0 ] || FAIL "xm destroy returned invalid $status != 0"
