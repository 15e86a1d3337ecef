#!/bin/bash
# xm-test block-create/08_block_attach_bad_filedevice_neg: `xm block-attach D file:/dev/NOT-EXIST xvda1 w`
# (a backing device that does not exist) reports an Error, and no xvda1 appears in the guest.
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
guest_run "$name" "ls" || FAIL "$guest_error"

xm_status_output block-attach "$name" file:/dev/NOT-EXIST xvda1 w
[ "$status" != 0 ] || FAIL "xm block-attach returned bad status, expected non 0, status is: $status"
printf '%s' "$output" | grep -qi error || FAIL "xm block-attach returned bad output, expected Error, output is: $output"

guest_partitions "$name"
xm_status_output shutdown "$name"

[[ "$guest_output" != *xvda1* ]] || FAIL "Non existent Device was connected to the domU"
