#!/bin/bash
# xm-test create/02_create_noparm_neg: `xm create` without a config file fails with Error:.
. "$(dirname "$0")/../../lib/xmtest.sh"

xm_status_output create
neg_expect_at_start "Error:" "xm create"
