#!/bin/bash
# xm-test create/10_create_fastdestroy: create and destroy "testdomain" 50 times in a row;
# xend must neither lose the domain ("No such process") nor keep stale state ("already
# exists").
# xmtest-timeout: 600
. "$(dirname "$0")/../../lib/xmtest.sh"

for i in $(seq 0 49); do
    if ! xmtest_create testdomain; then
        echo "Failed: $output"
        if [[ "$output" =~ XendError.*No\ such\ process ]]; then
            FAIL "Bugzilla bug #234"
        elif [[ "$output" =~ Error.*already\ exists! ]]; then
            FAIL "Xend reported duplicate domain (stale state?)"
        else
            FAIL "xm create returned invalid status: $status"
        fi
    fi
    xm_status_output destroy testdomain
done
