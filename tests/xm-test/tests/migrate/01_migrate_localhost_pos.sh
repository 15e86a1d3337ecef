#!/bin/bash
# xm-test migrate/01_migrate_localhost_pos: `xm migrate -l D localhost` succeeds within 90 s,
# the domain gets a new id, and the guest keeps its state (a shell variable).
# xmtest-timeout: 400
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "$output"
guest_run "$name" "foo=bar" || FAIL "$guest_error"

old_domid=$(domid "$name")

XMTEST_CMD_TIMEOUT=90 xm_status_output migrate -l "$name" localhost
[ "$status" != 124 ] || FAIL "xm migrate timed out after 90 s"
[ "$status" = 0 ] || FAIL "xm migrate returned invalid $status != 0"

new_domid=$(domid "$name")
[ "$old_domid" != "$new_domid" ] || FAIL "xm migrate failed, domain id is still $old_domid"

guest_run "$name" "echo xx\$foo" || FAIL "$guest_error"
[[ "$guest_output" == *bar* ]] || FAIL "Migrated domain has been reset"

xm_status_output shutdown "$name"
