#!/bin/bash
# xm-test block-list/04_block-list_nodb_pos: `xm block-list <id>` of a domain without disks
# succeeds and prints nothing at all.
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "Unable to create domain"
id=$(domid "$name")

xm_status_output block-list "$id"
[ "$status" = 0 ] || FAIL "xm block-list returned bad status, expected 0, status is $status"
[ -z "$output" ] || FAIL "xm block-list should not list anything for domain with no block devices"
