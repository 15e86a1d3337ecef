#!/bin/bash
# xm-test create/04_create_conflictname_neg: a second domain with the name of a running one
# must not be created.
. "$(dirname "$0")/../../lib/xmtest.sh"

xmtest_create default || FAIL "$output"

if xmtest_create default; then
    xm_status_output shutdown default
    FAIL "xm create let me create a duplicate-named domain!"
fi
xm_status_output shutdown default
