#!/bin/bash
# xm-test block-destroy/04_block-destroy_nonattached_neg: `xm block-detach <id> xvda1` of a
# device the domain does not have reports Error:, not a stack dump.
. "$(dirname "$0")/../../lib/xmtest.sh"

name=$(xmtest_name)
xmtest_create "$name" || FAIL "Unable to create domain"
id=$(domid "$name")

xm_status_output block-detach "$id" xvda1
neg_expect_anywhere "Error:" "xm block-detach"
