#!/bin/bash
# xm-test help/05_help_nonroot_pos: `xm help` works for a user who is not root (nobody).
. "$(dirname "$0")/../../lib/xmtest.sh"

[ "$(id -u)" = 0 ] || SKIP "must run as root to switch to user nobody"
as_nobody test -x "$XM" || SKIP "$XM is not executable by user nobody"

echo "[dom0] Running \`xm help' as nobody"
output=$(as_nobody "$XM" help 2>&1 </dev/null)
status=$?
printf '%s\n(exit status %s)\n' "$output" "$status"
[ "$(str_find "$output" "Usage:")" = 0 ] || FAIL "xm help as nobody: didn't see the usage string (got: $output)"
