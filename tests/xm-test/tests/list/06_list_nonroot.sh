#!/bin/bash
# xm-test list/06_list_nonroot: `xm list` run as user nobody must say that root access is
# needed.
. "$(dirname "$0")/../../lib/xmtest.sh"

[ "$(id -u)" = 0 ] || SKIP "must run as root to switch to user nobody"
as_nobody test -x "$XM" || SKIP "$XM is not executable by user nobody"

echo "[dom0] Running \`xm list' as nobody"
output=$(as_nobody "$XM" list 2>&1 </dev/null)
status=$?
printf '%s\n(exit status %s)\n' "$output" "$status"

# Xen 3.0.4's xm said "Error: Most commands need root access. Please try again as root.";
# xend's xm (xm-spec.md, Messages) names the socket instead: "Error: Permission denied on
# <socket>: run xm as root or as a member of the group that owns the socket (...)". Either
# is the root hint this case looks for.
if [[ "$output" != *"Error: Most commands need root access"* ]] &&
   ! [[ "$output" =~ Error:\ Permission\ denied\ on\ .*run\ xm\ as\ root ]]; then
    FAIL "xm list: didn't see the root hint, saw $output"
fi
